"""A class on one server, in Chromium: each browser owns its runs, the teacher can change any, and thirty learners
training at once all finish, in order, while the pages keep answering."""

import json
import re
import statistics
import time

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from core.runs.store import RunStore
from pages.ui.identity import OWNER_COOKIE
from tests.browser import Server, click_once_still, set_number, wait_idle
from tests.waiting import wait_until

PASSWORD = "open sesame"


def class_server(tmp_path, **env) -> Server:
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(f'[classroom]\nteacher_password = "{PASSWORD}"\n')
    return Server(tmp_path / "runs", tmp_path / "server.log", env={"STREAMLIT_SECRETS_FILES": str(secrets), **env})


def new_page(browser):
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.set_default_timeout(90_000)
    return page


def returning_visit(page, url: str) -> None:
    """Open the app as a browser that has been here before: its owner cookie is set, and sent with the page."""
    page.goto(url)
    assert wait_until(lambda: any(c["name"] == OWNER_COOKIE for c in page.context.cookies()))
    page.reload()
    wait_idle(page)


def choose_name(page, url: str, name: str) -> None:
    returning_visit(page, url)
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_role("button", name=re.compile(r"Learner [0-9a-f]{4}")).click()
    page.get_by_label("Your name", exact=True).fill(name)
    page.get_by_role("button", name="Save name").click()
    sidebar.get_by_role("button", name=re.compile(name)).wait_for()


def sign_in_as_teacher(page, url: str) -> None:
    returning_visit(page, url)
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_role("button", name=re.compile("Teacher")).click()
    page.get_by_label("Teacher password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in as teacher").click()
    sidebar.get_by_text("Teacher: you can stop, relabel and delete every run.").wait_for()


def start_training(page, server: Server, epochs: int, limit: int, units: int | None = None) -> str:
    """Fill in the Train form (the default network, or one layer of `units`) and start; returns the run id."""
    page.goto(f"{server.url}/train")
    wait_idle(page)
    if units is not None:
        set_number(page, "Hidden layers", 1)
        set_number(page, "Layer 1 units", units)
    set_number(page, "Max epochs", epochs)
    if epochs > 1:
        set_number(page, "Early-stopping patience", 0)
    set_number(page, "Training images", limit)
    store = RunStore(server.runs_dir)
    runs_before = len(store.list_runs())
    start = page.get_by_role("button", name="Start training")
    start.click()
    try:
        page.wait_for_url(re.compile(r"run="), timeout=45_000)
    except PlaywrightTimeoutError:
        # Slow under a class's load, or a click that started nothing (it can be lost while the page's other reruns
        # queue): a learner would click again, and so does this learner, saying so in the log.
        if len(store.list_runs()) == runs_before:
            print("\nStart training: the first click started nothing in 45 s; clicking again")
            start.click()
        page.wait_for_url(re.compile(r"run="))
    return page.url.split("run=")[1]


def edit_first_label(page, url: str, text: str) -> None:
    """Type into the label cell of the Runs table's first row (the table is drawn on a canvas: a double click
    opens the cell's editor, a text area; the page may still be laying out, so try again until it opens)."""
    page.goto(f"{url}/runs")
    wait_idle(page)
    editor = page.locator("textarea.gdg-input")
    for _ in range(10):
        box = page.get_by_test_id("stDataFrame").first.bounding_box()
        page.mouse.dblclick(box["x"] + 40, box["y"] + 35 + 17)  # the label column, below the 35 px header
        if wait_until(editor.is_visible, timeout=3):
            break
    editor.fill(text)
    editor.press("Enter")
    wait_idle(page)


def test_a_run_belongs_to_its_browser_and_the_teacher_can_change_any(tmp_path, browser):
    server = class_server(tmp_path).start()
    store = RunStore(tmp_path / "runs")
    ada, bob, teacher = new_page(browser), new_page(browser), new_page(browser)
    try:
        choose_name(ada, server.url, "Ada")
        run_id = start_training(ada, server, epochs=200, limit=2_000, units=16)
        token = next(c["value"] for c in ada.context.cookies() if c["name"] == OWNER_COOKIE)
        assert token not in ada.url and token not in (store.run_dir(run_id) / "status.json").read_text()
        assert store.info(run_id).owner_name == "Ada"

        # Ada's browser still owns it after a reload: same cookie, Stop is hers.
        ada.reload()
        stop = ada.get_by_role("button", name="Stop training")
        expect(stop).to_be_enabled()

        # Bob sees it, and who started it, but cannot stop it, relabel it, or find it among his own.
        bob.goto(ada.url)
        bob.get_by_text("Started by Ada").wait_for()
        expect(bob.get_by_role("button", name="Stop training")).to_be_disabled()
        edit_first_label(bob, server.url, "bob was here")
        bob.get_by_text("Only Ada or the teacher can relabel this run.").wait_for()
        assert store.info(run_id).label == ""
        bob.get_by_role("radiogroup", name="Show runs of").get_by_text("mine", exact=True).click()
        bob.get_by_text("You have no runs yet.").wait_for()

        # The teacher can stop it.
        sign_in_as_teacher(teacher, server.url)
        teacher.goto(ada.url)
        teacher.get_by_role("button", name="Stop training").click()
        assert wait_until(lambda: store.info(run_id).status == "stopped", timeout=120), store.info(run_id).status

        # Finished: Bob still cannot delete it; Ada can relabel it; the teacher can delete it.
        bob.goto(f"{server.url}/runs")
        wait_idle(bob)
        expect(bob.get_by_role("button", name=re.compile("Delete run"))).to_be_disabled()
        edit_first_label(ada, server.url, "Ada's first")
        assert wait_until(lambda: store.info(run_id).label == "Ada's first")
        teacher.goto(f"{server.url}/runs")
        wait_idle(teacher)
        click_once_still(teacher.get_by_role("button", name=re.compile("Delete run")))
        teacher.get_by_role("button", name="Yes, delete it").click()
        assert wait_until(lambda: not store.run_dir(run_id).exists())
        assert "Traceback" not in server.log()
    finally:
        for page in (ada, bob, teacher):
            page.context.close()
        server.stop()


LEARNERS = 30
SLOTS = 3
PAGE_SAMPLES = 30
START_UP_SLACK_S = 3.0  # a worker process's start-up, which varies: runs come tens of seconds apart in a queue


@pytest.mark.slow
def test_thirty_learners_train_at_once_all_finish_in_order_and_pages_keep_answering(tmp_path, browser, record_property):
    server = class_server(tmp_path, MNIST_MAX_CONCURRENT=str(SLOTS)).start()
    store = RunStore(tmp_path / "runs")
    watcher = new_page(browser)
    answers: list[float] = []

    def page_answer(path: str) -> None:
        """Open a page and wait until the app has finished drawing it; notes the seconds it took."""
        began = time.perf_counter()
        watcher.goto(f"{server.url}{path}")
        wait_idle(watcher)
        watcher.get_by_test_id("stSidebar").get_by_text("TRAINING", exact=True).wait_for()
        answers.append(time.perf_counter() - began)

    learners = [new_page(browser) for _ in range(LEARNERS)]
    try:
        run_ids = []
        for number, page in enumerate(learners):
            run_ids.append(start_training(page, server, epochs=1, limit=100))  # two fields: the rest as is
            page.goto("about:blank")  # the learner leaves; the browser keeps its cookie, the server its run
            if number % 5 == 4:
                page_answer(("", "/runs", "/train", "/draw")[number // 5 % 4])
        while not all(store.info(r).status in ("completed", "failed") for r in run_ids):
            if len(answers) < PAGE_SAMPLES:  # enough for a p95; each page drawn takes cores from the trainings
                page_answer(("", "/runs", "/train", "/draw")[len(answers) % 4])
            time.sleep(2)

        infos = [store.info(run_id) for run_id in run_ids]
        assert [info.status for info in infos] == ["completed"] * LEARNERS, [i.error for i in infos if i.error]
        assert len({info.owner for info in infos}) == LEARNERS  # thirty browsers, thirty owners
        starts = [json.loads((store.run_dir(r) / "status.json").read_text())["started"] for r in run_ids]
        # Each free slot took the next run in the order they were submitted. A run's start is stamped by its worker
        # process once it is up, and three start at about once: a later run may be stamped a moment earlier.
        assert all(later > earlier - START_UP_SLACK_S for i, earlier in enumerate(starts) for later in starts[i + 1 :])
        spans = [(info.started, info.finished) for info in infos]
        most_at_once = max(sum(start <= moment < end for start, end in spans) for moment, _ in spans)
        assert most_at_once <= SLOTS
        # Every learner comes back to their own finished run, theirs to delete.
        for page, run_id in zip(learners[:3], run_ids[:3]):
            page.goto(f"{server.url}/train?run={run_id}")
            page.get_by_text("Held-out test results").wait_for()
        p95 = statistics.quantiles(answers, n=20)[-1]
        record_property("page_answer_p95_s", round(p95, 2))  # reported, not judged: timings on 2 shared cores vary
        print(f"\n{LEARNERS} learners, {SLOTS} at once: {len(answers)} page loads, "
              f"median {statistics.median(answers):.2f} s, p95 {p95:.2f} s, worst {max(answers):.2f} s")  # fmt: skip
        log = server.log()
        assert "Traceback" not in log and "Exception" not in log
    finally:
        for page in [watcher, *learners]:
            page.context.close()
        server.stop()
