"""The live training: its progress and its curves, one custom component that draws the figure once and then
only appends points.

`st.plotly_chart` sends the whole figure on every rerun, and the browser rebuilds and remounts it, on the
cores that train (bench/page_overhead.py measures the browser's CPU per update). This component (Streamlit
components v2: no iframe) is drawn by the page with the curves so far, and then gets what is new by itself,
about twice a second, through a socket to the app's live feed (core/live_feed.py): no rerun of the page,
which cost the browser more than the chart. It adds the new points to the chart it drew, redrawing the
traces only, not the axes, unless they must grow (pages/_live_chart.js). The progress bar is in the same
component, updated by the same feed. When the feed says the run's status changed, the component asks for a
rerun (the trigger "status") and the page shows the run as it is now.

Plotly.js comes from this app's own server (pages/_plotly_in_page.py): nothing from the internet.
"""

from __future__ import annotations

import streamlit as st

from core.figures import CURVES_HEIGHT
from core.live_curves import Cursor, new_points
from core.live_feed import feed_path
from core.progress import Progress, progress_bar
from core.run_states import RUNNING
from pages._plotly_in_page import plotly_script, plotly_url

CONFIG = {"displayModeBar": False, "staticPlot": True, "responsive": True}


WAITING = '<p style="opacity: 0.6">The curves start with the first batches.</p>'

PROGRESS = (
    '<div class="live-progress" role="progressbar" aria-valuemin="0" aria-valuemax="100" hidden>'
    '<p class="live-progress-text"></p><div class="live-progress-track"><div class="live-progress-fill"></div></div>'
    "</div>"
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
.live-progress-track { height: 0.5rem; border-radius: 0.25rem; background: var(--st-secondary-background-color); }
.live-progress-fill { height: 100%; border-radius: 0.25rem; background: var(--st-primary-color); width: 0; }
"""

_component = st.components.v2.component(
    "mnist_live_training_curves",
    html=f'{PROGRESS}<div class="live-curves" style="height: {CURVES_HEIGHT}px">{WAITING}</div>',
    css=CSS,
    js=plotly_script("_live_chart.js"),
    isolate_styles=False,  # Plotly styles its charts from the page's <head>
)


def live_training_curves(
    run_id: str,
    batches: list[dict],
    epochs: list[dict],
    max_epochs: int,
    status: str,
    progress: Progress | None,
    since: Cursor | None = None,
) -> Cursor:
    """The curves of a training under way, as `status`, under its `progress` (a bar with the epoch, the step and
    the time left; none while queued). While it trains the chart follows the live feed by itself.

    The page sends the records from `since` on (a new chart draws them only from the start); returns the
    cursor after them, for a page that feeds the chart itself (bench/live_chart_app.py).

    A live chart is a static picture (no hover layer to rebuild at each update) on a machine that trains.
    """
    update, cursor = new_points(batches, epochs, since or Cursor(), max_epochs)
    feed = feed_path(st.get_option("server.baseUrlPath"), run_id) if status == RUNNING else None
    bar = progress_bar(progress)
    _component(
        key=f"live-curves-{run_id}",
        data={**update, "status": status, "progress": bar, "feed": feed, "plotly": plotly_url(), "config": CONFIG},
    )
    return cursor
