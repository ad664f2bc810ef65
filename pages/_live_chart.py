"""The live training: its progress and its curves, one custom component that draws the figure once and then
only appends points.

`st.plotly_chart` sends the whole figure on every rerun, and the browser rebuilds and remounts it, on the
cores that train (bench/page_overhead.py measures the browser's CPU per update). This component (Streamlit
components v2: no iframe) receives only the records that are new since its last update (core/live_curves.py
decides which) and adds them to the chart it drew, redrawing the traces only, not the axes, unless they must
grow (pages/_live_chart.js). The progress bar is in the same component: as a Streamlit element it was one
more element for the browser to render again at every update.

What the browser holds is kept per session and run in st.session_state: a reload is a new session, so it
starts from the beginning and shows the curves so far. When the chart is mounted again in the same session
(the learner went to another page and came back) it holds nothing while the cursor says otherwise; it then
reports what it holds (the trigger "resync") and the next update starts from there.

Plotly.js comes from this app's own server (pages/_plotly_in_page.py): nothing from the internet.
"""

from __future__ import annotations

import streamlit as st

from core.figures import CURVES_HEIGHT
from core.live_curves import Cursor, new_points
from core.progress import Progress, progress_line
from pages._plotly_in_page import plotly_script, plotly_url

CONFIG = {"displayModeBar": False, "staticPlot": True, "responsive": True}


WAITING = '<p style="opacity: 0.6">The curves start with the first batches.</p>'

PROGRESS = (
    '<div class="live-progress" role="progressbar" aria-valuemin="0" aria-valuemax="100" hidden>'
    '<p class="live-progress-text"></p><div class="live-progress-track"><div class="live-progress-fill"></div></div>'
    "</div>"
)
CSS = """
.live-progress { font-family: var(--st-font); color: var(--st-text-color); margin-bottom: 1rem; }
.live-progress[hidden] { display: none; }
.live-progress-text { font-size: 0.875rem; margin: 0 0 0.25rem; }
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
    progress: Progress | None = None,
    snapshots_mark: str | None = None,
) -> None:
    """The curves of a training under way, brought up to date with only what the chart does not have yet,
    under its `progress` (a bar with the epoch, the step and the time left), if given. `snapshots_mark`
    is passed on to the page for the panels inside the network (pages/_inside_network.py).

    A live chart is a static picture (no hover layer to rebuild at each update) on a machine that trains.
    """
    chart_key, cursor_key = f"live-curves-{run_id}", f"live-curves-sent-{run_id}"

    def resync() -> None:  # runs before the rerun the chart asked for
        # The chart's state is gone when the trigger arrives after the run ended and the chart left the page.
        held = (st.session_state.get(chart_key) or {}).get("resync")
        if isinstance(held, list) and len(held) == 2 and all(isinstance(n, int) for n in held):
            st.session_state[cursor_key] = Cursor(*held)

    update, st.session_state[cursor_key] = new_points(
        batches, epochs, st.session_state.get(cursor_key, Cursor()), max_epochs
    )
    bar = {"fraction": progress.fraction, "text": progress_line(progress)} if progress else None
    _component(
        key=chart_key,
        data={**update, "progress": bar, "snapshotsMark": snapshots_mark, "plotly": plotly_url(), "config": CONFIG},
        on_resync_change=resync,
    )
