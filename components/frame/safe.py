"""Showing strings that come from users' CSVs (texts, tokens, labels, column names) as text, never as markup.

Streamlit renders Markdown in st.markdown, st.error/st.warning/st.info/st.success, st.caption, metric and expander
labels: a label such as ``![x](http://evil)`` or ``:red[...]`` would be rendered, and raw HTML would be escaped
but Markdown would not. ``plain`` backslash-escapes every Markdown-significant character so the string shows
exactly as written. Tables (st.dataframe) and Altair charts show data as text already and need no escaping.
"""

from __future__ import annotations

import re

# Every ASCII punctuation character may be backslash-escaped in CommonMark; escaping all of them is simplest and
# also covers Streamlit's extensions (":red[...]", ":material/icon:", "$math$").
_MARKDOWN_SIGNIFICANT = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=\"'&%^@/;?,])")


def plain(text: object, *, limit: int | None = None) -> str:
    """``text`` as a Markdown string that renders literally (optionally shortened to ``limit`` characters)."""
    value = str(text)
    if limit is not None and len(value) > limit:
        value = value[: limit - 1] + "…"
    value = value.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    return _MARKDOWN_SIGNIFICANT.sub(r"\\\1", value)


def quoted(text: object, *, limit: int = 60) -> str:
    """A user string inside a sentence: quoted, shortened and escaped."""
    return f"‘{plain(text, limit=limit)}’"
