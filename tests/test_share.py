"""Share links: what goes in comes out; anything else is one clear ShareError, never a crash."""

from __future__ import annotations

import base64
import contextlib
import json
import random
import re
import string
import urllib.parse
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from cnn_core.config import LIMITS
from cnn_core.presets import PRESETS, get_preset
from cnn_core.share import (
    MAX_JSON_BYTES,
    MAX_SETTINGS,
    QUERY_KEY,
    SharedState,
    ShareError,
    decode,
    encode,
)
from cnn_core.spec import Spec
from tests.conftest import APP_TIMEOUT, shown

URL_SAFE = set(string.ascii_letters + string.digits + "-_.")


def token_of(payload, version: int = 1) -> str:
    """A token made by hand, the way an attacker (or a bug) would make one."""
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    body = base64.urlsafe_b64encode(zlib.compress(raw)).rstrip(b"=").decode()
    return f"{version}.{body}"


# --------------------------------------------------------------------------------------------
# Round trips
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_round_trips_in_a_short_url_safe_token(name):
    spec = get_preset(name).spec
    settings_in = {"train_epochs": 3, "train_dataset": "MNIST", "conv_relu": True, "x": None}
    token = encode(spec, settings_in)
    assert set(token) <= URL_SAFE
    assert urllib.parse.quote(token) == token  # nothing a URL has to escape
    assert len(token) < 500  # a preset plus settings fits comfortably in any address bar
    shared = decode(token)
    assert shared.spec == spec
    assert shared.settings == settings_in
    assert encode(spec, settings_in) == token  # the same state always gives the same link


def test_a_link_without_a_design_carries_only_settings():
    token = encode(None, {"exercises_seed": 42})
    assert decode(token) == SharedState(None, {"exercises_seed": 42})
    assert decode(encode(None)) == SharedState(None, {})


setting_keys = st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True)
setting_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**15), 10**15),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=50),
)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(setting_keys, setting_values, max_size=12))
def test_any_reasonable_settings_round_trip(settings_in):
    assert decode(encode(get_preset("tiny").spec, settings_in)).settings == settings_in


# --------------------------------------------------------------------------------------------
# Garbled, tampered, oversized
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("", "is not a CNN Lab share link"),
        ("hello", "is not a CNN Lab share link"),
        ("1.", "is not a CNN Lab share link"),
        (".abc", "is not a CNN Lab share link"),
        ("x.abc", "is not a CNN Lab share link"),
        ("3.eJyrVgpOzSvJLKlUslIqLkksSS1WqgUAO9AF0Q", "another version of CNN Lab (link format 3"),
        ("1.eJy<script>", "characters a CNN Lab link never has"),
        ("1.a", "garbled: its letters do not decode"),
        ("1.aGVsbG8gd29ybGQ", "damaged"),  # base64 of "hello world": not zlib data
        (None, "is not text"),
        (12345, "is not text"),
    ],
)
def test_garbled_links_say_what_is_wrong(token, message):
    with pytest.raises(ShareError, match=re.escape(message)) as caught:
        decode(token)
    assert str(caught.value).startswith("This share link ")


def test_a_truncated_link_is_noticed():
    token = encode(get_preset("tutorial").spec, {"train_epochs": 3})
    for cut in (1, 5, 20, len(token) // 2):
        with pytest.raises(ShareError, match=r"damaged|garbled"):
            decode(token[:-cut])


def test_any_single_changed_character_is_refused_or_harmless():
    # zlib's checksum catches changed data; the last character may only carry padding bits,
    # in which case the link still means exactly the same thing.
    spec = get_preset("lenet5").spec
    token = encode(spec, {"train_epochs": 3})
    original = decode(token)
    for position in range(2, len(token)):
        for replacement in "A_":
            if token[position] == replacement:
                continue
            changed = token[:position] + replacement + token[position + 1 :]
            with contextlib.suppress(ShareError):
                assert decode(changed) == original


def test_oversized_links_are_refused_before_any_work():
    with pytest.raises(ShareError, match=f"at most {LIMITS.max_share_link_chars:,}"):
        decode("1." + "A" * LIMITS.max_share_link_chars)


def test_a_decompression_bomb_is_refused():
    bomb = token_of(b'{"settings": {"a": "' + b"a" * (16 * MAX_JSON_BYTES) + b'"}}')
    assert len(bomb) < LIMITS.max_share_link_chars  # small enough to get past the length check
    with pytest.raises(ShareError, match="unpacks to more than 64 KB"):
        decode(bomb)


def test_deeply_nested_json_is_refused():
    with pytest.raises(ShareError, match="garbled"):
        decode(token_of(b"[" * 60_000))


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([1, 2, 3], "garbled"),
        ("a string", "garbled"),
        ({"spec": None, "settings": {}, "admin": True}, "garbled"),
        (
            {"spec": {"input_shape": [28, 28, 1], "layers": [{"type": "Conv2D", "filters": -3}]}},
            "holds an architecture that is not valid: Layer 1 \\(Conv2D\\)",
        ),
        ({"spec": {"input_shape": [28, 28, 1], "layers": []}}, "architecture that is not valid"),
        ({"spec": "DROP TABLE"}, "architecture that is not valid"),
        ({"settings": [1, 2]}, "settings that are not a list of names and values"),
        ({"settings": {"train_epochs": [1, 2]}}, "not a single number, word or yes/no"),
        ({"settings": {"train_epochs": {"$gt": 1}}}, "not a single number, word or yes/no"),
        ({"settings": {"../../etc": 1}}, "impossible name"),
        ({"settings": {"Train": 1}}, "impossible name"),
        ({"settings": {"train_epochs": 10**30}}, "absurdly large"),
        ({"settings": {"train_name": "x" * 10_000}}, "10,000 characters long"),
        ({"settings": {f"k{i}": i for i in range(MAX_SETTINGS + 1)}}, "at most 64"),
    ],
)
def test_tampered_contents_are_refused_with_a_reason(payload, message):
    with pytest.raises(ShareError, match=message):
        decode(token_of(payload))


def test_non_finite_numbers_cannot_be_smuggled_in():
    # Python's json reads NaN and Infinity; a link must not carry them.
    with pytest.raises(ShareError, match="not a finite number"):
        decode(token_of(b'{"settings": {"train_learning_rate": NaN}}'))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_random_text_never_raises_anything_but_share_error(text):
    with contextlib.suppress(ShareError):
        decode(text)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300))
def test_random_compressed_bytes_never_raise_anything_but_share_error(data):
    with contextlib.suppress(ShareError):
        decode(token_of(data))


def test_settings_that_cannot_travel_are_refused_when_encoding():
    with pytest.raises(ShareError, match="not a single number"):
        encode(None, {"train_layers": [1, 2]})
    with pytest.raises(ShareError, match="not a finite number"):
        encode(None, {"train_rate": float("nan")})
    # Incompressible settings longer than a link may be: "too large to share".
    noise_source = random.Random(0)
    noise = {f"k{i}": base64.b64encode(noise_source.randbytes(200)).decode() for i in range(40)}
    with pytest.raises(ShareError, match="too large to share as a link"):
        encode(None, noise)


# --------------------------------------------------------------------------------------------
# In the app: ui.share under AppTest
# --------------------------------------------------------------------------------------------


def share_page():
    """A page that uses share links the way the real pages do."""
    import streamlit as st

    from cnn_core.config import LIMITS
    from ui import share
    from ui.state import get_spec

    share.restore_from_link()
    share.show_link_message()
    share.apply_link_settings(
        {
            "demo_epochs": share.whole_number(1, LIMITS.max_epochs),
            "demo_optimizer": share.one_of(["adam", "sgd"]),
        }
    )
    epochs = st.number_input("Epochs", 1, LIMITS.max_epochs, 2, key="demo_epochs")
    optimizer = st.selectbox("Optimizer", ["adam", "sgd"], key="demo_optimizer")
    st.write(f"layers: {len(get_spec().layers)}")
    token = share.update_link({"demo_epochs": int(epochs), "demo_optimizer": optimizer})
    share.show_share_link(token)


def run_share_page(token: str | None) -> AppTest:
    app = AppTest.from_function(share_page, default_timeout=APP_TIMEOUT)
    if token is not None:
        app.query_params[QUERY_KEY] = token
    return app.run()


def test_opening_a_link_restores_the_design_and_the_settings():
    spec = get_preset("tiny").spec
    app = run_share_page(encode(spec, {"demo_epochs": 4, "demo_optimizer": "sgd"}))
    assert not app.exception
    assert not app.warning
    assert app.number_input(key="demo_epochs").value == 4
    assert app.selectbox(key="demo_optimizer").value == "sgd"
    assert Spec.from_dict(app.session_state["spec"]) == spec
    assert f"layers: {len(spec.layers)}" in [m.value for m in app.markdown]

    # The visitor changes a setting: the address bar follows, and the link is not re-applied.
    app.number_input(key="demo_epochs").set_value(5).run()
    assert app.number_input(key="demo_epochs").value == 5
    shared = decode(app.query_params[QUERY_KEY])
    assert shared.settings == {"demo_epochs": 5, "demo_optimizer": "sgd"}
    assert shared.spec == spec
    # The copyable link is the same token.
    assert app.code[0].value.endswith(f"?{QUERY_KEY}={app.query_params[QUERY_KEY]}")


@pytest.mark.parametrize(
    "token",
    ["garbage", "1.AAAA", "1." + "A" * (LIMITS.max_share_link_chars + 10), token_of([1])],
)
def test_a_bad_link_gives_one_message_and_the_defaults(token):
    app = run_share_page(token)
    assert not app.exception
    assert len(app.warning) == 1
    assert shown(app.warning[0].value).startswith("This share link ")
    assert shown(app.warning[0].value).endswith("Showing the defaults instead.")
    assert app.number_input(key="demo_epochs").value == 2
    assert app.selectbox(key="demo_optimizer").value == "adam"
    # The broken link is replaced by a good one for the defaults; the message is shown once.
    assert decode(app.query_params[QUERY_KEY]).settings["demo_epochs"] == 2
    app.run()
    assert not app.warning


def test_a_bad_value_in_a_good_link_is_dropped_with_a_message():
    app = run_share_page(encode(None, {"demo_epochs": 10_000, "demo_optimizer": "sgd"}))
    assert not app.exception
    assert len(app.warning) == 1
    assert "demo_epochs" in app.warning[0].value
    assert app.number_input(key="demo_epochs").value == 2  # the default, not 10,000
    assert app.selectbox(key="demo_optimizer").value == "sgd"  # the good value still applies
