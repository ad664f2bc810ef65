"""The Runs page through AppTest, over runs made by the real engine."""

import json
import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.config import TrainConfig
from core.store import RunStore
from core.training import JobManager, shared_manager

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    store = RunStore(tmp_path_factory.mktemp("runs"))
    manager = JobManager(store)
    jobs = [manager.submit(TrainConfig(hidden_layers=(32,), epochs=2, train_limit=1_000, batch_size=100,
                                       dropout=rate)) for rate in (0.0, 0.5)]
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
    assert {"dropout 0.0 (validation)", "dropout 0.5 (validation)"} <= names


def test_details_show_the_confusion_matrix(runs_page):
    app = runs_page()
    assert any(trace.get("type") == "heatmap" and "predicted" in json.dumps(spec["layout"])
               for spec in chart_specs(app) for trace in spec["data"])


def test_a_running_job_cannot_be_deleted_and_a_finished_one_only_after_confirming(runs_page, two_runs):
    store, _ = two_runs
    job = shared_manager(RunStore(store.root)).submit(TrainConfig(hidden_layers=(16,), epochs=100,
                                                                  train_limit=5_000, batch_size=10))
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
