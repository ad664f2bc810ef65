"""Every page against axe-core's WCAG 2.1 A and AA rules, in Chromium: no serious or critical violation on a
desktop, a tablet and a phone, in the light and the dark colour scheme, each page in the theme the browser asks
for and nothing on it wider than the screen."""

from pathlib import Path

import numpy as np
import pytest

from core.config import TrainConfig
from core.drawings.folder import DrawingSet
from core.runs.lessons import Challenge, LessonBook
from core.runs.store import RunStore
from core.training.worker import train_run
from tests.browser import ROOT, Server, wait_idle
from tests.conftest import line_canvas, theme_backgrounds
from tests.e2e.test_learner_path import SEVEN, stroke
from tests.e2e.test_phone import too_wide

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"  # installed by `make test` (package.json)
SIZES = {"desktop": (1400, 1000), "tablet": (768, 1024), "phone": (390, 844)}
PAGES = {
    "Home": ("", "Home"),
    "Train": ("/train", "Train a neural network"),
    "Train, a finished run": ("/train?run={run}", "Held-out test results"),
    "Runs": ("/runs", "The test digits behind the numbers"),
    "Draw": ("/draw", "Draw a digit"),
    "Your drawings": ("/drawings", "Your drawings"),
    "Lessons": ("/lessons", "Lessons"),
}
AUDIT = """async () => {
  const rules = {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}};
  const result = await axe.run(document, rules);
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.length} element(s), e.g. ${v.nodes[0].target.join(" ")}: ` +
      (v.nodes[0].failureSummary || "").split("\\n").slice(1).join(" ").trim());
}"""


PAGE_BACKGROUND = "() => getComputedStyle(document.querySelector('[data-testid=stApp]')).backgroundColor"


@pytest.fixture(scope="module")
def class_server(tmp_path_factory):
    """A server with a finished run, one saved drawing and a lesson, so every page has its pictures and charts."""
    folder = tmp_path_factory.mktemp("a11y")
    store = RunStore(folder / "runs")
    run_id = store.create_run(TrainConfig(hidden_layers=(64,), epochs=2, train_limit=3_000, patience=0))
    assert train_run(store, run_id, lambda event: None, lambda: False)["status"] == "completed"
    DrawingSet(folder / "drawings").save(1, line_canvas(np.random.default_rng(0)))
    lesson = LessonBook(store.root).create("Tiny nets", "Beat 90%.", TrainConfig(), {"dropout"}, Challenge(epochs=5))
    store.set_current_lesson(lesson.lesson_id)  # Home shows it and its ranking, Lessons lists it
    server = Server(store.root, folder / "server.log").start()
    server.run_id = run_id
    yield server
    server.stop()


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("size", list(SIZES))
def test_every_page_passes_wcag_a_and_aa(class_server, browser, size, scheme):
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: `make test` installs it (npm ci)")
    width, height = SIZES[size]
    context = browser.new_context(
        viewport={"width": width, "height": height}, color_scheme=scheme, has_touch=size != "desktop"
    )
    page = context.new_page()
    page.set_default_timeout(60_000)
    found, backgrounds, wide = {}, {}, {}
    try:
        for name, (path, shown) in PAGES.items():
            page.goto(f"{class_server.url}{path.format(run=class_server.run_id)}")
            page.get_by_text(shown, exact=True).first.wait_for()
            wait_idle(page)
            if name == "Draw":  # with an answer, its evidence and the map on the page
                page.locator("canvas.upper-canvas").wait_for()
                stroke(page, SEVEN)
                page.locator(".dp-why img").wait_for()
                wait_idle(page)
                # The canvas's toolbar sits above the canvas: below the instructions, not over them.
                toolbar = page.get_by_role("button", name="Reset canvas & history").bounding_box()
                above = page.get_by_text("Draw one digit, big").bounding_box()
                assert toolbar["y"] >= above["y"] + above["height"], (toolbar, above)
            page.wait_for_function("() => [...document.images].every((image) => image.complete)")
            backgrounds[name], wide[name] = page.evaluate(PAGE_BACKGROUND), too_wide(page)
            page.add_script_tag(path=str(AXE))
            found[name] = page.evaluate(AUDIT)
    finally:
        context.close()
    assert backgrounds == {name: "rgb({}, {}, {})".format(*theme_backgrounds()[scheme]) for name in PAGES}
    assert found == {name: [] for name in PAGES}
    assert wide == {name: [] for name in PAGES}
    assert "Traceback" not in Path(class_server.log_path).read_text(errors="replace")
