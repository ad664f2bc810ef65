"""Lessons: stored whole and checked when read back, fixed settings that stay fixed, and the challenge's ranking."""

import dataclasses
import json

import pytest

from core.config import DEFAULTS, TrainConfig, count_parameters, training_images
from core.runs.lessons import Challenge, LessonBook, LessonError, lesson_leaderboard
from core.runs.results import RunMetrics
from core.runs.store import RunInfo, RunStore

TINY = TrainConfig(hidden_layers=(32,), epochs=3, train_limit=2_000)


def make_lesson(book, **changes):
    values = dict(
        title="Small but good",
        text="Reach 90% with a tiny network.\nKeep the epochs as they are.",
        settings=TINY,
        changeable={"hidden_layers", "dropout"},
        challenge=Challenge(parameters=50_000, epochs=5),
    )
    return book.create(**(values | changes))


def test_a_lesson_reads_back_as_it_was_saved(tmp_path):
    book = LessonBook(tmp_path)
    lesson = make_lesson(book)
    again = book.get(lesson.lesson_id)
    assert again == lesson
    assert again.fixed[:2] == ["activation", "optimizer"] and "hidden_layers" not in again.fixed
    assert book.all() == ([lesson], [])


def test_typed_text_is_cleaned_and_a_bad_lesson_saves_nothing(tmp_path):
    book = LessonBook(tmp_path)
    lesson = make_lesson(book, title="  Tiny\u202enet\n  ", text="line one\r\nline\ttwo\x00\n")
    assert lesson.title == "Tiny net" and lesson.text == "line one\nline two"
    with pytest.raises(LessonError, match="title"):
        make_lesson(book, title="\n\t")
    with pytest.raises(LessonError, match="No such setting"):
        make_lesson(book, changeable={"hidden_layers", "secret_knob"})
    with pytest.raises(LessonError, match="parameters must be a whole number"):
        Challenge(parameters=0)
    assert len(book.all()[0]) == 1


def test_a_damaged_lesson_is_listed_with_its_reason_and_can_be_deleted(tmp_path):
    book = LessonBook(tmp_path)
    kept = make_lesson(book)
    broken = make_lesson(book, title="Broken")
    cut = make_lesson(book, title="Cut off")
    data = json.loads(book.path(broken.lesson_id).read_text())
    data["settings"]["dropout"] = 7
    book.path(broken.lesson_id).write_text(json.dumps(data))
    book.path(cut.lesson_id).write_text(book.path(cut.lesson_id).read_text()[:40])
    lessons, damaged = book.all()
    assert lessons == [kept]
    problems = {entry.lesson_id: entry.problem for entry in damaged}
    assert "Dropout" in problems[broken.lesson_id] and "not valid JSON" in problems[cut.lesson_id]
    with pytest.raises(LessonError, match="damaged"):
        book.get(broken.lesson_id)
    book.delete(broken.lesson_id)
    book.delete(cut.lesson_id)
    assert book.all() == ([kept], [])


def test_fixed_settings_stay_as_the_lesson_says_whatever_the_form_sends(tmp_path):
    lesson = make_lesson(LessonBook(tmp_path))
    sent = dataclasses.replace(DEFAULTS, hidden_layers=(16, 8), dropout=0.4, epochs=50, learning_rate=0.1)
    applied = lesson.apply(sent)
    assert applied.hidden_layers == (16, 8) and applied.dropout == 0.4  # the learner's to change
    assert (applied.epochs, applied.learning_rate, applied.train_limit) == (3, TINY.learning_rate, 2_000)


def test_the_challenge_says_what_a_config_breaks():
    challenge = Challenge(parameters=50_000, epochs=5, images=10_000)
    assert challenge.rules() == ["at most 50,000 parameters", "at most 5 epochs", "at most 10,000 training images"]
    assert challenge.broken_by(TINY) == []
    assert challenge.broken_by(DEFAULTS) == [
        f"{count_parameters(DEFAULTS):,} parameters, over 50,000",
        "20 epochs, over 5",
        f"{training_images(DEFAULTS):,} training images, over 10,000",
    ]
    assert training_images(DEFAULTS) == 55_000 and not Challenge().any


def run(run_id, owner, config, accuracy, lesson_id):
    return RunInfo(
        run_id=run_id,
        config=config,
        status="completed",
        created=1.0,
        started=1.0,
        finished=2.0,
        stop_reason=None,
        error=None,
        label="",
        has_model=True,
        metrics=RunMetrics(
            test_loss=0.3,
            test_accuracy=accuracy,
            test_images=10_000,
            confusion_matrix=[[0] * 10] * 10,
            per_class_accuracy=[accuracy] * 10,
            misclassified=[],
            best_epoch=1,
            epochs_run=1,
            train_seconds=1.0,
        ),
        owner=owner,
        owner_name=f"name of {owner[:2]}",
        lesson=lesson_id,
    )


def test_the_ranking_puts_runs_within_the_challenge_first_and_marks_the_rest(tmp_path):
    lesson = make_lesson(LessonBook(tmp_path))
    ada, bob, cy = "a" * 64, "b" * 64, "c" * 64
    big = dataclasses.replace(TINY, hidden_layers=(512,))
    runs = [
        run("20261204-100000-000001", ada, TINY, 0.90, lesson.lesson_id),
        run("20261204-100000-000002", ada, big, 0.97, lesson.lesson_id),  # better, but over the parameters
        run("20261204-100000-000003", bob, big, 0.96, lesson.lesson_id),
        run("20261204-100000-000004", cy, TINY, 0.99, None),  # not under this lesson
        run("20261204-100000-000005", cy, TINY, 0.85, lesson.lesson_id),
    ]
    board = lesson_leaderboard(runs, lesson, {bob: "Bob"})
    assert [(e.name, e.test_accuracy, bool(e.broken)) for e in board] == [
        ("name of aa", 0.90, False),
        ("name of cc", 0.85, False),
        ("Bob", 0.96, True),
    ]
    assert board[2].broken == (f"{count_parameters(big):,} parameters, over 50,000",)


def test_a_run_records_its_lesson_and_the_store_its_current_lesson(tmp_path):
    store = RunStore(tmp_path / "runs")
    lesson = make_lesson(LessonBook(store.root))
    run_id = store.create_run(TINY, owner="d" * 64, owner_name="Dee", lesson=lesson.lesson_id)
    assert store.info(run_id).lesson == lesson.lesson_id
    assert store.list_runs()[0].lesson == lesson.lesson_id  # the lessons folder is not taken for a run
    assert store.classroom().lesson is None
    store.set_current_lesson(lesson.lesson_id)
    store.set_person_name("d" * 64, "Dee")  # another change of the class file keeps it
    assert store.classroom().lesson == lesson.lesson_id
    store.set_current_lesson(None)
    assert store.classroom().lesson is None
