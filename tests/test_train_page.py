"""The Train page through Streamlit's AppTest, with real (tiny) training behind it."""

import json
import re
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from streamlit.testing.v1 import AppTest

from core.config import TrainConfig
from core.engine.jobs import shared_manager
from core.runs.store import RunStore
from tests.waiting import wait_until

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture
def runs_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_RUNS_DIR", str(tmp_path / "runs"))
    return tmp_path / "runs"


def train_page() -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60)
    app.switch_page("pages/train.py")
    return app.run()


def texts(app: AppTest) -> str:
    parts = [e.value for e in app.markdown] + [e.value for e in app.caption] + [e.value for e in app.error]
    parts += [e.value for e in app.info] + [m.value for m in app.metric] + [m.label for m in app.metric]
    return "\n".join(str(p) for p in parts)


def start(app: AppTest) -> str:
    """Press Start; returns the new run's id, which the page put in its URL."""
    next(b for b in app.button if b.label == "Start training").click().run()
    run_id = app.query_params["run"]
    return run_id[0] if isinstance(run_id, list) else run_id


def live_view(app: AppTest) -> dict:
    """What the live run's component shows (pages/components/live_run takes it): the progress and new points."""
    chart = next(e.proto for e in app.get("bidi_component") if e.proto.component_name == "mnist_live_run")
    return json.loads(chart.json)


def small_run(app: AppTest, epochs: int, limit: int, batch: int = 100) -> AppTest:
    app.number_input(key="n_layers").set_value(1)
    app.number_input(key="units_0").set_value(32)
    app.number_input(key="epochs").set_value(epochs)
    app.number_input(key="batch_size").set_value(batch)
    app.number_input(key="train_limit").set_value(limit)
    return app.run()


def test_defaults_show_the_classic_model_and_its_669706_parameters(runs_dir):
    app = train_page()
    assert not app.exception
    assert any(m.value == "669,706" for m in app.metric)
    assert app.number_input(key="units_0").value == 512 and app.number_input(key="dropout").value == 0.2
    assert not app.button[0].disabled  # Start


def test_the_keras_code_follows_the_form_and_can_be_downloaded(runs_dir):
    app = train_page()
    code = app.code[0].value
    assert "HIDDEN_LAYERS = (512, 512)" in code and "keras.optimizers.RMSprop" in code
    app.number_input(key="n_layers").set_value(1).run()
    app.number_input(key="units_0").set_value(32).run()
    app.selectbox(key="optimizer").set_value("adam").run()
    code = app.code[0].value
    assert "HIDDEN_LAYERS = (32,)" in code and "keras.optimizers.Adam(learning_rate=LEARNING_RATE)" in code
    assert "(25,450 parameters)" in code
    assert any(button.proto.label == "Download as .py" for button in app.get("download_button"))


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("dropout", 1.5, "Dropout is the fraction of units switched off"),
        ("units_1", 0, "Hidden layer 2 needs 1 to 4,096 units"),
        ("n_layers", 7, "Use 1 to 6 hidden layers"),
    ],
)
def test_an_invalid_value_shows_its_message_and_starts_nothing(runs_dir, key, value, message):
    app = train_page()
    app.number_input(key=key).set_value(value).run()
    assert any(message in e.value for e in app.error), [e.value for e in app.error]
    start = next(b for b in app.button if b.label == "Start training")
    assert start.disabled  # AppTest, like a browser, refuses to click it
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


def opened_at(query: dict) -> AppTest:
    """The Train page opened at an address with this query."""
    app = AppTest.from_file(APP, default_timeout=60)
    app.switch_page("pages/train.py")
    for name, value in query.items():
        app.query_params[name] = value
    return app.run()


def test_an_address_with_settings_fills_the_form(runs_dir):
    app = opened_at({"hidden": "64,32", "dropout": "0.3", "epochs": "2"})
    assert not app.exception
    assert app.number_input(key="n_layers").value == 2
    assert [app.number_input(key=f"units_{i}").value for i in range(2)] == [64, 32]
    assert app.number_input(key="dropout").value == 0.3 and app.number_input(key="epochs").value == 2
    assert "52,650" in texts(app)  # 784*64+64 + 64*32+32 + 32*10+10
    # A change made in the form afterwards stays: the address is applied once.
    app.number_input(key="epochs").set_value(4).run()
    assert app.number_input(key="epochs").value == 4


def test_an_address_out_of_range_or_unreadable_says_so_and_starts_nothing(runs_dir):
    app = opened_at({"epochs": "500", "dropout": "lots", "**colour**": "red", "augment": "on"})
    assert any("Max epochs must be" in e.value and "500" in e.value for e in app.error), [e.value for e in app.error]
    assert next(b for b in app.button if b.label == "Start training").disabled
    assert any(r"dropout\=lots\: Dropout is a number" in w.value for w in app.warning)  # as typed
    assert app.number_input(key="dropout").value == 0.2  # kept
    assert app.toggle(key="augment").value is True
    ignored = next(c.value for c in app.caption if c.value.startswith("Ignored in the address"))
    assert r"\*\*colour\*\*" in ignored  # as typed, never bold
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


def test_the_link_to_the_settings_opens_the_same_form(runs_dir):
    app = train_page()
    app.number_input(key="n_layers").set_value(1)
    app.number_input(key="units_0").set_value(100)
    app.selectbox(key="activation").set_value("tanh")
    app.toggle(key="reduce_lr").set_value(False)
    app.number_input(key="train_limit").set_value(3000).run()
    link = next(c.value for c in app.code if "/train?" in c.value)
    query = dict(parse_qsl(urlsplit(link).query))
    assert query["hidden"] == "100" and query["activation"] == "tanh" and query["reduce-lr"] == "off"
    again = opened_at(query)
    form = lambda a: [
        a.number_input(key="units_0").value,
        a.selectbox(key="activation").value,  # noqa: E731
        a.toggle(key="reduce_lr").value,
        a.number_input(key="train_limit").value,
    ]
    assert form(again) == form(app) == [100, "tanh", False, 3000]


def test_a_tiny_training_runs_to_the_end_and_shows_held_out_results(runs_dir):
    app = small_run(train_page(), epochs=2, limit=1_000)
    run_id = start(app)
    job = shared_manager(RunStore(runs_dir)).get(run_id)
    assert job.wait(120) and job.status == "completed", job.error
    app.run()
    assert not app.exception
    shown = texts(app)
    assert "Test accuracy" in shown and f"{job.metrics.test_accuracy:.2%}" in shown
    assert "never used for training" in shown
    assert len(app.get("plotly_chart")) >= 3  # loss and accuracy curves, confusion matrix, per-digit accuracy
    assert any(" read as " in caption for image in app.get("image") for caption in image.captions)  # mistakes


def test_stop_during_a_run_ends_it_stopped_with_a_usable_model(runs_dir):
    app = small_run(train_page(), epochs=50, limit=5_000, batch=10)
    run_id = start(app)
    job = shared_manager(RunStore(runs_dir)).get(run_id)
    assert wait_until(lambda: len(job.log.records()[0]) >= 20), "training streamed no batches"
    app.run()
    progress = live_view(app)["progress"]
    assert re.fullmatch(r"Epoch \d+ of 50 · step \d+ of 500 · elapsed \d+:\d\d · about \d+:\d\d left", progress["text"])
    assert 0 < progress["fraction"] < 0.5
    assert progress["announce"] == f"Training epoch {progress['text'].split()[1]} of 50"  # for screen readers
    stop = next(b for b in app.button if b.label == "Stop training")
    stop.click().run()
    assert job.wait(60) and job.status == "stopped"
    app.run()
    assert "stopped" in texts(app)
    import keras
    import numpy as np

    model = keras.models.load_model(RunStore(runs_dir).model_path(run_id))
    assert np.asarray(model(np.zeros((1, 28, 28), "float32"))).shape == (1, 10)


def test_a_disk_full_save_shows_a_clear_message_and_keeps_the_earlier_model(runs_dir, monkeypatch):
    """The storage layer fails (ENOSPC) from the second model save on: the run fails with the store's
    message, and the checkpoint written before the disk filled up is still there and loads."""
    import os

    from core.drawings.inference import Classifier
    from core.training.worker import train_run

    store = RunStore(runs_dir)
    run_id = store.create_run(TrainConfig(hidden_layers=(16,), epochs=3, patience=0, train_limit=1_000))
    real_replace, saves = os.replace, []

    def replace(src, dst):
        if str(dst).endswith("model.keras"):
            saves.append(dst)
            if len(saves) > 1:
                raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    outcome = train_run(store, run_id, lambda event: None, lambda: False)
    monkeypatch.setattr(os, "replace", real_replace)
    assert outcome["status"] == "failed"
    Classifier.load(store.model_path(run_id))  # the earlier checkpoint, whole
    assert not [p for p in store.run_dir(run_id).iterdir() if ".tmp" in p.name]

    app = AppTest.from_file(APP, default_timeout=60)
    app.switch_page("pages/train.py")
    app.query_params["run"] = run_id
    app.run()
    message = " ".join(e.value for e in app.error)
    assert "No space left on device" in message and "Free some disk space" in message


def test_a_second_tab_queues_its_training_and_sees_how_many_are_ahead(runs_dir):
    first = small_run(train_page(), epochs=50, limit=5_000, batch=10)
    first_id = start(first)
    manager = shared_manager(RunStore(runs_dir))
    try:
        # Another tab is another session: it sees the run in progress and may queue its own behind it.
        second = small_run(train_page(), epochs=1, limit=1_000)
        assert "1 training already running or waiting on this server" in texts(second)
        assert not next(b for b in second.button if b.label == "Start training").disabled
        second_id = start(second)
        assert second_id != first_id and manager.get(second_id).status == "queued"
        second.run()
        assert "Waiting: 1 ahead in the queue" in texts(second)
        assert live_view(second)["progress"] is None  # the queue's message instead of a bar
        # The first tab cannot start a second run of its own by accident while its run trains.
        first.session_state["settings_open"] = True
        first.run()
        assert next(b for b in first.button if b.label == "Start training").disabled
    finally:
        manager.stop(first_id)
    assert manager.get(first_id).wait(60)
    assert manager.get(second_id).wait(120) and manager.get(second_id).status == "completed"


def test_the_run_shows_first_with_its_settings_folded_and_kept(runs_dir):
    app = small_run(train_page(), epochs=1, limit=1_000)
    run_id = start(app)
    try:
        assert "784 → 32 → 10" in texts(app)  # the run's own settings, in one line
        assert [e.label for e in app.expander] == ["Settings: change them to start a new training"]
        assert len(app.number_input) == 0  # folded settings are not built while the run is watched
        app.session_state["settings_open"] = True  # the learner opens them
        app.run()
        assert app.number_input(key="units_0").value == 32 and app.number_input(key="train_limit").value == 1_000
    finally:
        assert shared_manager(RunStore(runs_dir)).get(run_id).wait(120)
