"""Text a visitor supplied (a file or folder name, a share link's value, a typed answer, a
message of cnn_core that quotes them), made safe to put into Streamlit's Markdown.

``st.markdown``, ``st.error``, ``st.warning``, ``st.info``, ``st.success``, ``st.toast``,
``st.caption`` and widget labels all read Markdown: a link ``[click](http://evil.example)``, a
bare ``http://…`` or ``www.…`` address, ``:material/…:`` icons, ``:red[…]`` colours, ``$…$``
maths and headings or lists after a line break would all come alive in the app's own message.
:func:`literal` makes such text show exactly as it was written::

    st.error(f"“{literal(upload.name)}” is not a picture.")
    st.error(literal(str(err)))  # a cnn_core message that quotes the visitor's text
"""

from __future__ import annotations

import re

# CommonMark lets a backslash escape any ASCII punctuation character, and an escaped character is
# never markup: no link, autolink, emphasis, code, maths, icon, colour or HTML tag can form.
_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
# GitHub-flavoured Markdown also turns bare addresses into links (http://…, www.…, a@b.c), whatever
# the escapes: an invisible word joiner after the scheme, "www" or "@" keeps them text.
_AUTOLINK = re.compile(r"(?i)(\b(?:https?|ftp|mailto|xmpp|www)(?=\W)|@)")
_WORD_JOINER = "\u2060"
# A line break could start a heading, a list or a quote; an echo stays on one line.
_LINE_BREAKS = re.compile(r"[\r\n\t\v\f\u2028\u2029\x85]+")


def literal(text: object, max_chars: int | None = None) -> str:
    """``text`` as Markdown that Streamlit shows literally, on one line.

    Args:
        text: anything; it is turned into a string with ``str``.
        max_chars: cut the text to this many characters (with "…") before escaping, so a long
            hostile value cannot flood a message.

    Returns:
        The text with every ASCII punctuation character backslash-escaped, line breaks turned
        into spaces and an invisible word joiner after "http", "www" and "@".

    >>> print(literal("[click](evil) **now**"))
    \\[click\\]\\(evil\\) \\*\\*now\\*\\*
    >>> print(literal("a\\nb", max_chars=2))
    a…
    """
    value = str(text)
    if max_chars is not None and len(value) > max_chars:
        value = value[: max(max_chars - 1, 0)] + "…"
    value = _AUTOLINK.sub(lambda match: match.group(0) + _WORD_JOINER, value)
    return _PUNCTUATION.sub(r"\\\1", _LINE_BREAKS.sub(" ", value))
