"""The sidebar's training status in Chromium: it refreshes every two seconds, never faster (each refresh costs the
browser a render, which delays a drawing on the Draw page), whether or not something trains, and a training
started in another tab shows within a refresh."""

import base64

from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from pages.ui.training_status import SIDEBAR_POLL_SECONDS
from tests.browser import set_number, wait_idle

# Every message the server sends the page, base64-encoded, in order.
LISTEN = """
(() => {
  window.__messages = [];
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (event) => {
        if (!(event.data instanceof ArrayBuffer)) return;
        let text = "";
        for (const byte of new Uint8Array(event.data)) text += String.fromCharCode(byte);
        window.__messages.push(btoa(text));
      });
    }
  };
})();
"""


def refresh_intervals(page) -> list[float]:
    """The intervals of the page's timed fragment reruns, as the server set them, oldest first."""
    intervals = []
    for encoded in page.evaluate("window.__messages"):
        message = ForwardMsg()
        message.ParseFromString(base64.b64decode(encoded))
        if message.WhichOneof("type") == "auto_rerun":
            intervals.append(message.auto_rerun.interval)
    return intervals


def test_the_sidebar_refreshes_every_two_seconds_and_shows_a_training_started_elsewhere(server, page):
    page.add_init_script(LISTEN)
    page.goto(f"{server.url}/")
    wait_idle(page)
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_text("Nothing is training right now.").wait_for()

    trainer = page.context.new_page()  # another tab of the same person starts a training
    trainer.goto(f"{server.url}/train")
    wait_idle(trainer)
    set_number(trainer, "Hidden layers", 1)
    set_number(trainer, "Layer 1 units", 16)
    set_number(trainer, "Max epochs", 200)  # it trains until Stop, however fast this machine is
    set_number(trainer, "Early-stopping patience", 200)
    set_number(trainer, "Training images", 2000)
    trainer.get_by_role("button", name="Start training").click()
    # Within the worker's start and one refresh.
    sidebar.get_by_role("progressbar").wait_for(timeout=(SIDEBAR_POLL_SECONDS + 20) * 1000)
    trainer.get_by_role("button", name="Stop training").click()
    sidebar.get_by_text("Nothing is training right now.").wait_for()

    intervals = refresh_intervals(page)
    assert intervals and set(intervals) == {SIDEBAR_POLL_SECONDS}, intervals
    assert "Traceback" not in server.log()
