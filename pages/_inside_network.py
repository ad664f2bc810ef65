"""Inside the network, epoch by epoch: what the first layer looks for, its guesses on 20 digits, its weights.

Shared by the Train page (live while a run trains; with an epoch slider once it has ended) and the
Runs page. The view itself comes from core.inside_view (built from the run's snapshots, a bad file left
out, once per state of the folder); this page adds the heading and the slider.

The three panels are one custom component (pages/_inside_network.js; components v2: no iframe). While a
run trains, the page is not run again for them: the live curves' feed announces each new epoch's snapshots
(their mark), and the panels fetch their new view from the app's own route (core/live_feed.py) and change
only what changed: a picture when its bytes did, the weights' chart when its data did (and only while it is
on screen). A rerun, once per epoch, cost the browser and the server more than the pictures it brought, on
the cores that train (bench/page_overhead.py). The first layer's two views (its weights, what training
changed) both travel with the data, so switching between them is the browser's alone.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core import inside_view
from core.config import TrainConfig
from core.live_feed import panels_path
from pages._components import run_store
from pages._plotly_in_page import plotly_script, plotly_url

HERE = Path(__file__).parent

_component = st.components.v2.component(
    "mnist_inside_network",
    html=(HERE / "_inside_network.html").read_text(),
    css=(HERE / "_inside_network.css").read_text(),
    js=plotly_script("_inside_network.js"),
    isolate_styles=False,  # Plotly styles its charts from the page's <head>; tests read the panels' text
)


def inside_network(run_id: str, config: TrainConfig, live: bool, key: str) -> None:
    """The three panels for one run: its latest epoch while `live` (following the epochs by themselves), otherwise
    any epoch, chosen with a slider.

    Shows nothing for a finished run without snapshots (imported, or trained before the app kept them).
    """
    folder = run_store().snapshots_folder(run_id)
    if live:
        st.subheader("Inside the network")
        view = inside_view.panels(folder, config)
        feed = panels_path(st.get_option("server.baseUrlPath"), run_id)
        _component(key=f"{key}-inside-network", data={**view, "feed": feed, "plotly": plotly_url()})
        return
    epochs = inside_view.series(folder, config.hidden_layers).epochs
    if not epochs:
        return
    st.subheader("Inside the network")
    epoch = epochs[-1]
    if len(epochs) > 1:
        epoch = st.select_slider(
            "Epoch",
            options=epochs,
            value=epochs[-1],
            format_func=lambda e: "0 (before training)" if e == 0 else str(e),
            key=f"{key}-inside-epoch-{run_id}",
            help="Move through the training: how the network looked before it, and after each epoch.",
        )
    _component(key=f"{key}-inside-network", data={**inside_view.panels(folder, config, epoch), "plotly": plotly_url()})
