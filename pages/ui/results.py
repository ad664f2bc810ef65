"""A finished run's results: its curves, the held-out numbers, the confusion matrix and the mistakes."""

from __future__ import annotations

import numpy as np
import streamlit as st

from core.config import TrainConfig
from core.engine.progress import format_duration
from core.runs.results import RunMetrics
from core.runs.states import IMPORTED, STATUS_BADGES, stop_reason_text
from core.training.data import bundled_mnist
from core.views import charts
from core.views.keras_code import keras_code


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


def misclassified_gallery(metrics: RunMetrics, columns: int = 8, most: int = 24) -> None:
    mistakes = metrics.misclassified[:most]
    if not mistakes:
        st.success("No test image was misclassified.")
        return
    x_test = bundled_mnist()["x_test"]
    st.caption("The test digits the model got wrong with the most confidence. Would you have read them right?")
    cells = st.columns(columns)
    for i, mistake in enumerate(mistakes):
        with cells[i % columns]:
            st.image(
                upscale(x_test[mistake.index] / 255.0),
                caption=f"true {mistake.true} → {mistake.predicted} ({mistake.confidence:.0%})",
            )


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
    left, right = st.columns(2)
    with left:
        st.plotly_chart(
            charts.confusion_matrix_figure(metrics.confusion_matrix),
            key=f"{key}-confusion",
            config={"displayModeBar": False},
        )
    with right:
        st.plotly_chart(
            charts.per_class_accuracy_figure(metrics.per_class_accuracy),
            key=f"{key}-per-class",
            config={"displayModeBar": False},
        )
    st.subheader("Misclassified test digits")
    misclassified_gallery(metrics)


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
