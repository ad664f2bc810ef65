"""Draw: classify hand-drawn digits."""

import streamlit as st

st.title("Draw a digit")
st.info("Coming soon.")
