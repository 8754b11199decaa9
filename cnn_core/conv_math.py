"""Convolution, ReLU, pooling and flatten by hand, on small grids, with every step recorded.

Plain numpy: no TensorFlow, no Streamlit. Each operation returns its output *and* lets you replay
any output cell: the window it read, the weights, the products it summed, and the sum written out
with the real numbers, the way a learner would do it on paper::

    >>> result = conv2d(EDGE_IMAGE, VERTICAL_EDGE)
    >>> result.output[:, :, 0][0].tolist()
    [-7.0, -2.0, 2.0, -7.0]
    >>> result.step(0, 0).text
    '3·1 + 1·0 + 1·(−1) + 1·1 + 0·0 + 7·(−1) + 2·1 + 3·0 + 5·(−1) = −7'

The arithmetic is the one Keras does (a cross-correlation: the filter is not flipped), with the
same ``valid`` / ``same`` padding; the tests compare every operation with Keras' own layers.
Shapes follow Keras: images are (height, width, channels), kernels (height, width, channels,
filters), feature maps (height, width, filters).
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from typing import Literal

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from cnn_core.shapes import Formula, fmt, ledger, output_size, same_padding
from cnn_core.spec import Conv2D, Spec
from cnn_core.typed import normalise

Padding = str | int  # "valid", "same", or an explicit number of zeros on every side
PoolMode = Literal["max", "average"]


class ConvMathError(ValueError):
    """Input a learner can fix: a cell that is not a number, a filter that does not fit, ...

    ``problems`` lists every problem found (the message joins them), so a page can show them all.
    """

    def __init__(self, problems: str | Sequence[str]) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


# --------------------------------------------------------------------------------------------
# Numbers as a learner writes them
# --------------------------------------------------------------------------------------------


# Fractions with denominators up to this (a 7×7 box blur's 1/49) are written as fractions in sums.
MAX_WEIGHT_DENOMINATOR = 64


def number_text(x: float) -> str:
    """A value as written in a worked sum: −7 (a real minus sign), 0.5, 0.111 (3 decimals at most).

    >>> number_text(-7.0), number_text(0.5), number_text(1 / 9), number_text(-0.0)
    ('−7', '0.5', '0.111', '0')
    """
    x = float(x)
    if not math.isfinite(x):
        return str(x)
    text = f"{x:.3f}".rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text.replace("-", "−")


def _factor(x: float) -> str:
    text = number_text(x)
    return f"({text})" if text.startswith("−") else text


def weight_text(w: float) -> str:
    """A filter weight as a factor: like :func:`number_text`, except that a weight which is a
    small fraction that decimals cannot write exactly (a blur's 1/9) is written as one, so that
    the written-out terms add up to the written total.

    >>> weight_text(1 / 9), weight_text(-2 / 3), weight_text(0.25), weight_text(-1.0)
    ('(1/9)', '(−2/3)', '0.25', '(−1)')
    """
    w = float(w)
    if math.isfinite(w) and w != round(w, 3):  # three decimals would round it
        exact = Fraction(w).limit_denominator(MAX_WEIGHT_DENOMINATOR)
        if abs(float(exact) - w) < 1e-9:
            return f"({exact.numerator}/{exact.denominator})".replace("-", "−")
    return _factor(w)


def product_text(value: float, weight: float) -> str:
    """One term of a worked sum: ``3·1``, ``1·(−1)``, ``(−1)·(−1)``, ``3·(1/9)``."""
    return f"{_factor(value)}·{weight_text(weight)}"


def join_terms(terms: Sequence[str]) -> str:
    """``a + b + c``, turning ``+ −3`` into ``− 3`` only for plain numbers (products keep their
    brackets, so each term still reads as a pair of factors)."""
    out = ""
    for i, term in enumerate(terms):
        if i == 0:
            out = term
        elif term.startswith("−") and "·" not in term:
            out += f" − {term[1:]}"
        else:
            out += f" + {term}"
    return out


# --------------------------------------------------------------------------------------------
# Reading grids typed by a learner
# --------------------------------------------------------------------------------------------

_FRACTION = re.compile(r"^([+-]?\d+(?:\.\d+)?)\s*/\s*(\d+(?:\.\d+)?)$")

# The largest number a learner may type in a cell or as the bias. Pixels are 0–255 and weights
# are small; past a million the written-out sums stop being readable, and near 10^308 they
# overflow to infinity in the sums and the pooling.
MAX_TYPED = 1_000_000
_TYPED_RANGE = f"from −{MAX_TYPED:,} to {MAX_TYPED:,}"


def parse_number(cell: object) -> float | None:
    """A cell's number, or None when the cell holds no number.

    Accepts numbers, and text such as ``3``, ``-1``, ``−1`` (a real minus sign), ``0.5``,
    ``0,5`` (a decimal comma) or ``1/9``, typed on any keyboard (``－８``, ``１／９``: see
    :func:`cnn_core.typed.normalise`). Raises ValueError with a reason when the cell holds
    something that is not a number; returns None for an empty cell.
    """
    if cell is None:
        return None
    if isinstance(cell, bool):  # True is an int in Python, but not a pixel value
        raise ValueError(f"{cell!r} is not a number")
    if isinstance(cell, int | float | np.integer | np.floating):
        value = float(cell)
        if math.isnan(value):
            return None  # an emptied cell in a table arrives as NaN
    else:
        text = normalise(str(cell)).strip()  # full-width digits, "－8", "0，5" too
        if not text:
            return None
        if text.count(",") == 1 and "." not in text:
            text = text.replace(",", ".")
        match = _FRACTION.match(text)
        if match:
            denominator = float(match.group(2))
            if denominator == 0:
                raise ValueError(f"{cell!r} divides by zero")
            value = float(match.group(1)) / denominator
        else:
            try:
                value = float(text)
            except ValueError:
                raise ValueError(f"{str(cell).strip()!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{cell!r} is not a finite number")
    if abs(value) > MAX_TYPED:
        raise ValueError(f"{cell!r} is too large (numbers here go {_TYPED_RANGE})")
    return value


def parse_grid(
    rows: Sequence[Sequence[object]], name: str = "grid", max_side: int | None = None
) -> np.ndarray:
    """A grid of typed cells → a float array (rows, columns).

    Args:
        rows: the cells, row by row (numbers or text, see :func:`parse_number`).
        name: what the grid is ("image", "filter"), used in the messages.
        max_side: the largest number of rows or columns allowed, if any.

    Raises:
        ConvMathError: listing every empty or non-numeric cell (rows and columns counted from 1),
            a ragged or empty grid, or one larger than ``max_side``.
    """
    rows = [list(r) for r in rows]
    if not rows or not rows[0]:
        raise ConvMathError(f"The {name} is empty: give it at least one row and one column.")
    width = len(rows[0])
    if any(len(r) != width for r in rows):
        lengths = ", ".join(str(len(r)) for r in rows)
        raise ConvMathError(
            f"The {name}'s rows have different lengths ({lengths}); every row needs {width} cells."
        )
    if max_side is not None and (len(rows) > max_side or width > max_side):
        raise ConvMathError(
            f"The {name} is {len(rows)}×{width}; the largest allowed is {max_side}×{max_side}."
        )
    values = np.zeros((len(rows), width))
    problems: list[str] = []
    for i, row in enumerate(rows):
        for j, cell in enumerate(row):
            where = f"{name}, row {i + 1}, column {j + 1}"
            try:
                value = parse_number(cell)
            except ValueError as err:
                problems.append(f"{where}: {err}. Type a number such as 3, -1, 0.5 or 1/9.")
                continue
            if value is None:
                problems.append(f"{where} is empty. Type a number (0 if nothing is there).")
                continue
            values[i, j] = value
    if problems:
        raise ConvMathError(problems)
    return values


def grid_text(values: np.ndarray) -> list[list[str]]:
    """An array (rows, columns) as the text a learner would type in each cell ("-1", "0.5")."""
    return [[number_text(v).replace("−", "-") for v in row] for row in np.asarray(values)]


# --------------------------------------------------------------------------------------------
# Sizes and padding (the arithmetic of cnn_core.shapes, plus explicit padding)
# --------------------------------------------------------------------------------------------


def _check_padding(padding: Padding) -> Padding:
    if isinstance(padding, str) and padding in ("valid", "same"):
        return padding
    if isinstance(padding, int | np.integer) and not isinstance(padding, bool) and padding >= 0:
        return int(padding)
    raise ConvMathError(
        f'padding must be "valid", "same" or a number of zeros (0 or more); got {padding!r}.'
    )


def axis_padding(size: int, window: int, stride: int, padding: Padding) -> tuple[int, int]:
    """Zeros added (before, after) along one axis: none for "valid", Keras' split for "same"."""
    padding = _check_padding(padding)
    if padding == "valid":
        return 0, 0
    if padding == "same":
        return same_padding(size, window, stride)
    return padding, padding  # type: ignore[return-value]


def size_formula(size: int, window: int, stride: int, padding: Padding) -> tuple[int, str, str]:
    """Output length along one axis, its formula with the numbers, and a note (see shapes).

    "valid" and "same" are exactly :func:`cnn_core.shapes.output_size` (the Shapes page's text);
    an explicit padding ``P`` is written in the same style, ``(W − F + 2·P)/S + 1``.

    >>> size_formula(6, 3, 1, 1)[:2]
    (6, '(6 − 3 + 2·1)/1 + 1 = 6')
    >>> size_formula(7, 3, 2, "valid")[:2]
    (3, '(7 − 3 + 2·0)/2 + 1 = 3')
    """
    padding = _check_padding(padding)
    if isinstance(padding, str):
        return output_size(size, window, stride, padding)
    if padding == 0:
        return output_size(size, window, stride, "valid")
    numerator = size - window + 2 * padding
    out = numerator // stride + 1  # floor, as Keras rounds
    if numerator % stride == 0:
        formula = f"({size} − {window} + 2·{padding})/{stride} + 1 = {out}"
    else:
        formula = (
            f"⌊({size} − {window} + 2·{padding})/{stride}⌋ + 1 = "
            f"⌊{fmt(numerator / stride)}⌋ + 1 = {out}"
        )
    note = ""
    if numerator >= 0 and numerator % stride:
        leftover = numerator % stride
        note = (
            f"{numerator} is not a multiple of the stride {stride}: the result is rounded down, so "
            f"the last {leftover} row{'s' if leftover != 1 else ''} or column"
            f"{'s' if leftover != 1 else ''} of the padded input never start a window of their own."
        )
    return out, formula, note


def _pair(value: int | Sequence[int], what: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int | np.integer) else tuple(value)
    if len(pair) != 2 or any(isinstance(v, bool) or int(v) != v or v < 1 for v in pair):
        raise ConvMathError(f"{what} must be a whole number of at least 1; got {value!r}.")
    return int(pair[0]), int(pair[1])


def _fit(
    in_hw: tuple[int, int],
    window: tuple[int, int],
    strides: tuple[int, int],
    padding: Padding,
    what: str,
) -> tuple[tuple[int, int], tuple[tuple[int, int], tuple[int, int]]]:
    """Output (height, width) and padding per axis; a clear error when the window does not fit."""
    pads = (
        axis_padding(in_hw[0], window[0], strides[0], padding),
        axis_padding(in_hw[1], window[1], strides[1], padding),
    )
    padded = (in_hw[0] + sum(pads[0]), in_hw[1] + sum(pads[1]))
    if window[0] > padded[0] or window[1] > padded[1]:
        zeros = "no zeros" if padded == in_hw else f"padding to {padded[0]}×{padded[1]}"
        raise ConvMathError(
            f"The {window[0]}×{window[1]} {what} does not fit in the {in_hw[0]}×{in_hw[1]} input "
            f"(padding {padding!r}: {zeros}). Use a smaller {what}, a larger input, or "
            'padding "same".'
        )
    out = ((padded[0] - window[0]) // strides[0] + 1, (padded[1] - window[1]) // strides[1] + 1)
    return out, pads


def as_image(image: np.ndarray | Sequence) -> np.ndarray:
    """(height, width) or (height, width, channels) → float64 (height, width, channels)."""
    array = np.asarray(image, dtype=np.float64)
    if array.ndim == 2:
        array = array[:, :, np.newaxis]
    if array.ndim != 3 or 0 in array.shape:
        raise ConvMathError(
            "An image is a (height, width) or (height, width, channels) grid; got shape "
            f"{array.shape}."
        )
    if not np.isfinite(array).all():
        raise ConvMathError("The image holds a value that is not a finite number.")
    return array


def as_kernel(kernel: np.ndarray | Sequence, channels: int) -> np.ndarray:
    """A filter as Keras stores it: (height, width, input channels, filters), float64.

    (height, width) is one filter on one channel; (height, width, channels) is one filter that
    spans the input's depth; (height, width, channels, filters) is a whole bank of filters.
    """
    array = np.asarray(kernel, dtype=np.float64)
    if array.ndim == 2:
        array = array[:, :, np.newaxis]
    if array.ndim == 3:
        array = array[..., np.newaxis]
    if array.ndim != 4 or 0 in array.shape:
        raise ConvMathError(
            "A filter is (height, width), (height, width, channels) or (height, width, channels, "
            f"filters); got shape {array.shape}."
        )
    if array.shape[2] != channels:
        raise ConvMathError(
            f"The filter has depth {array.shape[2]} but the input has {channels} channel"
            f"{'s' if channels != 1 else ''}: a filter always spans the full input depth."
        )
    if not np.isfinite(array).all():
        raise ConvMathError("The filter holds a value that is not a finite number.")
    return array


# --------------------------------------------------------------------------------------------
# Convolution
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConvStep:
    """One output cell of a convolution, replayable: what was read, multiplied and summed.

    Coordinates count from 0. ``top``/``left`` are in the *padded* input; subtract the padding
    (``ConvResult.pads``) for the original image's coordinates.
    """

    row: int
    col: int
    filter: int
    top: int
    left: int
    window: np.ndarray  # (kh, kw, channels): the input values read, padding zeros included
    weights: np.ndarray  # (kh, kw, channels): this filter's weights
    products: np.ndarray  # (kh, kw, channels): window · weights, element by element
    is_padding: np.ndarray  # (kh, kw) bool: cells of the window that are padding zeros
    bias: float
    divisor: int  # 1, or the number of filter cells for the normalised match
    value: float  # the output cell: products.sum() / divisor + bias
    channel_names: tuple[str, ...] = ()

    @property
    def total(self) -> float:
        """The plain sum of the products (before dividing and before the bias)."""
        return float(self.products.sum())

    def terms(self, channel: int = 0) -> list[str]:
        """The products of one channel as written terms, row by row: ``['3·1', '1·0', …]``."""
        window, weights = self.window[:, :, channel], self.weights[:, :, channel]
        return [product_text(v, w) for v, w in zip(window.ravel(), weights.ravel(), strict=True)]

    @property
    def lines(self) -> list[str]:
        """The sum written out, one line per channel (then the total) for a deep input."""
        channels = self.window.shape[2]
        tail = self._tail()
        if channels == 1:
            body = join_terms(self.terms(0))
            if self.divisor != 1:
                return [f"({body})/{self.divisor}{tail}"]
            return [f"{body}{tail}"]
        names = self.channel_names or tuple(f"channel {c + 1}" for c in range(channels))
        lines, sums = [], []
        for c in range(channels):
            channel_sum = float(self.products[:, :, c].sum())
            sums.append(number_text(channel_sum))
            lines.append(f"{names[c]}: {join_terms(self.terms(c))} = {number_text(channel_sum)}")
        body = join_terms(sums)
        if self.divisor != 1:
            body = f"({body})/{self.divisor}"
        lines.append(f"total: {body}{tail}")
        return lines

    @property
    def text(self) -> str:
        """The whole worked sum on one line (lines joined by '; ')."""
        return "; ".join(self.lines)

    def _tail(self) -> str:
        """`` = −7``, `` + 1 (bias) = −6`` or, for the normalised match, `` = 5/9 ≈ 0.556``."""
        bias = f" + {_factor(self.bias)} (bias)" if self.bias else ""
        if self.divisor != 1:
            exact = Fraction(self.total).limit_denominator(10_000) / self.divisor
            if float(exact) == self.total / self.divisor and exact.denominator != 1:
                # Say the fraction: 5/9 is exact, 0.556 is not (the tutorial prints 0.55).
                fraction = f"{exact.numerator}/{exact.denominator}".replace("-", "−")
                shown = f"{fraction}{bias.replace(' (bias)', '')}"
                return f"{bias} = {shown} ≈ {number_text(self.value)}"
        return f"{bias} = {number_text(self.value)}"

    def input_cells(self, pads: tuple[tuple[int, int], tuple[int, int]]) -> tuple[range, range]:
        """Rows and columns of the *original* image this window covers (may include −1 etc. for
        padding)."""
        kh, kw = self.window.shape[:2]
        top, left = self.top - pads[0][0], self.left - pads[1][0]
        return range(top, top + kh), range(left, left + kw)


@dataclass(frozen=True)
class ConvResult:
    """A whole convolution: its inputs, settings and output, and every step on demand."""

    image: np.ndarray  # (H, W, C) as given
    kernel: np.ndarray  # (kh, kw, C, K)
    bias: np.ndarray  # (K,)
    strides: tuple[int, int]
    padding: Padding
    pads: tuple[tuple[int, int], tuple[int, int]]  # zeros added: (top, bottom), (left, right)
    normalised: bool
    padded: np.ndarray  # (H + top + bottom, W + left + right, C)
    output: np.ndarray  # (oh, ow, K): the feature maps
    channel_names: tuple[str, ...] = ()

    @property
    def output_shape(self) -> tuple[int, int, int]:
        return self.output.shape  # type: ignore[return-value]

    @property
    def divisor(self) -> int:
        kh, kw, c, _ = self.kernel.shape
        return kh * kw * c if self.normalised else 1

    @cached_property
    def windows(self) -> np.ndarray:
        """(oh, ow, kh, kw, C): the input window read by each output cell (a view, not a copy)."""
        return _windows(self.padded, self.kernel.shape[:2], self.strides)

    @cached_property
    def padding_mask(self) -> np.ndarray:
        """(H', W') bool over the padded input: True where a zero was added."""
        (top, bottom), (left, right) = self.pads
        mask = np.ones(self.padded.shape[:2], dtype=bool)
        mask[top : mask.shape[0] - bottom, left : mask.shape[1] - right] = False
        return mask

    @property
    def cells(self) -> int:
        """Output cells per feature map (the number of steps to slide one filter everywhere)."""
        return self.output.shape[0] * self.output.shape[1]

    def position(self, index: int) -> tuple[int, int]:
        """The (row, column) of the index-th output cell, counting row by row from 0."""
        if not 0 <= index < self.cells:
            raise IndexError(f"step {index} is outside 0..{self.cells - 1}")
        return divmod(index, self.output.shape[1])

    def step(self, row: int, col: int, filter: int = 0) -> ConvStep:
        """Replay one output cell: the window it read, the products it summed, the sum in words."""
        oh, ow, k = self.output.shape
        if not (0 <= row < oh and 0 <= col < ow and 0 <= filter < k):
            raise IndexError(f"cell ({row}, {col}, {filter}) is outside the {oh}×{ow}×{k} output")
        window = self.windows[row, col]
        weights = self.kernel[:, :, :, filter]
        top, left = row * self.strides[0], col * self.strides[1]
        kh, kw = weights.shape[:2]
        return ConvStep(
            row=row,
            col=col,
            filter=filter,
            top=top,
            left=left,
            window=np.array(window),
            weights=weights,
            products=window * weights,
            is_padding=self.padding_mask[top : top + kh, left : left + kw].copy(),
            bias=float(self.bias[filter]),
            divisor=self.divisor,
            value=float(self.output[row, col, filter]),
            channel_names=self.channel_names,
        )

    def steps(self, filter: int = 0) -> Iterator[ConvStep]:
        """Every output cell of one filter, row by row, as the window slides."""
        for index in range(self.cells):
            yield self.step(*self.position(index), filter)


def _windows(padded: np.ndarray, window: tuple[int, int], strides: tuple[int, int]) -> np.ndarray:
    # sliding_window_view puts the window axes last: (H'-kh+1, W'-kw+1, C, kh, kw); the stride
    # keeps every S-th start, exactly the floor((H' − kh)/S) + 1 positions Keras uses.
    view = sliding_window_view(padded, window, axis=(0, 1))[:: strides[0], :: strides[1]]
    return view.transpose(0, 1, 3, 4, 2)


def conv2d(
    image: np.ndarray | Sequence,
    kernel: np.ndarray | Sequence,
    bias: float | Sequence[float] = 0.0,
    strides: int | tuple[int, int] = 1,
    padding: Padding = "valid",
    normalised: bool = False,
    channel_names: Sequence[str] = (),
) -> ConvResult:
    """Slide each filter over the image: multiply element-wise, sum, add the bias.

    Args:
        image: (H, W) or (H, W, C).
        kernel: (kh, kw), (kh, kw, C) or (kh, kw, C, K); see :func:`as_kernel`.
        bias: one number for all filters, or one per filter.
        strides: step between windows, one number or (down, across).
        padding: "valid" (no zeros), "same" (as Keras: ⌈W/S⌉ outputs, an odd extra zero goes
            after), or an explicit number of zeros on every side.
        normalised: divide each sum by the number of filter cells (the "normalised match" of the
            X/O tutorial: on ±1 images, 1 means a perfect match and −1 a perfect mismatch).
        channel_names: names for the input channels in the worked sums ("red", ...).

    Returns:
        A :class:`ConvResult`; ``.output`` is (oh, ow, K), and ``.step(row, col, filter)`` replays
        any cell.

    Raises:
        ConvMathError: a filter that does not fit, mismatched depths, bad strides or padding.
    """
    image = as_image(image)
    kernel = as_kernel(kernel, image.shape[2])
    kh, kw, channels, filters = kernel.shape
    bias_array = np.broadcast_to(np.asarray(bias, dtype=np.float64), (filters,)).copy()
    if not (np.isfinite(bias_array).all() and (np.abs(bias_array) <= MAX_TYPED).all()):
        shown = ", ".join(f"{b:g}" for b in bias_array)
        raise ConvMathError(
            f"The bias is {shown}; use a number {_TYPED_RANGE} (it is added to every sum)."
        )
    stride_pair = _pair(strides, "The stride")
    padding = _check_padding(padding)
    (oh, ow), pads = _fit(image.shape[:2], (kh, kw), stride_pair, padding, "filter")
    padded = np.pad(image, (pads[0], pads[1], (0, 0)))
    windows = _windows(padded, (kh, kw), stride_pair)
    assert windows.shape[:2] == (oh, ow)
    # Σ over the window and the channels of window · weights, for each output cell and filter.
    sums = np.einsum("ijhwc,hwck->ijk", windows, kernel)
    divisor = kh * kw * channels if normalised else 1
    output = sums / divisor + bias_array
    return ConvResult(
        image=image,
        kernel=kernel,
        bias=bias_array,
        strides=stride_pair,
        padding=padding,
        pads=pads,
        normalised=normalised,
        padded=padded,
        output=output,
        channel_names=tuple(channel_names),
    )


# --------------------------------------------------------------------------------------------
# ReLU
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReluResult:
    """ReLU on a feature map: every negative value becomes 0, the rest pass unchanged."""

    input: np.ndarray
    output: np.ndarray

    @property
    def zeroed(self) -> int:
        """How many values were negative (and are now 0)."""
        return int((self.input < 0).sum())

    def step_text(self, *index: int) -> str:
        """``max(0, −7) = 0`` for one cell."""
        return f"max(0, {number_text(self.input[index])}) = {number_text(self.output[index])}"


def relu(feature_map: np.ndarray) -> ReluResult:
    """max(0, x) for every value: negatives become 0 (the shape stays)."""
    values = np.asarray(feature_map, dtype=np.float64)
    return ReluResult(values, np.maximum(values, 0.0))


# --------------------------------------------------------------------------------------------
# Pooling
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PoolStep:
    """One output cell of a pooling: the window of one feature map it read, and the result."""

    row: int
    col: int
    channel: int
    top: int  # in the padded map
    left: int
    window: np.ndarray  # (ph, pw); NaN marks padding, which pooling ignores
    mode: str
    value: float

    @property
    def values(self) -> np.ndarray:
        """The real (not padding) values of the window, row by row."""
        flat = self.window.ravel()
        return flat[~np.isnan(flat)]

    @property
    def picked(self) -> tuple[int, int] | None:
        """For max pooling, the (row, column) within the window of the value kept."""
        if self.mode != "max":
            return None
        return np.unravel_index(int(np.nanargmax(self.window)), self.window.shape)  # type: ignore[return-value]

    @property
    def text(self) -> str:
        """``max(3, 1, 0, 2) = 3`` or ``(3 + 1 + 0 + 2)/4 = 1.5``."""
        parts = [number_text(v) for v in self.values]
        skipped = int(np.isnan(self.window).sum())
        note = f" (the {skipped} padding cell{'s are' if skipped != 1 else ' is'} left out)"
        note = note if skipped else ""
        if self.mode == "max":
            return f"max({', '.join(parts)}) = {number_text(self.value)}{note}"
        return f"({join_terms(parts)})/{len(parts)} = {number_text(self.value)}{note}"


@dataclass(frozen=True)
class PoolResult:
    """Pooling of every feature map separately: the size shrinks, the depth stays."""

    input: np.ndarray  # (H, W, C)
    mode: str
    pool_size: tuple[int, int]
    strides: tuple[int, int]
    padding: str
    pads: tuple[tuple[int, int], tuple[int, int]]
    padded: np.ndarray  # NaN where padding was added
    output: np.ndarray  # (oh, ow, C)

    @cached_property
    def windows(self) -> np.ndarray:
        """(oh, ow, ph, pw, C): the window read by each output cell (a view)."""
        return _windows(self.padded, self.pool_size, self.strides)

    @property
    def cells(self) -> int:
        return self.output.shape[0] * self.output.shape[1]

    def position(self, index: int) -> tuple[int, int]:
        if not 0 <= index < self.cells:
            raise IndexError(f"step {index} is outside 0..{self.cells - 1}")
        return divmod(index, self.output.shape[1])

    def outputs_reading(self, row: int, col: int) -> list[tuple[int, int]]:
        """The output cells whose window reads input cell (``row``, ``col``), counted from 0 in
        the unpadded map: what pooling reveals about that one cell.

        >>> pool2d(np.arange(16).reshape(4, 4), 2).outputs_reading(1, 2)
        [(0, 1)]
        >>> pool2d(np.arange(9).reshape(3, 3), 2, 1).outputs_reading(1, 1)
        [(0, 0), (0, 1), (1, 0), (1, 1)]
        """
        (pad_top, _), (pad_left, _) = self.pads
        (height, width), (down, across) = self.pool_size, self.strides
        r, c = row + pad_top, col + pad_left
        oh, ow = self.output.shape[:2]
        return [
            (i, j)
            for i in range(oh)
            for j in range(ow)
            if i * down <= r < i * down + height and j * across <= c < j * across + width
        ]

    def step(self, row: int, col: int, channel: int = 0) -> PoolStep:
        oh, ow, c = self.output.shape
        if not (0 <= row < oh and 0 <= col < ow and 0 <= channel < c):
            raise IndexError(f"cell ({row}, {col}, {channel}) is outside the {oh}×{ow}×{c} output")
        return PoolStep(
            row=row,
            col=col,
            channel=channel,
            top=row * self.strides[0],
            left=col * self.strides[1],
            window=np.array(self.windows[row, col, :, :, channel]),
            mode=self.mode,
            value=float(self.output[row, col, channel]),
        )


def pool2d(
    feature_map: np.ndarray | Sequence,
    pool_size: int | tuple[int, int] = 2,
    strides: int | tuple[int, int] | None = None,
    padding: str = "valid",
    mode: PoolMode = "max",
) -> PoolResult:
    """Max or average pooling of each feature map separately, as Keras does it.

    Args:
        feature_map: (H, W) or (H, W, C).
        pool_size: the window, one number or (height, width).
        strides: the step; None means the window size (Keras' default).
        padding: "valid" or "same". With "same", the added cells are *ignored* (not zeros): max
            pooling never picks them and average pooling divides by the real cells only, exactly
            like Keras.
        mode: "max" or "average".
    """
    values = as_image(feature_map)
    window = _pair(pool_size, "The pool size")
    stride_pair = window if strides is None else _pair(strides, "The pool stride")
    if padding not in ("valid", "same"):
        raise ConvMathError(f'Pooling padding must be "valid" or "same"; got {padding!r}.')
    if mode not in ("max", "average"):
        raise ConvMathError(f'Pooling is "max" or "average"; got {mode!r}.')
    _, pads = _fit(values.shape[:2], window, stride_pair, padding, "pool window")
    padded = np.pad(values, (pads[0], pads[1], (0, 0)), constant_values=np.nan)
    windows = _windows(padded, window, stride_pair)
    reduce = np.nanmax if mode == "max" else np.nanmean
    output = reduce(windows, axis=(2, 3))
    return PoolResult(values, mode, window, stride_pair, padding, pads, padded, output)


# --------------------------------------------------------------------------------------------
# Flatten
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FlatValue:
    """One value of a flattened map, with where it came from (0-based row, column, channel)."""

    value: float
    row: int
    col: int
    channel: int


def flatten_keras(feature_maps: np.ndarray) -> list[FlatValue]:
    """Keras' order (channels last): all channels of pixel (0, 0), then of pixel (0, 1), ...

    This is numpy's own row-major order of an (H, W, C) array, which is what
    ``keras.layers.Flatten`` produces.
    """
    values = as_image(feature_maps)
    h, w, c = values.shape
    return [
        FlatValue(float(values[i, j, k]), i, j, k)
        for i in range(h)
        for j in range(w)
        for k in range(c)
    ]


def flatten_by_channel(feature_maps: np.ndarray) -> list[FlatValue]:
    """The order many tutorials draw: the whole first map row by row, then the second, ..."""
    values = as_image(feature_maps)
    h, w, c = values.shape
    return [
        FlatValue(float(values[i, j, k]), i, j, k)
        for k in range(c)
        for i in range(h)
        for j in range(w)
    ]


# --------------------------------------------------------------------------------------------
# One layer's parameters (the Shapes page's arithmetic)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerCount:
    """A Conv2D layer's output shape and parameter count, with the formulas, from the ledger."""

    input_shape: tuple[int, int, int]
    output_shape: tuple[int, ...]
    params: int
    formulas: tuple[Formula, ...]

    def formula(self, label: str) -> Formula:
        return next(f for f in self.formulas if f.label == label)


def conv_layer_count(
    input_shape: tuple[int, int, int],
    filters: int,
    kernel_size: int | tuple[int, int],
    strides: int | tuple[int, int] = 1,
    padding: str = "valid",
    use_bias: bool = True,
) -> LayerCount:
    """Shape and parameters of one Conv2D layer, computed by :func:`cnn_core.shapes.ledger` so the
    numbers and formulas are the Shapes page's own.

    >>> conv_layer_count((5, 5, 3), 2, 3).params
    56
    """
    layer = Conv2D(
        filters=filters,
        kernel_size=kernel_size,
        strides=strides,
        padding=padding,
        use_bias=use_bias,
    )
    row = ledger(Spec(input_shape, (layer,))).rows[0]
    if row.output_shape is None:
        raise ConvMathError("; ".join(str(p) for p in row.problems))
    return LayerCount(tuple(input_shape), row.output_shape, row.params, row.formulas)


# --------------------------------------------------------------------------------------------
# Photos
# --------------------------------------------------------------------------------------------


def photo_to_grayscale(
    data: bytes, *, max_side: int, max_pixels: int, max_bytes: int, name: str = "the file"
) -> np.ndarray:
    """Decode an uploaded photo with Pillow: grayscale 0–255, shrunk to at most ``max_side``.

    Args:
        data: the file's bytes.
        max_side: the longest side after shrinking (aspect ratio kept).
        max_pixels: refuse images with more pixels than this *before* decoding them (a tiny file
            can claim billions of pixels and exhaust memory).
        max_bytes: refuse larger files.
        name: the file's name, for the messages.

    Returns:
        float64 (height, width) with values 0 (black) to 255 (white).

    Raises:
        ConvMathError: empty, too large, not an image, or damaged.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    if not data:
        raise ConvMathError(f"{name} is empty (0 bytes).")
    if len(data) > max_bytes:
        raise ConvMathError(
            f"{name} is {len(data) / 2**20:.1f} MB; the limit is {max_bytes / 2**20:.0f} MB."
        )
    try:
        with Image.open(io.BytesIO(data)) as img:
            width, height = img.size
            if width * height > max_pixels:
                raise ConvMathError(
                    f"{name} is {width}×{height} = {width * height:,} pixels; the limit is "
                    f"{max_pixels:,}. Shrink it first."
                )
            img.load()
            img = ImageOps.exif_transpose(img)
            if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
                # Transparent parts would turn black; put the picture on white paper instead.
                rgba = img.convert("RGBA")
                paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                img = Image.alpha_composite(paper, rgba)
            gray = img.convert("L")
            gray.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
            return np.asarray(gray, dtype=np.float64)
    except ConvMathError:
        raise
    except UnidentifiedImageError:
        raise ConvMathError(
            f"{name} is not an image Pillow can read. Upload a PNG, JPEG, GIF, BMP or WebP file."
        ) from None
    except Image.DecompressionBombError:
        raise ConvMathError(f"{name} has far too many pixels to open safely.") from None
    except (OSError, SyntaxError, ValueError) as err:  # truncated or corrupt image data
        raise ConvMathError(
            f"{name} looks like an image but is damaged or cut short ({err})."
        ) from None


# --------------------------------------------------------------------------------------------
# The tutorials' filters and worked examples
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kernel:
    """A named filter, written as a learner would type it ("1/9" stays a fraction)."""

    title: str
    cells: tuple[tuple[str, ...], ...]
    about: str

    @property
    def weights(self) -> np.ndarray:
        return parse_grid(self.cells, "filter")


def _cells(text: str) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(line.split()) for line in text.strip().splitlines())


KERNELS: dict[str, Kernel] = {
    "vertical_edge": Kernel(
        "Vertical edge (1, 0, −1 columns)",
        _cells("1 0 -1\n1 0 -1\n1 0 -1"),
        "Bright on the left and dark on the right gives a large positive value; the reverse a "
        "large negative one; a flat patch gives 0.",
    ),
    "horizontal_edge": Kernel(
        "Horizontal edge",
        _cells("1 1 1\n0 0 0\n-1 -1 -1"),
        "Bright above and dark below gives a large value: the vertical-edge filter turned on "
        "its side.",
    ),
    "sobel_x": Kernel(
        "Sobel x",
        _cells("-1 0 1\n-2 0 2\n-1 0 1"),
        "Change from left to right, with the middle row counted twice: a smoother vertical-edge "
        "detector used in image processing.",
    ),
    "sobel_y": Kernel(
        "Sobel y",
        _cells("-1 -2 -1\n0 0 0\n1 2 1"),
        "Change from top to bottom: finds horizontal edges.",
    ),
    "blur": Kernel(
        "Blur (box, 1/9 each)",
        _cells("1/9 1/9 1/9\n1/9 1/9 1/9\n1/9 1/9 1/9"),
        "The average of the 9 pixels: details and noise are smoothed away.",
    ),
    "sharpen": Kernel(
        "Sharpen",
        _cells("0 -1 0\n-1 5 -1\n0 -1 0"),
        "The pixel counted 5 times minus its 4 neighbours: differences are exaggerated.",
    ),
    "identity": Kernel(
        "Identity",
        _cells("0 0 0\n0 1 0\n0 0 0"),
        "Only the centre weight is 1: the output is the input (trimmed by the padding rules).",
    ),
    "diagonal_down": Kernel(
        "Diagonal ╲ (±1)",
        _cells("1 -1 -1\n-1 1 -1\n-1 -1 1"),
        "A ±1 pattern: a line from top-left to bottom-right. Used with the normalised match.",
    ),
    "diagonal_up": Kernel(
        "Diagonal ╱ (±1)",
        _cells("-1 -1 1\n-1 1 -1\n1 -1 -1"),
        "A ±1 pattern: a line from bottom-left to top-right.",
    ),
    "cross": Kernel(
        "Little X (±1)",
        _cells("1 -1 1\n-1 1 -1\n1 -1 1"),
        "A ±1 pattern: two crossing diagonals, the middle of an X.",
    ),
}


@dataclass(frozen=True)
class Example:
    """An input grid with the filter and settings that go with it in the tutorials."""

    title: str
    image: tuple[tuple[str, ...], ...]
    kernel: str  # a key of KERNELS
    about: str
    stride: int = 1
    padding: Padding = "valid"
    normalised: bool = False
    bias: float = 0.0

    @property
    def values(self) -> np.ndarray:
        return parse_grid(self.image, "image")


def _x_image() -> tuple[tuple[str, ...], ...]:
    grid = -np.ones((9, 9))
    for i in range(1, 8):  # two strokes from corner to corner, one pixel in from the border
        grid[i, i] = grid[i, 8 - i] = 1
    return tuple(tuple(row) for row in grid_text(grid))


def _o_image() -> tuple[tuple[str, ...], ...]:
    return _cells(
        """
        -1 -1 -1 -1 -1 -1 -1 -1 -1
        -1 -1 -1  1  1  1 -1 -1 -1
        -1 -1  1 -1 -1 -1  1 -1 -1
        -1  1 -1 -1 -1 -1 -1  1 -1
        -1  1 -1 -1 -1 -1 -1  1 -1
        -1  1 -1 -1 -1 -1 -1  1 -1
        -1 -1  1 -1 -1 -1  1 -1 -1
        -1 -1 -1  1  1  1 -1 -1 -1
        -1 -1 -1 -1 -1 -1 -1 -1 -1
        """
    )


EXAMPLES: dict[str, Example] = {
    "edge_6x6": Example(
        "6×6 image, vertical-edge filter (the tutorial's −7, −2)",
        # The tutorial's image: the first window has left column 3, 1, 2 and right column 1, 7, 5
        # (3 + 1 + 2 − 1 − 7 − 5 = −7); the next has left 1, 0, 3 and right 2, 3, 1 (−2).
        _cells(
            """
            3 1 1 2 8 4
            1 0 7 3 2 6
            2 3 5 1 1 3
            1 4 1 2 6 5
            3 2 1 3 7 2
            9 2 6 2 5 1
            """
        ),
        "vertical_edge",
        "A 3×3 filter over a 6×6 image with stride 1 and no padding gives a 4×4 feature map: "
        "(6 − 3)/1 + 1 = 4.",
    ),
    "x_match": Example(
        "X on a ±1 grid, diagonal filter, normalised match",
        _x_image(),
        "diagonal_down",
        "1 is ink, −1 is background. Each output is (matches − mismatches)/9: 1 where the patch is "
        "exactly the filter's diagonal, less where it only partly matches.",
        normalised=True,
    ),
    "o_match": Example(
        "O on a ±1 grid, diagonal filter, normalised match",
        _o_image(),
        "diagonal_down",
        "The same ╲ filter on an O: only the O's two ╲-shaped corners (top right, bottom left) "
        "match it perfectly, where the X's stroke matched all along its length.",
        normalised=True,
    ),
    "vertical_step": Example(
        "Bright left half, dark right half (a vertical edge)",
        _cells("\n".join(["10 10 10 0 0 0"] * 6)),
        "vertical_edge",
        "The filter answers 30 where the window straddles the edge and 0 where the image is flat: "
        "the feature map draws the edge.",
    ),
    "square": Example(
        "Bright square on a dark background",
        _cells(
            "\n".join(
                " ".join("9" if 2 <= i <= 5 and 2 <= j <= 5 else "0" for j in range(8))
                for i in range(8)
            )
        ),
        "sobel_x",
        "Sobel x lights up the square's left side (positive) and right side (negative), and "
        "ignores its top and bottom.",
        padding="same",
    ),
}

# The worked example as arrays, for doctests, the command line and other modules.
EDGE_IMAGE: np.ndarray = EXAMPLES["edge_6x6"].values
VERTICAL_EDGE: np.ndarray = KERNELS["vertical_edge"].weights
