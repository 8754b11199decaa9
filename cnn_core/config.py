"""Limits, defaults and an instructor's settings, in one place, read once at start.

Every page, the command line and the tests read their limits from here, so an instructor or a
host changes one file (or one environment variable) and the whole app follows.

Two profiles exist:

- ``local`` (the default): generous limits for one person on their own laptop.
- ``hosted``: strict limits for a small shared CPU server with many visitors at once.

Choose one with the environment variable ``CNN_LAB_PROFILE`` (``local`` or ``hosted``).

An instructor can go further with a TOML file named by ``CNN_LAB_CONFIG`` (documented in
docs/instructors.md, example in docs/workshop.example.toml): a base ``profile``, any limit under
``[limits]`` (``datasets`` among them: which data sets the Train page offers), controls
``[locked]`` at a value, and controls or whole pages ``[hidden]``. The profile may be named in
the file or in ``CNN_LAB_PROFILE``; naming two different ones is a mistake, so that a host's
strict profile is never silently replaced by a file, or the other way round.

Both variables are read once, when this module is first imported. Any mistake stops the program
right there with one sentence naming the file and the key: the command line exits with status 2,
and app.py shows the sentence instead of the app. Tests call :func:`load_settings` directly, and
may swap the module-level :data:`SETTINGS` (the ``ui`` helpers read it when called).
"""

from __future__ import annotations

import difflib
import json
import math
import os
import sys
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from cnn_core.i18n import LANGUAGES, normalize_language

PROFILE_ENV = "CNN_LAB_PROFILE"
CONFIG_ENV = "CNN_LAB_CONFIG"

# Names an instructor's file may use. They repeat the app's own (cnn_core.data.DATASETS plus the
# Train page's "zip" for a visitor's own images; the page files listed in ui.nav), because the
# modules that define those import this one and it must be complete before they load.
# tests/test_controls.py checks that the copies match.
DATASET_NAMES: tuple[str, ...] = ("mnist", "fashion_mnist", "cifar10", "cats_vs_dogs", "zip")
PAGE_NAMES: tuple[str, ...] = ("convolution", "shapes", "train", "draw", "exercises")
# The batch sizes the Train page offers (up to Limits.max_batch_size).
BATCH_SIZES: tuple[int, ...] = (16, 32, 64, 128, 256, 512, 1024)


@dataclass(frozen=True)
class Limits:
    """Upper bounds on what a visitor may ask for. Each bound says why it exists."""

    # Architecture designer: bounds that keep the ledger readable and the arithmetic honest.
    max_layers: int = 40  # a longer list is no longer a lesson, and the ledger stops fitting
    max_input_side: int = 1024  # height or width of the input image, in pixels
    max_input_channels: int = 4  # grayscale (1), RGB (3); 4 leaves room for RGBA experiments
    max_filters: int = 2048  # per Conv2D layer
    max_units: int = 16384  # per Dense layer
    max_window: int = 64  # kernel_size, pool_size and strides, per side

    # Networks as graphs (spec format 2: blocks, paths, repeats). Describing a network is
    # arithmetic (the ledger of a ResNet-50 takes milliseconds), so these bound only the work a
    # hostile spec could ask of the ledger: building and training stay bounded by
    # max_model_params. max_layers above bounds each list (the top level, or one path).
    max_total_layers: int = 1000  # Keras layers after repeats and merges (ResNet-50: 176)
    max_block_depth: int = 6  # blocks inside blocks (ResNet-50 as stages of blocks: 2)
    max_repeat: int = 64  # a block's "repeat" (ResNet-152's longest stage: 35)
    max_paths: int = 8  # paths of one Parallel block (an Inception module: 4)
    max_spec_chars: int = 200_000  # a spec's JSON text; a ResNet-50 is about 15,000

    # Building a real Keras model (Train and Draw pages): a model larger than this would not
    # train in a lesson's time on a laptop CPU and could exhaust a shared server's memory.
    max_model_params: int = 20_000_000

    # Training.
    max_epochs: int = 50
    max_train_samples: int = 60_000
    max_batch_size: int = 1024
    # Trainings running at once in this process; later ones wait in a queue. Each one keeps
    # both CPU cores of a small machine busy, so more at once only makes every one slower.
    max_concurrent_trainings: int = 2
    # Finished runs a visitor keeps (model, curves, test predictions: a few MB each); the
    # oldest is forgotten first.
    max_runs_kept: int = 10

    # Zips of class folders on the Train page: bounds on decoding work and memory.
    max_zip_files: int = 20_000
    max_zip_uncompressed_mb: int = 500  # a zip bomb unpacks to far more than it weighs
    max_zip_pixels: int = 300_000_000  # source pixels of all images together, before resizing

    # Convolution page: grids a learner edits by hand. Beyond these the numbers in the cells and
    # the written-out sums stop being readable, which is the whole point of the page.
    max_grid_side: int = 12  # the input grid, per side
    max_kernel_side: int = 7  # the filter, per side
    max_grid_padding: int = 3  # explicit zeros around the input grid, per side
    # Photos on the Convolution page are shrunk to this side before filtering: the feature maps
    # are drawn as heatmaps, and every extra pixel costs CPU on a shared server.
    max_photo_side: int = 160
    # Refuse an uploaded image with more pixels than this before decoding it: a small file can
    # claim billions of pixels and exhaust memory (a "decompression bomb").
    max_photo_pixels: int = 40_000_000

    # Uploads (zips of images, single images, .keras files), in megabytes.
    max_upload_mb: int = 50

    # Share links (?share=…): a link longer than this was not made by CNN Lab (a 40-layer design
    # packs into under 1,000 characters) and is refused before any decoding work is done.
    max_share_link_chars: int = 4000

    # The data sets the Train page offers, by name ("zip": the visitor's own images). A
    # workshop may offer only MNIST so that every learner's numbers compare.
    datasets: tuple[str, ...] = DATASET_NAMES


PROFILES: dict[str, Limits] = {
    "local": Limits(),
    "hosted": replace(
        Limits(),
        max_units=4096,
        max_model_params=2_000_000,
        max_epochs=5,
        max_train_samples=20_000,
        max_batch_size=256,
        max_concurrent_trainings=1,
        max_runs_kept=3,
        max_zip_files=3_000,
        max_zip_uncompressed_mb=100,
        max_zip_pixels=50_000_000,
        max_photo_side=96,
        max_photo_pixels=16_000_000,
        max_upload_mb=10,
    ),
}


class ConfigError(ValueError):
    """A mistake in the settings: one sentence that names the file (or variable) and the key."""


class ConfigExit(SystemExit, Exception):
    """Stops any program that imports CNN Lab with settings that have a mistake.

    Its exit status is 2, the command line's status for bad input. Python prints nothing for a
    numeric status, so the sentence is written to standard error before this is raised. app.py
    catches it and shows the sentence in the page instead of the app. It is an Exception too, so
    that a page Streamlit runs on its own (a deep link, the first request to a fresh server)
    reports it in the page like any error, where a bare SystemExit would end Streamlit's script
    thread silently and leave the visitor waiting.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.code = 2
        self.message = message


# --------------------------------------------------------------------------------------------
# Controls an instructor may lock or hide
# --------------------------------------------------------------------------------------------

Bound = float | Callable[[Limits], float]
Options = Sequence[Any] | Callable[[Limits], Sequence[Any]]


@dataclass(frozen=True)
class Control:
    """A widget an instructor may lock (fix at a value, shown disabled) or hide, by its key.

    The values it accepts mirror the widget's own range or options on its page (the page is
    checked against this in tests/test_controls.py); bounds that depend on the limits are
    functions of them, so a locked value is checked against the limits in force.
    """

    key: str  # the widget's key on its page, e.g. "train_epochs"
    label: str  # as the page labels it
    kind: str  # "whole" (an integer), "number" (a float) or "choice" (one of ``options``)
    low: Bound = 0
    high: Bound = 0
    options: Options = ()

    def bounds(self, limits: Limits) -> tuple[float, float]:
        low, high = self.low, self.high
        return (low(limits) if callable(low) else low, high(limits) if callable(high) else high)

    def choices(self, limits: Limits) -> tuple[Any, ...]:
        options = self.options
        return tuple(options(limits) if callable(options) else options)

    def check(self, value: Any, limits: Limits) -> Any:
        """The value as the widget takes it (an int for "whole", a float for "number", the option
        itself for "choice").

        Raises:
            ValueError: the value is not one the widget can show, with the reason in words.
        """
        if self.kind == "choice":
            for option in self.choices(limits):
                if _same(option, value):
                    return option
            raise ValueError(
                f"it must be one of {', '.join(_show(o) for o in self.choices(limits))}."
            )
        low, high = self.bounds(limits)
        number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
        if self.kind == "whole":
            reason = f"it must be a whole number from {low:,} to {high:,}."
            if number is None or not float(number).is_integer() or not low <= number <= high:
                raise ValueError(reason)
            return int(number)
        reason = f"it must be a number from {low:g} to {high:g}."
        if number is None or not math.isfinite(number) or not low <= number <= high:
            raise ValueError(reason)
        return float(number)


def _same(option: Any, value: Any) -> bool:
    """``value`` is ``option``: equal, and not a yes/no standing in for a number (True == 1)."""
    return option == value and isinstance(value, bool) == isinstance(option, bool)


CONTROLS: dict[str, Control] = {
    control.key: control
    for control in (
        # Train page, "1 · Data".
        Control("train_dataset", "Data set", "choice", options=lambda limits: limits.datasets),
        Control(
            "train_samples",
            "Training images",
            "whole",
            low=lambda limits: min(100, limits.max_train_samples),
            high=lambda limits: limits.max_train_samples,
        ),
        Control("train_val_split", "Held out for validation", "number", 0.0, 0.5),
        # "2 · Network": cnn_core.presets.PRESETS, and "shapes" for the visitor's own design.
        Control(
            "train_arch",
            "Architecture",
            "choice",
            options=(
                *("tutorial", "strided", "lenet5", "lenet5_bn", "tiny", "default", "digits"),
                "shapes",
            ),
        ),
        # "3 · How to train" (options from cnn_core.training and cnn_core.augment).
        Control("train_epochs", "Epochs", "whole", 1, lambda limits: limits.max_epochs),
        Control(
            "train_batch_size",
            "Batch size",
            "choice",
            options=lambda limits: [b for b in BATCH_SIZES if b <= limits.max_batch_size],
        ),
        Control("train_optimizer", "Optimiser", "choice", options=("adam", "sgd", "rmsprop")),
        Control("train_learning_rate", "Learning rate", "number", 0.00001, 1.0),
        Control("train_schedule", "Schedule", "choice", options=("constant", "cosine")),
        Control("train_seed", "Random seed", "whole", 0, 2**31 - 1),
        Control("train_aug_shift", "Shift", "number", 0.0, 0.3),
        Control("train_aug_rotation", "Rotation", "whole", 0, 45),
        Control("train_aug_zoom", "Zoom", "number", 0.0, 0.3),
        Control(
            "train_aug_flip",
            "Mirror",
            "choice",
            options=("none", "horizontal", "vertical", "horizontal_and_vertical"),
        ),
        # The sidebar's language picker (ui.i18n): locked, every visitor sees this language.
        Control("language", "Language", "choice", options=tuple(LANGUAGES)),
    )
}


# --------------------------------------------------------------------------------------------
# Settings: a profile's limits, plus an instructor's file
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """Everything read at start: the limits in force and what the instructor locked or hid."""

    limits: Limits = field(default_factory=Limits)
    profile: str = "local"
    source: str | None = None  # the instructor's file, if there is one
    locked: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    hidden_controls: frozenset[str] = frozenset()
    hidden_pages: frozenset[str] = frozenset()  # page file stems, as in ui.nav
    # The language a visitor's first visit opens in, unless their link says otherwise (ui.i18n);
    # None: the browser's language.
    language: str | None = None


_SECTIONS = ("profile", "language", "limits", "locked", "hidden")
_HIDDEN_KEYS = ("controls", "pages")
# A limit of 0 means "none allowed"; only the padding of a hand-made grid may sensibly be 0.
_LIMIT_MINIMUM = {"max_grid_padding": 0}


def _show(value: Any) -> str:
    """A value as it is written in TOML, for messages: "adam", 3, 0.5, true."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)


def _unknown(name: str, known: Sequence[str]) -> str:
    """ "; did you mean "max_epochs"?" when ``name`` looks like a misspelt known one."""
    close = difflib.get_close_matches(name, known, n=1)
    return f'; did you mean "{close[0]}"?' if close else "."


def _profile(name: Any, where: str) -> str:
    if not isinstance(name, str) or name.strip().lower() not in PROFILES:
        raise ConfigError(
            f"{where} is {_show(name)}, which is not a profile; use one of: {', '.join(PROFILES)}."
        )
    return name.strip().lower()


def _read_toml(path: str) -> dict[str, Any]:
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{CONFIG_ENV} names {path}, which does not exist.") from None
    except IsADirectoryError:
        raise ConfigError(f"{CONFIG_ENV} names {path}, which is a folder, not a file.") from None
    except OSError as err:
        raise ConfigError(
            f"{path} (named by {CONFIG_ENV}) cannot be read: {err.strerror}."
        ) from None
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not a text file; a CNN Lab settings file is TOML.") from None
    except tomllib.TOMLDecodeError as err:
        reason = str(err)
        raise ConfigError(f"{path} is not valid TOML: {reason[:1].lower()}{reason[1:]}.") from None


def _table(data: dict[str, Any], name: str, path: str) -> dict[str, Any]:
    table = data.get(name, {})
    if not isinstance(table, dict):
        raise ConfigError(
            f"{path}: {name} must be a table (a line [{name}] followed by name = value lines), "
            f"not {_show(table)}."
        )
    return table


def _limits(table: dict[str, Any], base: Limits, path: str) -> Limits:
    names = [f.name for f in fields(Limits)]
    changes: dict[str, Any] = {}
    for name, value in table.items():
        if name not in names:
            raise ConfigError(
                f"{path}: [limits] has no limit called {_show(name)}{_unknown(name, names)}"
            )
        if name == "datasets":
            changes[name] = _datasets(value, path)
            continue
        minimum = _LIMIT_MINIMUM.get(name, 1)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ConfigError(
                f"{path}: [limits] {name} must be a whole number of at least {minimum}, not "
                f"{_show(value)}."
            )
        changes[name] = value
    return replace(base, **changes)


def _datasets(value: Any, path: str) -> tuple[str, ...]:
    where = f"{path}: [limits] datasets"
    if not isinstance(value, list) or not value:
        raise ConfigError(
            f'{where} must be a list of data set names such as ["mnist"], not {_show(value)}.'
        )
    for name in value:
        if name not in DATASET_NAMES:
            raise ConfigError(
                f"{where} has {_show(name)}, which is not a data set; use some of: "
                f"{', '.join(DATASET_NAMES)}."
            )
    return tuple(dict.fromkeys(value))  # in the file's order, each once


def _names(value: Any, known: Sequence[str], where: str, what: str) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f'{where} must be a list of names such as ["{known[0]}"].')
    for name in value:
        if name not in known:
            if what == "page" and name == "home":
                raise ConfigError(f'{where} has "home": the Home page cannot be hidden.')
            raise ConfigError(
                f"{where} has {_show(name)}, which is not a {what}{_unknown(name, known)} "
                f"The {what}s are: {', '.join(known)}."
            )
    return frozenset(value)


def load_settings(
    path: str | os.PathLike[str] | None = None, profile: str | None = None
) -> Settings:
    """The settings from an instructor's TOML file at ``path`` (or none: a profile's defaults).

    Args:
        path: the file, e.g. ``"workshop.toml"``; None for no file.
        profile: the profile chosen outside the file (``CNN_LAB_PROFILE``), or None.

    Raises:
        ConfigError: any mistake, in one sentence naming the file and the key.
    """
    outside = _profile(profile, f"{PROFILE_ENV}") if profile is not None else None
    if path is None:
        name = outside or "local"
        return Settings(limits=PROFILES[name], profile=name)
    path = os.fspath(path)
    data = _read_toml(path)
    for key in data:
        if key not in _SECTIONS:
            raise ConfigError(
                f"{path}: {_show(key)} is not a setting{_unknown(key, _SECTIONS)} A CNN Lab "
                "settings file has profile, language, [limits], [locked] and [hidden]."
            )
    name = outside or "local"
    if "profile" in data:
        name = _profile(data["profile"], f"{path}: profile")
        if outside is not None and outside != name:
            raise ConfigError(
                f'{path}: profile = "{name}" disagrees with {PROFILE_ENV}={outside}; name the '
                "profile in one place only."
            )
    limits = _limits(_table(data, "limits", path), PROFILES[name], path)

    locked: dict[str, Any] = {}
    keys = list(CONTROLS)
    for key, value in _table(data, "locked", path).items():
        if key not in CONTROLS:
            raise ConfigError(
                f"{path}: [locked] {key} is not a control CNN Lab can lock{_unknown(key, keys)} "
                "The lockable controls are listed in docs/instructors.md."
            )
        try:
            locked[key] = CONTROLS[key].check(value, limits)
        except ValueError as err:
            raise ConfigError(
                f"{path}: [locked] {key} = {_show(value)} cannot be used: {err}"
            ) from None

    language = None
    if "language" in data:
        language = normalize_language(data["language"])
        if language is None:
            raise ConfigError(
                f"{path}: language is {_show(data['language'])}, which is not a language of "
                f"CNN Lab; use one of: {', '.join(LANGUAGES)}."
            )

    hidden = _table(data, "hidden", path)
    for key in hidden:
        if key not in _HIDDEN_KEYS:
            raise ConfigError(
                f"{path}: [hidden] {key} is not a setting{_unknown(key, _HIDDEN_KEYS)} [hidden] "
                "has controls and pages."
            )
    return Settings(
        limits=limits,
        profile=name,
        source=path,
        locked=MappingProxyType(locked),
        hidden_controls=_names(
            hidden.get("controls", []), keys, f"{path}: [hidden] controls", "control"
        ),
        hidden_pages=_names(hidden.get("pages", []), PAGE_NAMES, f"{path}: [hidden] pages", "page"),
        language=language,
    )


def settings_from_environment(environ: Mapping[str, str] = os.environ) -> Settings:
    """The settings ``CNN_LAB_PROFILE`` and ``CNN_LAB_CONFIG`` ask for (empty counts as unset).

    Raises:
        ConfigError: as :func:`load_settings`.
    """
    profile = environ.get(PROFILE_ENV, "").strip() or None
    path = environ.get(CONFIG_ENV, "").strip() or None
    return load_settings(path, profile)


def _settings_at_start() -> Settings:
    try:
        return settings_from_environment()
    except ConfigError as err:
        print(f"CNN Lab cannot start: {err}", file=sys.stderr)
        raise ConfigExit(str(err)) from None


SETTINGS: Settings = _settings_at_start()
PROFILE: str = SETTINGS.profile
LIMITS: Limits = SETTINGS.limits
