"""Inside the network on the pages, through AppTest with real (tiny) training behind them: the Train page
live and replayed, the Runs page, damaged snapshot files, and the Draw page's map before any drawing."""

import base64
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from core.config import TrainConfig
from core.engine.jobs import JobManager, shared_manager
from core.runs import snapshots
from core.runs.store import RunStore
from core.training.data import bundled_mnist
from core.views.inside_view import favourite_digits
from tests.waiting import wait_until

APP = str(Path(__file__).resolve().parent.parent / "app.py")
TINY = TrainConfig(hidden_layers=(32,), epochs=2, train_limit=1_000, batch_size=100)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A completed two-epoch run (snapshots before training and after each epoch)."""
    store = RunStore(tmp_path_factory.mktemp("runs"))
    job = JobManager(store).submit(TINY)
    assert job.wait(180) and job.status == "completed", job.error
    return store, job.run_id


def open_page(monkeypatch, root: Path, page: str, run_id: str | None = None) -> AppTest:
    monkeypatch.setenv("MNIST_RUNS_DIR", str(root))
    app = AppTest.from_file(APP, default_timeout=60)
    app.switch_page(page)
    if run_id:
        app.query_params["run"] = run_id
    return app.run()


def components(app: AppTest, name: str) -> list[dict]:
    return [json.loads(e.proto.json) for e in app.get("bidi_component") if e.proto.component_name == name]


def inside(app: AppTest) -> dict | None:
    """What the panels show (pages/components/inside_network/panels.js takes it): a finished run's component, or the
    live run's, which holds them; None where they are not on the page."""
    finished = components(app, "mnist_inside_network")
    live = [data["inside"] for data in components(app, "mnist_live_run") if data["inside"]]
    return (finished + live)[0] if finished + live else None


def first_layer_url(app: AppTest) -> str:
    """The first layer's picture (a data URI: it names its content)."""
    return inside(app)["firstLayer"]["views"][0]["picture"]


def guesses(app: AppTest) -> list[str]:
    return sorted(tile["caption"] for tile in inside(app)["guesses"]["tiles"])


def right_count(app: AppTest) -> str:
    view = inside(app)["guesses"]
    return f"{view['score']} {view['when']}"


def weights_chart(app: AppTest) -> dict:
    figure = inside(app)["weights"]["figure"]
    assert "weight value" in json.dumps(figure["layout"])
    return figure


def panels_state(app: AppTest) -> tuple:
    return first_layer_url(app), right_count(app), len(weights_chart(app)["data"][0]["x"])


def shows_the_panels(app: AppTest) -> bool:
    """The panels with their heading: a subheader of the page, or the live run's own (its component's markup)."""
    headed = "Inside the network" in [s.value for s in app.subheader] or components(app, "mnist_live_run")
    return bool(headed) and inside(app)["guesses"]["title"] == "Its guesses on 20 digits"


def test_the_panels_show_while_it_trains_change_each_epoch_and_a_reload_finds_them(tmp_path, monkeypatch):
    root = tmp_path / "runs"
    store = RunStore(root)
    job = shared_manager(store).submit(TrainConfig(hidden_layers=(32,), epochs=60, train_limit=2_000, batch_size=50))
    try:
        assert wait_until(lambda: len(store.load_snapshots(job.run_id).epochs) >= 2, timeout=120)
        app = open_page(monkeypatch, root, "pages/train.py", job.run_id)
        assert not app.exception
        assert shows_the_panels(app)
        assert len(guesses(app)) == 20 and all(g[0] in "✓✗" for g in guesses(app))
        before = panels_state(app)
        shown = len(store.load_snapshots(job.run_id).epochs)
        assert wait_until(lambda: len(store.load_snapshots(job.run_id).epochs) >= shown + 2, timeout=120)
        app.run()
        after = panels_state(app)
        assert after[0] != before[0]  # the first layer's weights changed
        assert after[1] != before[1]  # "... right after epoch N", a later N
        assert after[2] > before[2]  # a column more in the weights' heatmap

        reloaded = open_page(monkeypatch, root, "pages/train.py", job.run_id)  # another tab, or a reload
        assert shows_the_panels(reloaded)
        assert inside(reloaded)["when"].startswith("As it is after epoch")
    finally:
        shared_manager(store).stop(job.run_id)
        assert job.wait(60)


def test_a_finished_run_replays_its_epochs_with_a_slider(finished, monkeypatch):
    store, run_id = finished
    app = open_page(monkeypatch, store.root, "pages/train.py", run_id)
    assert not app.exception
    slider = next(s for s in app.select_slider if s.label == "Epoch")
    assert slider.options == ["0 (before training)", "1", "2"] and slider.value == 2
    last = panels_state(app)
    assert "after epoch 2" in last[1]
    assert weights_chart(app)["layout"]["shapes"][0]["x0"] == 1.5  # the chosen epoch, outlined
    slider.set_value(0).run()
    start = panels_state(app)
    assert start[0] != last[0] and "before training" in start[1]
    assert weights_chart(app)["layout"]["shapes"][0]["x0"] == -0.5


def test_the_change_since_the_start_is_a_second_view_of_the_first_layer(finished, monkeypatch):
    store, run_id = finished
    app = open_page(monkeypatch, store.root, "pages/train.py", run_id)
    weights, change = inside(app)["firstLayer"]["views"]
    assert (weights["name"], change["name"]) == ("Its weights", "What training changed")
    assert change["picture"] != weights["picture"] and change["width"] == weights["width"]
    assert "the strokes it learned to look for" in change["caption"]


def test_each_neuron_shown_comes_with_the_validation_digits_it_fires_most_for(finished, monkeypatch):
    store, run_id = finished
    app = open_page(monkeypatch, store.root, "pages/train.py", run_id)
    view = inside(app)["favourites"]
    snapshot = snapshots.read_series(store.snapshots_folder(run_id)).snapshots[-1]
    assert len(view["pictures"]) == len(snapshot.first_layer) == 24
    # Each picture: the neuron's weights and the 8 validation digits whose weighted sums are the largest.
    validation = bundled_mnist()["x_train"][-TINY.validation_size :].reshape(-1, 784)
    weights = np.asarray(snapshot.first_layer, np.float32).reshape(24, -1)
    sums = weights @ validation.T.astype(np.float32)
    for neuron in (0, 23):
        shown = np.asarray(Image.open(io.BytesIO(base64.b64decode(view["pictures"][neuron].split(",")[1]))))
        assert shown.shape == ((28 + 4) * 2, (9 * 28 + 10 * 2) * 2, 3)
        for place in range(8):  # each digit tile, after the weights' tile, at 2 screen pixels a pixel
            left = (2 + (place + 1) * 30) * 2
            tile = shown[4 : 4 + 56 : 2, left : left + 56 : 2, 0]
            match = np.flatnonzero((validation == tile.ravel()).all(axis=1))
            assert match.size and sums[neuron, match].max() >= np.sort(sums[neuron])[-8] - 1e-3
    assert "validation digits that make it fire most" in view["caption"]


def test_a_neuron_that_looks_for_an_upright_stroke_fires_most_for_ones():
    stroke = np.full((28, 28), -1.0, np.float32)
    stroke[4:24, 12:16] = 1.0  # ink down the middle counts for it, ink anywhere else against it
    data = bundled_mnist()
    top = favourite_digits(stroke.reshape(1, -1), data["x_train"][-5000:].reshape(-1, 784))[0]
    assert (data["y_train"][-5000:][top] == 1).all()


def test_the_runs_page_replays_a_runs_epochs_too(finished, monkeypatch):
    store, run_id = finished
    app = open_page(monkeypatch, store.root, "pages/runs.py")
    assert not app.exception
    assert shows_the_panels(app)
    next(s for s in app.select_slider if s.label == "Epoch").set_value(1).run()
    assert "after epoch 1" in right_count(app)


def test_damaged_snapshot_files_are_left_out_and_the_page_still_shows(finished, monkeypatch, tmp_path):
    store, run_id = finished
    root = tmp_path / "runs"
    shutil.copytree(store.run_dir(run_id), root / run_id)
    folder = RunStore(root).snapshots_folder(run_id)
    (folder / "epoch-001.npz").write_bytes(b"not a snapshot")
    (folder / "digits.npz").write_bytes((folder / "epoch-002.npz").read_bytes())  # a file of the wrong kind
    app = open_page(monkeypatch, root, "pages/train.py", run_id)
    assert not app.exception and not app.error
    assert next(s for s in app.select_slider if s.label == "Epoch").options == ["0 (before training)", "2"]
    assert "cannot be read, so they are not shown" in inside(app)["guesses"]["unreadable"]
    for path in folder.iterdir():
        path.write_bytes(b"\0" * 100)
    app = open_page(monkeypatch, root, "pages/train.py", run_id)
    assert not app.exception and "Held-out test results" in [s.value for s in app.subheader]
    assert "Inside the network" not in [s.value for s in app.subheader] and inside(app) is None  # nothing readable


def test_the_draw_page_shows_the_map_before_anything_is_drawn(finished, monkeypatch):
    store, run_id = finished
    app = open_page(monkeypatch, store.root, "pages/draw.py", run_id)
    assert not app.exception and not app.error
    panel = next(e.proto for e in app.get("bidi_component") if e.proto.component_name == "mnist_drawing_panel")
    view = json.loads(panel.json)
    assert view["hint"] == "Draw a digit on the canvas: it is empty." and view["prediction"] is None
    assert view["map"]["caption"].startswith("Each dot is one of 2,000 test digits") and view["map"]["marker"] is None
    picture = Image.open(io.BytesIO(base64.b64decode(view["map"]["picture"].removeprefix("data:image/png;base64,"))))
    assert picture.format == "PNG" and picture.size[0] == picture.size[1] > 300
