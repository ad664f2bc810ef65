"""Text a person typed (a name, a run's label, a file's name), shown literally wherever Streamlit renders Markdown.

Streamlit renders Markdown in captions, messages, toasts, widget labels, help texts, progress lines and image
captions: a name like `![](http://host/x.png)` would make every classmate's browser fetch that image, and
`[Sign in](http://host/p)` would be a link in their sidebar. `literal` escapes every ASCII punctuation mark
with a backslash (CommonMark's escapes), so no link, image, emphasis, HTML, icon (`:material/...:`) or colour
(`:red[...]`) comes of it, and joins its lines. GitHub's Markdown also makes a link of any address written out
(`http://...`, `www.`, an e-mail address), escapes or not: an invisible word joiner (U+2060) inside the scheme
and before an `@` keeps it text. `st.text`, tables and select boxes show text as it is: they need nothing.
"""

from __future__ import annotations

import re

_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
_AUTOLINKED = re.compile(r"(?i)(?<=h)(?=ttps?)|(?<=w)(?=ww)|(?<=f)(?=tp)|(?<=m)(?=ailto)|(?<=x)(?=mpp)|(?=@)")
WORD_JOINER = "\u2060"


def literal(text: str) -> str:
    """`text` as Streamlit's Markdown shows it: the same characters (and invisible word joiners), on one line."""
    return _PUNCTUATION.sub(r"\\\1", _AUTOLINKED.sub(WORD_JOINER, " ".join(str(text).split())))
