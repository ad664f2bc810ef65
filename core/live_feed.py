"""The live Train page's feed: its chart and its panels ask this app's server for what they lack, with no rerun.

A rerun of the page's live fragment twice a second cost the browser about 110 ms of its renderer each
time, on the cores that train (bench/page_overhead.py): most of it Streamlit rendering the rerun, not the
chart. So the chart, once the page has drawn it, fetches its own updates from a route of this app
(`feed_path`), asking from the records it holds:

    GET /api/runs/<run id>/live?batches=<batch records held>&epochs=<epoch records held>

and gets the points since then (core.live_curves), the progress bar, the run's snapshots' mark and the
run's status: the page is run again only when that changes (the run ended). When the mark differs from
theirs, the panels inside the network fetch their new view (core.inside_view, at the run's latest epoch):

    GET /api/runs/<run id>/inside

Both answer only for a run this server is training (or has just trained), and say only what the Train
page shows anyone who opens the run.

`routes()` are the routes for st.App (app.py); `live_update` and `live_panels` are the answers, plain
Python, tested alone.
"""

from __future__ import annotations

import json
import math
import re

from core import inside_view, snapshots
from core.execution import ExecutionSetupError
from core.jobs import JobManager, shared_manager
from core.live_curves import Cursor, new_points
from core.progress import progress_bar
from core.run_states import QUEUED
from core.store import is_run_id

PATH = "/api/runs/{run_id}/live"
PANELS_PATH = "/api/runs/{run_id}/inside"
NOT_TRAINING = {"error": "this server is not training that run"}
_COUNT = re.compile(r"\d{1,9}")  # a count of records; anything else is refused


def feed_path(base_url: str, run_id: str | None = None, path: str = PATH) -> str:
    """The feed's path on this server (under Streamlit's server.baseUrlPath), for one run or as a pattern."""
    base = base_url.strip("/")
    path = path if run_id is None else path.format(run_id=run_id)
    return f"/{base}{path}" if base else path


def panels_path(base_url: str, run_id: str | None = None) -> str:
    """Where the panels inside the network fetch a live run's view."""
    return feed_path(base_url, run_id, PANELS_PATH)


def live_update(manager: JobManager, run_id: str, held: Cursor) -> dict | None:
    """What a chart holding `held` of the run's records lacks, and where the run is; None if this server is
    not training it (never was, or has forgotten it: the page then reads the run from the store)."""
    job = manager.get(run_id)
    if job is None:
        return None
    batches, epochs = job.log.snapshot()
    update, _ = new_points(batches, epochs, held, job.config.epochs)
    update["y"] = [[value if math.isfinite(value) else None for value in ys] for ys in update["y"]]  # JSON has no NaN
    return {
        **update,
        "status": job.status,
        "progress": None if job.status == QUEUED else progress_bar(job.progress()),
        "snapshotsMark": snapshots.mark(manager.store.snapshots_folder(run_id)),
    }


def live_panels(manager: JobManager, run_id: str) -> dict | None:
    """The panels inside the network at the run's latest epoch (core.inside_view), or None if this server is
    not training it."""
    job = manager.get(run_id)
    if job is None:
        return None
    return inside_view.panels(manager.store.snapshots_folder(run_id), job.config)


def routes(base_url: str) -> list:
    """The feed as Starlette routes, for st.App(routes=...)."""
    from starlette.responses import Response
    from starlette.routing import Route

    def answer(status: int, content: dict) -> Response:
        body = json.dumps(content, allow_nan=False, separators=(",", ":"))
        return Response(body, status, media_type="application/json", headers={"Cache-Control": "no-store"})

    def manager_or_refusal() -> tuple[JobManager | None, Response | None]:
        try:
            return shared_manager(), None
        except ExecutionSetupError as error:  # the host's environment variables
            return None, answer(503, {"error": f"Training is not set up right on this server: {error}"})

    def feed(request) -> Response:  # a plain function: Starlette runs it in a thread, off the server's event loop
        run_id = request.path_params["run_id"]
        counts = [request.query_params.get(name, "0") for name in ("batches", "epochs")]
        if not is_run_id(run_id) or not all(_COUNT.fullmatch(count) for count in counts):
            return answer(400, {"error": "not a run id and two counts of records"})
        manager, refusal = manager_or_refusal()
        if refusal:
            return refusal
        update = live_update(manager, run_id, Cursor(*map(int, counts)))
        return answer(404, NOT_TRAINING) if update is None else answer(200, update)

    def panels(request) -> Response:
        run_id = request.path_params["run_id"]
        if not is_run_id(run_id):
            return answer(400, {"error": "not a run id"})
        manager, refusal = manager_or_refusal()
        if refusal:
            return refusal
        view = live_panels(manager, run_id)
        return answer(404, NOT_TRAINING) if view is None else answer(200, view)

    return [
        Route(feed_path(base_url), feed, methods=["GET"]),
        Route(panels_path(base_url), panels, methods=["GET"]),
    ]
