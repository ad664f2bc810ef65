"""Inside the network, epoch by epoch: what the first layer looks for, its guesses on 20 digits, its weights.

Shared by the Train page (live while a run trains; with an epoch slider once it has ended) and the
Runs page. The panels read the run's snapshots (core.snapshots: checked, a bad file is left out),
cached by the folder's stamp, so a rerun that finds no new epoch reads no file.

The three panels are one custom component (pages/_inside_network.js; components v2: no iframe). While a
run trained they were polled every 2 s, and as Streamlit elements (two pictures, twenty captioned tiles, a
Plotly chart) each poll cost the browser about 250 ms of a core, epoch or not, on the cores that train
(bench/page_overhead.py). Now they are drawn again only when an epoch's snapshot is written
(`snapshots_mark`), and the component changes only what changed: a picture when its bytes did, the
weights' chart when its data did. The first layer's two views (its weights, what training changed) both
travel with the data, so switching between them is the browser's alone.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import streamlit as st

from core import figures, pictures, snapshots
from core.config import TrainConfig
from core.snapshots import Snapshot, SnapshotSeries
from pages._components import run_store
from pages._pictures import data_uri
from pages._plotly_in_page import plotly_script, plotly_url

HERE = Path(__file__).parent
WEIGHT_PIXELS = 3  # screen pixels per weight in the first layer's picture

_component = st.components.v2.component(
    "mnist_inside_network",
    html=(HERE / "_inside_network.html").read_text(),
    css=(HERE / "_inside_network.css").read_text(),
    js=plotly_script("_inside_network.js"),
    isolate_styles=False,  # Plotly styles its charts from the page's <head>; tests read the panels' text
)


@st.cache_resource(max_entries=16, show_spinner=False)
def _series(folder: str, stamp: tuple) -> SnapshotSeries:
    """Read once per state of the folder (the stamp changes with each new snapshot); read-only arrays."""
    return snapshots.read_series(Path(folder))


def load_series(run_id: str) -> SnapshotSeries:
    folder = run_store().snapshots_folder(run_id)
    return _series(str(folder), snapshots.stamp(folder))


@st.cache_data(max_entries=64, show_spinner=False)
def weight_grid_picture(weights: np.ndarray) -> dict:
    """The first layer's picture (a data URI) and its on-screen width, drawn once per content."""
    grid = pictures.weight_grid(weights, columns=6)
    return {"picture": data_uri(grid), "width": grid.shape[1] * WEIGHT_PIXELS}


@st.cache_data(max_entries=64, show_spinner=False)
def guess_tile_pictures(images: np.ndarray, right: np.ndarray) -> list[str]:
    return [data_uri(pictures.digit_tile(image, ok)) for image, ok in zip(images, right)]


@st.cache_resource(max_entries=16, show_spinner=False)
def weights_figure(
    folder: str, stamp: tuple, hidden_layers: tuple[int, ...], max_epoch: int | None, marked: int | None
) -> dict:
    """The weights' heatmaps as Plotly.js takes them, built once per state of the snapshots (Plotly takes a
    tenth of a second or more to build them), with `version` naming the content. Without Plotly's
    template: the browser styles it with the app's theme. Shared and never changed."""
    series = _series(folder, stamp).of_network(hidden_layers)
    layers = snapshots.common_histograms(series)
    names = snapshots.layer_names(len(layers), hidden_layers)
    figure = json.loads(
        figures.weight_histograms(series.epochs, layers, names, max_epoch=max_epoch, marked_epoch=marked).to_json()
    )
    del figure["layout"]["template"]
    text = json.dumps(figure, sort_keys=True)
    return {"figure": figure, "version": hashlib.sha256(text.encode()).hexdigest()[:16]}


def when(epoch: int) -> str:
    return "before training" if epoch == 0 else f"after epoch {epoch}"


def first_layer_view(series: SnapshotSeries, snapshot: Snapshot, units: int) -> dict:
    """Its weights, and (when the run kept its start) what training changed: the page switches between them."""
    shown = len(snapshot.first_layer)
    which = "Each" if shown == units else f"The first {shown} of its {units:,} neurons: each"
    about = f"{which} square is one neuron of the first hidden layer, its 784 incoming weights laid out like the image."
    views = [
        {
            "name": "Its weights",
            **weight_grid_picture(np.asarray(snapshot.first_layer)),
            "caption": f"{about} Red pixels make it fire, blue ones hold it back, white ones do not matter: "
            "random noise at first, strokes as it learns.",
        }
    ]
    start = series.snapshots[0]
    if start.epoch == 0:
        change = snapshot.first_layer.astype("float32") - start.first_layer.astype("float32")
        views.append(
            {
                "name": "What training changed",
                **weight_grid_picture(change),
                "caption": f"{about} Red pixels now push it to fire more than at the start, blue ones less: "
                "the strokes it learned to look for.",
            }
        )
    return {
        "views": views,
        "help": "A big layer's weights start as strong random noise, which hides what it learns; "
        "the change since before training shows only what it learned.",
    }


def guesses_view(series: SnapshotSeries, snapshot: Snapshot) -> dict:
    count = len(snapshot.probabilities)
    view = {"title": f"Its guesses on {count} digits"}
    if not series.guesses_readable(snapshot):
        return {**view, "unreadable": "The digits of this run's guesses cannot be read, so they are not shown."}
    guesses, confidences = snapshot.guesses, snapshot.confidences
    right = guesses == series.digits.labels
    tiles = guess_tile_pictures(series.digits.images, right)
    return {
        **view,
        "tiles": [
            {"picture": tile, "caption": f"{'✓' if ok else '✗'} {guess} · {confidence:.0%}", "right": bool(ok)}
            for tile, ok, guess, confidence in zip(tiles, right, guesses, confidences)
        ],
        "caption": f"{count} digits of the validation set (never the test set), each with the network's guess and "
        "how sure it is; a red frame and ✗ mark a wrong guess.",
        "score": f"{int(right.sum())} of {count} right",
        "when": when(snapshot.epoch),
    }


def snapshots_mark(run_id: str) -> str:
    """The run's snapshots' mark now (core.snapshots.mark): what a live panel is drawn with."""
    return snapshots.mark(run_store().snapshots_folder(run_id))


def inside_network(run_id: str, config: TrainConfig, live: bool, key: str) -> None:
    """The three panels for one run: its latest epoch while `live`, otherwise any epoch, chosen with a slider.

    Shows nothing for a run without snapshots (imported, or trained before the app kept them).
    """
    series = load_series(run_id).of_network(config.hidden_layers)
    mark = snapshots_mark(run_id) if live else None
    if not series.snapshots:
        if live:
            st.caption("A look inside the network appears here as training starts.")
            _component(key=f"{key}-inside-network", data={"mark": mark})
        return
    st.subheader("Inside the network")
    epochs = series.epochs
    if live:
        snapshot = series.snapshots[-1]
        st.caption(f"As it is {when(snapshot.epoch)}; this part updates after every epoch.")
    elif len(epochs) > 1:
        epoch = st.select_slider(
            "Epoch",
            options=epochs,
            value=epochs[-1],
            format_func=lambda e: "0 (before training)" if e == 0 else str(e),
            key=f"{key}-inside-epoch-{run_id}",
            help="Move through the training: how the network looked before it, and after each epoch.",
        )
        snapshot = series.at(epoch)
    else:
        snapshot = series.snapshots[-1]
    folder = run_store().snapshots_folder(run_id)
    weights = weights_figure(
        str(folder),
        snapshots.stamp(folder),
        config.hidden_layers,
        config.epochs if live else None,
        None if live else snapshot.epoch,
    )
    view = {
        "firstLayer": first_layer_view(series, snapshot, config.hidden_layers[0]),
        "guesses": guesses_view(series, snapshot),
        "weights": {
            **weights,
            "config": {"displayModeBar": False, "staticPlot": live, "responsive": True},
        },
        "plotly": plotly_url(),
        "mark": mark,
    }
    _component(key=f"{key}-inside-network", data=view)
