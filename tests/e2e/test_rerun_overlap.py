"""Clicks during a run must not start a second run of the same page beside it.

Streamlit's fast reruns (its default) start the next run in a new thread while the last one is still going, and the
two threads' Session State locks do not exclude each other: in the 30-learner test one run failed on the learner's
page with "dictionary changed size during iteration" (Streamlit's own bookkeeping; reproduced on a busy page at
6 in 886 clicks). The project's config turns fast reruns off, so a click waits for the running script's next
Streamlit call and the next run starts in the same thread, after it.
"""

import re

from tests.browser import Server, wait_idle


class OverlapServer(Server):
    script = "tests/e2e/rerun_overlap_app.py"  # run from the project's root, so with its .streamlit/config.toml


def test_clicks_during_a_run_never_run_the_page_twice_at_once(tmp_path, page):
    server = OverlapServer(tmp_path / "runs", tmp_path / "server.log").start()
    try:
        page.goto(server.url)
        page.get_by_text("Most runs at once").wait_for()
        for _ in range(6):  # each lands while the run before sleeps between its Streamlit calls
            page.get_by_role("button", name="Rerun").click()
            page.wait_for_timeout(150)
        wait_idle(page)
        most = int(re.search(r"Most runs at once: (\d+)", page.get_by_text("Most runs at once").inner_text())[1])
        assert most == 1
        assert "Traceback" not in server.log()
    finally:
        server.stop()
