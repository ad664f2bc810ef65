"""The live Train page's one channel (core/live_feed.py), asked as the browser asks it: through the route, by ASGI,
while a real training runs in this process's job manager: the curves' points and, when the snapshots' version
moves on, the panels inside the network, on the same socket."""

import asyncio
import json
import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from starlette.applications import Starlette

from core import live_feed
from core.config import TrainConfig
from core.engine.jobs import shared_manager
from core.engine.live_curves import Cursor, new_points
from core.runs.states import COMPLETED, QUEUED, RUNNING
from core.runs.store import RunStore
from tests.waiting import wait_until


@pytest.fixture
def runs_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_RUNS_DIR", str(tmp_path / "runs"))
    return tmp_path / "runs"


SCOPE = {
    "asgi": {"version": "3.0"},
    "http_version": "1.1",
    "scheme": "http",
    "root_path": "",
    "headers": [],
    "client": ("127.0.0.1", 50000),
    "server": ("127.0.0.1", 8501),
}


def in_a_thread(coroutine):
    """Run it to its end in a thread of its own: the test session may already run an event loop in this one
    (Playwright's)."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


def get(app, path: str, query: str = "", method: str = "GET") -> tuple[int, dict, dict | None]:
    """`method path?query` as the server (uvicorn) hands it to the app: (status, headers, JSON body)."""
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {**SCOPE, "type": "http", "method": method, "path": path, "raw_path": path.encode()}
    in_a_thread(app({**scope, "query_string": query.encode()}, receive, send))
    start = next(message for message in sent if message["type"] == "http.response.start")
    body = b"".join(message.get("body", b"") for message in sent if message["type"] == "http.response.body")
    headers = {name.decode(): value.decode() for name, value in start["headers"]}
    is_json = headers.get("content-type") == "application/json"
    return start["status"], headers, json.loads(body) if is_json else None


def listen(app, path: str, query: str = "", leave_when=None, headers=()) -> tuple[list[dict], dict | None]:
    """Open the WebSocket at `path?query` as uvicorn hands it to the app, and read what the server sends, each
    update answered as the page does once it has drawn it, until the server closes the socket or until
    `leave_when(messages so far)` (then the browser leaves). Returns the messages (JSON) and the server's close
    message (its code and reason), None if the browser left first."""
    messages, closed = [], None

    async def talk():
        nonlocal closed
        inbox = asyncio.Queue()  # what the browser sends the server
        inbox.put_nowait({"type": "websocket.connect"})

        async def send(message):
            nonlocal closed
            if message["type"] == "websocket.send":
                messages.append(json.loads(message["text"]))
                leaves = leave_when is not None and leave_when(messages)
                inbox.put_nowait({"type": "websocket.disconnect", "code": 1001} if leaves else DRAWN)
            elif message["type"] == "websocket.close":
                closed = message

        scope = {**SCOPE, "type": "websocket", "path": path, "raw_path": path.encode(), "subprotocols": []}
        scope["headers"] = [(name.encode(), value.encode()) for name, value in headers]
        await asyncio.wait_for(app({**scope, "query_string": query.encode()}, inbox.get, send), timeout=240)

    in_a_thread(talk())
    return messages, closed


DRAWN = {"type": "websocket.receive", "text": "drawn"}  # the page's answer to an update it has drawn


def test_a_chart_follows_the_whole_training_through_its_socket_and_its_panels_follow(runs_dir):
    app = Starlette(routes=live_feed.routes(""))
    manager = shared_manager(RunStore())
    job = manager.submit(TrainConfig(hidden_layers=(32,), epochs=3, train_limit=2_000, batch_size=50, seed=1))
    path = live_feed.feed_path("", job.run_id)

    # A chart that leaves once it holds some points, and comes back (a reload) asking from what it holds.
    first, closed = listen(app, path, "batches=0&epochs=0", leave_when=lambda sent: sent[-1]["to"][0] >= 3)
    assert closed is None
    assert first[0]["from"] == [0, 0] and "figure" in first[0]
    for before, after in zip(first, first[1:]):
        assert after["from"] == before["to"]  # each update follows on from the last: only what the chart lacks
    held = first[-1]["to"]
    rest, closed = listen(app, path, f"batches={held[0]}&epochs={held[1]}")
    assert closed["code"] == 1000  # the run ended: its last update sent, the socket closed
    assert rest[0]["from"] == held and "figure" not in rest[0]
    for before, after in zip(rest, rest[1:]):
        assert after["from"] == before["to"]

    # The chart put together from the updates is the whole training's curves.
    updates = first + rest
    drawn = [list(zip(xs, ys)) for xs, ys in zip(updates[0]["x"], updates[0]["y"])]
    for update in updates[1:]:
        for points, xs, ys in zip(drawn, update["x"], update["y"]):
            points += zip(xs, ys)
    batches, epochs = job.log.records()
    whole, _ = new_points(batches, epochs, Cursor(), max_epochs=3)
    assert drawn == [list(zip(xs, ys)) for xs, ys in zip(whole["x"], whole["y"])]
    assert updates[-1]["to"] == [len(batches), len(epochs)]
    statuses = [update["status"] for update in updates]
    assert statuses[-1] == COMPLETED and set(statuses) <= {QUEUED, RUNNING, COMPLETED}
    # The progress line as the page shows it, and a version that changed as the epochs' snapshots were written.
    lines = [update["progress"]["text"] for update in updates if update["progress"]]
    assert any(re.fullmatch(r"Epoch [123] of 3 · step \d+ of \d+ · elapsed .+ left", line) for line in lines)
    assert updates[-1]["progress"]["fraction"] == 1.0
    versions = [update["snapshots"] for update in updates]
    assert len(set(versions)) >= 2

    # The panels' view comes on the same socket, only when the version moved on (each socket's first update
    # brings it, since these pages said none): at the end, the trained network's.
    for socket in (first, rest):
        shown = None
        for update in socket:
            assert ("inside" in update) == (update["snapshots"] != shown), update["snapshots"]
            shown = update["snapshots"]
            if "inside" in update:
                assert update["inside"]["version"] == update["snapshots"]
    last = next(update["inside"] for update in reversed(rest) if "inside" in update)
    assert last["version"] == versions[-1]
    assert last["when"].startswith("As it is after epoch 3;") and last["guesses"]["when"] == "after epoch 3"
    assert len(last["guesses"]["tiles"]) == 20
    assert last["firstLayer"]["views"][0]["picture"].startswith("data:image/png")
    assert last["weights"]["figure"]["data"][0]["x"] == [0, 1, 2, 3]


def test_a_page_that_has_not_drawn_its_update_gets_no_other_and_then_all_it_missed_in_one(runs_dir):
    app = Starlette(routes=live_feed.routes(""))
    manager = shared_manager(RunStore())
    job = manager.submit(TrainConfig(hidden_layers=(32,), epochs=40, train_limit=2_000, batch_size=50, seed=3))
    assert wait_until(lambda: len(job.log.records()[0]) > 0, timeout=120)
    path = live_feed.feed_path("", job.run_id)
    updates = []

    async def talk():
        inbox = asyncio.Queue()
        inbox.put_nowait({"type": "websocket.connect"})

        async def send(message):
            if message["type"] == "websocket.send":
                updates.append(json.loads(message["text"]))

        scope = {**SCOPE, "type": "websocket", "path": path, "raw_path": path.encode(), "subprotocols": []}
        server = asyncio.create_task(app({**scope, "query_string": b"batches=0&epochs=0"}, inbox.get, send))
        await asyncio.sleep(6 * live_feed.PERIOD_SECONDS)  # a page stopped in a debugger: it answers nothing
        waiting, trained = len(updates), len(job.log.records()[0])
        inbox.put_nowait(DRAWN)  # it goes on, and answers the update it had
        await asyncio.sleep(2 * live_feed.PERIOD_SECONDS)
        inbox.put_nowait({"type": "websocket.disconnect", "code": 1001})
        await asyncio.wait_for(server, timeout=10)
        return waiting, trained

    try:
        waiting, trained = in_a_thread(talk())
        assert waiting == 1 < len(updates)  # nothing more until it answered
        caught_up = updates[1]
        assert caught_up["from"] == updates[0]["to"] and "figure" not in caught_up
        assert caught_up["to"][0] >= trained > updates[0]["to"][0]  # all it missed, in one update
    finally:
        manager.stop(job.run_id)
        assert job.wait(60)


def test_the_panels_view_moves_on_with_the_epochs_and_comes_only_to_a_page_without_it(runs_dir):
    manager = shared_manager(RunStore())
    job = manager.submit(TrainConfig(hidden_layers=(32,), epochs=40, train_limit=2_000, batch_size=50, seed=2))
    try:
        views = {}
        deadline = time.time() + 120
        while len({view.get("when") for view in views.values()}) < 3 and time.time() < deadline:
            update = live_feed.live_update(manager, job.run_id, Cursor())
            view = update["inside"]
            assert view["version"] == update["snapshots"]
            again = live_feed.live_update(manager, job.run_id, Cursor(), shown=view["version"])
            assert ("inside" in again) == (again["snapshots"] != view["version"])  # only when an epoch came between
            views[view["version"]] = view
            time.sleep(0.3)
        shown = [view["when"] for view in views.values()]
        assert len(set(shown)) >= 3, shown  # before its first snapshot, or at two epochs or more
        epochs = [view["guesses"]["when"] for view in views.values() if "guesses" in view]
        assert len(set(epochs)) >= 2 and all(re.fullmatch(r"before training|after epoch \d+", e) for e in epochs)
    finally:
        manager.stop(job.run_id)
        assert job.wait(60)


def test_it_refuses_what_is_not_a_run_and_two_counts_and_says_when_it_trains_no_such_run(runs_dir):
    app = Starlette(routes=live_feed.routes("/class/"))  # under Streamlit's server.baseUrlPath
    allowing_school = Starlette(routes=live_feed.routes("/class/", frozenset({"https://school.example"})))
    unknown = live_feed.feed_path("/class/", "20260101-000000-abcdef")
    assert unknown == "/class/api/runs/20260101-000000-abcdef/live"
    for path, query in [
        ("/class/api/runs/../live", ""),
        ("/class/api/runs/20260101-000000-ABCDEF/live", ""),
        (f"/class/api/runs/{'9' * 300}/live", ""),
        (unknown, "batches=-1&epochs=0"),
        (unknown, "batches=1e3&epochs=0"),
        (unknown, "batches=12345678901&epochs=0"),
        (unknown, "batches=0&epochs=x"),
        (unknown, "batches=\u0661\u0662&epochs=0"),  # digits, but not ASCII ones
        ("/class/api/runs/20260101-000000-abcdef\n/live", ""),  # a run id, then a newline
        ("/class/api/runs/\u0662\u0660260101-000000-abcdef/live", ""),
        (unknown, "batches=0&epochs=0&snapshots=nothex"),
    ]:
        messages, closed = listen(app, path, query)
        assert messages == [] and closed["code"] == 4400, (path, query)
        assert "not a run id" in closed["reason"]
    messages, closed = listen(app, unknown, "batches=0&epochs=0")
    assert messages == [] and closed["code"] == 4404 and "not training that run" in closed["reason"]
    # Another site's page may open a socket to this server from a visitor's browser: refused (4403); this
    # server's own pages and the origins Streamlit's settings allow are let through (4404: no such run).
    for origin, code in [
        ("http://evil.example", 4403),
        ("http://127.0.0.1:8501", 4404),
        ("https://school.example", 4404),
    ]:
        sent = [("host", "127.0.0.1:8501"), ("origin", origin)]
        assert listen(allowing_school, unknown, headers=sent)[1]["code"] == code, origin
    anyone = Starlette(routes=live_feed.routes("/class/", allowed_origins=None))  # server.enableCORS off
    from_evil = [("host", "127.0.0.1:8501"), ("origin", "http://evil.example")]
    assert listen(anyone, unknown, headers=from_evil)[1]["code"] == 4404
    assert get(app, unknown)[0] == 404  # a plain request: no such route (only the socket)
    assert get(app, "/class/api/runs/20260101-000000-abcdef/inside")[0] == 404  # one channel: no other route


def test_a_page_that_never_answers_is_let_go_soon_after_its_run_ends(runs_dir):
    app = Starlette(routes=live_feed.routes(""))
    manager = shared_manager(RunStore())
    job = manager.submit(TrainConfig(hidden_layers=(16,), epochs=1, train_limit=1_000, batch_size=100, seed=4))
    path = live_feed.feed_path("", job.run_id)
    closed = []

    async def talk():
        inbox = asyncio.Queue()
        inbox.put_nowait({"type": "websocket.connect"})  # and then nothing: it never answers an update

        async def send(message):
            if message["type"] == "websocket.close":
                closed.append(message)

        scope = {**SCOPE, "type": "websocket", "path": path, "raw_path": path.encode(), "subprotocols": []}
        server = asyncio.create_task(app({**scope, "query_string": b"batches=0&epochs=0"}, inbox.get, send))
        while not job.done:
            await asyncio.sleep(0.1)
        ended = time.monotonic()
        await asyncio.wait_for(server, timeout=30)
        return time.monotonic() - ended

    held_after_the_end = in_a_thread(talk())
    assert closed and closed[0]["code"] == 1000
    assert held_after_the_end <= live_feed.SILENT_SECONDS + 2 * live_feed.PERIOD_SECONDS + 1
