"""A finished run's results: its curves, the held-out numbers, the confusion matrix and the test digits behind
each number, with their evidence."""

from __future__ import annotations

import numpy as np
import streamlit as st

from core.config import TrainConfig
from core.drawings.inference import ModelLoadError
from core.engine.progress import format_duration
from core.runs.results import RunMetrics
from core.runs.states import IMPORTED, STATUS_BADGES, stop_reason_text
from core.training.data import bundled_mnist, to_float
from core.views import charts, pictures
from core.views.keras_code import keras_code
from core.views.mistakes import TestReadings, evidence_tiles, tile_alt, tile_caption
from pages.ui.store import cached_classifier, run_store

TILE_WIDTH = 136  # pixels: five to a row on a desktop or a tablet, two on a phone


def status_badge(status: str) -> str:
    """A run's status as a coloured badge (Streamlit Markdown)."""
    badge = STATUS_BADGES.get(status)
    return f":{badge.colour}-badge[:material/{badge.icon}: {badge.word}]" if badge else status


def training_charts(batches: list[dict], epochs: list[dict], max_epochs: int, key: str) -> None:
    """Loss and accuracy curves of a run that is not training (a live one has pages/components/live_run)."""
    st.plotly_chart(
        charts.training_curves(batches, epochs, max_epochs),
        key=f"{key}-curves",
        config={"displayModeBar": False},
    )


def upscale(image: np.ndarray, factor: int = 4) -> np.ndarray:
    """Enlarge a 28x28 image with hard pixel edges, so a learner sees the real pixels."""
    return np.kron(np.asarray(image, dtype=np.float32), np.ones((factor, factor), dtype=np.float32)).clip(0, 1)


@st.cache_resource(max_entries=8, show_spinner="Reading the test digits with this model…")
def test_readings(path: str, modified: float) -> TestReadings:
    """What the model read for each of the 10,000 test digits, once per model file, shared by every session."""
    test = bundled_mnist()
    return TestReadings.of(cached_classifier(path, modified), test["x_test"], test["y_test"])


@st.cache_resource(max_entries=64, show_spinner=False)
def cell_tiles(path: str, modified: float, true: int | None, read_as: int | None) -> list[bytes]:
    """The tiles of one choice (PNG bytes), made once per model file and choice: a rerun of the page (any click
    elsewhere on it) draws nothing again."""
    chosen = test_readings(path, modified).choose(true, read_as)
    digits = to_float(bundled_mnist()["x_test"][chosen.indices])
    return [pictures.png(tile) for tile in evidence_tiles(cached_classifier(path, modified), digits, chosen)]


def _choice_keys(key: str) -> tuple[str, str]:
    return f"{key}-true", f"{key}-read-as"


def _picked_cell(key: str, chart: str) -> None:
    """A click on the confusion matrix: its cell's true digit and reading become the choice below it."""
    points = st.session_state[chart].selection.points
    if points and all(str(points[0].get(axis, "")).isdigit() for axis in "xy"):
        st.session_state.update(dict(zip(_choice_keys(key), (int(points[0]["y"]), int(points[0]["x"])))))


def _picked_digit(key: str, chart: str) -> None:
    """A click on a digit's accuracy bar: that digit's mistakes."""
    points = st.session_state[chart].selection.points
    if points and str(points[0].get("x", "")).isdigit():
        st.session_state.update(dict(zip(_choice_keys(key), (int(points[0]["x"]), None))))


def evidence_legend(true: int | None, read_as: int | None) -> str:
    """What the tiles' colours mean, naming the digits where the choice does."""
    if true is not None and read_as is not None and true != read_as:
        colours = f"red ink counted for {read_as} (what it read), blue ink for {true} (what it is)"
    elif true is not None and true == read_as:
        colours = f"red ink counted for {true}, blue ink for the digit it nearly read instead"
    else:
        colours = "red ink counted for what it read, blue ink for the true digit"
    return (
        f"Each digit as the model saw it, and beside it why it answered what it did: {colours}; faint blue where "
        "ink would have counted for the blue digit. Would you have read them right?"
    )


def mistakes_behind(run_id: str, key: str) -> None:
    """The test digits behind a number of the results, each beside its evidence: the cell or bar clicked, or the
    pair chosen in the two boxes (the way in with a keyboard); every mistake, most confident first, until then."""
    st.subheader("The test digits behind the numbers")
    path = run_store().model_path(run_id)
    try:
        if path is None:
            raise ModelLoadError("its model file is gone")
        modified = path.stat().st_mtime
        readings = test_readings(str(path), modified)
    except (ModelLoadError, OSError) as error:
        st.caption(f"The test digits cannot be shown: {error}")
        return
    true_key, read_key = _choice_keys(key)
    left, right = st.columns(2)
    true = left.selectbox(
        "True digit", [None, *range(10)], format_func=lambda d: "any" if d is None else str(d), key=true_key
    )
    read_as = right.selectbox(
        "Read as", [None, *range(10)], format_func=lambda d: "any other" if d is None else str(d), key=read_key
    )
    chosen = readings.choose(true, read_as)
    st.markdown(f"**{chosen.title}**" + (f" ({len(chosen.indices)} shown, {chosen.order})" if chosen.total else ""))
    if not chosen.total:
        st.success("None: the model made no such mistake on the test set.", icon=":material/check_circle:")
        return
    st.caption(evidence_legend(true, read_as))
    # A row that wraps, not columns: columns stack one under another on a phone, a tile to a line.
    with st.container(horizontal=True, gap="small", key=f"{key}-tiles"):
        for i, tile in enumerate(cell_tiles(str(path), modified, true, read_as)):
            st.image(tile, width=TILE_WIDTH, caption=tile_caption(chosen, i), alt=tile_alt(chosen, i))


def run_results(run_id: str, metrics: RunMetrics, stop_reason: str | None, key: str) -> None:
    """Held-out results of a finished run: headline numbers, confusion matrix, per-digit accuracy, mistakes."""
    a, b, c, d = st.columns(4)
    a.metric("Test accuracy", f"{metrics.test_accuracy:.2%}")
    b.metric("Test loss", f"{metrics.test_loss:.4f}")
    c.metric("Epochs run", f"{metrics.epochs_run}", help=f"best validation epoch: {metrics.best_epoch}")
    d.metric("Training time", format_duration(metrics.train_seconds))
    if stop_reason == IMPORTED:
        st.caption(
            f"Measured on the {metrics.test_images:,} MNIST test images when the model was imported. "
            "It was trained elsewhere, so there are no training curves here."
        )
    else:
        st.caption(
            f"Measured on the {metrics.test_images:,} MNIST test images, which were never used for training, "
            f"early stopping or choosing the model. {stop_reason_text(stop_reason)}; the model kept is the one "
            f"from epoch {metrics.best_epoch}, the best on the validation set."
        )
    # The charts' keys follow the choice: each choice draws them afresh, without Plotly's own selection (a
    # second click on the same cell would undo it), the chosen cell outlined by the figure itself.
    chosen = tuple(st.session_state.get(name) for name in _choice_keys(key))
    matrix_key, bars_key = f"{key}-confusion-{chosen}", f"{key}-per-class-{chosen}"
    left, right = st.columns(2)
    with left:
        st.plotly_chart(
            charts.confusion_matrix_figure(metrics.confusion_matrix, *chosen),
            key=matrix_key,
            config={"displayModeBar": False},
            on_select=lambda: _picked_cell(key, matrix_key),
            selection_mode="points",
        )
    with right:
        st.plotly_chart(
            charts.per_class_accuracy_figure(metrics.per_class_accuracy),
            key=bars_key,
            config={"displayModeBar": False},
            on_select=lambda: _picked_digit(key, bars_key),
            selection_mode="points",
        )
        st.caption("Click a cell of the matrix, or a digit's bar, to see its test digits below.")
    mistakes_behind(run_id, key)


def network_code(config: TrainConfig, key: str, name: str = "mnist_mlp") -> None:
    """The Keras code of this network (core.views.keras_code), folded away: to read, copy (the code box's own
    button) or download as a .py file, and run anywhere with Keras and numpy."""
    code = keras_code(config)
    with st.expander("The Keras code of this network", icon=":material/code:"):
        st.caption(
            "A script with Keras and numpy only that builds and trains this network as the app does: the same "
            "layers, optimizer, split of MNIST, seed and stopping rules."
        )
        st.code(code, language="python")
        st.download_button(
            "Download as .py",
            code.encode(),
            file_name=f"{name}.py",
            mime="text/x-python",
            key=f"{key}-code",
            icon=":material/download:",
        )
