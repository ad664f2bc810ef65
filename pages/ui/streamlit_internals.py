"""The one place this app relies on a private part of Streamlit, with why, and the test that notices a change.

Streamlit treats a folder named pages/ beside the main script as a legacy
multipage app until some session calls st.navigation: a fresh server's first
visitor who opens /train or /draw directly gets that page run on its own, with
app.py skipped and the old auto-generated navigation shown. No public setting
turns this off while the folder keeps its name (our layout fixes it), so the
flag is switched off here and the run restarts through app.py.

Called from app.py and, through pages/ui/identity.py, from every page (the first
run in that case is the page alone), and so also when the server imports app.py
as it starts. tests/e2e/test_learner_path.py opens /train first on a fresh
server and checks that app.py's navigation shows.
"""

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager


def route_every_page_through_app() -> None:
    """Off for good. Set before the first session (the server imports app.py, which imports this) Streamlit
    never switches it on; set during a run (a first run of a page alone), that run starts again through app.py."""
    was_on = PagesManager.uses_pages_directory
    PagesManager.uses_pages_directory = False
    if was_on:
        st.rerun()
