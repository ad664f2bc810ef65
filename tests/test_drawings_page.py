"""Your drawings on the pages, through AppTest: the gallery and its scores, delete, the Train page's switch,
a taught run's results and its fine-tune button, the Runs table's column. Over the session's `taught` store
(conftest.py); tests that change it work on a copy."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.config import DEFAULTS
from core.drawings.folder import DrawingSet
from core.drawings.inference import Classifier
from core.engine.jobs import shared_manager
from core.runs.classroom import browser_owner
from core.runs.store import RunStore, new_run_id
from core.training.teaching import copies_per_drawing, fine_tune_config
from tests.conftest import LINES, SQUARES
from tests.test_classroom import TOKEN_A, TOKEN_B

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def open_page(path: str, run: str | None = None) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60)
    app.switch_page(path)
    if run:
        app.query_params["run"] = run
    return app.run()


def texts(app: AppTest) -> str:
    parts = [e.value for e in app.markdown] + [e.value for e in app.caption] + [e.value for e in app.error]
    parts += [e.value for e in app.warning] + [e.value for e in app.info] + [e.value for e in app.success]
    return "\n".join(str(p) for p in parts)


@pytest.fixture
def taught_env(taught, monkeypatch):
    """The taught store as this server's, read only: its drawings folder sits beside it."""
    monkeypatch.setenv("MNIST_RUNS_DIR", str(taught.store.root))
    monkeypatch.delenv("MNIST_DRAWINGS_DIR", raising=False)
    return taught


@pytest.fixture
def copied(taught, tmp_path, monkeypatch):
    """A copy of the taught store and its drawings, for tests that change them."""
    shutil.copytree(taught.root / "runs", tmp_path / "runs")
    shutil.copytree(taught.root / "drawings", tmp_path / "drawings")
    monkeypatch.setenv("MNIST_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.delenv("MNIST_DRAWINGS_DIR", raising=False)
    return tmp_path


def test_the_page_shows_the_drawings_by_digit_the_skipped_file_and_each_models_score(taught_env):
    taught = taught_env
    app = open_page("pages/drawings.py")
    assert not app.exception and not app.error
    counts = {m.label: m.value for m in app.metric}
    assert counts["Digit 7"] == str(SQUARES) and counts["Digit 1"] == str(LINES) and counts["Digit 3"] == "0"
    assert "1 file in the folder is not used" in texts(app)
    skipped, scores = app.dataframe[0].value, app.dataframe[1].value
    assert list(skipped["file"]) == ["notes.txt"] and "not a PNG or JPEG file" in skipped["why"][0]
    assert len(app.get("image")) == SQUARES + LINES  # the gallery, every tab
    tested = dict(zip(scores["model"], scores["tested on"]))
    assert tested == {taught.plain: SQUARES + LINES, taught.include: 4, taught.fine_tune: 4}
    change = dict(zip(scores["model"], scores["MNIST change"]))
    metrics = {run: taught.store.load_metrics(run).test_accuracy for run in (taught.plain, taught.fine_tune)}
    assert change[taught.fine_tune] == pytest.approx((metrics[taught.fine_tune] - metrics[taught.plain]) * 100)


def test_delete_removes_the_file_and_the_page_counts_one_fewer(copied):
    folder = copied / "drawings"
    victim = sorted(path.name for path in folder.glob("1_*.png"))[0]
    app = open_page("pages/drawings.py")
    app.button(key=f"delete-{victim}").click().run()
    assert not app.exception
    assert not (folder / victim).exists() and len(list(folder.glob("1_*.png"))) == LINES - 1
    assert {m.label: m.value for m in app.metric}["Digit 1"] == str(LINES - 1)


def test_including_drawings_with_none_saved_says_so_and_starts_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.delenv("MNIST_DRAWINGS_DIR", raising=False)
    app = open_page("pages/train.py")
    app.toggle(key="include_drawings").set_value(True).run()
    assert any("There are no drawings to include yet" in e.value for e in app.error)
    assert next(b for b in app.button if b.label == "Start training").disabled


def test_including_drawings_says_how_many_train_and_how_many_are_kept_out(copied):
    app = open_page("pages/train.py")
    app.toggle(key="include_drawings").set_value(True).run()
    assert "16 of your drawings will train; 4 are kept out, to test on." in texts(app)
    assert not next(b for b in app.button if b.label == "Start training").disabled


def test_a_fine_tuned_run_shows_its_score_on_unseen_drawings_and_how_far_mnist_moved(taught_env):
    taught = taught_env
    app = open_page("pages/train.py", run=taught.fine_tune)
    assert not app.exception
    shown = texts(app)
    assert "Your handwriting" in [h.value for h in app.subheader]
    assert f"Fine-tuned from run {taught.plain} " in shown and "4 kept out to test on" in shown
    assert "Of the 4 it did not train on" in shown
    metric = next(m for m in app.metric if m.label == "MNIST test accuracy")
    moved = (
        taught.store.load_metrics(taught.fine_tune).test_accuracy
        - taught.store.load_metrics(taught.plain).test_accuracy
    )
    assert metric.delta == f"{moved * 100:+.2f} points"


def test_fine_tune_on_a_finished_run_starts_a_new_run_that_records_its_parent(copied, taught):
    app = open_page("pages/train.py", run=taught.plain)
    app.button(key="train-fine-tune").click().run()
    run_id = app.query_params["run"]
    run_id = run_id[0] if isinstance(run_id, list) else run_id
    store = RunStore(copied / "runs")
    manager = shared_manager(store)
    try:
        assert run_id not in (taught.plain, taught.include, taught.fine_tune)
        assert store.load_drawings_record(run_id).parent == taught.plain
        assert store.load_config(run_id) == fine_tune_config(taught.config)
    finally:
        manager.stop(run_id)
        assert manager.get(run_id).wait(120)


def test_a_fine_tune_at_the_chosen_weight_is_shown_against_its_start_and_the_other_weights(copied, taught):
    store = RunStore(copied / "runs")
    app = open_page("pages/drawings.py")
    app.selectbox(key="tune_run").set_value(store.info(taught.plain))
    app.select_slider(key="tune_weight").set_value(0.3).run()
    app.button(key="drawings-fine-tune").click().run()
    run_id = app.query_params["run"]
    run_id = run_id[0] if isinstance(run_id, list) else run_id
    job = shared_manager(store).get(run_id)
    assert job.wait(300) and job.status == "completed", job.error
    assert store.load_config(run_id).drawing_weight == 0.3
    record = store.load_drawings_record(run_id)
    assert record.parent == taught.plain and record.copies == copies_per_drawing(16, 5_000, 0.3)

    app = open_page("pages/train.py", run=run_id)
    assert not app.exception
    charts = [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]
    trade = next(c for c in charts if c["layout"].get("title", {}).get("text") == "Yours against everyone's")
    points = trade["data"][0]
    # The model it started from, this one, and the fine-tune at the default weight, each at its MNIST test
    # accuracy and its score on the 4 drawings this run kept out (which none of them trained on).
    assert points["text"] == ["untaught", "weight 30%", f"weight {DEFAULTS.drawing_weight:.0%}"]
    runs = (taught.plain, run_id, taught.fine_tune)
    assert points["x"] == [pytest.approx(store.load_metrics(r).test_accuracy) for r in runs]
    kept_out = {ref.sha256 for ref in record.held_out}
    drawings = [d for d in DrawingSet(copied / "drawings").scan().drawings if d.sha256 in kept_out]
    for run, shown in zip(runs, points["y"]):
        read = Classifier.load(store.model_path(run)).predict(np.stack([d.image for d in drawings])).argmax(axis=1)
        assert shown == pytest.approx(np.mean(read == [d.label for d in drawings]))
    assert points["marker"]["size"] == [10, 16, 10]  # this run stands out


def test_the_runs_table_scores_each_model_on_the_drawings_it_did_not_train_on(taught_env):
    taught = taught_env
    app = open_page("pages/runs.py")
    assert not app.exception
    table = app.dataframe[0].value
    scored = dict(zip(table["run"], table["your drawings"]))
    assert set(scored) == {taught.plain, taught.include, taught.fine_tune}
    assert all(0 <= value <= 1 for value in scored.values())


def test_an_imported_model_is_neither_scored_nor_fine_tuned_and_says_why(copied, taught):
    from core.engine.importing import import_model

    store = RunStore(copied / "runs")
    imported = import_model(store.model_path(taught.include).read_bytes(), "mine.keras", store)
    runs = open_page("pages/runs.py")
    scored = dict(zip(runs.dataframe[0].value["run"], runs.dataframe[0].value["your drawings"]))
    assert scored[imported] is None or scored[imported] != scored[imported]  # empty: it may have seen them all
    train = open_page("pages/train.py", run=imported)
    button = train.button(key="train-fine-tune")
    assert button.disabled and "imported" in button.help


def test_on_a_class_server_each_persons_drawings_are_their_own(copied, monkeypatch):
    folder = copied / "drawings"
    ada = browser_owner(TOKEN_A)
    shutil.copytree(folder, folder / ada)  # Ada's drawings, in her own folder of the class's drawings folder
    for path in folder.iterdir():
        if path.is_file():
            path.unlink()  # nothing left in the shared folder itself

    def drawings_page(token: str) -> AppTest:
        app = AppTest.from_file(APP, default_timeout=60)
        app.secrets = {"classroom": {"teacher_password": "open sesame"}}  # a class is set up
        app.session_state["browser_token"] = token
        app.switch_page("pages/drawings.py")
        return app.run()

    hers = drawings_page(TOKEN_A)
    assert not hers.exception
    assert {m.label: m.value for m in hers.metric}["Digit 7"] == str(SQUARES)
    assert any(b.label == "Delete" for b in hers.button)
    his = drawings_page(TOKEN_B)  # Bob sees none of hers, and so cannot delete them
    assert not any(b.label == "Delete" for b in his.button)
    assert "No drawings yet" in texts(his)


def test_a_class_runs_page_reads_no_model_file_twice(copied, taught, monkeypatch):
    store = RunStore(copied / "runs")
    for _ in range(36):  # more runs than models a server keeps loaded
        shutil.copytree(store.run_dir(taught.include), store.run_dir(new_run_id()))
    loads = []
    load = Classifier.load.__func__

    def counted(cls, path):
        loads.append(path)
        return load(cls, path)

    monkeypatch.setattr(Classifier, "load", classmethod(counted))
    first = open_page("pages/runs.py")
    assert not first.exception and len(loads) >= 36  # each model read once, to score it on your drawings
    loads.clear()
    again = open_page("pages/runs.py")
    assert not again.exception and loads == []  # the scores are kept while models and drawings stay as they are
    assert list(again.dataframe[0].value["your drawings"]) == list(first.dataframe[0].value["your drawings"])
