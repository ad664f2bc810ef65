"""The Train page's live chart in a real browser: it grows by appending to one chart, with no rerun of the page,
a visit to another page or a reload shows the curves so far, and the finished run still shows its curves."""

import re
import time

from streamlit.proto.BackMsg_pb2 import BackMsg

from tests.browser import set_number, wait_idle
from tests.waiting import wait_until

LIVE = ".live-curves.js-plotly-plot"  # the live chart, once Plotly has drawn it


def drawn(page) -> tuple[int, int, int]:
    """(batch records, epoch records, per-batch points) the live chart holds."""
    held, points = page.locator(LIVE).evaluate(f"el => {SETTLED}.then(() => [el.dataset.held, el.data[0].x.length])")
    batches, epochs = map(int, held.split(","))
    return batches, epochs, points


# Once the chart has drawn the updates it has received (Plotly may be halfway through a drawing otherwise).
SETTLED = "(el.drawing || Promise.resolve())"
# Whether every point drawn lies within its panel's y axis (log axes in powers of ten): none cut off.
ALL_IN_VIEW = f"""el => {SETTLED}.then(() => el.data.every(trace => {{
  const axis = el.layout[`yaxis${{(trace.yaxis || "y").slice(1)}}`];
  const scale = axis.type === "log" ? Math.log10 : (v) => v;
  return Array.from(trace.y).every(y => axis.range[0] <= scale(y) && scale(y) <= axis.range[1]);
}}))"""


# Record every text the progress's live region and its visible line take from now on, with the time it came.
WATCH_PROGRESS = """() => {
  window.said = []; window.lines = [];
  const watch = (selector, into) => new MutationObserver(
      () => into.push([document.querySelector(selector).textContent, performance.now()]))
    .observe(document.querySelector(selector), {childList: true, characterData: true, subtree: true});
  watch(".live-announce", window.said);
  watch(".live-progress-text", window.lines);
}"""


def catches_up(page, at_least: tuple[int, int, int]) -> tuple[int, int, int]:
    """Wait until a freshly mounted live chart holds at least what the one before it held."""
    page.locator(LIVE).wait_for()
    deadline = time.time() + 30
    while (now := drawn(page)) < at_least and time.time() < deadline:
        time.sleep(0.2)
    assert all(a >= b for a, b in zip(now, at_least)), (now, at_least)
    return now


def panels_epoch(page) -> int:
    """The epoch the panels inside the network show (their line above them), -1 before they show one."""
    match = re.search(r"after epoch (\d+);", page.locator(".in-when").inner_text())
    return int(match.group(1)) if match else -1


def reruns_asked(page) -> list:
    """Every rerun the page asks the server for from now on (Streamlit's messages on its websocket)."""
    asked = []

    def read(payload) -> None:
        message = BackMsg.FromString(payload) if isinstance(payload, bytes) else None
        if message is not None and message.WhichOneof("type") == "rerun_script":
            asked.append(message.rerun_script)

    page.on("websocket", lambda socket: socket.on("framesent", read))
    return asked


def test_the_live_chart_appends_survives_a_visit_elsewhere_and_a_reload_and_ends_as_the_finished_curves(server, page):
    asked = reruns_asked(page)
    sockets, fetched = [], []  # the page's own channels to the app, besides Streamlit's
    page.on("websocket", lambda socket: "/api/" in socket.url and sockets.append(socket.url))
    page.on("request", lambda request: "/api/" in request.url and fetched.append(request.url))
    page.goto(f"{server.url}/train")
    wait_idle(page)
    set_number(page, "Hidden layers", 1)
    set_number(page, "Layer 1 units", 32)
    set_number(page, "Max epochs", 200)  # it runs until Stop
    set_number(page, "Early-stopping patience", 200)
    set_number(page, "Training images", 6000)
    page.get_by_role("button", name="Start training").click()

    # One chart, drawn once and appended to: the same element holds more and more points.
    page.locator(LIVE).wait_for(timeout=120_000)
    page.locator(LIVE).evaluate("el => { el.drawnOnce = true; }")
    page.evaluate(WATCH_PROGRESS)
    seen, reruns_before = [drawn(page)], len(asked)
    deadline = time.time() + 60
    while (len(set(seen)) < 6 or seen[-1][1] < seen[0][1] + 2) and time.time() < deadline:
        time.sleep(0.25)
        seen.append(drawn(page))
    assert len(set(seen)) >= 6 and seen[-1][1] >= seen[0][1] + 2, seen  # six updates, two epochs or more
    assert seen == sorted(seen) and seen[-1][2] > seen[0][2]
    # The chart and the panels inside the network got their updates themselves: while it trained, the page
    # asked the server for no rerun at all (no polled fragment, none per epoch).
    assert asked[reruns_before:] == []
    assert wait_until(lambda: panels_epoch(page) >= seen[-1][1], timeout=30)  # the panels followed...
    assert len(sockets) == 1 and "/live?" in sockets[0] and fetched == []  # ...on the chart's one socket
    assert page.locator(LIVE).evaluate("el => el.drawnOnce === true")  # not replaced by a new chart
    assert page.locator(LIVE).evaluate(ALL_IN_VIEW)  # the axes grew where the curves went
    # Screen readers hear the epoch when it changed, at most every ten seconds, not the bar's changing line.
    assert page.locator(".live-announce").get_attribute("aria-live") == "polite"
    assert wait_until(lambda: len(page.evaluate("() => window.said")) >= 2, timeout=40)
    said, lines = page.evaluate("() => [window.said, window.lines]")
    assert all(re.fullmatch(r"Training epoch \d+ of 200", text) for text, _ in said), said
    assert [int(text.split()[2]) for text, _ in said] == sorted({int(text.split()[2]) for text, _ in said})
    assert all(later - earlier >= 9_500 for (_, earlier), (_, later) in zip(said, said[1:])), said
    assert len(lines) > 5 * len(said), (said, len(lines))
    # ... and no further than a share can go: the accuracy's axis within 0% and 100%, whatever the first points
    low, high = page.locator(LIVE).evaluate("el => el.layout.yaxis2.range")
    assert 0 <= low < high <= 1, (low, high)

    # To another page and back in the same session: the new chart starts from what the page had sent.
    before = drawn(page)
    page.get_by_test_id("stSidebar").get_by_role("link", name="Runs").click()
    page.get_by_test_id("stSidebar").get_by_role("link", name="Watch yours").click()
    after_visit = catches_up(page, before)

    # A reload is a new session: the curves so far, in the first drawing.
    page.reload()
    page.get_by_text(re.compile(r"Epoch \d+ of 200")).first.wait_for()
    catches_up(page, after_visit)

    page.get_by_role("button", name="Stop training").click()
    page.get_by_text("Held-out test results").wait_for(timeout=60_000)
    assert page.locator(".live-curves").count() == 0
    # The run's curves, the first st.plotly_chart (above its results; the panels inside the network draw their own).
    finished = page.get_by_test_id("stPlotlyChart").locator(".js-plotly-plot").first
    finished.wait_for()
    batch_points, epoch_markers = finished.evaluate("el => [el.data[0].x.length, el.data[1].x.length]")
    assert batch_points >= after_visit[2] and epoch_markers >= after_visit[1] >= 1
    assert "Traceback" not in server.log()
