"""Inside the network, epoch by epoch: what the first layer looks for, its guesses on 20 digits, its weights.

Shared by the Train page (live while a run trains; with an epoch slider once it has ended) and the
Runs page. The panels read the run's snapshots (core.snapshots: checked, a bad file is left out),
cached by the folder's stamp, so a poll that finds no new epoch reads no file; the pictures and
the chart are cached by their content too, so such a poll costs the server a few milliseconds. The
first layer and the guesses are small pictures drawn here; re-sent unchanged, the browser neither
fetches nor redraws them, and the weights' chart is only redrawn when its data changes: between
epochs the browser has next to nothing to do.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from core import figures, pictures, snapshots
from core.config import TrainConfig
from core.snapshots import Snapshot, SnapshotSeries
from pages._components import run_store
from pages._pictures import show_picture

POLL_SECONDS = 2.0  # how often a live run's panels look for a new epoch
GUESS_COLUMNS = 5


@st.cache_resource(max_entries=16, show_spinner=False)
def _series(folder: str, stamp: tuple) -> SnapshotSeries:
    """Read once per state of the folder (the stamp changes with each new snapshot); read-only arrays."""
    return snapshots.read_series(Path(folder))


def load_series(run_id: str) -> SnapshotSeries:
    folder = run_store().snapshots_folder(run_id)
    return _series(str(folder), snapshots.stamp(folder))


@st.cache_data(max_entries=64, show_spinner=False)
def weight_grid_png(weights: np.ndarray) -> tuple[bytes, int]:
    """The first layer's picture as PNG bytes and its on-screen width, drawn once per content."""
    grid = pictures.weight_grid(weights, columns=6)
    return pictures.png(grid), pictures.shown_width(grid)


@st.cache_data(max_entries=64, show_spinner=False)
def guess_tiles_png(images: np.ndarray, right: np.ndarray) -> list[bytes]:
    return [pictures.png(pictures.digit_tile(image, ok)) for image, ok in zip(images, right)]


@st.cache_resource(max_entries=16, show_spinner=False)
def weights_figure(
    folder: str, stamp: tuple, hidden_layers: tuple[int, ...], max_epoch: int | None, marked: int | None
) -> go.Figure:
    """The weights' heatmaps, built once per state of the snapshots (Plotly takes a tenth of a second or more to
    build them). Shared and never changed: st.plotly_chart only reads a figure."""
    series = _series(folder, stamp).of_network(hidden_layers)
    layers = snapshots.common_histograms(series)
    names = snapshots.layer_names(len(layers), hidden_layers)
    return figures.weight_histograms(series.epochs, layers, names, max_epoch=max_epoch, marked_epoch=marked)


def when(epoch: int) -> str:
    return "before training" if epoch == 0 else f"after epoch {epoch}"


CHANGE = "What training changed"


def first_layer_panel(series: SnapshotSeries, snapshot: Snapshot, units: int, key: str) -> None:
    st.markdown("#### What the first layer looks for")
    shown = len(snapshot.first_layer)
    view = st.segmented_control(
        "Show",
        ["Its weights", CHANGE],
        default="Its weights",
        key=f"{key}-first-layer-view",
        label_visibility="collapsed",
        help="A big layer's weights start as strong random noise, which hides what it learns; "
        "the change since before training shows only what it learned.",
    )
    start = series.snapshots[0]
    if view == CHANGE and start.epoch == 0:
        weights = snapshot.first_layer.astype("float32") - start.first_layer.astype("float32")
        meaning = (
            "Red pixels now push it to fire more than at the start, blue ones less: the strokes it learned to look for."
        )
    else:
        weights = snapshot.first_layer
        meaning = (
            "Red pixels make it fire, blue ones hold it back, white ones do not matter: random noise at first, "
            "strokes as it learns."
        )
    data, width = weight_grid_png(np.asarray(weights))
    show_picture(data, width=width)
    which = "Each" if shown == units else f"The first {shown} of its {units:,} neurons: each"
    st.caption(
        f"{which} square is one neuron of the first hidden layer, its 784 incoming weights laid out like the "
        f"image. {meaning}"
    )


def guesses_panel(series: SnapshotSeries, snapshot: Snapshot) -> None:
    count = len(snapshot.probabilities)
    st.markdown(f"#### Its guesses on {count} digits")
    if not series.guesses_readable(snapshot):
        st.caption("The digits of this run's guesses cannot be read, so they are not shown.")
        return
    labels = series.digits.labels
    guesses, confidences = snapshot.guesses, snapshot.confidences
    right = guesses == labels
    tiles = guess_tiles_png(series.digits.images, right)
    captions = [
        f"{'✓' if ok else '✗'} {guess} · {confidence:.0%}" for ok, guess, confidence in zip(right, guesses, confidences)
    ]
    # Five columns, filled so that the grid reads row by row: 0 0 1 1 2 / 2 3 3 4 4 / ...
    for column, first in zip(st.columns(GUESS_COLUMNS, gap="small"), range(GUESS_COLUMNS)):
        column.image(tiles[first::GUESS_COLUMNS], caption=captions[first::GUESS_COLUMNS], output_format="PNG")
    st.caption(
        f"{count} digits of the validation set (never the test set), each with the network's guess and how sure "
        f"it is; a red frame and ✗ mark a wrong guess. **{int(right.sum())} of {count} right** "
        f"{when(snapshot.epoch)}."
    )


def weights_panel(run_id: str, config: TrainConfig, marked: int | None, live: bool, key: str) -> None:
    st.markdown("#### How each layer's weights spread out")
    st.caption(
        "One column per epoch; the darker a cell, the more of the layer's weights have that value. They start in "
        "a narrow random band, and training pulls some far from zero: the connections the network relies on."
    )
    folder = run_store().snapshots_folder(run_id)
    figure = weights_figure(
        str(folder), snapshots.stamp(folder), config.hidden_layers, config.epochs if live else None, marked
    )
    st.plotly_chart(figure, key=f"{key}-weights", config={"displayModeBar": False, "staticPlot": live})


def inside_network(run_id: str, config: TrainConfig, live: bool, key: str) -> None:
    """The three panels for one run: its latest epoch while `live`, otherwise any epoch, chosen with a slider.

    Shows nothing for a run without snapshots (imported, or trained before the app kept them).
    """
    series = load_series(run_id).of_network(config.hidden_layers)
    if not series.snapshots:
        if live:
            st.caption("A look inside the network appears here as training starts.")
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
    left, right = st.columns(2, gap="large")
    with left:
        first_layer_panel(series, snapshot, config.hidden_layers[0], key)
    with right:
        guesses_panel(series, snapshot)
    weights_panel(run_id, config, None if live else snapshot.epoch, live, key)
