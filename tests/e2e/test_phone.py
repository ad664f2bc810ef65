"""The Draw page on a phone: drawn with a finger (touch events), the answer under the canvas, nothing wider than
the screen, and the page still while the finger draws."""

import re

from core.config import TrainConfig
from core.runs.store import RunStore
from core.training.worker import train_run
from tests.browser import Server, wait_idle
from tests.e2e.test_learner_path import ONE, SEVEN, ZERO

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}


def finger(page, points) -> None:
    """Draw through canvas coordinates with one finger: touch events, as a phone's browser sends them."""
    box = page.locator("canvas.upper-canvas").bounding_box()
    cdp = page.context.new_cdp_session(page)

    def touch(kind, x=None, y=None):
        where = [] if x is None else [{"x": box["x"] + x, "y": box["y"] + y, "radiusX": 4, "radiusY": 4, "force": 1}]
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": where})

    touch("touchStart", *points[0])
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        for step in range(1, 5):
            touch("touchMove", x0 + (x1 - x0) * step / 4, y0 + (y1 - y0) * step / 4)
    touch("touchEnd")
    cdp.detach()


def scrolled(page) -> float:
    return page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollTop + window.scrollY")


def too_wide(page) -> list[str]:
    """Elements of the page that reach past the screen's right edge, other than inside a box that scrolls or clips
    its own content."""
    return page.evaluate(
        """() => {
          const width = document.documentElement.clientWidth, out = [];
          for (const e of document.querySelectorAll('[data-testid=stMain] *')) {
            const box = e.getBoundingClientRect();
            if (box.width === 0 || box.right <= width + 1) continue;
            let clipped = false;
            for (let a = e.parentElement; a && !clipped; a = a.parentElement) {
              const clips = ['auto', 'scroll', 'hidden'].includes(getComputedStyle(a).overflowX);
              clipped = clips && a.getBoundingClientRect().right <= width + 1;
            }
            if (!clipped) out.push(`${e.tagName}.${e.className} ${Math.round(box.right)}`);
          }
          return out;
        }"""
    )


def test_a_finger_draws_digits_on_a_phone_and_reads_them(tmp_path, browser):
    store = RunStore(tmp_path / "runs")
    run_id = store.create_run(TrainConfig(hidden_layers=(128,), epochs=3, train_limit=20_000, patience=0))
    assert train_run(store, run_id, lambda event: None, lambda: False)["status"] == "completed"
    server = Server(store.root, tmp_path / "server.log").start()
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(f"{server.url}/draw?run={run_id}")
        page.get_by_text("it is empty").wait_for()
        wait_idle(page)
        page.locator("canvas.upper-canvas").scroll_into_view_if_needed()
        for points, digit in ((ONE, 1), (ZERO, 0), (SEVEN, 7)):
            before = scrolled(page)
            finger(page, points)
            heading = page.get_by_text(re.compile(r"^Prediction: \d"))
            heading.wait_for(timeout=20_000)
            assert heading.inner_text().startswith(f"Prediction: {digit}"), heading.inner_text()
            assert scrolled(page) == before  # the finger drew; the page did not move under it
            wait_idle(page)
            # The answer is under the canvas, not squeezed beside it, and nothing reaches past the screen.
            canvas, answer = page.locator("canvas.upper-canvas").bounding_box(), heading.bounding_box()
            assert answer["y"] >= canvas["y"] + canvas["height"] and answer["width"] > 250
            assert too_wide(page) == []
            page.get_by_role("button", name="Reset canvas & history").click()
            page.get_by_text("it is empty").wait_for()
        assert "Traceback" not in server.log()
    finally:
        context.close()
        server.stop()
