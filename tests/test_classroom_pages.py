"""The class through AppTest: Home's class view (each person's best, the teacher's switch), and signing in."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.runs.classroom import browser_owner
from tests.test_classroom import TOKEN_A, TOKEN_B, finished_run

APP = str(Path(__file__).resolve().parent.parent / "app.py")
SECRETS = {"classroom": {"teacher_password": "open sesame"}}


@pytest.fixture
def class_store(store, monkeypatch):
    monkeypatch.setenv("MNIST_RUNS_DIR", str(store.root))
    ada, bob = browser_owner(TOKEN_A), browser_owner(TOKEN_B)
    finished_run(store, ada, "Ada", accuracy=0.91, layers=(64,))
    finished_run(store, ada, "Ada", accuracy=0.95, layers=(128, 64))
    finished_run(store, bob, "Bob", accuracy=0.93)
    return store


def home() -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60)
    app.secrets = SECRETS
    return app.run()


def class_table(app: AppTest):
    tables = [frame.value for frame in app.dataframe if "person" in frame.value.columns]
    return tables[0] if tables else None


def test_the_class_view_lists_each_persons_best(class_store):
    app = home()
    assert not app.exception
    assert any(header.value == "The class so far" for header in app.subheader)
    table = class_table(app)
    assert list(table["person"]) == ["Ada", "Bob"]
    assert list(table["best test accuracy"]) == [0.95, 0.93]
    assert list(table["network"]) == ["784-128-64-10", "784-32-10"] and list(table["runs"]) == [2, 1]


def test_the_teacher_can_switch_the_class_view_off_for_everyone(class_store):
    assert not any(t.label == "Show the class view to everyone" for t in home().toggle)  # a learner cannot
    # A class that signs in (st.login), and a teacher's account listed in secrets.toml.
    teacher = AppTest.from_file(APP, default_timeout=60)
    teacher.secrets = {"auth": {"client_id": "class"}, "classroom": {"teachers": ["ms.t@school.example"]}}
    claimed = {"is_logged_in": True, "email": "Ms.T@school.example", "name": "Ms T"}
    teacher.user = claimed  # the address claimed, not verified by the provider: not the teacher
    teacher.run()
    assert not any(t.label == "Show the class view to everyone" for t in teacher.toggle)
    teacher.user = {**claimed, "email_verified": True}
    teacher.run()
    switch = next(t for t in teacher.toggle if t.label == "Show the class view to everyone")
    switch.set_value(False).run()
    assert class_store.classroom().leaderboard is False
    assert class_table(teacher) is not None  # the teacher still sees it, to switch it back on

    learner = home()
    assert class_table(learner) is None and not any(h.value == "The class so far" for h in learner.subheader)


def test_where_the_class_signs_in_only_a_signed_in_person_can_start_a_training(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_RUNS_DIR", str(tmp_path / "runs"))

    def train_page(user: dict) -> AppTest:
        app = AppTest.from_file(APP, default_timeout=60)
        app.secrets = {"auth": {"client_id": "class"}}
        app.user = user
        app.switch_page("pages/train.py")
        return app.run()

    visitor = train_page({"is_logged_in": False})
    start = next(b for b in visitor.button if b.label == "Start training")
    assert start.disabled and "Sign in first" in start.help
    member = train_page({"is_logged_in": True, "email": "ada@school.example", "name": "Ada"})
    assert not next(b for b in member.button if b.label == "Start training").disabled
