"""Who is looking: the browser's token or the signed-in account, the person's name, the teacher's sign-in."""

from __future__ import annotations

import math
import secrets

import streamlit as st

from core.runs.classroom import (
    ClassroomConfigError,
    ClassroomSettings,
    GuessThrottle,
    Person,
    account_owner,
    browser_owner,
    clean_name,
    is_browser_token,
    may_change,
    placeholder_name,
    refusal,
)
from core.runs.store import StoreError
from pages.ui.store import run_store
from pages.ui.streamlit_internals import route_every_page_through_app
from pages.ui.text import literal

route_every_page_through_app()


OWNER_COOKIE = "mnist_trainer_owner"


# Runs in the page (components v2): the browser's token from its cookie (or localStorage), or a new random one,
# kept in both for a year and handed to the app. crypto.getRandomValues works on plain http too (a class's LAN).
_IDENTITY_JS = r"""
export default function ({ setStateValue }) {
  const name = "__COOKIE__";
  const valid = (t) => typeof t === "string" && /^[A-Za-z0-9_-]{22,64}$/.test(t);
  const cookie = document.cookie.split("; ").find((c) => c.startsWith(name + "="));
  let token = cookie ? decodeURIComponent(cookie.slice(name.length + 1)) : null;
  if (!valid(token)) {
    try { token = window.localStorage.getItem(name); } catch (e) { token = null; }
  }
  if (!valid(token)) {
    const bytes = new Uint8Array(24);
    window.crypto.getRandomValues(bytes);
    token = btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  document.cookie = name + "=" + token + "; path=/; max-age=31536000; SameSite=Strict";
  try { window.localStorage.setItem(name, token); } catch (e) {}
  setStateValue("token", token);
}
""".replace("__COOKIE__", OWNER_COOKIE)


_browser_identity = st.components.v2.component("browser_identity", js=_IDENTITY_JS)


def classroom_settings() -> ClassroomSettings:
    """The `[classroom]` (and `[auth]`) part of .streamlit/secrets.toml; defaults when there is no such file."""
    try:
        found = st.secrets.to_dict() if st.secrets.load_if_toml_exists() else {}
        return ClassroomSettings.from_secrets(found)
    except ClassroomConfigError as error:
        st.error(f"The class settings in secrets.toml cannot be used: {error}", icon=":material/error:")
        st.stop()


def recognise_browser() -> None:
    """Learn this browser's token once per session: from its cookie, or from the identity component.

    Called by app.py on every page, before the page runs. The token is the browser's secret: it never goes
    into a URL, onto a page or into the store (only its hash does, as the owner).
    """
    if is_browser_token(st.context.cookies.get(OWNER_COOKIE)) or "browser_token" in st.session_state:
        return
    token = _browser_identity(key="browser_identity", on_token_change=lambda: None).get("token")
    if is_browser_token(token):
        st.session_state["browser_token"] = token


def _browser_token() -> str:
    """The cookie sent when the page was opened; else what the component said; else this tab's own, until it says."""
    token = st.context.cookies.get(OWNER_COOKIE)
    if is_browser_token(token):
        return token
    token = st.session_state.get("browser_token")
    if is_browser_token(token):
        return token
    # A browser that keeps nothing (or has not answered yet, for an instant on the first visit): this tab.
    return st.session_state.setdefault("tab_token", secrets.token_urlsafe(24))


def current_person() -> Person:
    """Who is looking: their signed-in account where the class signs in (st.login), else their browser.

    The teacher: a signed-in account listed in secrets.toml, or a browser that signed in with the teacher password.
    """
    settings = classroom_settings()
    classroom = run_store().classroom()
    if settings.login:
        if not st.user.get("is_logged_in"):
            return Person(owner=None, name="")
        email = st.user.get("email")
        owner = account_owner(email or st.user.get("sub") or "")
        name = classroom.names.get(owner) or clean_name(st.user.get("name") or email) or placeholder_name(owner)
        verified = st.user.get("email_verified") is True
        teacher = settings.is_teacher_account(email, verified) or settings.is_teacher_mark(
            owner, classroom.teachers.get(owner)
        )
        return Person(owner=owner, name=name, teacher=teacher)
    owner = browser_owner(_browser_token())
    name = classroom.names.get(owner) or placeholder_name(owner)
    return Person(owner=owner, name=name, teacher=settings.is_teacher_mark(owner, classroom.teachers.get(owner)))


def owner_label(owner: str | None, owner_name: str) -> str:
    """How a run's owner is shown: their name, a placeholder, or that it is nobody's (plain text: for st.text and
    tables; `literal` it for anything that renders Markdown)."""
    return owner_name or (placeholder_name(owner) if owner else "nobody (command line or older)")


def may_change_run(person: Person, owner: str | None) -> bool:
    return may_change(person, owner, classroom_settings())


def queue_share(person: Person) -> int | None:
    """How many trainings `person` may have running or waiting at once: the class's setting; the teacher, any."""
    return None if person.teacher else classroom_settings().trainings_per_person


def refusal_text(action: str, owner: str | None, owner_name: str) -> str:
    """Why this person may not `action` the run, as Markdown (help texts, warnings): the owner's name literal."""
    return refusal(action, literal(owner_label(owner, owner_name)) if owner else "", classroom_settings())


def identity_sidebar() -> None:
    """On every page: who you are here (your name, which you can change), and the teacher's or the class's sign-in."""
    settings = classroom_settings()
    person = current_person()
    st.caption("YOU")
    if settings.login and not st.user.get("is_logged_in"):
        st.caption("Sign in to train and to own your runs; you can look at everything without.")
        st.button("Sign in", icon=":material/login:", on_click=st.login, key="sign_in")
    else:
        with st.popover(literal(person.name) or "You", icon=":material/person:"):
            your_name_form(person)
        if settings.login:
            st.button("Sign out", icon=":material/logout:", on_click=st.logout, key="sign_out")
    if person.teacher:
        st.caption("Teacher: you can stop, relabel and delete every run.")
        if person.owner in run_store().classroom().teachers and st.button("Leave teacher mode", key="leave_teacher"):
            run_store().remember_teacher(person.owner, None)
            st.rerun()
    elif settings.teacher_password and person.owner is not None:
        with st.popover("Teacher", icon=":material/school:"):
            teacher_sign_in(settings, person)


def your_name_form(person: Person) -> None:
    with st.form("your_name", border=False):
        name = st.text_input(
            "Your name",
            value=person.name,
            max_chars=40,
            help="Others see it beside your runs.",
            key=f"your_name_{person.owner[:12]}",  # one field per person: the first visit starts as the tab
        )
        if st.form_submit_button("Save name"):
            try:
                run_store().set_person_name(person.owner, name)
            except StoreError as error:
                st.error(str(error), icon=":material/error:")
            else:
                st.rerun()


@st.cache_resource
def password_throttle() -> GuessThrottle:
    """One for this server: every session's guesses of the teacher password count, by the address they came from."""
    return GuessThrottle()


def teacher_sign_in(settings: ClassroomSettings, person: Person) -> None:
    """The teacher password makes this browser (or account) the teacher's, kept in the store across reloads.

    Wrong guesses are slowed down by where they come from (the client's address: a browser's cookie is anyone's
    to change): after a few, a guess is judged only once the wait has passed, and the page says how long."""
    with st.form("teacher_sign_in", border=False):
        attempt = st.text_input("Teacher password", type="password")
        if st.form_submit_button("Sign in as teacher"):
            throttle, place = password_throttle(), st.context.ip_address or "unknown"
            wait = throttle.wait(place)
            if wait > 0:
                st.error(
                    f"Too many wrong passwords from here: try again in {math.ceil(wait)} seconds.",
                    icon=":material/hourglass_top:",
                )
                return
            if settings.password_matches(attempt):
                throttle.succeeded(place)
                try:
                    run_store().remember_teacher(person.owner, settings.teacher_mark(person.owner))
                except StoreError as error:
                    st.error(str(error), icon=":material/error:")
                else:
                    st.rerun()
            else:
                throttle.failed(place)
                st.error("That is not the teacher password.", icon=":material/key_off:")
