"""Widgets shared by the pages: run store access, live progress, training curves, results.

Not a page itself: app.py routes with st.navigation, so files here are only
pages when app.py lists them.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from core import figures
from core.data import bundled_mnist
from core.evaluation import RunMetrics
from core.jobs import JobManager, TrainingJob, shared_manager
from core.progress import format_duration, progress_line
from core.run_states import IMPORTED, LOOKS, RUNNING, stop_reason_text
from core.store import RunInfo, RunStore, StoreError, is_run_id
from pages._streamlit_internals import route_every_page_through_app

route_every_page_through_app()


def status_badge(status: str) -> str:
    """A run's status as a coloured badge (Streamlit Markdown)."""
    look = LOOKS.get(status)
    return f":{look.colour}-badge[:material/{look.icon}: {look.word}]" if look else status


def run_store() -> RunStore:
    return RunStore()


def usable_runs() -> list[RunInfo]:
    """Every run whose files could be read, newest first. Damaged runs are left to the Runs page."""
    try:
        runs = run_store().list_runs()
    except StoreError as error:
        st.error(str(error), icon=":material/error:")
        st.stop()
    return [run for run in runs if run.problem is None]


def job_manager() -> JobManager:
    return shared_manager(run_store())


def progress_text(job: TrainingJob) -> str:
    return progress_line(job.progress())


def train_page_run_id() -> str | None:
    """The run the Train page shows: from the URL (survives a reload), else the newest active one."""
    run_id = st.query_params.get("run")
    if run_id and is_run_id(run_id):
        return run_id
    active = job_manager().active()
    return active[0].run_id if active else None


def training_status_sidebar(on_train_page: bool) -> None:
    """On every page: what is training now and what waits, refreshed each second.

    Not on the Train page while it shows a live run: that page already polls twice a second, and
    every extra rerun costs the browser CPU that the training on this machine may need.
    """
    run_id = train_page_run_id() if on_train_page else None
    if run_id and job_manager().is_active(run_id):
        st.caption("TRAINING")
        st.caption("Its progress is on this page.")
    else:
        st.fragment(_training_status, run_every=1.0)()


def _training_status() -> None:
    manager = job_manager()
    active = manager.active()
    st.caption("TRAINING")
    if not active:
        st.caption("Nothing is training right now.")
        return
    for job in active:
        name = job.config.shape_label()
        if job.status == RUNNING:
            st.progress(job.progress().fraction, text=f"{name} · {progress_text(job)}")
        else:
            st.caption(f"{name} · waiting, {manager.jobs_ahead(job.run_id)} ahead")
    st.page_link(
        "pages/train.py", label="Watch it", icon=":material/monitoring:", query_params={"run": active[0].run_id}
    )


def training_charts(batches: list[dict], epochs: list[dict], max_epochs: int, key: str) -> None:
    """Loss and accuracy curves of a run that is not training (a live one has pages/_live_chart.py)."""
    st.plotly_chart(
        figures.training_curves(batches, epochs, max_epochs),
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
            figures.confusion_matrix_figure(metrics.confusion_matrix),
            key=f"{key}-confusion",
            config={"displayModeBar": False},
        )
    with right:
        st.plotly_chart(
            figures.per_class_accuracy_figure(metrics.per_class_accuracy),
            key=f"{key}-per-class",
            config={"displayModeBar": False},
        )
    st.subheader("Misclassified test digits")
    misclassified_gallery(metrics)
