"""The live chart alone, for bench/live_chart_cost.py: a training's curves growing twice a second.

Drawn as main drew them (`?way=figure`: the whole figure through st.plotly_chart at every update, a static
picture) or as the Train page does now (`?way=appended`: pages/components/live_run without its panels, drawn
once and appended to).
No training: the records are made up, the same for both ways, so only the chart differs.

    streamlit run bench/live_chart_app.py   (with the project's root on PYTHONPATH)
"""

import streamlit as st

from bench.live_chart_cost import MAX_EPOCHS, records_at
from core.config import TrainConfig
from core.engine.live_curves import Cursor
from core.views.charts import training_curves
from pages.components.live_run import live_run

way = st.query_params.get("way", "appended")


@st.fragment(run_every=0.5)
def curves() -> None:
    update = st.session_state["update"] = st.session_state.get("update", -1) + 1
    batches, epochs = records_at(update)
    if way == "figure":
        st.plotly_chart(
            training_curves(batches, epochs, MAX_EPOCHS),
            key="curves",
            config={"displayModeBar": False, "staticPlot": True},
        )
    else:
        # The page sends the new points itself, at each rerun, as the Train page did before its live feed.
        since = st.session_state.get("since", Cursor())
        config = TrainConfig(epochs=MAX_EPOCHS)
        st.session_state["since"] = live_run(
            "made-up", batches, epochs, config, "made-up", None, panels=False, since=since
        )


curves()
