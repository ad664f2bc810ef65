"""A lesson as every page shows it (its card, its challenge in words), and the teacher's form to make or change one."""

from __future__ import annotations

import streamlit as st

from core.config import DEFAULTS, MAX_EPOCHS, SETTING, TRAIN_IMAGES, ConfigError, linked_config
from core.runs.lessons import (
    CHANGEABLE,
    MAX_TEXT_CHARS,
    MAX_TITLE_CHARS,
    MOST_PARAMETERS,
    Challenge,
    Lesson,
    LessonBook,
    LessonError,
)
from pages.ui.identity import current_person
from pages.ui.links import train_address
from pages.ui.store import run_store
from pages.ui.text import literal


def lesson_book() -> LessonBook:
    return LessonBook(run_store().root)


def current_lesson() -> Lesson | None:
    """The lesson the teacher shows everyone, None when there is none (or it was deleted, or is damaged)."""
    lesson_id = run_store().classroom().lesson
    if lesson_id is None:
        return None
    try:
        return lesson_book().get(lesson_id)
    except LessonError:
        return None


def challenge_sentence(challenge: Challenge) -> str:
    """The challenge as its ranking's title: "Best held-out accuracy with at most 50,000 parameters"."""
    if not challenge.any:
        return "Best held-out accuracy"
    rules = challenge.rules()
    return "Best held-out accuracy with " + (", ".join(rules[:-1]) + " and " if len(rules) > 1 else "") + rules[-1]


def lesson_card(lesson: Lesson, *, is_current: bool = False, open_link: bool = True) -> None:
    """Title, instructions (as typed, never as Markdown), challenge, what learners may change, and a way in."""
    with st.container(border=True, key=f"lesson-{lesson.lesson_id}"):
        st.markdown(f"**{literal(lesson.title)}**" + (" · shown on Home" if is_current else ""))
        if lesson.text:
            st.text(lesson.text)
        if lesson.challenge.any:
            st.markdown(f":material/flag: Challenge: {challenge_sentence(lesson.challenge).lower()}.")
        free = [SETTING[name].label for name in CHANGEABLE if name in lesson.changeable]
        fixed = "the other settings are fixed" if free else "every setting is fixed"
        st.caption(f"You may change: {', '.join(free)}; {fixed}." if free else f"In this lesson {fixed}.")
        if open_link:
            st.page_link(
                "pages/train.py",
                label="Open this lesson in Train",
                icon=":material/school:",
                query_params={"lesson": lesson.lesson_id},
            )


def lesson_form(lesson: Lesson | None, key: str) -> None:
    """Make a lesson (`lesson` None) or change one. Only the teacher sees it, and the click is checked again."""
    with st.form(key=f"{key}-form", border=True):
        title = st.text_input(
            "Title", value=lesson.title if lesson else "", max_chars=MAX_TITLE_CHARS, key=f"{key}-title"
        )
        text = st.text_area(
            "Instructions",
            value=lesson.text if lesson else "",
            max_chars=MAX_TEXT_CHARS,
            help="Shown to the class exactly as typed, as plain text.",
            key=f"{key}-text",
        )
        address = st.text_input(
            "Starting settings",
            value=train_address(lesson.settings if lesson else DEFAULTS),
            help="An address from **Link to these settings** on the Train page (set the form there, then copy its "
            "link), or just the part after the ?. Settings it does not name keep their defaults.",
            key=f"{key}-settings",
        )
        changeable = st.multiselect(
            "Learners may change",
            CHANGEABLE,
            default=[name for name in CHANGEABLE if name in lesson.changeable] if lesson else ["hidden_layers"],
            format_func=lambda name: SETTING[name].label,
            help="The other settings are shown in the form but fixed to the starting settings.",
            key=f"{key}-changeable",
        )
        st.caption("Challenge (optional): in the lesson's ranking, runs within these limits come before any past them.")
        limits = lesson.challenge if lesson else Challenge()
        a, b, c = st.columns(3)
        parameters = a.number_input(
            "At most parameters",
            1,
            MOST_PARAMETERS,
            value=limits.parameters,
            step=1_000,
            placeholder="no limit",
            key=f"{key}-parameters",
        )
        epochs = b.number_input(
            "At most epochs", 1, MAX_EPOCHS, value=limits.epochs, placeholder="no limit", key=f"{key}-epochs"
        )
        images = c.number_input(
            "At most training images",
            100,
            TRAIN_IMAGES,
            value=limits.images,
            step=1_000,
            placeholder="no limit",
            key=f"{key}-images",
        )
        saved = st.form_submit_button("Save the lesson" if lesson else "Create the lesson", type="primary")
    if not saved:
        return
    if not current_person().teacher:  # checked on the click, not only by hiding the form
        st.error("Only the teacher can create or change lessons.", icon=":material/block:")
        return
    try:
        settings = linked_config(DEFAULTS, address)  # what it does not name keeps its default
        challenge = Challenge(parameters=parameters, epochs=epochs, images=images)
        if lesson is None:
            made = lesson_book().create(title, text, settings, changeable, challenge)
        else:
            made = lesson_book().change(lesson, title, text, settings, changeable, challenge)
    except ConfigError as error:
        st.error(f"Starting settings: {error.message}", icon=":material/error:")
        return
    except LessonError as error:
        st.error(str(error), icon=":material/error:")
        return
    st.toast(f"Saved the lesson {literal(made.title)}.", icon=":material/check:")
    st.rerun()
