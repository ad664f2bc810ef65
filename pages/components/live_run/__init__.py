"""The live run on the Train page: its progress, its curves and the panels inside the network, one custom
component with one channel.

`st.plotly_chart` sends the whole figure on every rerun, and the browser rebuilds and remounts it, on the
cores that train (bench/page_overhead.py measures the browser's CPU per update). This component (Streamlit
components v2: no iframe) is drawn by the page with what the run has so far, and then gets what is new by
itself through one socket to the app's live feed (core/live_feed.py): new points about twice a second, the
progress, and once per epoch the panels' new view; no rerun of the page. It adds the new points to the
chart it drew, redrawing the traces only, not the axes, unless they must grow (live_run.js beside this
file), and changes only what changed in the panels (pages/components/inside_network/panels.js). When the
feed says the run's status changed, the component asks for a rerun (the trigger "status") and the page shows
the run as it is now. A finished run's panels are their own component (pages/components/inside_network).

Plotly.js comes from this app's own server (pages/components/plotly_in_page.py): nothing from the internet.
"""

from __future__ import annotations

import streamlit as st

from core.config import TrainConfig
from core.engine.live_curves import Cursor, new_points
from core.engine.progress import Progress, progress_bar
from core.live_feed import feed_path
from core.runs.states import RUNNING
from core.views import inside_view
from core.views.charts import CURVES_HEIGHT
from pages.components import read, script
from pages.components.plotly_in_page import plotly_url
from pages.ui.store import run_store

CONFIG = {"displayModeBar": False, "staticPlot": True, "responsive": True}


WAITING = '<p style="opacity: 0.6">The curves start with the first batches.</p>'

PROGRESS = (
    '<div class="live-progress" role="progressbar" aria-valuemin="0" aria-valuemax="100" hidden>'
    '<p class="live-progress-text"></p><div class="live-progress-track"><div class="live-progress-fill"></div></div>'
    "</div>"
    '<p class="live-announce" aria-live="polite"></p>'
)
# Both parts change twice a second: each is a box of its own size (`contain: strict`), so that a change inside
# it is laid out and painted there alone, not with the rest of the page.
CSS = """
.live-progress { font-family: var(--st-font); color: var(--st-text-color); margin-bottom: 1rem; }
.live-progress { height: 2.25rem; contain: strict; }
.live-progress[hidden] { display: none; }
.live-progress-text { font-size: 0.875rem; margin: 0 0 0.25rem; white-space: nowrap; overflow: hidden; }
.live-progress-text { text-overflow: ellipsis; }
.live-curves { contain: strict; }
/* Read by screen readers, not shown: the bar's line says it already. */
.live-announce { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); }
.live-announce { white-space: nowrap; }
.live-progress-track { height: 0.5rem; border-radius: 0.25rem; background: var(--st-secondary-background-color); }
.live-progress-fill { height: 100%; border-radius: 0.25rem; background: var(--st-primary-color); width: 0; }
.live-inside[hidden] { display: none; }
.live-inside > h3 {
  font-family: var(--st-heading-font, var(--st-font));
  font-size: 1.5rem;
  font-weight: 600;
  color: var(--st-heading-color, var(--st-text-color));
  margin: 2rem 0 1rem;
  padding: 0;
}
"""
# The panels inside the network: the same markup as a finished run's (pages/components/inside_network).
INSIDE = (
    f'<div class="live-inside" hidden><h3>Inside the network</h3>{read("inside_network", "inside_network.html")}</div>'
)

_component = st.components.v2.component(
    "mnist_live_run",
    html=f'{PROGRESS}<div class="live-curves" style="height: {CURVES_HEIGHT}px">{WAITING}</div>{INSIDE}',
    css=CSS + read("inside_network", "inside_network.css"),
    js=script("live_run", "live_run.js", plotly=True, before=("inside_network/panels.js",)),
    isolate_styles=False,  # Plotly styles its charts from the page's <head>; tests read the panels' text
)


def live_run(
    run_id: str,
    batches: list[dict],
    epochs: list[dict],
    config: TrainConfig,
    status: str,
    progress: Progress | None,
    *,
    panels: bool = True,
    since: Cursor | None = None,
) -> Cursor:
    """A training under way, as `status`: its `progress` (a bar with the epoch, the step and the time left; none
    while queued), its curves and, with `panels`, the panels inside the network at its latest epoch. While it
    trains the component follows the live feed by itself.

    The page sends the records from `since` on (a new chart draws them only from the start); returns the
    cursor after them, for a page that feeds the chart itself (bench/live_chart_app.py, without panels).

    A live chart is a static picture (no hover layer to rebuild at each update) on a machine that trains.
    """
    update, cursor = new_points(batches, epochs, since or Cursor(), config.epochs)
    feed = feed_path(st.get_option("server.baseUrlPath"), run_id) if status == RUNNING else None
    inside = inside_view.panels(run_store().snapshots_folder(run_id), config) if panels else None
    data = {**update, "status": status, "progress": progress_bar(progress), "feed": feed, "inside": inside}
    _component(key=f"live-run-{run_id}", data={**data, "plotly": plotly_url(), "config": CONFIG})
    return cursor
