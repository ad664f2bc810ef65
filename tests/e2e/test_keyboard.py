"""The keyboard alone: a learner who cannot use a mouse sets up a training, starts it, reads the results and
labels a drawing, with Tab, typing and Enter. (Drawing itself needs a pointer: a finger, a pen or a mouse.)"""

import re

from tests.browser import wait_idle
from tests.e2e.test_learner_path import SEVEN, stroke

FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return "";
  const name = el.getAttribute("aria-label") || el.labels?.[0]?.innerText || el.innerText || "";
  return name.trim().split("\\n").filter((line) => line && !/^[a-z_]+$/.test(line))[0] ?? "";  // no icon names
}"""


def tab_to(page, name: str, limit: int = 200) -> list[str]:
    """Press Tab until the focused control is called `name`; returns every control passed on the way."""
    passed = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        passed.append(page.evaluate(FOCUSED))
        if passed[-1] == name:
            return passed
    raise AssertionError(f"Tab never reached {name!r}; it went through {passed}")


def type_number(page, label: str, value: int) -> None:
    tab_to(page, label)
    page.keyboard.press("Control+A")
    page.keyboard.type(str(value))
    page.keyboard.press("Enter")  # Streamlit takes a number input's value on Enter (or when it loses focus)
    wait_idle(page)


def test_train_then_label_a_drawing_with_the_keyboard_alone(server, page):
    page.goto(f"{server.url}/train")
    page.get_by_text("Train a neural network", exact=True).wait_for()
    wait_idle(page)
    page.locator("body").focus()
    type_number(page, "Hidden layers", 1)
    type_number(page, "Layer 1 units", 32)
    type_number(page, "Max epochs", 1)
    type_number(page, "Training images", 3000)
    passed = tab_to(page, "Start training")
    assert "The Keras code of this network" in passed  # the controls on the way were reached too
    page.keyboard.press("Enter")
    page.get_by_text("Held-out test results").wait_for(timeout=120_000)
    assert re.search(r"run=", page.url)
    config = page.get_by_text(re.compile(r"784 → 32 → 10")).first.inner_text()
    assert "3,000 training images" in config, config

    # The digits behind a number: chosen with the two boxes, the keyboard's way to the confusion matrix.
    tab_to(page, "True digit")
    page.keyboard.press("Enter")
    page.keyboard.type("3")
    page.keyboard.press("Enter")
    page.get_by_text(re.compile(r"^a 3 read as \d")).first.wait_for()

    page.goto(f"{server.url}/draw")
    page.locator("canvas.upper-canvas").wait_for()
    stroke(page, SEVEN)  # the one step that needs a pointer
    page.get_by_text(re.compile(r"^Prediction: \d")).wait_for(timeout=20_000)
    wait_idle(page)
    page.locator("body").focus()
    tab_to(page, "3")
    page.keyboard.press("Enter")
    page.get_by_text(re.compile(r"^Saved as a 3 in your drawings")).wait_for()
    assert "Traceback" not in server.log()
