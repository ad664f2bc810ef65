"""What a class can trust, in Chromium: what one learner types (a name, a run's label) reaches everyone else's
pages as text, never as a link or an image; and the teacher password cannot be guessed at speed."""

import re
import time

from core.runs.store import RunStore
from pages.ui.text import WORD_JOINER
from tests.browser import click_once_still, wait_idle
from tests.e2e.test_classroom import PASSWORD, class_server, new_page, returning_visit, start_training
from tests.waiting import wait_until

NAME = "![x](http://evil.example/n.png)"  # a display name holds at most 40 characters
LABEL = "[Sign in](http://evil.example/p) <img src=http://evil.example/i.png> **bold**"


def shows(locator, text: str) -> bool:
    """Whether `text` is there to read, as it was typed: in its place, with only invisible word joiners (U+2060)
    added (pages.ui.text.literal puts them where Markdown would make an address a link)."""
    found = wait_until(lambda: text in locator.inner_text().replace("\u2060", ""), timeout=60)
    assert found, locator.inner_text()[-3000:]
    return found


def nothing_from_elsewhere(page, asked: list[str]) -> None:
    """No link or image of the page points at the hostile site, and the page asked it for nothing."""
    links = page.locator("a[href*='evil.example']")
    assert links.count() == 0, [links.nth(i).evaluate("e => e.parentElement.outerHTML") for i in range(links.count())]
    assert page.locator("img[src*='evil.example']").count() == 0
    assert page.locator("strong", has_text="bold").count() == 0
    assert not [url for url in asked if "evil.example" in url], asked


def test_names_and_labels_reach_other_pages_as_text(tmp_path, browser):
    server = class_server(tmp_path).start()
    ada, bob = new_page(browser), new_page(browser)
    asked: list[str] = []
    bob.on("request", lambda request: asked.append(request.url))
    try:
        returning_visit(ada, server.url)
        sidebar = ada.get_by_test_id("stSidebar")
        sidebar.get_by_role("button", name=re.compile(r"Learner [0-9a-f]{4}")).click()
        ada.get_by_label("Your name", exact=True).fill(NAME)
        ada.get_by_role("button", name="Save name").click()
        assert shows(sidebar, NAME)  # her own button shows it, as text
        run_id = start_training(ada, server, epochs=200, limit=2000, units=16)

        returning_visit(bob, server.url)  # Home, with the sidebar's training status: her name beside her run
        assert shows(bob.get_by_test_id("stSidebar"), NAME)
        nothing_from_elsewhere(bob, asked)
        bob.goto(f"{server.url}/train?run={run_id}")
        assert shows(bob.locator("body"), f"Started by {NAME}")
        nothing_from_elsewhere(bob, asked)

        click_once_still(ada.get_by_role("button", name="Stop training"))
        ada.get_by_text("Held-out test results").wait_for(timeout=90_000)
        RunStore(server.runs_dir).set_label(run_id, LABEL)  # as the Runs table's label cell saves it

        bob.goto(server.url)  # Home: the best run, by its label, links to Draw
        wait_idle(bob)
        assert shows(bob.locator("body"), f"Draw digits for {LABEL}")
        nothing_from_elsewhere(bob, asked)
        bob.goto(f"{server.url}/runs")
        wait_idle(bob)
        # Not Bob's: its help says whose it is. The pictures above it still arriving push it down, out from under
        # the pointer, so hover again until the help shows.
        delete, refusal = bob.get_by_role("button", name=re.compile("Delete run")), f"Only {NAME} or the teacher"
        body = bob.locator("body")
        assert wait_until(lambda: delete.hover() or refusal in body.inner_text().replace(WORD_JOINER, ""))
        assert shows(body, f"{refusal} can delete this run.")
        nothing_from_elsewhere(bob, asked)
        assert "Traceback" not in server.log()
    finally:
        server.stop()


def test_the_teacher_password_cannot_be_guessed_at_speed(tmp_path, browser):
    server = class_server(tmp_path).start()
    page = new_page(browser)
    try:
        returning_visit(page, server.url)
        sidebar = page.get_by_test_id("stSidebar")

        def guess(password: str) -> str:
            if not page.get_by_label("Teacher password", exact=True).is_visible():
                sidebar.get_by_role("button", name=re.compile("Teacher")).click()
            page.get_by_label("Teacher password", exact=True).fill(password)
            page.get_by_role("button", name="Sign in as teacher").click()
            wait_idle(page)
            return page.get_by_test_id("stAlertContentError").last.inner_text()

        for attempt in range(3):  # a few wrong guesses are judged at once
            assert "not the teacher password" in guess(f"wrong guess {attempt}")
        said = guess(PASSWORD)  # the right one, but too soon: not judged, and the page says how long to wait
        wait = int(re.search(r"try again in (\d+) seconds", said).group(1))
        assert 1 <= wait <= 2
        time.sleep(wait + 0.5)
        page.get_by_label("Teacher password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Sign in as teacher").click()
        sidebar.get_by_text("Teacher: you can stop, relabel and delete every run.").wait_for()
    finally:
        server.stop()
