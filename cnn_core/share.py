"""Share links: an architecture and a few page settings, packed into one URL-safe token.

A share link is the app's URL with ``?share=<token>``. Opening it restores the design and the
settings that matter on each page, so an instructor can hand a class one link::

    >>> from cnn_core.presets import get_preset
    >>> token = encode(get_preset("tiny").spec, {"train_epochs": 3})
    >>> token[:2], len(token) < 400
    ('1.', True)
    >>> decode(token).settings
    {'train_epochs': 3}

The token is ``<version>.<body>``: the body is compact JSON, compressed with zlib and written in
base64url without padding (letters, digits, ``-`` and ``_``: nothing a URL needs to escape). The
version lets a later CNN Lab read old links, or say clearly that a link is from a newer one: a
link whose design needs spec format 2 (blocks, the newer layers) is version 2, any other is
version 1, so that a link to a plain stack still opens in an older CNN Lab.

Even a ResNet-50 or a GoogLeNet packs into under 1,000 characters (their JSON repeats itself
and compresses well). A design too large for a link raises :class:`ShareTooLarge`: offer its
JSON (``spec.to_json()``) instead.

A link is input from anyone, so :func:`decode` trusts nothing: its length is capped before any
work is done, the decompressed size is capped (a small link cannot expand into gigabytes), the
JSON must have exactly the expected shape, and the spec goes through the same validation as a
spec typed by hand. Every failure is one :class:`ShareError` whose message a page can show next to
the defaults; zlib's own checksum means a link damaged in copying is noticed, not misread.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cnn_core.config import LIMITS
from cnn_core.i18n import Message, msg
from cnn_core.spec import Spec, SpecError

VERSION = 2  # the newest link format; a link is written in the oldest one that holds it
VERSIONS = (1, 2)  # the link formats this CNN Lab reads
QUERY_KEY = "share"  # the URL query parameter: ?share=1.eJy...
# The decompressed JSON is at most this big. A ResNet-50 with every setting is about 10 KB;
# anything far bigger was made to hurt, not to share.
MAX_JSON_BYTES = 64 * 1024
MAX_SETTINGS = 64  # settings carried by one link, over all pages
MAX_SETTING_KEY_CHARS = 64
MAX_SETTING_TEXT_CHARS = 500  # a text setting (e.g. a data set name), not a document
_SETTING_KEY = re.compile(r"[a-z][a-z0-9_]*")  # page-prefixed widget keys: "train_epochs"
_BODY = re.compile(r"[A-Za-z0-9_-]+")

Setting = None | bool | int | float | str


class ShareError(ValueError):
    """A share link that cannot be opened (or made), said for the visitor who clicked it.

    ``message`` is what to show (a Message, or English text); ``str(error)`` is the English.
    """

    def __init__(self, message: Message | str) -> None:
        self.message = message
        super().__init__(str(message))


class ShareTooLarge(ShareError):
    """A design (with its settings) that makes a link longer than ``LIMITS.max_share_link_chars``:
    nothing is wrong with it, it is only too big to travel in an address. Offer the JSON."""

    def __init__(self, length: int, limit: int) -> None:
        self.length, self.limit = length, limit
        super().__init__(msg("share.too_large", length=length, limit=limit))


def _bad(reason: str) -> ShareError:
    return ShareError(f"This share link {reason}")


@dataclass(frozen=True)
class SharedState:
    """What a share link carries: an architecture (or none) and page settings by widget key."""

    spec: Spec | None = None
    settings: dict[str, Setting] = field(default_factory=dict)


def _check_settings(settings: Any) -> dict[str, Setting]:
    """The settings as a plain dict, or a ShareError saying which one is wrong."""
    if not isinstance(settings, Mapping):
        raise _bad("has settings that are not a list of names and values.")
    if len(settings) > MAX_SETTINGS:
        raise _bad(f"carries {len(settings)} settings; a link holds at most {MAX_SETTINGS}.")
    clean: dict[str, Setting] = {}
    for key, value in settings.items():
        if (
            not isinstance(key, str)
            or len(key) > MAX_SETTING_KEY_CHARS
            or not _SETTING_KEY.fullmatch(key)
        ):
            raise _bad(f"has a setting with an impossible name, {str(key)[:40]!r}.")
        if isinstance(value, float) and not math.isfinite(value):
            raise _bad(f"has a setting, {key!r}, that is not a finite number.")
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**15:
            raise _bad(f"has a setting, {key!r}, with an absurdly large number.")
        if isinstance(value, str) and len(value) > MAX_SETTING_TEXT_CHARS:
            raise _bad(f"has a setting, {key!r}, that is {len(value):,} characters long.")
        if value is not None and not isinstance(value, bool | int | float | str):
            raise _bad(f"has a setting, {key!r}, that is not a single number, word or yes/no.")
        clean[key] = value
    return clean


def encode(spec: Spec | None, settings: Mapping[str, Any] | None = None) -> str:
    """The share token for ``spec`` and ``settings`` (widget key → number, text, bool or None).

    Raises:
        ShareError: a setting that cannot travel in a link (a list, a NaN, a huge text).
        ShareTooLarge: a token longer than ``LIMITS.max_share_link_chars``.
    """
    payload: dict[str, Any] = {"settings": _check_settings(dict(settings or {}))}
    if spec is not None:
        payload["spec"] = spec.to_dict()
    text = json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    body = base64.urlsafe_b64encode(zlib.compress(text.encode("utf-8"), 9)).rstrip(b"=")
    version = 2 if spec is not None and spec.format > 1 else 1
    token = f"{version}.{body.decode('ascii')}"
    if len(token) > LIMITS.max_share_link_chars:
        raise ShareTooLarge(len(token), LIMITS.max_share_link_chars)
    return token


def _inflate(data: bytes) -> bytes:
    """zlib-decompress at most MAX_JSON_BYTES, so a tiny link cannot expand without bound."""
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, MAX_JSON_BYTES + 1)
    except zlib.error:
        raise _bad(
            "is damaged: part of it is missing or was changed (was it copied whole?)."
        ) from None
    if len(out) > MAX_JSON_BYTES or inflater.unconsumed_tail:
        raise _bad(f"unpacks to more than {MAX_JSON_BYTES // 1024} KB, far more than any design.")
    if not inflater.eof or inflater.unused_data:
        raise _bad("is damaged: part of it is missing or was changed (was it copied whole?).")
    return out


def decode(token: Any) -> SharedState:
    """Read a share token back. Every problem raises one :class:`ShareError`.

    Raises:
        ShareError: the token is too long, garbled, damaged, from another version, unpacks to too
            much, or carries an architecture or settings that are not valid.
    """
    if not isinstance(token, str):
        raise _bad("is not text.")
    token = token.strip()
    limit = LIMITS.max_share_link_chars
    if len(token) > limit:
        raise _bad(f"is {len(token):,} characters long; CNN Lab's links are at most {limit:,}.")
    version, dot, body = token.partition(".")
    if not dot or not version.isdigit() or not body:
        raise _bad("is not a CNN Lab share link (those look like 1.eJy…).")
    if int(version) not in VERSIONS:
        raise ShareError(msg("share.other_version", version=int(version), newest=VERSION))
    if not _BODY.fullmatch(body):
        raise _bad("contains characters a CNN Lab link never has (was it copied whole?).")
    try:
        data = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise _bad("is garbled: its letters do not decode (was it copied whole?).") from None
    text = _inflate(data)
    try:
        payload = json.loads(text.decode("utf-8"))
    # ValueError also covers integers of over 4,300 digits, which Python refuses to read.
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError, RecursionError):
        raise _bad("is garbled: its contents are not CNN Lab settings.") from None
    if not isinstance(payload, dict) or not set(payload) <= {"spec", "settings"}:
        raise _bad("is garbled: its contents are not CNN Lab settings.")
    spec = None
    if payload.get("spec") is not None:
        try:
            spec = Spec.from_dict(payload["spec"])
        except SpecError as err:
            raise _bad(f"holds an architecture that is not valid: {err}") from None
    return SharedState(spec, _check_settings(payload.get("settings", {})))
