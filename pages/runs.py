"""Runs: every training, side by side."""

import streamlit as st

st.title("Runs")
st.info("Coming soon.")
