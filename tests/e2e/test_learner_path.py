"""A new user's path in a real browser: train, watch, reload, stop, draw, read predictions."""

import math
import re
import time

from tests.browser import set_number, wait_idle


def stroke(page, points) -> float:
    """Drag the mouse through canvas coordinates; returns the time of mouse-up."""
    box = page.locator("canvas.upper-canvas").bounding_box()
    page.mouse.move(box["x"] + points[0][0], box["y"] + points[0][1])
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(box["x"] + x, box["y"] + y, steps=4)
    page.mouse.up()
    return time.perf_counter()


ONE = [(140, 45), (140, 235)]
ZERO = [(140 + 65 * math.sin(a), 140 - 95 * math.cos(a)) for a in (i * 2 * math.pi / 48 for i in range(49))]
SEVEN = [(75, 55), (205, 55), (120, 240)]


def prediction_after(page, points) -> tuple[str, float]:
    """Draw on an empty canvas, then wait for a prediction; returns its text and seconds from mouse-up."""
    assert page.get_by_text(re.compile(r"^Prediction:")).count() == 0, "the canvas was not empty"
    released = stroke(page, points)
    headline = page.get_by_text(re.compile(r"^Prediction: \d"))
    headline.wait_for(timeout=20_000)
    return headline.inner_text(), time.perf_counter() - released


def clear_canvas(page) -> None:
    page.get_by_role("button", name="Reset canvas & history").click()
    page.get_by_text("it is empty").wait_for()


def click_busiest_mistake(page) -> tuple[int, int, int]:
    """Click the confusion matrix's cell with the most mistakes, where Plotly drew it; (true, read as, count)."""
    chart = page.locator(".js-plotly-plot").filter(has_text="Confusion matrix").first
    chart.scroll_into_view_if_needed()
    flat = chart.evaluate("el => Array.from(el._fullData[1].text)")  # the cells' markers carry the counts, row by row
    counts = [flat[10 * t : 10 * t + 10] for t in range(10)]
    true, read_as = max(((t, p) for t in range(10) for p in range(10) if t != p), key=lambda c: counts[c[0]][c[1]])
    x, y = chart.evaluate(
        "(el, [t, p]) => { const l = el._fullLayout; return [l.xaxis._offset + l.xaxis.l2p(p), "
        "l.yaxis._offset + l.yaxis.l2p(t)]; }",
        [true, read_as],
    )
    box = chart.bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)
    return true, read_as, counts[true][read_as]


def test_train_watch_reload_then_draw(server, page):
    page.goto(f"{server.url}/train")  # the first page a fresh server serves
    wait_idle(page)
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_text("TRAINING", exact=True).wait_for()  # app.py ran: its navigation and status, not the legacy list
    assert sidebar.get_by_text("components").count() == 0
    set_number(page, "Hidden layers", 1)
    set_number(page, "Layer 1 units", 128)
    set_number(page, "Max epochs", 200)  # it trains until Stop, however fast this machine is
    set_number(page, "Early-stopping patience", 200)
    set_number(page, "Training images", 12000)
    # The summary follows the form: 784*128+128 + 128*10+10 parameters.
    page.get_by_test_id("stMetricValue").get_by_text("101,770").wait_for()
    page.get_by_role("button", name="Start training").click()

    # The live chart updates while training: the per-batch curve grows between polls (tests/e2e/test_live_chart.py).
    chart = page.locator(".live-curves.js-plotly-plot")
    chart.wait_for()
    counts = set()
    deadline = time.time() + 60
    while len(counts) < 3 and time.time() < deadline:
        counts.add(chart.evaluate("el => (el.data && el.data[0].x.length) || 0"))
        time.sleep(0.25)
    assert len(counts - {0}) >= 2, counts

    # A reload mid-run finds the same run, still training.
    run_url = page.url
    assert "run=" in run_url
    page.reload()
    page.get_by_text(re.compile(r"Epoch \d+ of 200")).first.wait_for()
    assert page.url == run_url

    page.get_by_text(re.compile(r"Epoch ([4-9]|\d\d+) of 200")).first.wait_for(timeout=120_000)
    page.get_by_role("button", name="Stop training").click()
    page.get_by_text("Held-out test results").wait_for(timeout=120_000)
    page.get_by_text("Test accuracy", exact=True).wait_for(timeout=10_000)  # the metrics render just after the heading
    assert "Traceback" not in server.log()

    # A click on the confusion matrix's busiest mistake shows those test digits, each with its evidence.
    true, read_as, count = click_busiest_mistake(page)
    page.get_by_text(f"{true}s read as {read_as}: {count:,} test digit").wait_for(timeout=30_000)
    wait_idle(page)
    assert page.get_by_text(f"a {true} read as {read_as} (").count() == min(count, 24)
    # A digit's accuracy bar leads to all of that digit's mistakes.
    bars = page.locator(".js-plotly-plot").filter(has_text="Accuracy per digit").first
    x, y = bars.evaluate(
        "(el, d) => { const l = el._fullLayout; return [l.xaxis._offset + l.xaxis.l2p(d), "
        "l.yaxis._offset + l.yaxis.l2p(l.yaxis.range[0]) - 5]; }",
        true,
    )
    box = bars.bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)
    page.get_by_text(f"{true}s read as another digit: ").wait_for(timeout=30_000)

    page.get_by_role("button", name="Draw digits for this model").click()
    page.locator("canvas.upper-canvas").wait_for()
    page.get_by_text("it is empty").wait_for()
    assert page.get_by_text(re.compile(r"^Prediction:")).count() == 0

    text, one_latency = prediction_after(page, ONE)
    assert text.startswith("Prediction: 1"), text
    clear_canvas(page)
    assert page.get_by_text(re.compile(r"^Prediction:")).count() == 0
    text, zero_latency = prediction_after(page, ZERO)
    assert text.startswith("Prediction: 0"), text
    clear_canvas(page)
    text, _ = prediction_after(page, SEVEN)
    assert text.startswith("Prediction: 7"), text
    print(f"mouse-up to prediction: {one_latency * 1000:.0f} ms, {zero_latency * 1000:.0f} ms")
    assert "Traceback" not in server.log()


def test_stop_mid_training_leaves_a_model_to_draw_with(server, page):
    page.goto(f"{server.url}/train")
    wait_idle(page)
    set_number(page, "Hidden layers", 1)
    set_number(page, "Layer 1 units", 128)
    set_number(page, "Max epochs", 50)
    set_number(page, "Training images", 12000)
    page.get_by_role("button", name="Start training").click()
    page.get_by_text(re.compile(r"Epoch [2-9] of 50")).first.wait_for(timeout=90_000)
    page.get_by_role("button", name="Stop training").click()
    page.get_by_text("Held-out test results").wait_for(timeout=60_000)
    assert page.get_by_text("You stopped it", exact=False).count() >= 1
    page.get_by_role("button", name="Draw digits for this model").click()
    page.locator("canvas.upper-canvas").wait_for()
    text, _ = prediction_after(page, ONE)
    assert text.startswith("Prediction: 1"), text
    assert "Traceback" not in server.log()


def test_an_address_with_settings_opens_the_form_filled_in(server, page):
    page.goto(f"{server.url}/train?hidden=64,32&dropout=0.3&epochs=2")
    wait_idle(page)
    assert page.get_by_label("Hidden layers", exact=True).input_value() == "2"
    assert page.get_by_label("Layer 1 units", exact=True).input_value() == "64"
    assert page.get_by_label("Layer 2 units", exact=True).input_value() == "32"
    assert page.get_by_label("Dropout", exact=True).input_value() == "0.30"
    assert page.get_by_label("Max epochs", exact=True).input_value() == "2"
    page.get_by_test_id("stMetricValue").get_by_text("52,650").wait_for()  # the summary follows
    # Its link gives the same address back, on this server.
    page.get_by_role("button", name="Link to these settings").click()
    link = page.get_by_test_id("stCode").filter(has_text="/train?").inner_text()
    assert link.startswith(f"{server.url}/train?hidden=64,32&") and "&dropout=0.3&" in link and "&epochs=2&" in link
