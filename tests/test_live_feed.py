"""The live Train page's feed (core/live_feed.py), asked as the browser asks it: through the routes, by ASGI, while
a real training runs in this process's job manager: the curves' points and, when the snapshots' mark moves,
the panels inside the network."""

import asyncio
import json
import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from starlette.applications import Starlette

from core import live_feed
from core.config import TrainConfig
from core.jobs import shared_manager
from core.live_curves import Cursor, new_points
from core.run_states import COMPLETED, QUEUED, RUNNING
from core.store import RunStore


@pytest.fixture
def runs_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_RUNS_DIR", str(tmp_path / "runs"))
    return tmp_path / "runs"


def get(app, path: str, query: str = "", method: str = "GET") -> tuple[int, dict, dict | None]:
    """`method path?query` as the server (uvicorn) hands it to the app: (status, headers, JSON body)."""
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query.encode(),
        "headers": [],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8501),
    }
    # In a thread of its own: the test session may already run an event loop in this one (Playwright's).
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, app(scope, receive, send)).result()
    start = next(message for message in sent if message["type"] == "http.response.start")
    body = b"".join(message.get("body", b"") for message in sent if message["type"] == "http.response.body")
    headers = {name.decode(): value.decode() for name, value in start["headers"]}
    is_json = headers.get("content-type") == "application/json"
    return start["status"], headers, json.loads(body) if is_json else None


def test_a_chart_that_asks_from_what_it_holds_ends_with_the_whole_training_and_its_panels_follow(runs_dir):
    app = Starlette(routes=live_feed.routes(""))
    manager = shared_manager(RunStore())
    job = manager.submit(TrainConfig(hidden_layers=(32,), epochs=3, train_limit=2_000, batch_size=50, seed=1))
    path = live_feed.feed_path("", job.run_id)
    held, drawn, statuses, marks, lines, panels = [0, 0], None, [], set(), [], {}
    deadline = time.time() + 180
    while time.time() < deadline:
        status, headers, update = get(app, path, f"batches={held[0]}&epochs={held[1]}")
        assert status == 200 and headers["cache-control"] == "no-store"
        assert update["from"] == held  # only what the chart lacks
        if drawn is None and "figure" in update and any(update["x"]):
            drawn = [list(zip(xs, ys)) for xs, ys in zip(update["x"], update["y"])]
        elif drawn is not None:
            for points, xs, ys in zip(drawn, update["x"], update["y"]):
                points += zip(xs, ys)
        if drawn is not None:
            held = update["to"]
        statuses.append(update["status"])
        marks.add(update["snapshotsMark"])
        if update["snapshotsMark"] not in panels:  # as the panels do: a new view when the mark moved
            status, headers, view = get(app, live_feed.panels_path("", job.run_id))
            assert status == 200 and headers["cache-control"] == "no-store"
            panels[view["mark"]] = view
        lines.append(update["progress"] and update["progress"]["text"])
        if update["status"] == COMPLETED and held == update["to"]:
            break
        time.sleep(0.2)
    assert statuses[-1] == COMPLETED, statuses
    assert set(statuses) <= {QUEUED, RUNNING, COMPLETED}
    # The chart put together from the feed's answers is the whole training's curves.
    batches, epochs = job.log.snapshot()
    whole, _ = new_points(batches, epochs, Cursor(), max_epochs=3)
    assert drawn == [list(zip(xs, ys)) for xs, ys in zip(whole["x"], whole["y"])]
    assert held == [len(batches), len(epochs)] == update["to"]
    # The progress line as the page shows it, and a mark that changed as the epochs' snapshots were written.
    assert any(line and re.fullmatch(r"Epoch [123] of 3 · step \d+ of \d+ · elapsed .+ left", line) for line in lines)
    assert update["progress"]["fraction"] == 1.0
    assert len(marks) >= 2
    # The panels' views followed the epochs, the last one shows the trained network.
    shown = [view for view in panels.values() if "firstLayer" in view]
    assert len({view["when"] for view in shown}) >= 2
    last = panels[update["snapshotsMark"]]
    assert last["when"].startswith("As it is after epoch 3;") and last["guesses"]["when"] == "after epoch 3"
    assert len(last["guesses"]["tiles"]) == 20
    assert last["firstLayer"]["views"][0]["picture"].startswith("data:image/png")
    assert last["weights"]["figure"]["data"][0]["x"] == [0, 1, 2, 3]


def test_it_refuses_what_is_not_a_run_and_two_counts_and_says_when_it_trains_no_such_run(runs_dir):
    app = Starlette(routes=live_feed.routes("/class/"))  # under Streamlit's server.baseUrlPath
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
    ]:
        status, _, answer = get(app, path, query)
        assert status == 400 and "not a run id" in answer["error"], (path, query)
    status, _, answer = get(app, unknown, "batches=0&epochs=0")
    assert status == 404 and "not training that run" in answer["error"]
    assert live_feed.panels_path("/class/", "20260101-000000-abcdef") == "/class/api/runs/20260101-000000-abcdef/inside"
    for run_id in ["..", "20260101-000000-ABCDEF", "-"]:
        path = f"/class/api/runs/{run_id}/inside"
        status, _, answer = get(app, path)
        assert status == 400 and "not a run id" in answer["error"], path
    status, _, answer = get(app, live_feed.panels_path("/class/", "20260101-000000-abcdef"))
    assert status == 404 and "not training that run" in answer["error"]
    assert get(app, unknown, method="POST")[0] == 405
    assert get(app, live_feed.feed_path("", "20260101-000000-abcdef"))[0] == 404  # not under the base: no route
