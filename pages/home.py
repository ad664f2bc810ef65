"""Home: what this app is, the three steps, the best model so far, and the class's best per person."""

import pandas as pd
import streamlit as st

from core.runs.classroom import class_leaderboard
from core.runs.lessons import Lesson, lesson_leaderboard
from core.runs.store import StoreError, best_run
from pages.ui.identity import current_person
from pages.ui.lessons import challenge_sentence, current_lesson, lesson_card
from pages.ui.store import run_store, usable_runs
from pages.ui.text import literal


def class_view(runs: list, lesson: Lesson | None) -> None:
    """Each person's best held-out test accuracy and the network that reached it; the teacher can switch it off."""
    person, classroom = current_person(), run_store().classroom()
    if person.teacher:
        shown = st.toggle("Show the class view to everyone", value=classroom.leaderboard, key="class_view_shown")
        if shown != classroom.leaderboard:
            try:
                run_store().show_class_view(shown)
            except StoreError as error:
                st.error(str(error), icon=":material/error:")
    elif not classroom.leaderboard:
        return
    if lesson is not None:
        lesson_ranking(runs, lesson, classroom.names, person.owner)
    board = class_leaderboard(runs, classroom.names)
    if not board:
        return
    st.subheader("The class so far")
    st.caption("Each person's best model trained here, by its accuracy on the 10,000 held-out test images.")
    st.dataframe(
        pd.DataFrame(
            {
                "person": [("★ " if entry.owner == person.owner else "") + entry.name for entry in board],
                "best test accuracy": [entry.test_accuracy for entry in board],
                "network": [entry.network for entry in board],
                "runs": [entry.runs for entry in board],
                "run": [entry.run_id for entry in board],
            }
        ),
        hide_index=True,
        width="stretch",
        key="class_view",
        column_config={"best test accuracy": st.column_config.NumberColumn(format="percent")},
    )


def ordinal(place: int) -> str:
    """1st, 2nd, 3rd, 4th, ... 11th, 12th, 13th, ... 21st."""
    suffix = "th" if 10 <= place % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(place % 10, "th")
    return f"{place}{suffix}"


def lesson_ranking(runs: list, lesson: Lesson, names: dict, you: str | None) -> None:
    """Each person's best run under the current lesson, within its challenge first; a run that breaks it says how."""
    board = lesson_leaderboard(runs, lesson, names)
    st.subheader("The lesson's ranking")
    st.caption(f"{challenge_sentence(lesson.challenge)}, among the runs started under this lesson.")
    if not board:
        st.caption("No run under this lesson has finished yet.")
        return
    yours = next((place for place, entry in enumerate(board, 1) if entry.owner == you), None)
    if yours is not None:
        entry = board[yours - 1]
        st.markdown(
            f"**You: {ordinal(yours)} of {len(board)}**, {entry.test_accuracy:.2%} with {entry.parameters:,} parameters"
            + (f"; your best run breaks the challenge ({'; '.join(entry.broken)})." if entry.broken else ".")
        )
    st.dataframe(
        pd.DataFrame(
            {
                "person": [("★ " if entry.owner == you else "") + entry.name for entry in board],
                "test accuracy": [entry.test_accuracy for entry in board],
                "network": [entry.network for entry in board],
                "parameters": [entry.parameters for entry in board],
                "challenge": ["kept" if not entry.broken else "broken: " + "; ".join(entry.broken) for entry in board],
                "run": [entry.run_id for entry in board],
            }
        ),
        hide_index=True,
        width="stretch",
        key="lesson_view",
        column_config={
            "test accuracy": st.column_config.NumberColumn(format="percent"),
            "parameters": st.column_config.NumberColumn(format="localized"),
        },
    )


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

shown_lesson = current_lesson()
if shown_lesson is not None:
    st.subheader("Today's lesson")
    lesson_card(shown_lesson)
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
        label=f"Draw digits for {literal(best.display_name)}",
        icon=":material/draw:",
        query_params={"run": best.run_id},
    )
else:
    st.info(
        "No trained model yet. Start on the **Train** page: the default network trains in about a minute.",
        icon=":material/lightbulb:",
    )
class_view(runs, shown_lesson)
