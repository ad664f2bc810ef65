"""Entry point: `streamlit run app.py`. Navigation only; each page lives in pages/.

`streamlit run` finds `app` below and serves the app through it (st.App): Streamlit's own server, plus the
socket a live Train page gets its updates on (core/live_feed.py). Each session runs this file as its script.
"""

import streamlit as st

from core import live_feed
from pages.ui.identity import identity_sidebar, recognise_browser
from pages.ui.streamlit_internals import route_every_page_through_app
from pages.ui.training_status import training_status_sidebar


def run() -> None:
    route_every_page_through_app()
    st.set_page_config(page_title="Neural network trainer · MNIST", page_icon=":material/neurology:", layout="wide")
    page = st.navigation(
        [
            st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
            st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
            st.Page("pages/runs.py", title="Runs", icon=":material/table_chart:"),
            st.Page("pages/draw.py", title="Draw", icon=":material/draw:"),
            st.Page("pages/drawings.py", title="Your drawings", icon=":material/gesture:"),
            st.Page("pages/lessons.py", title="Lessons", icon=":material/school:"),
        ]
    )
    with st.sidebar:
        recognise_browser()
        training_status_sidebar(on_train_page=page.url_path == "train")
        identity_sidebar()
    page.run()


if __name__ == "__main__":  # a session's run of the script
    run()
else:  # imported by the server (streamlit run, or uvicorn app:app)
    cors = st.get_option("server.enableCORS")
    allowed = frozenset(st.get_option("server.corsAllowedOrigins")) if cors else None
    app = st.App(__file__, routes=live_feed.routes(st.get_option("server.baseUrlPath"), allowed))
