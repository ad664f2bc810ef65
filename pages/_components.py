"""Widgets shared by the pages: run store access, live progress, training curves, results.

Not a page itself: app.py routes with st.navigation, so files here are only
pages when app.py lists them.
"""

from __future__ import annotations

import numpy as np
import streamlit as st
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import script_runner

from core import figures
from core.data import bundled_mnist
from core.store import (
    CANCELLED,
    COMPLETED,
    DAMAGED,
    FAILED,
    INTERRUPTED,
    QUEUED,
    RUNNING,
    STOPPED,
    RunInfo,
    RunStore,
    StoreError,
    is_run_id,
)
from core.training import STOP_REASONS, JobManager, TrainingJob, format_duration, shared_manager

# Until some session has called st.navigation, Streamlit treats pages/ as a legacy multipage folder and
# runs a file from it on its own when a fresh server's first visitor opens /train or /draw directly:
# app.py is skipped, and the old auto-generated navigation shows. Every page imports this module, so
# switch that mode off here and rerun through app.py. (PagesManager's flag is not public API; the
# browser test opens /train first on a fresh server to catch a change.)
if PagesManager.uses_pages_directory:
    PagesManager.uses_pages_directory = False
    st.rerun()

# After every script run (each fragment tick and canvas stroke too) Streamlit calls
# keras.backend.clear_session() once Keras is imported: about 165 ms of garbage collection each
# time, and the Draw page's traced model then retraces on its next call. Our models are loaded once
# and shared read-only (core.inference), so there is no session state to clear. (Private hook, like
# the flag above; bench/inference_latency.py and the browser test's latency show a regression.)
script_runner._clean_problem_modules = lambda: None

STATUS_BADGES = {
    QUEUED: ":gray-badge[:material/hourglass_empty: queued]",
    RUNNING: ":blue-badge[:material/play_arrow: training]",
    COMPLETED: ":green-badge[:material/check: completed]",
    STOPPED: ":orange-badge[:material/stop: stopped]",
    FAILED: ":red-badge[:material/error: failed]",
    INTERRUPTED: ":red-badge[:material/power_off: interrupted]",
    CANCELLED: ":gray-badge[:material/close: cancelled]",
    DAMAGED: ":red-badge[:material/broken_image: damaged]",
}


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
    progress = job.progress()
    if progress.status == QUEUED:
        return "Waiting to start"
    epoch = min(progress.epochs_done + 1, progress.epochs)
    return (f"Epoch {epoch} of {progress.epochs} · step {progress.step} of {progress.steps or '…'} · "
            f"elapsed {format_duration(progress.elapsed)} · about {format_duration(progress.eta)} left")


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
        name = "/".join(str(u) for u in job.config.hidden_layers)
        if job.status == RUNNING:
            st.progress(job.progress().fraction, text=f"{name} · {progress_text(job)}")
        else:
            st.caption(f"{name} · waiting, {manager.jobs_ahead(job.run_id)} ahead")
    st.page_link("pages/train.py", label="Watch it", icon=":material/monitoring:",
                 query_params={"run": active[0].run_id})


def training_charts(batches: list[dict], epochs: list[dict], max_epochs: int, key: str, live: bool = False) -> None:
    """Loss and accuracy curves, with a stable key so reruns update the chart in place.

    A `live` chart is redrawn twice a second while training, so it is a static picture: no hover
    layer to rebuild each time on a machine whose cores also train.
    """
    st.plotly_chart(figures.training_curves(batches, epochs, max_epochs), key=f"{key}-curves",
                    config={"displayModeBar": False, "staticPlot": live})


def upscale(image: np.ndarray, factor: int = 4) -> np.ndarray:
    """Enlarge a 28x28 image with hard pixel edges, so a learner sees the real pixels."""
    return np.kron(np.asarray(image, dtype=np.float32), np.ones((factor, factor), dtype=np.float32)).clip(0, 1)


def misclassified_gallery(metrics: dict, columns: int = 8, most: int = 24) -> None:
    mistakes = metrics.get("misclassified", [])[:most]
    if not mistakes:
        st.success("No test image was misclassified.")
        return
    x_test = bundled_mnist()["x_test"]
    st.caption("The test digits the model got wrong with the most confidence. Would you have read them right?")
    cells = st.columns(columns)
    for i, mistake in enumerate(mistakes):
        with cells[i % columns]:
            st.image(upscale(x_test[mistake["index"]] / 255.0),
                     caption=f"true {mistake['true']} → {mistake['predicted']} ({mistake['confidence']:.0%})")


def run_results(run_id: str, metrics: dict, stop_reason: str | None, key: str) -> None:
    """Held-out results of a finished run: headline numbers, confusion matrix, per-digit accuracy, mistakes."""
    a, b, c, d = st.columns(4)
    a.metric("Test accuracy", f"{metrics['test_accuracy']:.2%}")
    b.metric("Test loss", f"{metrics['test_loss']:.4f}")
    c.metric("Epochs run", f"{metrics['epochs_run']}", help=f"best validation epoch: {metrics['best_epoch']}")
    d.metric("Training time", format_duration(metrics["train_seconds"]))
    reason = STOP_REASONS.get(stop_reason or "", "")
    if stop_reason == "imported":
        st.caption(f"Measured on the {metrics['test_images']:,} MNIST test images when the model was imported. "
                   "It was trained elsewhere, so there are no training curves here.")
    else:
        st.caption(
            f"Measured on the {metrics['test_images']:,} MNIST test images, which were never used for training, "
            f"early stopping or choosing the model. {reason}; the model kept is the one from epoch "
            f"{metrics['best_epoch']}, the best on the validation set."
        )
    left, right = st.columns(2)
    with left:
        st.plotly_chart(figures.confusion_matrix_figure(metrics["confusion_matrix"]), key=f"{key}-confusion",
                        config={"displayModeBar": False})
    with right:
        st.plotly_chart(figures.per_class_accuracy_figure(metrics["per_class_accuracy"]), key=f"{key}-per-class",
                        config={"displayModeBar": False})
    st.subheader("Misclassified test digits")
    misclassified_gallery(metrics)
