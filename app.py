"""Entry point: `streamlit run app.py`. Navigation only; each page lives in pages/."""

import streamlit as st

from pages._components import identity_sidebar, recognise_browser, training_status_sidebar
from pages._streamlit_internals import route_every_page_through_app


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
        ]
    )
    with st.sidebar:
        recognise_browser()
        training_status_sidebar(on_train_page=page.url_path == "train")
        identity_sidebar()
    page.run()


if __name__ == "__main__":
    run()
