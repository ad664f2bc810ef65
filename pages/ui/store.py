"""The run store, the job manager and saved models, as every page reaches them (models cached per file version)."""

from __future__ import annotations

import streamlit as st

from core.drawings.inference import Classifier, ModelLoadError
from core.engine.execution import ExecutionSetupError
from core.engine.jobs import JobManager, shared_manager
from core.runs.store import RunInfo, RunStore, StoreError


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
    try:
        return shared_manager(run_store())
    except ExecutionSetupError as error:  # the server's environment variables: the host has to fix them
        st.error(f"Training is not set up right on this server: {error}", icon=":material/error:")
        st.stop()


@st.cache_resource(max_entries=32, show_spinner="Loading the model…")
def cached_classifier(path: str, modified: float) -> Classifier:
    """One loaded model per file version, shared by every session (read-only numpy arrays)."""
    return Classifier.load(path)


def run_classifier(run: RunInfo) -> Classifier | None:
    """The run's model, read with numpy; None when it has none that can be read."""
    path = run_store().model_path(run.run_id)
    try:
        return None if path is None else cached_classifier(str(path), path.stat().st_mtime)
    except (ModelLoadError, OSError):
        return None
