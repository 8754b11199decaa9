"""Languages: every sentence a person reads comes from a catalogue, looked up by a stable id.

CNN Lab speaks English (``en``), Simplified Chinese (``zh-Hans``) and Traditional Chinese
(``zh-Hant``). The text lives in plain TOML files a translator can edit, one folder per language
and one file per part of the app (``cnn_core/locales/<language>/<part>.toml``)::

    # cnn_core/locales/en/spec.toml
    unknown_layer_type = "unknown layer type {layer_type}.{hint} CNN Lab supports: {types}."

An id is the file's name, a dot, and the key: ``spec.unknown_layer_type``. Placeholders are
named (``{layer_type}``), so a translation may put them in any order; Python's format
mini-language works inside them (``{count:,}``), the same in every language, so numbers are
written alike everywhere. A literal brace is doubled (``{{``). An entry may be a table with
``one`` and ``other`` forms, picked by the ``count`` placeholder (English plurals); Chinese needs
only a plain string.

Code outside the UI never builds a sentence itself: it returns a :class:`Message` (an id and
its values), and whoever shows it renders it in the reader's language. The command line renders
English (``str(message)``); a page renders the visitor's language (``ui.i18n``).

    >>> message = Message("i18n.example", {"count": 3})
    >>> str(message)
    '3 layers fit.'
    >>> message.render("zh-Hans")
    '3 个层能放下。'
    >>> translate("en", "i18n.example", count=1)
    '1 layer fits.'

The Traditional catalogue is generated from the Simplified one with OpenCC (Taiwan phrasing) by
``scripts/make_zh_hant.py``; hand corrections in ``locales/zh-Hant-overrides/`` win. A test keeps
the generated files up to date and every catalogue complete.
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

# The languages, in the order the language picker lists them, each named in itself.
LANGUAGES: dict[str, str] = {"en": "English", "zh-Hans": "简体中文", "zh-Hant": "繁體中文"}
DEFAULT_LANGUAGE = "en"
LOCALES = Path(__file__).parent / "locales"
OVERRIDES = LOCALES / "zh-Hant-overrides"  # hand corrections to the generated Traditional text

# How browsers and people name the languages (BCP 47 tags, lower-cased) → ours. Chinese without
# a script or region is taken as Simplified, the larger audience.
_ALIASES: dict[str, str] = {
    "en": "en",
    "zh": "zh-Hans",
    "zh-hans": "zh-Hans",
    "zh-cn": "zh-Hans",
    "zh-sg": "zh-Hans",
    "zh-my": "zh-Hans",
    "zh-hant": "zh-Hant",
    "zh-tw": "zh-Hant",
    "zh-hk": "zh-Hant",
    "zh-mo": "zh-Hant",
}


def normalize_language(value: Any) -> str | None:
    """One of :data:`LANGUAGES` for a language tag, or None when it names none of them.

    Accepts our own names in any case, browser tags (``zh-CN``, ``zh_TW``, ``zh-Hant-HK``,
    ``en-GB``) and is safe on any input (a query parameter is hostile).

    >>> [normalize_language(v) for v in ("zh-CN", "zh_tw", "zh-Hant-HK", "en-GB", "fr", 3)]
    ['zh-Hans', 'zh-Hant', 'zh-Hant', 'en', None, None]
    """
    if not isinstance(value, str) or len(value) > 35:
        return None
    tag = value.strip().replace("_", "-").lower()
    parts = tag.split("-")
    for length in (3, 2, 1):  # the longest known prefix: zh-hant-hk → zh-hant
        name = _ALIASES.get("-".join(parts[:length]))
        if name is not None:
            return name
    return None


# --------------------------------------------------------------------------------------------
# Catalogues
# --------------------------------------------------------------------------------------------

Entry = str | Mapping[str, str]  # a sentence, or its plural forms {"one": …, "other": …}
PLURAL_FORMS = ("one", "other")


def _flatten(table: Mapping[str, Any], prefix: str) -> Iterator[tuple[str, Entry]]:
    for key, value in table.items():
        name = f"{prefix}.{key}"
        if isinstance(value, str):
            yield name, value
        elif isinstance(value, dict) and value and set(value) <= set(PLURAL_FORMS):
            if "other" not in value or not all(isinstance(v, str) for v in value.values()):
                raise ValueError(f"{name}: plural forms need at least an 'other' string")
            yield name, dict(value)
        elif isinstance(value, dict):
            yield from _flatten(value, name)
        else:
            raise ValueError(f"{name}: a catalogue entry is a string, not {value!r}")


def read_catalogue(folder: Path) -> dict[str, Entry]:
    """Every entry of the TOML files in ``folder``, by id (``<file stem>.<key>``)."""
    entries: dict[str, Entry] = {}
    for path in sorted(folder.glob("*.toml")):
        with path.open("rb") as file:
            entries.update(_flatten(tomllib.load(file), path.stem))
    return entries


@cache
def catalogue(language: str) -> Mapping[str, Entry]:
    """The catalogue of ``language`` (read once per process; it is the same for every visitor)."""
    if language not in LANGUAGES:
        raise KeyError(f"no catalogue for language {language!r}")
    return read_catalogue(LOCALES / language)


def placeholders(entry: Entry) -> set[str]:
    """The placeholder names an entry uses (all plural forms together).

    >>> sorted(placeholders("{layer}: {count:,} of {total}, {{literal}}"))
    ['count', 'layer', 'total']
    """
    texts = entry.values() if isinstance(entry, Mapping) else [entry]
    names = set()
    for text in texts:
        for _, name, _, _ in string.Formatter().parse(text):
            if name is not None:
                names.add(name.split(".")[0].split("[")[0])
    return names


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """A sentence to be said to a person, not yet in any language: an id and its values.

    A value may itself be a Message (rendered in the same language), or a list or tuple of
    values (rendered and joined by the catalogue's ``i18n.list_separator``).
    ``str(message)`` is the English text, for the command line, logs and exceptions.
    """

    id: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def render(self, language: str = DEFAULT_LANGUAGE) -> str:
        return translate(language, self.id, **self.params)

    def __str__(self) -> str:
        return self.render(DEFAULT_LANGUAGE)

    def __hash__(self) -> int:
        return hash((self.id, tuple(sorted((k, repr(v)) for k, v in self.params.items()))))


def msg(id: str, **params: Any) -> Message:
    """``Message(id, params)``, written like a call to ``t``: ``msg("spec.too_many", count=3)``."""
    return Message(id, params)


def render(value: Any, language: str = DEFAULT_LANGUAGE) -> str:
    """Any value as text in ``language``: Messages are translated, lists joined, others str()."""
    if isinstance(value, Message):
        return value.render(language)
    if isinstance(value, list | tuple):
        separator = translate(language, "i18n.list_separator")
        return separator.join(render(v, language) for v in value)
    return str(value)


def _entry(language: str, id: str) -> Entry | None:
    entry = catalogue(language).get(id) if language in LANGUAGES else None
    if entry is None and language != DEFAULT_LANGUAGE:
        entry = catalogue(DEFAULT_LANGUAGE).get(id)
    return entry


def translate(language: str, id: str, /, **params: Any) -> str:
    """The sentence ``id`` in ``language`` with ``params`` filled in.

    Never raises for a visitor: an id missing from a language falls back to English, an id
    missing everywhere is shown as itself, and a sentence whose placeholders do not match its
    values falls back to English and then to the bare id (the tests keep all three from
    happening).
    """
    entry = _entry(language, id)
    if entry is None:
        return id
    values = {
        name: value if isinstance(value, int | float) else _Rendered(render(value, language))
        for name, value in params.items()
    }
    for candidate in (entry, _entry(DEFAULT_LANGUAGE, id)):
        if candidate is None:
            continue
        text = _plural(candidate, params.get("count"))
        try:
            return text.format_map(values)
        except (KeyError, IndexError, ValueError, AttributeError):
            continue
    return id


class _Rendered(str):
    """Rendered text that a format spec meant for numbers (``{count:,}``) leaves as it is."""

    def __format__(self, spec: str) -> str:
        try:
            return super().__format__(spec)
        except ValueError:
            return str(self)


def _plural(entry: Entry, count: Any) -> str:
    if isinstance(entry, str):
        return entry
    if count == 1 and "one" in entry:
        return entry["one"]
    return entry["other"]
