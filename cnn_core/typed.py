"""Numbers, shapes and lists of numbers as people type them, on any keyboard.

Every page that reads a typed answer or a typed cell goes through :func:`normalise` first, so
what a Chinese or Japanese keyboard types reads like its ASCII twin: full-width digits and
letters (``２２２ｘ２２２ｘ６４``), full-width and ideographic punctuation (``9，8，9，7``,
``10，836``, ``9、8``, ``4。5``), and the many minus signs (``－８``, ``−8``, ``–8``).

- :func:`parse_number`: ``6272``, ``6,272``, ``6 272``, ``−7``, ``4.5``, ``4,5``.
- :func:`parse_count`: a whole number of things (parameters), with the same separators.
- :func:`parse_shape`: ``26x26x32``, ``26×26×32``, ``(26, 26, 32)``, ``(None, 26, 26, 32)``.
- :func:`parse_numbers`: a grid row by row, ``3, 4.5; 2 1``.

Each raises ValueError with the text as typed when it cannot read it.
"""

from __future__ import annotations

import math
import re
import unicodedata

# What NFKC leaves alone but people type for the ASCII character: minus and dash signs, the
# enumeration comma and ideographic full stop of Chinese punctuation (a Chinese keyboard's "," and
# "." in Chinese mode), and the Japanese middle dot some type between a shape's sides.
_TYPED_AS = str.maketrans(
    {
        "−": "-",  # U+2212 minus sign
        "–": "-",  # en dash
        "—": "-",  # em dash
        "‐": "-",  # hyphen
        "‑": "-",  # non-breaking hyphen
        "、": ",",  # ideographic (enumeration) comma
        "。": ".",  # ideographic full stop
        "・": "x",  # katakana middle dot: "26・26・32"
    }
)


def normalise(text: str) -> str:
    """``text`` as its ASCII twin where one exists: NFKC (full-width forms → ASCII, ideographic
    space → space), then the signs in ``_TYPED_AS``. Other text is left as it is.

    >>> normalise("２２２ｘ２２２ｘ６４"), normalise("9，8，9，7"), normalise("－８"), normalise("4。5")
    ('222x222x64', '9,8,9,7', '-8', '4.5')
    """
    return unicodedata.normalize("NFKC", text).translate(_TYPED_AS)


_THOUSANDS = re.compile(r"[+-]?\d{1,3}([,' \u00a0\u202f\u2009_]\d{3})+(\.\d+)?")
_SEPARATORS = re.compile(r"[,' \u00a0\u202f\u2009_]")


def parse_number(text: str) -> float:
    """A number as people write it: '6272', '6,272', '6 272', "6'272", '−7', '4.5', '4,5',
    '１０，８３６'.

    >>> parse_number("6,272"), parse_number("−7"), parse_number("4,5"), parse_number("１０，８３６")
    (6272.0, -7.0, 4.5, 10836.0)
    """
    cleaned = normalise(text).strip().strip("()[] ").rstrip(".")
    if _THOUSANDS.fullmatch(cleaned):
        cleaned = _SEPARATORS.sub("", cleaned)
    elif re.fullmatch(r"[+-]?\d+,\d+", cleaned):
        cleaned = cleaned.replace(",", ".")  # a decimal comma: "4,5"
    try:
        value = float(cleaned)
    except ValueError:
        raise ValueError(f"{text.strip()!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{text.strip()!r} is not a number")
    return value


def parse_count(text: str) -> int:
    """A whole number of things, as :func:`parse_number` reads it: '92,672', '９２６７２'.

    >>> parse_count("92,672"), parse_count("1 210")
    (92672, 1210)
    """
    value = parse_number(text)
    if not value.is_integer() or value < 0:
        raise ValueError(f"{text.strip()!r} is not a whole number")
    return int(value)


def parse_shape(text: str) -> tuple[int, ...]:
    """A shape as people write it: '26x26x32', '26×26×32', '26, 26, 32', '(26,26,32)',
    '[26 26 32]', '２６ｘ２６ｘ３２', or Keras' '(None, 26, 26, 32)' (the batch dimension is
    dropped).

    >>> parse_shape("(None, 26, 26, 32)"), parse_shape("２２２ｘ２２２ｘ６４")
    ((26, 26, 32), (222, 222, 64))
    """
    inner = normalise(text).strip().strip("()[]{} ")
    parts = [p for p in re.split(r"[\s,;x×X*·]+", inner) if p]
    if parts and parts[0].lower() == "none":
        parts = parts[1:]
    if not parts or not all(re.fullmatch(r"\d+", p) for p in parts):
        raise ValueError(f"{text.strip()!r} is not a shape")
    return tuple(int(p) for p in parts)


def parse_numbers(text: str) -> tuple[float, ...]:
    """Numbers row by row, separated by commas, semicolons, spaces or new lines: '3, 4.5; 2 1',
    '9，8，9，7', '9、8、9、7'.

    >>> parse_numbers("3, 4.5; 2 1"), parse_numbers("9，8，9，－7")
    ((3.0, 4.5, 2.0, 1.0), (9.0, 8.0, 9.0, -7.0))
    """
    cleaned = normalise(text).strip().strip("()[]{} ").replace("][", " ")
    parts = [p.strip("()[]") for p in re.split(r"[\s,;|]+", cleaned) if p]
    if not parts:
        raise ValueError("no numbers")
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        raise ValueError(f"{text.strip()!r} is not a list of numbers") from None
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"{text.strip()!r} is not a list of numbers")
    return values
