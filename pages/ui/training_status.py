"""The sidebar's training status on every page: what trains now, what waits, your place in the queue."""

from __future__ import annotations

import streamlit as st

from core.config import is_run_id
from core.engine.jobs import TrainingJob
from core.engine.progress import progress_line
from core.runs.states import QUEUED, RUNNING
from pages.ui.identity import current_person, owner_label
from pages.ui.store import job_manager
from pages.ui.text import literal


def progress_text(job: TrainingJob) -> str:
    return progress_line(job.progress())


def train_page_run_id() -> str | None:
    """The run the Train page shows: from the URL (survives a reload), else your own active one, if any."""
    run_id = st.query_params.get("run")
    if run_id and is_run_id(run_id):
        return run_id
    owner = current_person().owner
    yours = [job for job in job_manager().active() if owner is not None and job.owner == owner]
    return yours[0].run_id if yours else None


# The sidebar's refresh. Each is a rerun of its fragment: the server's work and a render in the browser, which
# delays a stroke on the Draw page that lands on it (bench/browser_latency.py measures it) and costs a class's
# server a rerun per open page. A refresh that changed with the state (slow while nothing trains) needed a rerun
# of the whole page to switch, on every open page at once: under a class's short trainings that was a storm of
# full reruns (tests/e2e/test_classroom.py).
SIDEBAR_POLL_SECONDS = 2.0


def training_status_sidebar(on_train_page: bool) -> None:
    """On every page: what is training now and what waits, refreshed every `SIDEBAR_POLL_SECONDS`.

    Not on the Train page while it shows a live run: that page already shows the run's progress, and
    every extra rerun costs the browser CPU that the training on this machine may need.
    """
    run_id = train_page_run_id() if on_train_page else None
    if run_id and job_manager().is_active(run_id):
        st.caption("TRAINING")
        st.caption("Its progress is on this page.")
    else:
        st.fragment(_training_status, run_every=SIDEBAR_POLL_SECONDS)()


def _training_status() -> None:
    """What trains now (with whose it is) and how many wait; your own queued run's place, if you have one."""
    manager = job_manager()
    active = manager.active()
    st.caption("TRAINING")
    if not active:
        st.caption("Nothing is training right now.")
        return
    running = [job for job in active if job.status == RUNNING]
    waiting = [job for job in active if job.status == QUEUED]
    for job in running:
        name = f"{job.config.shape_label()} · {literal(owner_label(job.owner, job.owner_name))}" if job.owner else ""
        st.progress(job.progress().fraction, text=f"{name or job.config.shape_label()} · {progress_text(job)}")
    owner = current_person().owner
    mine = [job for job in active if owner is not None and job.owner == owner]
    if waiting:
        queued = [job for job in mine if job.status == QUEUED]
        yours = f" Yours: {manager.jobs_ahead(queued[0].run_id)} ahead." if queued else ""
        st.caption(f"{len(waiting)} waiting.{yours}")
    watched = (mine or active)[0]
    st.page_link(
        "pages/train.py",
        label="Watch yours" if mine else "Watch it",
        icon=":material/monitoring:",
        query_params={"run": watched.run_id},
    )
