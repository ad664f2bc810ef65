"""Lessons: what the teacher hands out (starting settings, what learners may change, a challenge); the teacher makes,
changes, shows on Home and deletes them here, everyone else reads them and opens them in Train."""

import streamlit as st

from core.runs.lessons import Lesson, LessonError
from core.runs.store import StoreError
from pages.ui.identity import current_person
from pages.ui.lessons import lesson_book, lesson_card, lesson_form
from pages.ui.store import run_store
from pages.ui.text import literal


def teacher_only(action: str) -> bool:
    """Whether the person clicking may `action` a lesson, checked on the click; says why not when they may not."""
    if current_person().teacher:
        return True
    st.error(f"Only the teacher can {action} lessons.", icon=":material/block:")
    return False


def lesson_actions(lesson: Lesson, is_current: bool) -> None:
    """Show on Home (or stop), change, delete: the teacher's buttons under a lesson."""
    lesson_id, title = lesson.lesson_id, lesson.title
    show, edit, delete = st.columns(3)
    label = "Stop showing it on Home" if is_current else "Show it on Home"
    if show.button(label, key=f"show-{lesson_id}", icon=":material/home:") and teacher_only("choose"):
        try:
            run_store().set_current_lesson(None if is_current else lesson_id)
        except StoreError as error:
            st.error(str(error), icon=":material/error:")
        else:
            st.rerun()
    with edit.popover("Change", icon=":material/edit:", key=f"edit-{lesson_id}"):
        lesson_form(lesson, key=f"edit-{lesson_id}")
    with delete.popover("Delete", icon=":material/delete:", key=f"delete-{lesson_id}"):
        st.markdown(f"Delete the lesson **{literal(title)}** for good? Runs started under it keep their results.")
        if st.button("Delete it", key=f"delete-yes-{lesson_id}", type="primary") and teacher_only("delete"):
            remove(lesson_id, is_current)


def remove(lesson_id: str, is_current: bool) -> None:
    try:
        lesson_book().delete(lesson_id)
        if is_current:
            run_store().set_current_lesson(None)
    except (LessonError, StoreError) as error:
        st.error(str(error), icon=":material/error:")
    else:
        st.rerun()


st.title("Lessons")
st.markdown(
    "A lesson gives the whole class the same starting point: the settings everyone starts from, which of them "
    "learners may change, and a challenge to rank the runs by, such as the best accuracy with at most 50,000 "
    "parameters."
)
teacher = current_person().teacher
try:
    lessons, damaged = lesson_book().all()
except LessonError as error:
    st.error(str(error), icon=":material/error:")
    st.stop()
current = run_store().classroom().lesson
if not lessons and not damaged:
    st.info(
        "No lessons yet." + (" Make the first one below." if teacher else " Your teacher can make one."),
        icon=":material/school:",
    )
for lesson in lessons:
    lesson_card(lesson, is_current=lesson.lesson_id == current)
    if teacher:
        lesson_actions(lesson, lesson.lesson_id == current)
for broken in damaged:
    st.warning(f"A damaged lesson file: {literal(broken.problem)}", icon=":material/broken_image:")
    if teacher and st.button("Delete it", key=f"delete-damaged-{broken.lesson_id}") and teacher_only("delete"):
        remove(broken.lesson_id, broken.lesson_id == current)

if teacher:
    st.subheader("A new lesson")
    lesson_form(None, key="new-lesson")
elif lessons:
    st.caption("Only the teacher can make, change or delete lessons.")
