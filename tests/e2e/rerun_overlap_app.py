"""Counts how many runs of its script execute at once, with work between Streamlit calls as a real page has (reading
a run, loading a model). Served with the project's .streamlit/config.toml by tests/e2e/test_rerun_overlap.py."""

import threading
import time

import streamlit as st


@st.cache_resource
def tally() -> dict:
    return {"lock": threading.Lock(), "running": 0, "most": 0}


runs = tally()
with runs["lock"]:
    runs["running"] += 1
    runs["most"] = max(runs["most"], runs["running"])
try:
    st.button("Rerun")
    time.sleep(0.4)  # no Streamlit call here: where a rerun's request has to wait, or overlap
    st.write(f"Most runs at once: {runs['most']}")
finally:
    with runs["lock"]:
        runs["running"] -= 1
