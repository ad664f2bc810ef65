"""Inside a finished run, epoch by epoch: what the first layer looks for, its guesses on 20 digits, its weights.

On the Train page once a run has ended, and on the Runs page, with an epoch slider. The view comes from
core.views.inside_view (built from the run's snapshots, a bad file left out, once per state of the folder);
this adds the heading and the slider. The three panels are one custom component (inside_network.js and
panels.js beside this file; components v2: no iframe) that changes only what changed: a picture when its
bytes did, the weights' chart when its data did (and only while it is on screen). The first layer's two views
(its weights, what training changed) both travel with the data, so switching between them is the browser's
alone. A live run's panels are part of the live run's component (pages/components/live_run), on its socket.
"""

from __future__ import annotations

import streamlit as st

from core.config import TrainConfig
from core.views import inside_view
from pages.components import read, script
from pages.components.plotly_in_page import plotly_url
from pages.ui.store import run_store

_component = st.components.v2.component(
    "mnist_inside_network",
    html=read("inside_network", "inside_network.html"),
    css=read("inside_network", "inside_network.css"),
    js=script("inside_network", "inside_network.js", plotly=True, before=("inside_network/panels.js",)),
    isolate_styles=False,  # Plotly styles its charts from the page's <head>; tests read the panels' text
)


def inside_network(run_id: str, config: TrainConfig, key: str) -> None:
    """The three panels for one finished run, at any epoch, chosen with a slider.

    Shows nothing for a run without snapshots (imported, or trained before the app kept them).
    """
    folder = run_store().snapshots_folder(run_id)
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
