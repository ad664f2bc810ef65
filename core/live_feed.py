"""The live Train page's one channel: a WebSocket per watched run brings its chart the new points and its panels
inside the network their new view, with no rerun of the page.

The live run's component (pages/components/live_run), once the page has drawn it, opens a socket to this
app (`feed_path`), saying which records it holds and which version of the run's snapshots its panels show:

    /api/runs/<run id>/live?batches=<batch records held>&epochs=<epoch records held>&snapshots=<version>

and the server sends it, every `PERIOD_SECONDS` while anything changed, the points since then
(core.engine.live_curves), the progress bar, the run's status, the snapshots' version and, when that version
moved on (once per epoch), the panels' new view (core.views.inside_view). The browser answers each update
once it has drawn it (any message), and the next waits for that answer: a page that fell behind gets one
update with all it missed. The last update has the run's final status, and the server closes the socket
(code 1000); a page that does not answer is let go `SILENT_SECONDS` after its run has ended. The page is run
again only when the status changes (the run ended). A socket, not a fetch per update: each request cost the
server and the browser more (HTTP, Streamlit's middleware) than the update it carried.

The socket closes with code 4400 for a request that is not a run id, two counts and a version, 4403 for one
from another site's page (its Origin neither this server nor one Streamlit's server.corsAllowedOrigins
lists), 4404 for a run this server is not training, 4503 when training is not set up on this server. It
says only what the Train page shows anyone who opens the run.

`routes()` are the routes for st.App (app.py); `live_update` is the answer, plain Python, tested alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import re
from urllib.parse import urlparse

from core.config import is_run_id
from core.engine.execution import ExecutionSetupError
from core.engine.jobs import JobManager, shared_manager
from core.engine.live_curves import Cursor, new_points
from core.engine.progress import progress_bar
from core.runs import snapshots
from core.runs.states import QUEUED
from core.views import inside_view

PATH = "/api/runs/{run_id}/live"
NOT_TRAINING = "this server is not training that run"
_COUNT = re.compile(r"[0-9]{1,9}")  # a count of records; anything else is refused
_VERSION = re.compile(r"[0-9a-f]{16}")  # core.runs.snapshots.version
PERIOD_SECONDS = 0.4  # a chart's updates: at least twice a second, with room to spare
SILENT_SECONDS = 3.0  # a page that has not answered this long after its run ended is let go
CLOSE_REFUSED, CLOSE_FOREIGN, CLOSE_NOT_TRAINING, CLOSE_NOT_SET_UP = 4400, 4403, 4404, 4503  # not retried


def feed_path(base_url: str, run_id: str | None = None) -> str:
    """The feed's path on this server (under Streamlit's server.baseUrlPath), for one run or as a pattern."""
    base = base_url.strip("/")
    path = PATH if run_id is None else PATH.format(run_id=run_id)
    return f"/{base}{path}" if base else path


def live_update(manager: JobManager, run_id: str, held: Cursor, shown: str | None = None) -> dict | None:
    """What a page holding `held` of the run's records, and panels of snapshots' version `shown`, lacks, and
    where the run is; None if this server is not training it (never was, or has forgotten it: the page then
    reads the run from the store). The panels' view (`inside`) comes only when the version moved on."""
    job = manager.get(run_id)
    if job is None:
        return None
    batches, epochs = job.log.records()
    update, _ = new_points(batches, epochs, held, job.config.epochs)
    update["y"] = [[value if math.isfinite(value) else None for value in ys] for ys in update["y"]]  # JSON has no NaN
    folder = manager.store.snapshots_folder(run_id)
    version = snapshots.version(folder)
    update.update(
        status=job.status,
        progress=None if job.status == QUEUED else progress_bar(job.progress()),
        snapshots=version,
    )
    if version != shown:
        update["inside"] = inside_view.panels(folder, job.config)
    return update


def to_json(content: dict) -> str:
    return json.dumps(content, allow_nan=False, separators=(",", ":"))


async def follow_run(websocket, manager: JobManager, run_id: str, held: Cursor, shown: str | None = None) -> None:
    """Send `websocket` what a page holding `held` (and panels of version `shown`) lacks, then whatever changed,
    until the run has ended (its last update sent; closed with 1000) or the browser has gone.

    An update goes no sooner than `PERIOD_SECONDS` after the last, and not before the browser has answered
    that it drew the last one: a page that falls behind (a busy machine, a page stopped in a debugger) gets
    one update with all it missed, not a queue of them to draw one by one. A page that never answers is let
    go `SILENT_SECONDS` after the run has ended.

    Runs in a worker thread only when the panels' view is to be built (once per epoch); otherwise an update is
    a look at the run's records in memory and a listing of its snapshot folder, done in the event loop."""
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
            if snapshots.version(manager.store.snapshots_folder(run_id)) != shown:
                update = await asyncio.to_thread(live_update, manager, run_id, held, shown)  # builds the panels
            else:
                update = live_update(manager, run_id, held, shown)
            if update is None:
                await websocket.close(CLOSE_NOT_TRAINING, NOT_TRAINING)
                return
            news = [update["to"], update["status"], update["progress"], update["snapshots"]]
            if news != sent:
                drawn.clear()
                await websocket.send_text(to_json(update))
                held, shown, sent = Cursor(*update["to"]), update["snapshots"], news
            if done:
                await websocket.close(1000)
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(gone.wait(), PERIOD_SECONDS)
            while not drawn.is_set():  # the page's answer; one that never comes is not waited for past the run's end
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(drawn.wait(), SILENT_SECONDS)
                if not drawn.is_set() and ((job := manager.get(run_id)) is None or job.done):
                    await websocket.close(1000)
                    return
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
    from starlette.routing import WebSocketRoute

    async def feed(websocket) -> None:
        await websocket.accept()  # then closed with a code and a reason the browser can read, if refused
        if not from_this_site(websocket.headers.get("origin"), websocket.headers.get("host"), allowed_origins):
            await websocket.close(CLOSE_FOREIGN, "not from this app's pages")
            return
        run_id = websocket.path_params["run_id"]
        counts = [websocket.query_params.get(name, "0") for name in ("batches", "epochs")]
        shown = websocket.query_params.get("snapshots")
        if (
            not is_run_id(run_id)
            or not all(_COUNT.fullmatch(count) for count in counts)
            or not (shown is None or _VERSION.fullmatch(shown))
        ):
            await websocket.close(CLOSE_REFUSED, "not a run id, two counts of records and a version")
            return
        try:
            manager = shared_manager()
        except ExecutionSetupError as error:  # the host's environment variables
            await websocket.close(CLOSE_NOT_SET_UP, f"Training is not set up right on this server: {error}"[:120])
            return
        await follow_run(websocket, manager, run_id, Cursor(*map(int, counts)), shown)

    return [WebSocketRoute(feed_path(base_url), feed)]
