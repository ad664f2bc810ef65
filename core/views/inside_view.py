"""Inside the network at one epoch, as its panels show it: what the first layer looks for, its guesses on 20
digits, how each layer's weights spread out. Built from a run's snapshots (core.runs.snapshots).

Two readers ask for it: the pages (a finished run's epochs with a slider; a live run's latest as the page is
drawn) and the live feed (core/live_feed.py: a live run's latest after each epoch, sent on the page's one
socket with no rerun of the page). Both get the same view from here: JSON as
pages/components/inside_network/panels.js takes it, built once per state of the run's snapshot folder and
shared by every session and socket (never change it).

    view = panels(store.snapshots_folder(run_id), config)            # live: the latest epoch
    view = panels(store.snapshots_folder(run_id), config, epoch=3)   # a finished run, at epoch 3
"""

from __future__ import annotations

import hashlib
import json
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from core.config import TrainConfig
from core.runs import snapshots
from core.runs.snapshots import Snapshot, SnapshotSeries
from core.training.data import bundled_mnist
from core.views import charts, pictures

WEIGHT_PIXELS = 3  # screen pixels per weight in the first layer's picture
FAVOURITES = 8  # the validation digits shown for a neuron
WAITING = "A look inside the network appears here as training starts."

# One view built at a time: after an epoch every open page of a class asks for the same new view at once, and
# the cache below would otherwise let each of them build it.
_building = threading.Lock()


@lru_cache(maxsize=16)
def _series(folder: str, state: tuple) -> SnapshotSeries:
    """Read once per state of the folder (the state changes with each new snapshot); read-only arrays."""
    return snapshots.read_series(Path(folder))


def series(folder: Path, hidden_layers: tuple[int, ...]) -> SnapshotSeries:
    """The run's readable snapshots of a network with these hidden layers (none for a run without any)."""
    return _series(str(folder), snapshots.folder_state(folder)).of_network(hidden_layers)


def panels(folder: Path, config: TrainConfig, epoch: int | None = None) -> dict:
    """The panels of the run whose snapshots are in `folder`, at `epoch` (the latest one before it when that
    one is missing), or while it trains (`epoch` None) at its latest, to be replaced after each epoch.

    Always has `version` (core.runs.snapshots.version of the snapshots it was built from) and `when` (a live run's line
    above the panels, None for a chosen epoch); `firstLayer`, `guesses` and `weights` only where the run has
    a readable snapshot.
    """
    with _building:
        return _panels(
            str(folder),
            snapshots.folder_state(folder),
            config.hidden_layers,
            config.epochs,
            config.validation_size,
            epoch,
        )


@lru_cache(maxsize=64)
def _panels(
    folder: str, state: tuple, hidden_layers: tuple[int, ...], max_epochs: int, validation_size: int, epoch: int | None
) -> dict:
    live = epoch is None
    series = _series(folder, state).of_network(hidden_layers)
    view = {"version": snapshots.version_of(state), "when": WAITING if live else None}
    if not series.snapshots:
        return view
    snapshot = series.snapshots[-1] if live else series.at(epoch)
    weights = _weights_figure(series, hidden_layers, max_epochs if live else None, None if live else snapshot.epoch)
    return {
        **view,
        "when": f"As it is {when(snapshot.epoch)}; this part updates after every epoch." if live else None,
        "firstLayer": first_layer_view(series, snapshot, hidden_layers[0]),
        "favourites": favourites_view(np.asarray(snapshot.first_layer), validation_size),
        "guesses": guesses_view(series, snapshot),
        "weights": {**weights, "config": {"displayModeBar": False, "staticPlot": live, "responsive": True}},
    }


def _weights_figure(
    series: SnapshotSeries, hidden_layers: tuple[int, ...], max_epoch: int | None, marked: int | None
) -> dict:
    """The weights' heatmaps (core.views.charts), with `version` naming the content: the page draws the chart again
    only when it changed."""
    layers = snapshots.common_histograms(series)
    names = snapshots.layer_names(len(layers), hidden_layers)
    figure = charts.weight_histograms(series.epochs, layers, names, max_epoch=max_epoch, marked_epoch=marked)
    text = json.dumps(figure, sort_keys=True)
    return {"figure": figure, "version": hashlib.sha256(text.encode()).hexdigest()[:16]}


def when(epoch: int) -> str:
    return "before training" if epoch == 0 else f"after epoch {epoch}"


def weight_grid_picture(weights: np.ndarray) -> dict:
    """The first layer's picture (a data URI) and its on-screen width."""
    grid = pictures.weight_grid(weights, columns=6)
    return {"picture": pictures.data_uri(grid), "width": grid.shape[1] * WEIGHT_PIXELS}


@lru_cache(maxsize=1024)
def _tile(image: bytes, shape: tuple[int, int], right: bool) -> str:
    """A guessed digit's picture: the same twenty digits at every epoch, only their frames change."""
    return pictures.data_uri(pictures.digit_tile(np.frombuffer(image, np.uint8).reshape(shape), right))


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


def favourite_digits(weights: np.ndarray, digits: np.ndarray, count: int = FAVOURITES) -> np.ndarray:
    """For each neuron's weights (neurons, 784), the indices of the `count` digits (n, 784) with the largest
    weighted sums, largest first."""
    weights = np.asarray(weights, dtype=np.float32)
    # A batch of digits at a time as floats: a few MB at most on the server, never the whole set.
    sums = np.concatenate(
        [weights @ np.asarray(digits[i : i + 500], dtype=np.float32).T for i in range(0, len(digits), 500)], axis=1
    )
    return np.argsort(-sums, axis=1, kind="stable")[:, :count]


@lru_cache(maxsize=2)
def _validation_digits(validation_size: int) -> np.ndarray:
    """The run's validation digits (the last `validation_size` MNIST training images), flat uint8, read-only."""
    digits = bundled_mnist()["x_train"][-validation_size:]
    return digits.reshape(len(digits), -1)


def favourites_view(first_layer: np.ndarray, validation_size: int) -> dict:
    """For each neuron shown in the first layer's picture, the FAVOURITES validation digits that make it fire
    most, beside its weights: one picture per neuron, which the page shows when its square is clicked.

    A neuron fires as the weighted sum of the pixels (plus its bias, the same for every digit) through its
    activation, which rises with that sum where it fires: the digits with the largest sums are the ones it
    fires most for.
    """
    digits = _validation_digits(validation_size)
    weights = np.nan_to_num(np.asarray(first_layer, dtype=np.float32)).reshape(len(first_layer), -1)
    top = favourite_digits(weights, digits)
    scale = pictures.weight_scale(weights)
    return {
        "pictures": [
            pictures.data_uri(pictures.neuron_favourites(weights[i], digits[top[i]], scale))
            for i in range(len(weights))
        ],
        "caption": f"Its weights (left) and the {FAVOURITES} of the {len(digits):,} validation digits that make it "
        "fire most: where they have ink, its weights are red.",
        "hint": "Click a neuron's square to see the digits that make it fire most.",
    }


def guesses_view(series: SnapshotSeries, snapshot: Snapshot) -> dict:
    count = len(snapshot.probabilities)
    view = {"title": f"Its guesses on {count} digits"}
    if not series.guesses_readable(snapshot):
        return {**view, "unreadable": "The digits of this run's guesses cannot be read, so they are not shown."}
    guesses, confidences = snapshot.guesses, snapshot.confidences
    right = guesses == series.digits.labels
    tiles = [
        _tile(np.asarray(image, np.uint8).tobytes(), image.shape, bool(ok))
        for image, ok in zip(series.digits.images, right)
    ]
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
