"""cnn_core.typed: what a learner types reads the same on any keyboard.

A Chinese or Japanese keyboard types full-width digits, letters and punctuation (２２２ｘ２２２ｘ６４,
9，8，9，7, －８) and the ideographic comma and full stop (、。). Each reader must read them as their
ASCII twins, wherever typed numbers are read: the Exercises answers, the Shapes quiz and the
Convolution page's cells and "your turn".
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cnn_core import conv_math
from cnn_core.exercises import check, make_sheet
from cnn_core.typed import normalise, parse_count, parse_number, parse_numbers, parse_shape

FULL_WIDTH_OFFSET = 0xFEE0  # "!" (U+0021) … "~" (U+007E) ↔ "！" (U+FF01) … "～" (U+FF5E)


def full_width(text: str) -> str:
    """``text`` as a full-width keyboard types it: every printable ASCII character in its
    full-width form, spaces as ideographic spaces."""
    return "".join(
        "\u3000" if c == " " else chr(ord(c) + FULL_WIDTH_OFFSET) if "!" <= c <= "~" else c
        for c in text
    )


# The issue's own examples, then the other signs people type.
@pytest.mark.parametrize(
    ("typed", "reader", "value"),
    [
        ("２２２ｘ２２２ｘ６４", parse_shape, (222, 222, 64)),
        ("（２６，２６，３２）", parse_shape, (26, 26, 32)),
        ("26・26・32", parse_shape, (26, 26, 32)),
        ("9，8，9，7", parse_numbers, (9, 8, 9, 7)),
        ("9、8、9、7", parse_numbers, (9, 8, 9, 7)),
        ("４。２５；５。２５", parse_numbers, (4.25, 5.25)),
        ("10，836", parse_count, 10836),
        ("１０，８３６", parse_count, 10836),
        ("－８", parse_number, -8),
        ("−8", parse_number, -8),
        ("–8", parse_number, -8),
        ("４。５", parse_number, 4.5),
    ],
)
def test_the_issue_examples_read_as_their_ascii_twins(typed, reader, value):
    assert reader(typed) == value


def test_normalise_leaves_other_text_alone():
    assert normalise("26×26×32") == "26×26×32"  # the real multiplication sign is kept: it is read
    assert normalise("猫 and 狗") == "猫 and 狗"


@given(st.integers(0, 10**12), st.sampled_from([",", "，", " ", "\u3000", "'", "_"]))
def test_any_count_with_any_separator_reads_the_same_in_full_width(count, separator):
    written = f"{count:,}".replace(",", separator)
    assert parse_count(written) == count
    assert parse_count(full_width(written)) == count
    assert parse_number(full_width(f"-{count}")) == -count


@given(
    st.lists(st.integers(1, 4096), min_size=1, max_size=4),
    st.sampled_from(["x", "×", ",", ", ", " ", "*"]),
    st.booleans(),
)
def test_any_shape_reads_the_same_in_full_width(sides, separator, brackets):
    written = separator.join(map(str, sides))
    if brackets:
        written = f"({written})"
    shape = tuple(sides)
    assert parse_shape(written) == shape
    if separator != "×":  # × has no full-width form: it is typed as it is
        assert parse_shape(full_width(written)) == shape


@given(
    st.lists(
        st.decimals(-1000, 1000, places=2, allow_nan=False, allow_infinity=False),
        min_size=1,
        max_size=9,
    ),
    st.sampled_from([", ", "，", "、", "; ", " "]),
)
def test_any_grid_reads_the_same_in_full_width(values, separator):
    written = separator.join(str(v) for v in values)
    expected = tuple(float(v) for v in values)
    assert parse_numbers(written) == expected
    assert parse_numbers(full_width(written)) == expected


@given(st.integers(-(10**6), 10**6))
def test_a_convolution_cell_reads_full_width_numbers(number):
    typed = full_width(str(number))
    assert conv_math.parse_number(typed) == number
    grid = conv_math.parse_grid([[typed, "１／９"], ["０，５", "－８"]])
    np.testing.assert_allclose(grid, [[number, 1 / 9], [0.5, -8]])


@pytest.mark.parametrize("bad", ["abc", "２ｘ", "ｎａｎ", "∞", ""])
def test_what_is_not_a_number_is_still_refused_with_the_text_as_typed(bad):
    with pytest.raises(ValueError, match=r"not a|no numbers"):
        parse_numbers(bad)
    with pytest.raises(ValueError):
        parse_count(bad)


def test_an_exercise_answered_on_a_chinese_keyboard_is_correct():
    """Every exercise of a sheet, answered in full-width characters with Chinese commas."""
    sheet = make_sheet(42, "mixed")
    for exercise in sheet.exercises:
        if exercise.answer_format == "choice":
            continue
        typed = full_width(exercise.answer_text).replace("，", "、")
        result = check(exercise, typed)
        assert result.correct, (exercise.title, typed, result.message)
