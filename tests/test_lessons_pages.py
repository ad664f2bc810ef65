"""Lessons through AppTest: the teacher makes one and shows it on Home; a learner opens it in Train with its fixed
settings fixed, trains under it, and is ranked under its challenge; a learner cannot make, change or delete one,
even by sending the teacher's widgets' values."""

from pathlib import Path

import pytest
from streamlit.proto.WidgetStates_pb2 import WidgetStates
from streamlit.testing.v1 import AppTest

from core.config import TrainConfig
from core.runs.lessons import Challenge, LessonBook
from core.runs.store import RunStore
from tests.test_classroom import finished_run

APP = str(Path(__file__).resolve().parent.parent / "app.py")
SECRETS = {"auth": {"client_id": "class"}, "classroom": {"teachers": ["ms.t@school.example"]}}
TEACHER = {"is_logged_in": True, "email": "ms.t@school.example", "email_verified": True, "name": "Ms T"}
INSTRUCTIONS = "**Beat** 90% with [few](http://evil.example) weights.\nTwo epochs only."


def person(user: dict, page: str, query: dict | None = None) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=90)
    app.secrets, app.user = SECRETS, user
    app.switch_page(page)
    for name, value in (query or {}).items():
        app.query_params[name] = value
    return app.run()


def learner(name: str) -> dict:
    return {"is_logged_in": True, "email": f"{name.lower()}@school.example", "email_verified": True, "name": name}


@pytest.fixture
def store(tmp_path, monkeypatch) -> RunStore:
    monkeypatch.setenv("MNIST_RUNS_DIR", str(tmp_path / "runs"))
    return RunStore(tmp_path / "runs")


def labelled(widgets, label: str):
    return next(widget for widget in widgets if widget.label == label)


def make_lesson_as_teacher(app: AppTest) -> None:
    labelled(app.text_input, "Title").set_value("Tiny nets")
    labelled(app.text_area, "Instructions").set_value(INSTRUCTIONS)
    labelled(app.text_input, "Starting settings").set_value("/train?hidden=32&epochs=2&train-limit=1500&patience=0")
    labelled(app.multiselect, "Learners may change").set_value(["hidden_layers", "dropout"])
    labelled(app.number_input, "At most parameters").set_value(30_000)
    labelled(app.button, "Create the lesson").click().run()


def test_a_lesson_from_the_teacher_to_a_learners_run_under_its_challenge(store):
    teacher = person(TEACHER, "pages/lessons.py")
    assert not teacher.exception
    make_lesson_as_teacher(teacher)
    ((lesson,), damaged) = LessonBook(store.root).all()
    assert not damaged and lesson.title == "Tiny nets" and lesson.text == INSTRUCTIONS
    assert lesson.settings == TrainConfig(hidden_layers=(32,), epochs=2, train_limit=1500, patience=0)
    assert lesson.changeable == {"hidden_layers", "dropout"} and lesson.challenge == Challenge(parameters=30_000)
    labelled(teacher.button, "Show it on Home").click().run()
    assert store.classroom().lesson == lesson.lesson_id

    home = person(learner("Ada"), "pages/home.py")
    assert any(header.value == "Today's lesson" for header in home.subheader)
    assert INSTRUCTIONS in [text.value for text in home.text]  # as typed: no bold, no link
    assert not any("evil.example" in str(markdown.value) for markdown in home.markdown)

    ada = person(learner("Ada"), "pages/train.py", {"lesson": lesson.lesson_id})
    assert not ada.exception
    assert [ada.number_input(key=key).value for key in ("n_layers", "units_0", "epochs")] == [1, 32, 2]
    assert ada.number_input(key="epochs").disabled and ada.number_input(key="learning_rate").disabled
    assert not ada.number_input(key="units_0").disabled and not ada.number_input(key="dropout").disabled
    assert any("Within the challenge" in s.value for s in ada.success)
    ada.number_input(key="units_0").set_value(64).run()  # 50,890 parameters
    assert any("Over the challenge: 50,890 parameters, over 30,000" in w.value for w in ada.warning)
    ada.number_input(key="units_0").set_value(16)
    next(b for b in ada.button if b.label == "Start training").click()
    states = ada._tree.get_widget_states()  # as a modified browser can: a value for the fixed field too
    fixed = next(state for state in states.widgets if state.id == ada.number_input(key="epochs").id)
    fixed.double_value = 7
    ada._run(states)
    run_id = ada.query_params["run"]
    run_id = run_id[0] if isinstance(run_id, list) else run_id
    info = store.info(run_id)
    assert info.lesson == lesson.lesson_id
    assert info.config.hidden_layers == (16,) and info.config.epochs == 2  # the lesson's, whatever was sent

    big = finished_run(store, "b" * 64, "Bob", accuracy=0.96, layers=(512,))
    store.update_status(big, lesson=lesson.lesson_id)
    small = finished_run(store, "a" * 64, "Cy", accuracy=0.91, layers=(32,))
    store.update_status(small, lesson=lesson.lesson_id)
    home = person(TEACHER, "pages/home.py")
    table = next(frame.value for frame in home.dataframe if "challenge" in frame.value.columns)
    assert list(table["person"]) == ["Cy", "Bob"]
    assert list(table["challenge"]) == ["kept", "broken: 407,050 parameters, over 30,000"]


def test_a_learner_cannot_make_change_or_delete_a_lesson(store):
    lesson = LessonBook(store.root).create("Kept", "", TrainConfig(), {"dropout"})
    teacher = person(TEACHER, "pages/lessons.py")
    ids = {
        "title": labelled(teacher.text_input, "Title").id,
        "create": labelled(teacher.button, "Create the lesson").id,
        "show": labelled(teacher.button, "Show it on Home").id,
        "delete": labelled(teacher.button, "Delete it").id,
    }
    ada = person(learner("Ada"), "pages/lessons.py")
    assert not ada.exception
    assert not [b for b in ada.button if b.label in ("Create the lesson", "Show it on Home", "Delete it", "Change")]
    assert any("Only the teacher" in caption.value for caption in ada.caption)
    # What a modified browser can send: the teacher's widgets' ids with a title and every button pressed.
    states = WidgetStates()
    title = states.widgets.add()
    title.id, title.string_value = ids["title"], "Learner's lesson"
    for name in ("create", "show", "delete"):
        pressed = states.widgets.add()
        pressed.id, pressed.trigger_value = ids[name], True
    ada._run(states)
    assert not ada.exception
    assert LessonBook(store.root).all() == ([lesson], [])
    assert store.classroom().lesson is None


def test_the_teacher_sees_a_damaged_lesson_with_its_reason_and_deletes_it(store):
    book = LessonBook(store.root)
    kept = book.create("Kept", "", TrainConfig(), {"dropout"})
    broken = book.create("Broken", "", TrainConfig(), {"dropout"})
    book.path(broken.lesson_id).write_text('{"title": "Broken", "settings": {"dropout": 3}}')
    teacher = person(TEACHER, "pages/lessons.py")
    (warning,) = [w for w in teacher.warning if "damaged lesson" in w.value]
    assert broken.lesson_id in warning.value
    next(b for b in teacher.button if b.key == f"delete-damaged-{broken.lesson_id}").click().run()
    assert book.all() == ([kept], [])
    assert not [w for w in teacher.warning if "damaged lesson" in w.value]


def test_the_teacher_changes_a_lesson_in_place(store):
    book = LessonBook(store.root)
    lesson = book.create("Draft", "", TrainConfig(), {"dropout"})
    teacher = person(TEACHER, "pages/lessons.py")
    edit = f"edit-{lesson.lesson_id}"
    teacher.text_input(key=f"{edit}-title").set_value("Tiny nets")
    teacher.number_input(key=f"{edit}-epochs").set_value(4)
    teacher.multiselect(key=f"{edit}-changeable").set_value(["hidden_layers"])
    next(b for b in teacher.button if b.label == "Save the lesson").click().run()
    assert not teacher.exception
    ((changed,), _) = book.all()
    assert (changed.lesson_id, changed.created) == (lesson.lesson_id, lesson.created)
    assert changed.title == "Tiny nets" and changed.challenge == Challenge(epochs=4)
    assert changed.changeable == {"hidden_layers"}
