"""Links to a form's settings: the Train page's address with every setting in it (core.config's link), to keep,
send or hand out to a class."""

from __future__ import annotations

from urllib.parse import urlsplit

import streamlit as st

from core.config import TrainConfig, link_query


def train_address(config: TrainConfig) -> str:
    """The Train page's full address with `config` in it, on the server and path this page was opened at."""
    here = urlsplit(st.context.url or "")
    base = here.path.rsplit("/", 1)[0] if here.path else ""
    origin = f"{here.scheme}://{here.netloc}" if here.scheme and here.netloc else ""
    return f"{origin}{base}/train?{link_query(config)}"


def settings_link(config: TrainConfig, key: str) -> None:
    """**Link to these settings**: the address, in a box with a copy button."""
    with st.popover("Link to these settings", icon=":material/link:", key=f"{key}-link"):
        st.caption(
            "Opens the Train page with these settings in the form: keep it, send it, or give it to a class so "
            "everyone starts from the same network."
        )
        st.code(train_address(config), language=None, wrap_lines=True)
