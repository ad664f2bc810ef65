"""The live Train page's feed: its chart and its panels get what they lack from this app's server, with no rerun.

A rerun of the page's live fragment twice a second cost the browser about 110 ms of its renderer each
time, on the cores that train (bench/page_overhead.py): most of it Streamlit rendering the rerun, not the
chart. So the chart, once the page has drawn it, opens a WebSocket to this app (`feed_path`), saying which
records it holds:

    /api/runs/<run id>/live?batches=<batch records held>&epochs=<epoch records held>

and the server sends it, every `PERIOD_SECONDS` while anything changed, the points since then
(core.live_curves), the progress bar, the run's snapshots' mark and the run's status; the browser answers
each update once it has drawn it (any message), and the next waits for that answer. The last update has the
run's final status, and the server closes the socket (code 1000). The page is run again only when the
status changes (the run ended). A socket, not a fetch twice a second: each request cost the server and the
browser more (HTTP, Streamlit's middleware, the browser's network service) than the update it carried.
The socket closes with code 4400 for a request that is not a run id and two counts, 4403 for one from
another site's page (its Origin neither this server nor one Streamlit's server.corsAllowedOrigins lists),
4404 for a run this server is not training, 4503 when training is not set up on this server.

When the mark differs from theirs, the panels inside the network fetch their new view (core.inside_view,
at the run's latest epoch), once per epoch:

    GET /api/runs/<run id>/inside

Both answer only for a run this server is training (or has just trained), and say only what the Train
page shows anyone who opens the run.

`routes()` are the routes for st.App (app.py); `live_update` and `live_panels` are the answers, plain
Python, tested alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import re
from urllib.parse import urlparse

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
PERIOD_SECONDS = 0.4  # a chart's updates: at least twice a second, with room to spare
CLOSE_REFUSED, CLOSE_FOREIGN, CLOSE_NOT_TRAINING, CLOSE_NOT_SET_UP = 4400, 4403, 4404, 4503  # not retried


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


def to_json(content: dict) -> str:
    return json.dumps(content, allow_nan=False, separators=(",", ":"))


async def follow_run(websocket, manager: JobManager, run_id: str, held: Cursor) -> None:
    """Send `websocket` what a chart holding `held` lacks, then whatever changed, until the run has ended (its
    last update sent; closed with 1000) or the browser has gone.

    An update goes no sooner than `PERIOD_SECONDS` after the last, and not before the browser has answered
    that it drew the last one: a page that falls behind (a busy machine, a page stopped in a debugger) gets
    one update with all it missed, not a queue of them to draw one by one.

    Runs in the server's event loop: an update is a look at the run's records in memory and a listing of its
    snapshot folder (a fraction of a millisecond), not worth a thread."""
    from starlette.websockets import WebSocketDisconnect

    gone, drawn = asyncio.Event(), asyncio.Event()
    drawn.set()  # nothing sent yet

    async def listen() -> None:  # each message from the browser says it drew the last update
        try:
            while (await websocket.receive())["type"] != "websocket.disconnect":
                drawn.set()
        finally:
            gone.set()
            drawn.set()  # no answer will come: stop waiting for one

    listener = asyncio.create_task(listen())
    sent = None
    try:
        while not gone.is_set():
            done = (job := manager.get(run_id)) is None or job.done  # read before the update: it is then the last
            update = live_update(manager, run_id, held)
            if update is None:
                await websocket.close(CLOSE_NOT_TRAINING, NOT_TRAINING["error"])
                return
            news = [update["to"], update["status"], update["progress"], update["snapshotsMark"]]
            if news != sent:
                drawn.clear()
                await websocket.send_text(to_json(update))
                held, sent = Cursor(*update["to"]), news
            if done:
                await websocket.close(1000)
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(gone.wait(), PERIOD_SECONDS)
            await drawn.wait()
    except WebSocketDisconnect:
        pass  # it left while an update was on its way
    finally:
        listener.cancel()


def from_this_site(origin: str | None, host: str | None, allowed_origins: frozenset[str] | None) -> bool:
    """Whether a socket opened with this Origin header (None: not from a browser's page) may follow a run: from
    a page of this server, or of an origin in `allowed_origins` (None: any). A browser lets any site's page
    open a socket to any server, with its cookies; only the Origin says whose page it is."""
    return origin is None or allowed_origins is None or urlparse(origin).netloc == host or origin in allowed_origins


def routes(base_url: str, allowed_origins: frozenset[str] | None = frozenset()) -> list:
    """The feed as Starlette routes, for st.App(routes=...). `allowed_origins`: other sites whose pages may
    open the chart's socket (None: any; Streamlit's server.enableCORS off)."""
    from starlette.responses import Response
    from starlette.routing import Route, WebSocketRoute

    def answer(status: int, content: dict) -> Response:
        return Response(to_json(content), status, media_type="application/json", headers={"Cache-Control": "no-store"})

    async def feed(websocket) -> None:
        await websocket.accept()  # then closed with a code and a reason the browser can read, if refused
        if not from_this_site(websocket.headers.get("origin"), websocket.headers.get("host"), allowed_origins):
            await websocket.close(CLOSE_FOREIGN, "not from this app's pages")
            return
        run_id = websocket.path_params["run_id"]
        counts = [websocket.query_params.get(name, "0") for name in ("batches", "epochs")]
        if not is_run_id(run_id) or not all(_COUNT.fullmatch(count) for count in counts):
            await websocket.close(CLOSE_REFUSED, "not a run id and two counts of records")
            return
        try:
            manager = shared_manager()
        except ExecutionSetupError as error:  # the host's environment variables
            await websocket.close(CLOSE_NOT_SET_UP, f"Training is not set up right on this server: {error}"[:120])
            return
        await follow_run(websocket, manager, run_id, Cursor(*map(int, counts)))

    def panels(request) -> Response:  # a plain function: Starlette runs it in a thread, off the server's event loop
        run_id = request.path_params["run_id"]
        if not is_run_id(run_id):
            return answer(400, {"error": "not a run id"})
        try:
            manager = shared_manager()
        except ExecutionSetupError as error:
            return answer(503, {"error": f"Training is not set up right on this server: {error}"})
        view = live_panels(manager, run_id)
        return answer(404, NOT_TRAINING) if view is None else answer(200, view)

    return [WebSocketRoute(feed_path(base_url), feed), Route(panels_path(base_url), panels, methods=["GET"])]
