"""A class on one server: owners kept as hashes, who may change a run, the teacher's settings, each person's best."""

import hashlib
import hmac
import json
import time

import pytest

from core.config import TrainConfig
from core.runs.classroom import (
    ClassroomConfigError,
    ClassroomSettings,
    GuessThrottle,
    Person,
    _stretched,
    account_owner,
    browser_owner,
    class_leaderboard,
    clean_name,
    may_change,
    refusal,
)
from core.runs.states import COMPLETED, DAMAGED, IMPORTED
from core.training.evaluation import evaluate

TOKEN_A = "tokenA_" + "a" * 25
TOKEN_B = "tokenB_" + "b" * 25
TEACHER = ClassroomSettings(teacher_password="open sesame")
NO_TEACHER = ClassroomSettings()


def finished_run(store, owner=None, name="", accuracy=0.9, layers=(32,), stop_reason="max_epochs") -> str:
    """A finished run with results and a model file, as the engine leaves one (no training needed)."""
    run_id = store.create_run(TrainConfig(hidden_layers=layers), owner=owner, owner_name=name)
    right = int(accuracy * 100)
    store.save_metrics(
        run_id,
        evaluate(
            [[1.0] + [0.0] * 9] * 100,
            [0] * right + [1] * (100 - right),
            best_epoch=1,
            epochs_run=1,
            train_seconds=1.0,
            train_images=100,
            parameters=100,
        ),
    )
    (store.run_dir(run_id) / "model.keras").write_bytes(b"PK\x03\x04 stand-in")
    store.update_status(run_id, status=COMPLETED, stop_reason=stop_reason)
    return run_id


def test_a_run_keeps_the_hash_of_its_browser_never_the_token(store):
    owner = browser_owner(TOKEN_A)
    run_id = store.create_run(TrainConfig(), owner=owner, owner_name="Ada")
    status_text = (store.run_dir(run_id) / "status.json").read_text()
    assert TOKEN_A not in status_text
    assert json.loads(status_text)["owner"] == owner and len(owner) == 64
    info = store.info(run_id)
    assert info.owner == owner and info.owner_name == "Ada"
    assert browser_owner(TOKEN_B) != owner != account_owner("ada@school.example")
    assert account_owner("Ada@School.example ") == account_owner("ada@school.example")


@pytest.mark.parametrize("token", ["", "short", "a" * 65, "has space" + "a" * 20, "../../etc/passwd" + "a" * 10, None])
def test_anything_but_a_token_the_browser_could_have_made_is_refused(token):
    with pytest.raises(ValueError):
        browser_owner(token)


def test_names_are_one_printable_line_of_at_most_40_characters():
    assert clean_name("  Ada \n\t Lovelace ") == "Ada Lovelace"
    assert clean_name("Eve\u202egnp.exe") == "Eve gnp.exe"  # no right-to-left override
    assert clean_name("x" * 100) == "x" * 40
    assert clean_name(["not", "text"]) == "" and clean_name("\x00\x07") == ""


@pytest.mark.parametrize(
    "field, value, reason",
    [
        ("owner", "not-a-hash", "owner must be 64 hexadecimal digits"),
        ("owner", "A" * 64, "owner must be 64 hexadecimal digits"),
        ("owner_name", "two\nlines", "owner_name must be a display name"),
        ("owner_name", "y" * 41, "owner_name must be a display name"),
        ("owner_name", 7, "owner_name must be a display name"),
    ],
)
def test_an_owner_that_is_not_what_the_app_writes_makes_the_run_damaged(store, field, value, reason):
    run_id = store.create_run(TrainConfig(), owner=browser_owner(TOKEN_A), owner_name="Ada")
    path = store.run_dir(run_id) / "status.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), field: value}))
    (run,) = store.list_runs()
    assert run.status == DAMAGED and reason in run.problem


def test_the_owner_may_change_a_run_others_may_not_and_the_teacher_may():
    ada, bob = Person(browser_owner(TOKEN_A), "Ada"), Person(browser_owner(TOKEN_B), "Bob")
    teacher = Person(browser_owner("teacher_" + "t" * 24), "Ms T", teacher=True)
    assert may_change(ada, ada.owner, TEACHER) and not may_change(bob, ada.owner, TEACHER)
    assert may_change(teacher, ada.owner, TEACHER)
    assert not may_change(Person(None, ""), ada.owner, NO_TEACHER)  # a class that signs in: not signed in
    # Runs of nobody (older, or the command line): anyone's while there is no teacher, the teacher's once there is.
    assert may_change(bob, None, NO_TEACHER) and not may_change(bob, None, TEACHER)
    assert refusal("delete", "Ada", TEACHER) == "Only Ada or the teacher can delete this run."
    assert refusal("stop", "Ada", NO_TEACHER) == "Only Ada can stop this run."


def test_teacher_settings_come_from_secrets_and_wrong_ones_say_what_to_write():
    settings = ClassroomSettings.from_secrets(
        {"classroom": {"teacher_password": "open sesame", "teachers": ["Ms.T@School.example"]}, "auth": {"x": 1}}
    )
    assert settings.password_matches("open sesame") and not settings.password_matches("open sesame ")
    assert settings.is_teacher_account("ms.t@school.example", verified=True)
    assert not settings.is_teacher_account("ada@x.example", verified=True)
    assert not settings.is_teacher_account("ms.t@school.example", verified=False)  # anyone can claim an address
    assert settings.login and settings.has_teacher
    assert ClassroomSettings.from_secrets({}) == ClassroomSettings() and not ClassroomSettings().password_matches("")
    with pytest.raises(ClassroomConfigError, match="at least 8 characters"):
        ClassroomSettings.from_secrets({"classroom": {"teacher_password": "1234"}})
    with pytest.raises(ClassroomConfigError, match="list of e-mail addresses"):
        ClassroomSettings.from_secrets({"classroom": {"teachers": [3]}})
    with pytest.raises(ClassroomConfigError, match="must be a table"):
        ClassroomSettings.from_secrets({"classroom": "yes"})


def test_the_class_view_lists_each_persons_best_with_its_network(store):
    ada, bob = browser_owner(TOKEN_A), browser_owner(TOKEN_B)
    finished_run(store, ada, "Ada", accuracy=0.91, layers=(64,))
    best = finished_run(store, ada, "Ada", accuracy=0.95, layers=(128, 64))
    finished_run(store, bob, "", accuracy=0.93)
    finished_run(store, bob, "Bob", accuracy=0.99, stop_reason=IMPORTED)  # trained elsewhere: not counted
    finished_run(store, None, "", accuracy=0.97)  # nobody's (the command line): not a person
    board = class_leaderboard(store.list_runs(), {bob: "Bob B."})
    assert [(e.name, e.test_accuracy, e.network, e.runs) for e in board] == [
        ("Ada", 0.95, "784-128-64-10", 2),
        ("Bob B.", 0.93, "784-32-10", 1),
    ]
    assert board[0].run_id == best


def test_a_new_name_reaches_every_run_of_its_owner_and_the_class_file(store):
    ada, bob = browser_owner(TOKEN_A), browser_owner(TOKEN_B)
    runs = [
        store.create_run(TrainConfig(), owner=ada, owner_name="Learner 1"),
        store.create_run(TrainConfig(), owner=ada),
    ]
    other = store.create_run(TrainConfig(), owner=bob, owner_name="Bob")
    assert store.set_person_name(ada, "  Ada\nL. ") == "Ada L."
    assert [store.info(r).owner_name for r in runs] == ["Ada L.", "Ada L."]
    assert store.info(other).owner_name == "Bob"
    assert store.classroom().names == {ada: "Ada L."}
    store.show_class_view(False)
    assert store.classroom().leaderboard is False and store.classroom().names == {ada: "Ada L."}


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"[1, 2]",
        json.dumps({"names": {"../x": "Eve", "a" * 64: "two\nlines"}, "leaderboard": "yes"}).encode(),
    ],
)
def test_a_class_file_that_is_not_what_the_app_writes_is_read_as_defaults(store, content):
    store.root.mkdir(parents=True)
    (store.root / "classroom.json").write_bytes(content)
    classroom = store.classroom()
    assert classroom.names == {} and classroom.leaderboard is True
    store.set_person_name(browser_owner(TOKEN_A), "Ada")  # and it can be written again
    assert store.classroom().names == {browser_owner(TOKEN_A): "Ada"}


def test_a_browser_signed_in_with_the_teacher_password_stays_the_teachers_until_the_password_changes(store):
    owner = browser_owner(TOKEN_A)
    store.remember_teacher(owner, TEACHER.teacher_mark(owner))
    mark = store.classroom().teachers[owner]
    assert TEACHER.is_teacher_mark(owner, mark)
    assert not TEACHER.is_teacher_mark(browser_owner(TOKEN_B), mark)  # the mark is of that browser only
    assert not ClassroomSettings(teacher_password="a new phrase").is_teacher_mark(owner, mark)
    assert not NO_TEACHER.is_teacher_mark(owner, mark)
    store.remember_teacher(owner, None)
    assert store.classroom().teachers == {}


def test_the_teacher_mark_is_stretched_and_only_the_right_password_makes_it():
    settings = ClassroomSettings(teacher_password="open sesame")
    owner = browser_owner(TOKEN_A)
    started = time.perf_counter()
    mark = _stretched.__wrapped__("open sesame", owner)  # what one offline guess costs
    assert time.perf_counter() - started > 0.01 and mark == settings.teacher_mark(owner)
    assert mark != hmac.new(b"open sesame", owner.encode(), hashlib.sha256).hexdigest()  # not a fast HMAC


def test_the_wait_between_guesses_doubles_is_bounded_and_ends_with_a_right_guess():
    now = [0.0]
    throttle = GuessThrottle(free=3, first_wait=2.0, most_wait=60.0, places=2, clock=lambda: now[0])
    for _ in range(3):
        assert throttle.wait("10.0.0.7") == 0
        throttle.failed("10.0.0.7")
    assert throttle.wait("10.0.0.7") == 2.0 and throttle.wait("10.0.0.8") == 0  # another place is not slowed
    waits = []
    for _ in range(6):
        now[0] += throttle.wait("10.0.0.7")
        throttle.failed("10.0.0.7")
        waits.append(throttle.wait("10.0.0.7"))
    assert waits == [4.0, 8.0, 16.0, 32.0, 60.0, 60.0]
    throttle.succeeded("10.0.0.7")
    assert throttle.wait("10.0.0.7") == 0
    for place in ("a", "b", "c"):  # it remembers a bounded number of places
        throttle.failed(place)
    assert len(throttle._failures) == 2


def test_the_queue_share_is_a_setting_of_the_class():
    assert ClassroomSettings.from_secrets({}).trainings_per_person == 2
    assert ClassroomSettings.from_secrets({"classroom": {"trainings_per_person": 5}}).trainings_per_person == 5
    for wrong in (0, 101, "3", True):
        with pytest.raises(ClassroomConfigError, match="trainings_per_person"):
            ClassroomSettings.from_secrets({"classroom": {"trainings_per_person": wrong}})
