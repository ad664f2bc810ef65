"""Inside the network in a real browser: the Train page's panels change each epoch, survive a reload and
replay with a slider; on the Draw page, the map's ring moves when the drawing changes."""

import io
import re

import numpy as np
from PIL import Image

from core.config import TrainConfig
from core.runs.store import RunStore
from core.training.worker import train_run
from tests.browser import Server, set_number, wait_idle
from tests.e2e.test_learner_path import ONE, ZERO, clear_canvas, prediction_after
from tests.waiting import wait_until

EPOCH = re.compile(r"As it is after epoch (\d+)")


def first_layer_src(page) -> str:
    return page.locator(".in-neurons").get_attribute("src")


def guesses_shown(page) -> int:
    """Guesses drawn: their pictures loaded, each with its ✓ or ✗ caption."""
    return page.evaluate(
        """() => [...document.querySelectorAll(".in-tiles figure")].filter(
             (f) => f.querySelector("img").naturalWidth > 0 && /^[✓✗] \\d/.test(f.textContent)).length"""
    )


def weight_columns(page, scroll: bool = True) -> int:
    """Epochs drawn in the weights' heatmap, 0 before it is drawn; scrolled to it first, as a learner would
    (it is drawn only while in view), unless `scroll` is False."""
    if scroll:
        page.locator(".in-chart").scroll_into_view_if_needed()
    return page.evaluate(
        """() => {
          const chart = document.querySelector(".in-chart");
          return (chart && chart.data && chart.data[0].x.length) || 0;
        }"""
    )


def shown_epoch(page) -> int:
    return int(EPOCH.search(page.get_by_text(EPOCH).inner_text()).group(1))


def test_inside_panels_change_each_epoch_survive_a_reload_and_replay_with_a_slider(server, page):
    page.goto(f"{server.url}/train")
    wait_idle(page)
    set_number(page, "Hidden layers", 1)
    set_number(page, "Layer 1 units", 64)
    set_number(page, "Max epochs", 60)
    set_number(page, "Early-stopping patience", 0)
    set_number(page, "Training images", 4000)
    page.get_by_role("button", name="Start training").click()

    page.get_by_text(EPOCH).wait_for(timeout=90_000)
    assert wait_until(lambda: guesses_shown(page) == 20, timeout=10)  # the same rerun's pictures follow its text
    assert wait_until(lambda: weight_columns(page) > 0, timeout=10)  # ...and its chart
    first = (shown_epoch(page), first_layer_src(page), weight_columns(page))
    assert wait_until(lambda: shown_epoch(page) > first[0], timeout=60)
    assert wait_until(lambda: first_layer_src(page) != first[1], timeout=10)  # the same rerun's picture...
    assert wait_until(lambda: weight_columns(page) > first[2], timeout=10)  # ...and chart

    # Scrolled back to the top, the chart out of view is not drawn again at the next epoch; it is when it
    # comes back into view.
    page.get_by_role("heading", name="Train a neural network").scroll_into_view_if_needed()
    columns, epoch = weight_columns(page, scroll=False), shown_epoch(page)
    assert wait_until(lambda: shown_epoch(page) > epoch, timeout=60)
    page.wait_for_timeout(500)
    assert weight_columns(page, scroll=False) == columns
    assert wait_until(lambda: weight_columns(page) > columns, timeout=10)

    page.reload()  # mid-run: the same run, its panels again
    page.get_by_text(EPOCH).wait_for()
    page.locator(".in-neurons").wait_for()
    assert wait_until(lambda: guesses_shown(page) == 20, timeout=10)
    weights = first_layer_src(page)
    page.get_by_role("button", name="What training changed").click()  # the browser's own switch: no rerun
    assert first_layer_src(page) != weights
    assert "the strokes it learned to look for" in page.locator(".in-layer-caption").inner_text()

    page.get_by_role("button", name="Stop training").click()
    page.get_by_text("Held-out test results").wait_for(timeout=60_000)
    slider = page.get_by_role("slider")
    slider.wait_for()
    last = first_layer_src(page)
    slider.focus()
    page.keyboard.press("Home")  # back to before training
    page.get_by_text(re.compile(r"of 20 right before training")).wait_for()
    wait_idle(page)
    assert first_layer_src(page) != last

    # A click on a neuron's square shows the digits it fires most for; the list is the keyboard's way to it.
    neurons = page.locator(".in-neurons")
    neurons.scroll_into_view_if_needed()
    box = neurons.bounding_box()
    scale = box["width"] / neurons.evaluate("image => image.naturalWidth")
    page.mouse.click(box["x"] + (2 + 30 + 14) * scale, box["y"] + (2 + 14) * scale)  # row 1, column 2
    assert page.locator(".in-neuron").input_value() == "1"
    favourite = page.locator(".in-favourite img")
    page.wait_for_function("img => !img.hidden && img.complete && img.naturalWidth > 0", arg=favourite.element_handle())
    assert "validation digits that make it fire most" in page.locator(".in-favourite-caption").inner_text()
    page.locator(".in-neuron").select_option("5")
    page.wait_for_function("img => img.alt.startsWith('Neuron 6')", arg=favourite.element_handle())
    assert "Traceback" not in server.log()


def ring_centre(page) -> np.ndarray:
    """Where the black ring is on the map as the browser shows it: the centre of its near-black pixels."""
    shown = page.locator(".dp-map-frame")  # the map's picture with the ring over it (pages/components/drawing_panel)
    rgb = np.asarray(Image.open(io.BytesIO(shown.screenshot())).convert("RGB")).astype(int)
    rows, cols = np.nonzero(rgb.sum(axis=2) < 90)
    assert rows.size > 20, "no ring on the map"
    return np.array([cols.mean(), rows.mean()])


def ring_placed(page) -> np.ndarray:
    """Where the page put the ring's centre: the server's place for it, as fractions of the map's size."""
    return np.array(
        page.evaluate(
            """() => {
              const ring = document.querySelector(".dp-ring"), frame = document.querySelector(".dp-map-frame");
              const box = frame.getBoundingClientRect();
              return [parseFloat(ring.style.left) / 100 * box.width, parseFloat(ring.style.top) / 100 * box.height];
            }"""
        )
    )


def why_shown(page) -> tuple[str, str, str]:
    """The "Why this answer" panel as shown: its title, its caption and its picture (loaded)."""
    why = page.locator(".dp-why")
    why.wait_for()
    picture = why.locator("img")
    page.wait_for_function("img => img.complete && img.naturalWidth === 28", arg=picture.element_handle())
    return (
        why.locator(".dp-why-title").inner_text(),
        why.locator(".dp-why-caption").inner_text(),
        picture.get_attribute("src"),
    )


def test_the_maps_ring_and_the_evidence_follow_the_drawing(tmp_path, page):
    store = RunStore(tmp_path / "runs")
    run_id = store.create_run(TrainConfig(hidden_layers=(64,), epochs=3, train_limit=6_000, patience=0))
    assert train_run(store, run_id, lambda event: None, lambda: False)["status"] == "completed"
    server = Server(store.root, tmp_path / "server.log").start()
    try:
        page.goto(f"{server.url}/draw?run={run_id}")
        page.get_by_text("it is empty").wait_for()
        page.get_by_text("Each dot is one of 2,000 test digits").wait_for()
        prediction_after(page, ONE)
        page.get_by_text(re.compile("nearest to your drawing on the map")).wait_for()
        wait_idle(page)
        one = ring_centre(page)
        np.testing.assert_allclose(one, ring_placed(page), atol=1.5)  # the ring is drawn centred on its place
        answer = page.locator(".dp-heading").inner_text().split()[1]
        title, caption, one_evidence = why_shown(page)
        assert re.fullmatch(rf"Why {answer} and not \d", title)
        assert caption.startswith(f"Red ink counts for {answer}, blue ink for {title[-1]}.")
        # A screen reader hears the answer (a polite live region) and each picture says what it shows.
        announce = page.locator(".dp-announce")
        assert announce.get_attribute("aria-live") == "polite"
        assert re.fullmatch(rf"The model reads {answer}, \d+% sure", announce.text_content())
        alt = {name: page.locator(f".dp-{name} img").first.get_attribute("alt") for name in ("seen", "inside", "map")}
        assert re.fullmatch(
            rf"The 28x28 image the model saw: your drawing, read as {answer}, ink on \d+ of its 784 "
            "pixels",
            alt["seen"],
        ), alt
        assert re.fullmatch(
            r"How strongly each of the 64 hidden neurons fires for your drawing: \d+ fire, \d+ are "
            "silent",
            alt["inside"],
        ), alt
        assert re.search(r"a ring marks your drawing among mostly \ds$", alt["map"]), alt
        clear_canvas(page)
        assert not page.locator(".dp-why").is_visible()  # no evidence left from the last drawing
        assert wait_until(lambda: announce.text_content() == "")  # no answer to say; the hint is a status
        assert page.locator(".dp-hint").get_attribute("role") == "status"
        prediction_after(page, ZERO)
        wait_idle(page)
        zero = ring_centre(page)
        assert np.linalg.norm(one - zero) > 15, (one, zero)  # CSS pixels on a map about 300 across
        assert why_shown(page)[2] != one_evidence
        assert "Traceback" not in server.log()
    finally:
        server.stop()
