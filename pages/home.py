"""Home: what this app is, the three steps, and the best model so far."""

import streamlit as st

from core.store import best_run
from pages._components import usable_runs

st.title("Learn how a neural network learns")
st.markdown(
    "Build a small neural network, train it on **MNIST** (70,000 handwritten digits) and watch it learn, "
    "then draw your own digits and see what it makes of them. Everything runs on this computer; nothing "
    "is downloaded."
)

steps = st.columns(3)
with steps[0]:
    st.markdown(
        "### 1 · Design\nChoose the hidden layers, dropout, optimizer and the other knobs, and see "
        "how many parameters the network has before it trains."
    )
    st.page_link("pages/train.py", label="Open Train", icon=":material/tune:")
with steps[1]:
    st.markdown(
        "### 2 · Train\nWatch loss and accuracy update live, batch by batch. Stop when you like, "
        "leave and come back. The 10,000 test images stay unseen until the end."
    )
    st.page_link("pages/train.py", label="Train one", icon=":material/model_training:")
    st.page_link("pages/runs.py", label="Compare runs", icon=":material/table_chart:")
with steps[2]:
    st.markdown(
        "### 3 · Draw\nDraw a digit and see the network's answer, its confidence, and the 28×28 "
        "picture it actually looked at."
    )
    st.page_link("pages/draw.py", label="Open Draw", icon=":material/draw:")

st.divider()
runs = usable_runs()
best = best_run(runs)
if best is not None:
    st.subheader("Best model so far")
    a, b, c = st.columns(3)
    a.metric("Held-out test accuracy", f"{best.metrics.test_accuracy:.2%}")
    b.metric("Network", best.config.shape_label())
    c.metric("Runs trained", sum(run.metrics is not None for run in runs))
    st.page_link(
        "pages/draw.py",
        label=f"Draw digits for {best.display_name}",
        icon=":material/draw:",
        query_params={"run": best.run_id},
    )
else:
    st.info(
        "No trained model yet. Start on the **Train** page: the default network trains in about a minute.",
        icon=":material/lightbulb:",
    )
