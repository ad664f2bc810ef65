"""A lesson's life in Chromium: the teacher makes it and shows it on Home; two learners open it from Home, find its
fixed settings fixed, train under it, and are ranked under its challenge, one within it and one past it."""

import re

from core.runs.lessons import LessonBook
from core.runs.store import RunStore
from tests.browser import set_number, wait_idle
from tests.e2e.test_classroom import choose_name, class_server, new_page, sign_in_as_teacher
from tests.waiting import wait_until

INSTRUCTIONS = "Beat **90%** with [few](http://evil.example/x) weights."


def fill_in_form(page, label: str, text: str) -> None:
    """Type into a field of a form; Tab, not Enter, which would send the form before it is complete."""
    field = page.get_by_label(label, exact=True)
    field.fill(text)
    field.press("Tab")


def train_under_the_lesson(page, url: str, units: int, verdict: str) -> str:
    """From Home: open today's lesson in Train, choose the first layer's units, start, wait for the results."""
    page.goto(url)
    page.get_by_text("Today's lesson", exact=True).wait_for()
    page.get_by_text(INSTRUCTIONS, exact=True).wait_for()  # as typed: no bold, no link
    assert page.locator("a[href*='evil.example']").count() == 0
    page.get_by_role("link", name="Open this lesson in Train").click()
    page.wait_for_url(re.compile(r"/train\?lesson="))
    wait_idle(page)
    assert page.get_by_label("Max epochs", exact=True).is_disabled()
    assert page.get_by_label("Learning rate", exact=True).is_disabled()
    assert page.get_by_label("Layer 1 units", exact=True).input_value() == "32"
    set_number(page, "Layer 1 units", units)
    page.get_by_text(re.compile(verdict)).wait_for()
    page.get_by_role("button", name="Start training").click()
    page.wait_for_url(re.compile(r"run="))
    page.get_by_text("Held-out test results", exact=True).wait_for(timeout=180_000)
    return re.search(r"run=([0-9a-f-]+)", page.url).group(1)


def test_a_teacher_makes_a_lesson_and_two_learners_train_under_its_challenge(tmp_path, browser):
    server = class_server(tmp_path).start()
    teacher, ada, bob = new_page(browser), new_page(browser), new_page(browser)
    try:
        sign_in_as_teacher(teacher, server.url)
        teacher.goto(f"{server.url}/lessons")
        teacher.get_by_text("No lessons yet. Make the first one below.").wait_for()
        fill_in_form(teacher, "Title", "Tiny nets")
        fill_in_form(teacher, "Instructions", INSTRUCTIONS)
        fill_in_form(teacher, "Starting settings", "/train?hidden=32&epochs=2&train-limit=2000&patience=0")
        fill_in_form(teacher, "At most parameters", "30000")  # learners may change the hidden layers (the default)
        teacher.get_by_role("button", name="Create the lesson").click()
        teacher.get_by_role("button", name="Show it on Home").click()
        teacher.get_by_role("button", name="Stop showing it on Home").wait_for()
        ((lesson,), _) = LessonBook(server.runs_dir).all()
        assert lesson.title == "Tiny nets" and lesson.challenge.parameters == 30_000

        choose_name(ada, server.url, "Ada")
        choose_name(bob, server.url, "Bob")
        ada_run = train_under_the_lesson(ada, server.url, 16, "Within the challenge")
        bob_run = train_under_the_lesson(bob, server.url, 64, "Over the challenge: 50,890 parameters, over 30,000")
        store = RunStore(server.runs_dir)
        assert store.info(ada_run).lesson == store.info(bob_run).lesson == lesson.lesson_id
        assert store.info(bob_run).config.epochs == 2  # fixed by the lesson

        for page, place in ((ada, "You: 1st of 2"), (bob, "You: 2nd of 2")):
            page.goto(server.url)
            page.get_by_text("The lesson's ranking", exact=True).wait_for()
            ranked_by = (
                "Best held-out accuracy with at most 30,000 parameters, among the runs started under this lesson."
            )
            page.get_by_text(ranked_by, exact=True).wait_for()
            page.get_by_text(re.compile(place)).wait_for()
        bob.get_by_text(re.compile(r"your best run breaks the challenge \(50,890 parameters")).wait_for()

        # Learners cannot change it: no teacher's buttons on their Lessons page.
        ada.goto(f"{server.url}/lessons")
        ada.get_by_text("Only the teacher can make, change or delete lessons.").wait_for()
        assert ada.get_by_role("button", name="Create the lesson").count() == 0
        assert wait_until(lambda: "Traceback" not in server.log_path.read_text(errors="replace"))
    finally:
        for page in (teacher, ada, bob):
            page.context.close()
        server.stop()
