"""The Runs page through AppTest, over runs made by the real engine."""

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.config import TrainConfig
from core.drawings.inference import Classifier
from core.engine.jobs import JobManager, shared_manager
from core.runs.store import RunStore, new_run_id
from core.training.data import bundled_mnist, to_float
from core.views.mistakes import TestReadings, evidence_tiles

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    store = RunStore(tmp_path_factory.mktemp("runs"))
    manager = JobManager(store)
    jobs = [
        manager.submit(TrainConfig(hidden_layers=(32,), epochs=2, train_limit=1_000, batch_size=100, dropout=rate))
        for rate in (0.0, 0.5)
    ]
    assert all(job.wait(180) and job.status == "completed" for job in jobs)
    return store, [job.run_id for job in jobs]


@pytest.fixture
def runs_page(two_runs, monkeypatch):
    store, _ = two_runs
    monkeypatch.setenv("MNIST_RUNS_DIR", str(store.root))

    def open_page() -> AppTest:
        app = AppTest.from_file(APP, default_timeout=60)
        app.switch_page("pages/runs.py")
        return app.run()

    return open_page


def chart_specs(app: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]


def test_the_table_lists_the_engines_runs(runs_page, two_runs):
    app = runs_page()
    assert not app.exception
    table = app.dataframe[0].value
    assert set(table["run"]) == set(two_runs[1])
    assert set(table["dropout"]) == {0.0, 0.5} and set(table["status"]) == {"completed"}


def test_comparing_two_runs_draws_both_named_by_what_differs(runs_page):
    app = runs_page()
    names = {trace["name"] for spec in chart_specs(app) for trace in spec["data"] if "name" in trace}
    assert {"dropout 0 (validation)", "dropout 0.5 (validation)"} <= names


def test_details_show_the_confusion_matrix(runs_page):
    app = runs_page()
    assert any(
        trace.get("type") == "heatmap" and "predicted" in json.dumps(spec["layout"])
        for spec in chart_specs(app)
        for trace in spec["data"]
    )


def test_each_number_of_the_results_leads_to_its_test_digits(runs_page, two_runs):
    store, run_ids = two_runs
    app = runs_page()
    run = app.selectbox(key="detail_run").value
    matrix = store.info(run.run_id).metrics.confusion_matrix
    mistakes = sum(matrix[t][p] for t in range(10) for p in range(10) if t != p)
    headings = [m.value for m in app.markdown if m.value.startswith("**")]
    assert f"**Every mistake: {mistakes:,} test digits**" in " ".join(headings)
    assert len(app.get("image")) == min(mistakes, 24)
    # A cell, chosen with the two boxes (what a click on the matrix sets): its count and its digits.
    true, read_as = max(((t, p) for t in range(10) for p in range(10) if t != p), key=lambda c: matrix[c[0]][c[1]])
    app.selectbox(key="detail-true").set_value(true)
    app.selectbox(key="detail-read-as").set_value(read_as).run()
    assert not app.exception
    count = matrix[true][read_as]
    assert any(m.value.startswith(f"**{true}s read as {read_as}: {count:,} test digit") for m in app.markdown)
    shown = [c for image in app.get("image") for c in image.proto.imgs]
    assert len(shown) == min(count, 24)
    assert all(c.caption.startswith(f"a {true} read as {read_as} (") for c in shown)
    assert any(f"red ink counted for {read_as} (what it read), blue ink for {true}" in c.value for c in app.caption)
    # The matrix outlines the cell; a row for a digit's bar.
    spec = next(s for s in chart_specs(app) if any(t.get("type") == "heatmap" for t in s["data"]))
    shape = spec["layout"]["shapes"][0]
    assert (shape["x0"], shape["y0"]) == (read_as - 0.5, true - 0.5)
    app.selectbox(key="detail-read-as").set_value(None).run()
    assert any(m.value.startswith(f"**{true}s read as another digit: ") for m in app.markdown)


def test_the_test_digits_shown_are_the_ones_the_run_counted(two_runs):
    store, run_ids = two_runs
    test = bundled_mnist()
    for run_id in run_ids:
        classifier = Classifier.load(store.model_path(run_id))
        readings = TestReadings.of(classifier, test["x_test"], test["y_test"])
        # Keras's evaluation at the end of training counted the matrix; numpy's reading puts each digit back in it.
        np.testing.assert_array_equal(readings.confusion(), store.info(run_id).metrics.confusion_matrix)
        for true, read_as in [(None, None), (3, None), (None, 5), (2, 7), (4, 4)]:
            chosen = readings.choose(true, read_as)
            labels, read = test["y_test"][chosen.indices], readings.read_as[chosen.indices]
            assert (true is None or (labels == true).all()) and (read_as is None or (read == read_as).all())
            right = true is not None and true == read_as  # a diagonal cell: the digits read right
            assert (labels == read).all() if right else (labels != read).all()
            sure = chosen.confidence  # near misses first on the diagonal, the most confident mistakes elsewhere
            assert (np.diff(sure) >= 0).all() if right else (np.diff(sure) <= 0).all()
        chosen = readings.choose(2, 7, most=3)
        tiles = evidence_tiles(classifier, to_float(test["x_test"][chosen.indices]), chosen)
        assert all(tile.shape == (84, 84 * 2 + 6, 4) for tile in tiles)  # RGBA: a transparent gap


def test_a_running_job_cannot_be_deleted_and_a_finished_one_only_after_confirming(runs_page, two_runs):
    store, _ = two_runs
    job = shared_manager(RunStore(store.root)).submit(
        TrainConfig(hidden_layers=(16,), epochs=100, train_limit=5_000, batch_size=10)
    )
    try:
        app = runs_page()
        app.selectbox(key="detail_run").set_value(store.info(job.run_id)).run()
        app.button(key="confirm_delete").click().run()
        assert any("stop it first" in e.value for e in app.error)
        assert store.run_dir(job.run_id).exists()
    finally:
        job.stop()
        job.wait(120)
    victim = store.list_runs()[-1].run_id
    app = runs_page()
    app.selectbox(key="detail_run").set_value(store.info(victim)).run()
    assert store.run_dir(victim).exists()  # opening the page, or the popover, deletes nothing
    app.button(key="confirm_delete").click().run()
    assert not store.run_dir(victim).exists()
    assert not os.path.exists(store.root / victim)


# One run's file each, as a crash, a bad hand edit or another program could leave it; every copy keeps a model.
DAMAGE = {
    "config.json": "[]",
    "metrics.json": '{"test_accuracy": 0.9',
    "status.json": '{"status": "running", "created": 1.7e9, "pid": 1180591620717411303424}',
}


@pytest.fixture
def damaged_store(two_runs, tmp_path, monkeypatch):
    """A store with one good trained run and, beside it, copies of it with one file damaged each."""
    store, _ = two_runs
    good = next(run.run_id for run in store.list_runs() if run.status == "completed")  # one may have been deleted
    mixed = RunStore(tmp_path / "runs")
    shutil.copytree(store.run_dir(good), mixed.run_dir(good))
    damaged = {}
    for name, content in DAMAGE.items():
        run_id = new_run_id()
        shutil.copytree(store.run_dir(good), mixed.run_dir(run_id))
        (mixed.run_dir(run_id) / name).write_text(content)
        damaged[run_id] = name
    pid_0 = new_run_id()
    shutil.copytree(store.run_dir(good), mixed.run_dir(pid_0))
    (mixed.run_dir(pid_0) / "status.json").write_text('{"status": "running", "created": 1.7e9, "pid": 0}')
    damaged[pid_0] = "status.json"
    monkeypatch.setenv("MNIST_RUNS_DIR", str(mixed.root))
    return mixed, good, damaged


def open_page(path: str) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60)
    app.switch_page(path)
    return app.run()


def test_damaged_runs_break_no_page_and_only_the_runs_page_shows_them(damaged_store):
    store, good, damaged = damaged_store
    runs = open_page("pages/runs.py")
    assert not runs.exception
    assert "4 runs cannot be read" in runs.warning[0].value
    reasons = "\n".join(t.value for t in runs.text)
    assert all(name in reasons for name in damaged.values()) and "pid must be a process id" in reasons
    assert list(runs.dataframe[0].value["run"]) == [good]
    home = open_page("pages/home.py")
    assert not home.exception
    assert any(m.label == "Runs trained" and m.value == "1" for m in home.metric)
    draw = open_page("pages/draw.py")
    assert not draw.exception
    (model,) = draw.selectbox(key="model-None").options
    assert model.startswith(good)


def test_a_damaged_run_can_be_deleted_from_the_runs_page(damaged_store):
    store, good, damaged = damaged_store
    victim = next(run_id for run_id, name in damaged.items() if name == "config.json")
    app = open_page("pages/runs.py")
    assert store.run_dir(victim).exists()  # showing it, and its popover, deletes nothing
    app.button(key=f"confirm_delete_{victim}").click().run()
    assert not app.exception
    assert not store.run_dir(victim).exists()
    assert {run.run_id for run in store.list_runs()} == {good} | set(damaged) - {victim}
    assert "3 runs cannot be read" in app.warning[0].value
