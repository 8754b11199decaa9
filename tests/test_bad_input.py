"""Issue 6's bad input, page by page: every kind gets a specific message, leaves the app usable
and loses nothing the visitor made.

Each kind is tried where a visitor meets it, through the page under Streamlit's AppTest, and at
the cnn_core function behind the page (the command line too, where it takes the same input):

======================================  =====================================  ==================
bad input                               page (AppTest)                         cnn_core
======================================  =====================================  ==================
corrupt zip, thousands of files, paths  Train, "Your images (.zip)"            data.load_image_zip
out of the folder, zip and image bombs
50-megapixel image, image bomb, text    Draw, "Classify an image file";        canvas.load_image,
named .png                              Convolution, "Your photo"              conv_math
truncated .keras, Lambda layer, bombs   Draw, "Upload a .keras file"           classify
garbage JSON spec                       Shapes, "Load or edit as JSON"         spec.Spec.from_json
absurd numbers                          every numeric widget of every page;    share.decode,
                                        a ?share= link                         the CLI
empty canvas                            Draw, the canvas                       CLI ``classify``
======================================  =====================================  ==================

"Loses nothing": the visitor's design (Shapes), their finished training run (Train, Draw), the
image they were classifying (Draw) are all still there after the bad input, and the page still
shows its other parts. The bad files are made here, in memory; the bombs are refused from their
headers or read in bounded steps, so none is ever unpacked whole and this file stays fast.

What AppTest can and cannot do here: it sends any number to a number input or slider, also out of
its range, which a browser never does (Streamlit's own front end refuses it with "Number is
outside the allowed range"). Streamlit's server then puts the widget back to its default, so the
page never computes with the absurd number; the tests below check exactly that. The canvas is a
browser component AppTest cannot draw on: the empty-canvas test hands the page the canvas's
image through a stand-in module, and tests/e2e/test_draw.py clears the real canvas in Chromium.
"""

from __future__ import annotations

import json
import math
import re
import struct
import subprocess
import sys
import tracemalloc
import types
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from cnn_core import conv_math
from cnn_core.__main__ import main
from cnn_core.canvas import ImageError, load_image
from cnn_core.classify import MAX_UNPACKED_FACTOR, ModelError, load_classifier
from cnn_core.config import LIMITS
from cnn_core.data import DataError, load_image_zip, load_mnist
from cnn_core.presets import get_preset
from cnn_core.share import QUERY_KEY, ShareError, decode, encode
from cnn_core.spec import Spec, SpecError
from tests.conftest import APP_TIMEOUT, shown
from tests.shapes_page import layer_picker, layer_widget, ledger_row, ledger_total, widget_name
from tests.test_classify import draw_digit, save_png
from tests.test_data import _pets, _png, _zip
from tests.test_page_draw import png, small_model, text_of, uploader
from tests.test_share import token_of

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
MB = 1024 * 1024

# ============================================================================================
# Bad files, made in memory
# ============================================================================================


@dataclass(frozen=True)
class Member:
    """One file of a hand-made zip, with headers that may lie about it."""

    name: str
    stored: bytes  # the bytes as they sit in the archive (deflated when method is 8)
    size: int  # what the headers say it unpacks to
    crc: int
    method: int = zipfile.ZIP_DEFLATED
    flags: int = 0  # bit 0: encrypted


def stored(name: str, data: bytes) -> Member:
    """An honest, uncompressed member."""
    return Member(name, data, len(data), zlib.crc32(data), zipfile.ZIP_STORED)


def raw_zip(members: list[Member]) -> bytes:
    """A zip archive written byte by byte, so that its headers can say anything (Python's
    zipfile always writes the truth)."""
    body, directory = bytearray(), bytearray()
    for m in members:
        name, offset = m.name.encode(), len(body)
        sizes = (m.crc, len(m.stored), m.size, len(name))
        body += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, m.flags, m.method, 0, 0x21, *sizes, 0)
        body += name + m.stored
        directory += struct.pack(
            "<4s6H3L5H2L", b"PK\x01\x02", 20, 20, m.flags, m.method, 0, 0x21, *sizes, 0, 0, 0, 0,
            0, offset,
        )  # fmt: skip
        directory += name
    end = struct.pack(
        "<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(directory), len(body), 0
    )
    return bytes(body + directory + end)


def zeros(name: str, megabytes: int, *, declared: int | None = None) -> Member:
    """A member that really unpacks to ``megabytes`` MB of zeros, stored in about 1 KB per MB.
    Its headers declare ``declared`` bytes (the truth when None).

    Deflate can restart after a full flush, so one compressed megabyte repeated is a valid
    stream: the bomb costs nothing to make.
    """
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    megabyte = bytes(MB)
    block = compressor.compress(megabyte) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(megabytes):
        crc = zlib.crc32(megabyte, crc)
    data = block * megabytes + b"\x03\x00"  # ... and an empty final block
    return Member(name, data, megabytes * MB if declared is None else declared, crc)


def png_of_size(width: int, height: int, *, rows: int | None = None) -> bytes:
    """A black grayscale PNG of ``width``×``height`` pixels. With ``rows``, only that many rows of
    pixels follow the header: a small file claiming a huge image (an "image bomb")."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">L", len(data)) + kind + data + struct.pack(">L", zlib.crc32(kind + data))
        )

    compressor = zlib.compressobj(9)
    row = bytes(width + 1)  # filter byte 0, then the pixels
    pixels = b"".join(compressor.compress(row) for _ in range(height if rows is None else rows))
    header = struct.pack(">2L5B", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", pixels + compressor.flush())
        + chunk(b"IEND", b"")
    )


IMAGE_BOMB = png_of_size(100_000, 100_000, rows=1)  # 10 gigapixels claimed, under 1 KB
FIFTY_MEGAPIXELS = (8_200, 6_100)  # 50.02 million pixels: a high-end phone camera's photo
TEXT_AS_PNG = b"Dear diary, today I renamed this file to .png."


def class_folders(**extra: bytes) -> dict[str, bytes]:
    """Two small class folders, plus ``extra`` files (name → bytes)."""
    return {"cats/1.png": _png(), "cats/2.png": _png(), "dogs/1.png": _png(), **extra}


def corrupt_zip() -> bytes:
    good = bytearray(_zip(class_folders()))
    start = good.index(b"IDAT")  # damage the stored pixels of the first image: CRC mismatch
    good[start + 4 : start + 12] = b"\xff" * 8
    return bytes(good)


def many_files_zip() -> bytes:
    names = [f"{('cats', 'dogs')[i % 2]}/{i}.png" for i in range(LIMITS.max_zip_files + 1)]
    return _zip(dict.fromkeys(names, b""))


def bomb_zip() -> bytes:
    """Honest headers: one image really unpacks to more than the limit."""
    return raw_zip(
        [zeros("cats/1.png", LIMITS.max_zip_uncompressed_mb + 1), stored("dogs/1.png", _png())]
    )


def lying_zip() -> bytes:
    """Lying headers: one image says 1 KB and unpacks to 200 MB."""
    return raw_zip([zeros("cats/1.png", 200, declared=1024), stored("dogs/1.png", _png())])


def odd_zip(**fields) -> bytes:
    """One image stored with unusual header fields (encryption flag, compression method)."""
    data = _png()
    member = Member("cats/1.png", data, len(data), zlib.crc32(data), **fields)
    return raw_zip([member, stored("dogs/1.png", data)])


# name → (the zip, what the visitor is told); the Train page and load_image_zip get the same.
BAD_ZIPS = {
    "text-named-zip": (lambda: b"These are my holiday photos.", "not a zip archive"),
    "cut-short": (lambda: _zip(class_folders())[:-40], "damaged or cut short"),
    "corrupt": (corrupt_zip, "the zip is damaged: 'cats/1.png' cannot be unpacked"),
    "thousands-of-files": (
        many_files_zip,
        f"holds {LIMITS.max_zip_files + 1:,} files; CNN Lab takes at most {LIMITS.max_zip_files:,}",
    ),
    "dot-dot": (lambda: _zip(class_folders(**{"../evil.png": _png()})), "'../evil.png'"),
    "deep-dot-dot": (
        lambda: _zip(class_folders(**{"cats/../../evil.png": _png()})),
        "points outside its folder",
    ),
    "absolute": (lambda: _zip(class_folders(**{"/etc/evil.png": _png()})), "outside its folder"),
    "windows-drive": (lambda: _zip(class_folders(**{"C:/evil.png": _png()})), "outside its folder"),
    "backslashes": (
        lambda: _zip(class_folders(**{"..\\..\\evil.png": _png()})),
        "outside its folder",
    ),
    "bomb": (bomb_zip, f"CNN Lab takes at most {LIMITS.max_zip_uncompressed_mb:,} MB"),
    "lying-bomb": (lying_zip, "the zip is damaged: 'cats/1.png' cannot be unpacked (Bad CRC"),
    "image-bomb": (
        lambda: _zip(class_folders(**{"cats/3.png": IMAGE_BOMB})),
        "'cats/3.png' claims more pixels than any real photo",
    ),
    "text-named-png": (
        lambda: _zip(class_folders(**{"dogs/2.png": TEXT_AS_PNG})),
        "'dogs/2.png' cannot be read as an image",
    ),
    "encrypted": (lambda: odd_zip(flags=1), "'cats/1.png' is password-protected"),
    "unknown-compression": (lambda: odd_zip(method=99), "compression method CNN Lab cannot"),
}


def peak_allocation(function, *args, **kwargs) -> tuple[Exception | None, int]:
    """The exception ``function`` raised (or None) and the peak of Python memory it allocated."""
    tracemalloc.start()
    try:
        function(*args, **kwargs)
        raised = None
    except Exception as err:
        raised = err
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return raised, peak


# ============================================================================================
# Shared pieces: pages, a real finished run
# ============================================================================================


def messages(at: AppTest, *kinds: str) -> str:
    """Every alert of these kinds on the page, one per line."""
    return "\n".join(text_of(at.get(kind)) for kind in kinds or ("error", "warning", "info"))


def open_app(page: str | None = None, **session) -> AppTest:
    """The app as a visitor opens it (app.py), on ``page``, with ``session`` already in their
    session state (what they made before)."""
    at = AppTest.from_file(APP, default_timeout=APP_TIMEOUT)
    if page is not None:
        at.switch_page(page)
    for key, value in session.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def rerun(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    assert "Traceback" not in messages(at)
    return at


@pytest.fixture(scope="module")
def finished_run():
    """A run really trained by the Train page's runner (tiny preset, 640 digits, one epoch):
    what a visitor has made on the Train page, and must keep whatever they do next."""
    from cnn_core.runner import BackgroundTraining
    from cnn_core.training import TrainingConfig

    config = TrainingConfig(epochs=1, batch_size=64, train_samples=640, validation_split=0.1)
    run = BackgroundTraining(get_preset("tiny").spec, load_mnist(), config, title="Tiny").start()
    assert run.join(timeout=180) and run.model is not None, run.snapshot().error
    return run


# ============================================================================================
# Zips of class folders (Train page)
# ============================================================================================


@pytest.mark.parametrize(("make", "message"), list(BAD_ZIPS.values()), ids=list(BAD_ZIPS))
def test_load_image_zip_refuses_each_bad_zip_with_its_message(make, message):
    raised, peak = peak_allocation(load_image_zip, make())
    assert isinstance(raised, DataError), raised
    assert message in str(raised)
    assert peak < 64 * MB, f"{peak / MB:.0f} MB allocated: the bomb was unpacked"


def test_train_page_refuses_each_bad_zip_and_keeps_the_finished_run(finished_run):
    at = open_app("pages/train.py")
    at.selectbox(key="train_dataset").set_value("zip")
    rerun(at)
    for name, (make, message) in BAD_ZIPS.items():
        uploader(at, "train_zip").set_value((f"{name}.zip", make(), "application/zip"))
        rerun(at)
        shown = messages(at, "error")
        assert message in shown, f"{name}: {shown!r}"
        assert at.button(key="train_start").disabled, name  # nothing to train on
    # A visitor who trained before uploading keeps their run and sees its results. (Drawing the
    # results takes over a second a run, so one bad zip stands for all here.)
    at.session_state["train_runs"] = [finished_run]
    rerun(at)
    accuracy = {m.label: m.value for m in at.metric}["Test accuracy"]
    uploader(at, "train_zip").set_value(("bomb.zip", bomb_zip(), "application/zip"))
    rerun(at)
    assert BAD_ZIPS["bomb"][1] in messages(at, "error")
    assert at.session_state["train_runs"] == [finished_run]
    assert {m.label: m.value for m in at.metric}["Test accuracy"] == accuracy
    # Still usable: a good zip becomes a data set, and the bundled digits train again.
    uploader(at, "train_zip").set_value(("pets.zip", _zip(_pets()), "application/zip"))
    rerun(at)
    assert not at.error and "2 test images" in text_of(at.caption)
    at.selectbox(key="train_dataset").set_value("mnist")
    rerun(at)
    assert not at.error and not at.button(key="train_start").disabled


# ============================================================================================
# Images: 50 megapixels, image bombs, text named .png (Draw and Convolution pages)
# ============================================================================================

BAD_IMAGES = {
    "50-megapixels": (
        lambda: png_of_size(*FIFTY_MEGAPIXELS),
        "8,200×6,100 pixels (50.0 megapixels); CNN Lab reads images of at most",
        "8200×6100 = 50,020,000 pixels; the limit is",
    ),
    "image-bomb": (
        lambda: IMAGE_BOMB,
        "claims more pixels than any real photo has",
        "has far too many pixels to open safely",
    ),
    "text-named-png": (
        lambda: TEXT_AS_PNG,
        "not an image CNN Lab can read",
        "is not an image Pillow can read",
    ),
    "cut-short": (
        lambda: png(np.full((64, 64), 200, np.uint8))[:60],
        "damaged or truncated",
        "damaged or cut short",
    ),
}


@pytest.mark.parametrize(
    ("make", "draw_message", "conv_message"), list(BAD_IMAGES.values()), ids=list(BAD_IMAGES)
)
def test_image_readers_refuse_bad_images_before_decoding_them(make, draw_message, conv_message):
    data = make()
    raised, peak = peak_allocation(load_image, data)
    assert isinstance(raised, ImageError) and draw_message in str(raised), raised
    assert peak < 64 * MB, f"{peak / MB:.0f} MB allocated: the image was decoded"
    raised, peak = peak_allocation(
        conv_math.photo_to_grayscale,
        data,
        max_side=LIMITS.max_photo_side,
        max_pixels=LIMITS.max_photo_pixels,
        max_bytes=LIMITS.max_upload_mb * MB,
    )
    assert isinstance(raised, conv_math.ConvMathError) and conv_message in str(raised), raised
    assert peak < 64 * MB


def test_draw_page_refuses_bad_images_and_keeps_the_visitors_run(finished_run):
    at = open_app("pages/draw.py", train_runs=[finished_run])
    at.radio(key="draw_model_source").set_value("Trained in this session")
    rerun(at)
    assert f"**{finished_run.label}**" in text_of(at.caption)
    for name, (make, message, _) in BAD_IMAGES.items():
        uploader(at, "draw_image_file").set_value((f"{name}.png", make(), "image/png"))
        rerun(at)
        assert message in messages(at, "error"), name
        assert not [m for m in at.markdown if "draw-prediction" in m.value], name
        assert f"**{finished_run.label}**" in text_of(at.caption), name  # still their model
    # Still usable: a real scan of a digit is read by the visitor's own model.
    scan = 255 - np.asarray(Image.fromarray(draw_digit(7)).convert("L"))
    uploader(at, "draw_image_file").set_value(("seven.png", png(scan), "image/png"))
    rerun(at)
    assert not at.error
    assert [m for m in at.markdown if "draw-prediction" in m.value]


def test_convolution_page_refuses_bad_photos_and_keeps_the_edited_grid():
    at = open_app("pages/convolution.py")
    edits = {"edited_rows": {0: {"1": "9"}}, "added_rows": [], "deleted_rows": []}
    at.session_state["conv_image_editor"] = edits  # the visitor typed 9 in row 1, column 1
    rerun(at)
    assert at.radio(key="conv_real_source").value == "digit"
    at.radio(key="conv_real_source").set_value("photo")
    rerun(at)
    for name, (make, _, message) in BAD_IMAGES.items():
        uploader(at, "conv_real_upload").set_value((f"{name}.png", make(), "image/png"))
        rerun(at)
        assert message in messages(at, "error"), name
        assert at.session_state["conv_image_editor"]["edited_rows"] == {0: {"1": "9"}}, name
        sums = [m.value for m in at.markdown if m.value.startswith("**row 1, column 1:**")]
        assert sums and sums[0].startswith("**row 1, column 1:** 9·1"), name  # their grid, used
    uploader(at, "conv_real_upload").set_value(("ok.png", png_of_size(40, 20), "image/png"))
    rerun(at)
    assert not at.error and "Grey, " in text_of(at.caption)


# ============================================================================================
# Model files (Draw page)
# ============================================================================================


@pytest.fixture(scope="module")
def model_files(tmp_path_factory) -> dict[str, tuple[bytes, str]]:
    """name → (a bad .keras upload, what the visitor is told)."""
    folder = tmp_path_factory.mktemp("models")
    good = folder / "good.keras"
    small_model().save(good)
    unsafe = folder / "unsafe.keras"
    keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Lambda(lambda x: x * 2), keras.layers.Flatten(),
         keras.layers.Dense(10, activation="softmax")]
    ).save(unsafe)  # fmt: skip
    data = good.read_bytes()
    with zipfile.ZipFile(good) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    # The real model, with its weights' header saying 1 KB while they unpack to 200 MB.
    lying = raw_zip(
        [stored(n, d) for n, d in members.items() if n != "model.weights.h5"]
        + [zeros("model.weights.h5", 200, declared=1024)]
    )
    limit_mb = MAX_UNPACKED_FACTOR * LIMITS.max_upload_mb
    bomb = raw_zip([stored("config.json", members["config.json"]), zeros("w.h5", limit_mb + 1)])
    return {
        "truncated": (data[: len(data) // 2], "damaged or incomplete .keras file"),
        "lambda-layer": (unsafe.read_bytes(), "contains Python code"),
        "text-named-keras": (b"just some notes", "is not a Keras model file"),
        "bomb": (bomb, f"the limit is {limit_mb} MB"),
        "lying-bomb": (lying, "is a damaged zip archive (Bad CRC"),
        "encrypted": (
            raw_zip([Member("config.json", b"{}", 2, zlib.crc32(b"{}"), 0, flags=1)]),
            "password-protected",
        ),
    }


def test_load_classifier_refuses_each_bad_model_file_without_unpacking_it(model_files):
    for name, (data, message) in model_files.items():
        raised, peak = peak_allocation(load_classifier, data, f"{name}.keras")
        assert isinstance(raised, ModelError), (name, raised)
        assert message in str(raised) and f"{name}.keras" in str(raised), name
        assert peak < 64 * MB, f"{name}: {peak / MB:.0f} MB allocated"


def test_draw_page_refuses_bad_model_files_and_keeps_classifying(model_files, finished_run):
    at = open_app("pages/draw.py", train_runs=[finished_run])
    seven = png(np.asarray(Image.fromarray(draw_digit(7)).convert("L")))
    uploader(at, "draw_image_file").set_value(("seven.png", seven, "image/png"))
    rerun(at)
    at.radio(key="draw_model_source").set_value("Upload a .keras file")
    rerun(at)
    for name, (data, message) in model_files.items():
        uploader(at, "draw_model_file").set_value((f"{name}.keras", data, "application/zip"))
        rerun(at)
        shown = messages(at, "error")
        assert message in shown and "The pretrained model is used meanwhile" in shown, name
        assert "Bundled digits model" in text_of(at.caption), name
        prediction = [m.value for m in at.markdown if "draw-prediction" in m.value]
        assert prediction and ">7</div>" in prediction[0], name  # the image is still read
    # The run the visitor trained is still theirs to choose.
    at.radio(key="draw_model_source").set_value("Trained in this session")
    rerun(at)
    assert at.selectbox(key="draw_session_run").value == finished_run.label
    assert not at.error


# ============================================================================================
# Garbage JSON spec (Shapes page)
# ============================================================================================

DIGITS_5000 = "9" * 5000  # Python refuses to read integers past 4,300 digits
TEN_TO_400 = "1" + "0" * 400  # past the largest float (about 10^308)
GARBAGE_SPECS = {
    "not-json": ("{not json", "This is not valid JSON (line 1, column 2"),
    "a-list": ("[1, 2, 3]", "A spec must be an object"),
    "nested": ("[" * 100_000, "nested far too deeply"),
    "5000-digits": (
        '{"input_shape": [28, 28, 1], "layers": [{"type": "Dense", "units": ' + DIGITS_5000 + "}]}",
        "a number thousands of digits long",
    ),
    "10^400-units": (
        '{"input_shape": [28, 28, 1], "layers": [{"type": "Dense", "units": ' + TEN_TO_400 + "}]}",
        "Layer 1 (Dense): units is about 10^400; CNN Lab allows at most",
    ),
    "10^400-rate": (
        '{"input_shape": [28, 28, 1], "layers": [{"type": "Dropout", "rate": ' + TEN_TO_400 + "}]}",
        "Layer 1 (Dropout): rate is about 10^400",
    ),
    "nan-input": (
        '{"input_shape": [NaN, 28, 1], "layers": [{"type": "Flatten"}]}',
        "Input: height must be a whole number, not nan",
    ),
    "infinite-kernel": (
        '{"input_shape": [28, 28, 1], "layers": [{"type": "Conv2D", "filters": 8, '
        '"kernel_size": [3, 1e999]}]}',
        "kernel_size width must be a whole number, not inf",
    ),
    "negative-filters": (
        '{"input_shape": [28, 28, 1], "layers": [{"type": "Conv2D", "filters": -8, '
        '"kernel_size": 3}]}',
        "Layer 1 (Conv2D): filters is -8; it must be at least 1",
    ),
}


@pytest.mark.parametrize(("text", "message"), list(GARBAGE_SPECS.values()), ids=list(GARBAGE_SPECS))
def test_spec_from_json_refuses_garbage_with_a_short_message(text, message):
    with pytest.raises(SpecError) as refusal:
        Spec.from_json(text)
    assert message in str(refusal.value)
    assert len(str(refusal.value)) < 300  # it names the problem; it does not echo 5,000 digits


def test_shapes_page_refuses_garbage_json_and_keeps_the_design():
    at = open_app("pages/shapes.py")
    layer_widget(at, "filters").set_value(8)  # the visitor's own design
    rerun(at)
    design = at.session_state["spec"]
    assert design["layers"][0]["filters"] == 8
    for name, (text, message) in GARBAGE_SPECS.items():
        at.text_area(key="shapes_json_text").input(text)
        at.button(key="shapes_json_load").click()
        rerun(at)
        shown = messages(at, "error")
        assert "This JSON was not loaded; your design is unchanged" in shown, name
        assert message in shown, name
        assert at.session_state["spec"] == design, name
        assert at.text_area(key="shapes_json_text").value == text, name  # the text is kept
        assert ledger_row(at, 1)["Output shape"] == "26×26×8", name
    at.text_area(key="shapes_json_text").input("")
    at.button(key="shapes_json_load").click()
    rerun(at)
    assert "Paste a spec's JSON into the box first" in messages(at, "error")
    at.text_area(key="shapes_json_text").input(get_preset("tiny").spec.to_json())
    at.button(key="shapes_json_load").click()
    rerun(at)
    assert not at.error and Spec.from_dict(at.session_state["spec"]) == get_preset("tiny").spec


# ============================================================================================
# Absurd numbers: every numeric widget, a share link, the command line
# ============================================================================================

# Far above any widget's maximum and far below any minimum (and, for a widget without bounds,
# as large as a browser's number input can hold).
ABSURD = (1e15, -1.7e308)


def numeric_widgets(at: AppTest) -> dict[str, object]:
    """Every number input and slider on the page, by key."""
    widgets = {w.key: w for w in at.number_input}
    widgets |= {w.key: w for w in at.slider if isinstance(w.value, int | float)}
    return widgets


def type_absurd_numbers(at: AppTest) -> list[str]:
    """Put each absurd number into every numeric widget of the page at once, run the page, and
    check that no widget then holds a number outside its range or an infinite one (so the page
    never computed with it). Returns the keys of the widgets tried."""
    tried = list(numeric_widgets(at))
    for value in ABSURD:
        for widget in numeric_widgets(at).values():
            widget.set_value(int(value) if isinstance(widget.value, int) else value)
        rerun(at)
        for key, widget in numeric_widgets(at).items():
            low = -math.inf if widget.min is None else widget.min
            high = math.inf if widget.max is None else widget.max
            assert math.isfinite(widget.value) and low <= widget.value <= high, (key, value)
    return tried


def test_shapes_page_absurd_numbers_in_every_layer_form_leave_the_design_unchanged():
    every_kind = Spec.from_dict(
        {
            "input_shape": [28, 28, 1],
            "layers": [
                {"type": "Conv2D", "filters": 8, "kernel_size": 3, "activation": "relu"},
                {"type": "BatchNormalization"},
                {"type": "MaxPooling2D", "pool_size": 2, "strides": 1},
                {"type": "Dropout", "rate": 0.25},
                {"type": "Flatten"},
                {"type": "Dense", "units": 10, "activation": "softmax"},
            ],
        }
    )
    at = open_app("pages/shapes.py", spec=every_kind.to_dict())
    tried = []
    for index in (0, 1, 2, 3, 5):
        layer_picker(at).select(index)
        rerun(at)
        tried += map(widget_name, type_absurd_numbers(at))
        assert Spec.from_dict(at.session_state["spec"]) == every_kind, index
        assert not at.error, index
    assert {"input_h", "layer_filters", "layer_momentum", "layer_units", "layer_rate",
            "layer_pool_size_h", "layer_strides_w"} <= set(tried)  # fmt: skip


def test_train_page_absurd_numbers_keep_the_settings_in_range_and_the_run(finished_run):
    from cnn_core.training import DEFAULTS

    at = open_app("pages/train.py", train_runs=[finished_run])
    tried = type_absurd_numbers(at)
    assert {"train_samples", "train_val_split", "train_epochs", "train_learning_rate",
            "train_seed", "train_aug_rotation", "train_fmap_index_1"} <= set(tried)  # fmt: skip
    assert not at.error  # no setting reached the training configuration out of range
    assert at.number_input(key="train_epochs").value == min(DEFAULTS.epochs, LIMITS.max_epochs)
    assert at.number_input(key="train_learning_rate").value == DEFAULTS.learning_rate
    assert not at.button(key="train_start").disabled
    assert at.session_state["train_runs"] == [finished_run]
    assert "Test accuracy" in {m.label for m in at.metric}


def test_convolution_page_absurd_numbers_stay_in_range_and_the_bias_is_explained():
    at = open_app("pages/convolution.py")
    tried = type_absurd_numbers(at)
    assert {"conv_image_rows", "conv_stride", "conv_bias", "conv_pool_size", "conv_real_index",
            "conv_step", "conv_depth_filters"} <= set(tried)  # fmt: skip
    # The bias widget has the core's range (type_absurd_numbers checked it held): a browser
    # refuses a bigger one outright, and the core refuses one with a message too (see the
    # command-line cases below).
    assert at.number_input(key="conv_bias").max == 1_000_000
    at.number_input(key="conv_bias").set_value(2.0)
    rerun(at)
    assert not at.error
    assert [m for m in at.markdown if m.value.startswith("**row 1, column 1:**")]


@pytest.mark.parametrize(
    ("page", "keys"),
    [
        ("pages/draw.py", {"draw_pen_width"}),
        ("pages/exercises.py", {"exercises_seed"}),
    ],
)
def test_other_pages_absurd_numbers_stay_in_range(page, keys):
    at = open_app(page)
    assert keys <= set(type_absurd_numbers(at))
    assert not at.error


# A link anyone could make with CNN Lab's own encoder: a valid design, and for every page a
# setting far outside what its widget allows (each under share's own 10^15 cap, so the link
# itself is sound and only the values are absurd).
ABSURD_SETTINGS = {
    "pages/shapes.py": {"shapes_selected": 10**12},
    "pages/train.py": {
        "train_epochs": 10**12,
        "train_learning_rate": 1e300,
        "train_seed": -1,
        "train_samples": 10**15,
        "train_val_split": 7.5,
        "train_aug_rotation": 1e9,
    },
    "pages/convolution.py": {
        "conv_stride": 10**9,
        "conv_bias": 1e300,
        "conv_pad_amount": 10**6,
        "conv_pool_size": -3,
    },
    "pages/draw.py": {"draw_pen_width": 10**6},
}


def test_a_share_link_with_absurd_numbers_keeps_the_defaults_page_by_page():
    settings = {
        k: v for page_settings in ABSURD_SETTINGS.values() for k, v in page_settings.items()
    }
    tiny = get_preset("tiny").spec
    at = AppTest.from_file(APP, default_timeout=APP_TIMEOUT)
    at.query_params[QUERY_KEY] = encode(tiny, settings)
    for page, absurd in ABSURD_SETTINGS.items():
        at.switch_page(page)
        rerun(at)
        shown = messages(at, "warning")
        for key in absurd:
            assert f"The share link's value for “{key}”" in shown, (page, key)
        for key, widget in numeric_widgets(at).items():
            assert widget.min is None or widget.min <= widget.value, (page, key)
            assert widget.max is None or widget.value <= widget.max, (page, key)
            assert abs(widget.value) < 1e6, (page, key)
        assert Spec.from_dict(at.session_state["spec"]) == tiny  # the good part of the link
    assert decode(at.query_params[QUERY_KEY]).spec == tiny  # the address bar: a sound link


def test_a_share_link_with_an_absurd_design_gives_one_message_and_the_default_design():
    huge = {"type": "Conv2D", "filters": 10**18, "kernel_size": 10**9}
    digits = '{"settings": {"train_epochs": ' + DIGITS_5000 + "}}"
    for token, message in (
        (token_of({"spec": {"input_shape": [28, 28, 1], "layers": [huge]}}), "about 10^18"),
        (token_of(digits.encode()), "garbled"),
    ):
        with pytest.raises(ShareError, match=re.escape(message)):
            decode(token)
        at = AppTest.from_file(APP, default_timeout=APP_TIMEOUT)
        at.query_params[QUERY_KEY] = token
        at.switch_page("pages/shapes.py")
        rerun(at)
        (warning,) = [shown(w.value) for w in at.warning]
        assert warning.startswith("This share link ") and message in warning
        assert len(warning) < 400
        assert ledger_total(at)["Parameters"] == "110,474"


CLI_ABSURD = [
    (["train", "--epochs", "99999999999"], f"epochs is 99,999,999,999; it must be from 1 to {LIMITS.max_epochs}"),
    (["train", "--batch-size", "-64"], "batch size is -64"),
    (["train", "--learning-rate", "1e308"], "learning rate is 1e+308"),
    (["train", "--learning-rate", "nan"], "learning rate must be a number, not nan"),
    (["train", "--validation-split", "7.5"], "validation split is 7.5"),
    (["train", "--seed", "-1"], "seed is -1"),
    (["train", "--train-samples", "1000000000000000"], "training subset is 1,000,000,000,000,000"),
    (["train", "--augment", "rotation=1e999"], "rotation is inf"),
    (["summary", "--preset", "tiny", "--num-classes", "-3"], "--num-classes is -3; it must be from 2"),
    (["summary", "--preset", "tiny", "--num-classes", "9" * 40], "--num-classes is far too large"),
    (["exercises", "--seed", "1e99"], "the seed must be a whole number from 0 to"),
    (["conv", "--example", "edge_6x6", "--stride", "99999999999"], "--stride is 99,999,999,999"),
    (["conv", "--example", "edge_6x6", "--padding", "99999999"], "--padding is 99,999,999; it must be from 0 to"),
    (["conv", "--example", "edge_6x6", "--bias", "1e309"], "The bias is inf; use a number from"),
    (["conv", "--example", "edge_6x6", "--bias", "nan"], "The bias is nan"),
    (["conv", "--image", "1e300 1; 1 1", "--kernel", "1"], "'1e300' is too large"),
]  # fmt: skip


@pytest.mark.parametrize(("argv", "message"), CLI_ABSURD, ids=[" ".join(a) for a, _ in CLI_ABSURD])
def test_cli_absurd_numbers_exit_2_with_a_message(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    if argv[0] == "train":
        argv = [*argv, "--out", "model.keras"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err, err
    assert "Traceback" not in err and len(err) < 400


def test_cli_as_a_program_exits_2_on_absurd_padding():
    """The one that used to ask numpy for 284 petabytes."""
    done = subprocess.run(
        [sys.executable, "-m", "cnn_core", "conv", "--example", "edge_6x6", "--padding", "99999999"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert (
        done.stderr.startswith("error: --padding is 99,999,999") and "Traceback" not in done.stderr
    )


# ============================================================================================
# An empty canvas (Draw page; the command line's classify)
# ============================================================================================


@pytest.fixture
def canvas_image(monkeypatch) -> dict:
    """The drawing canvas, a browser component AppTest cannot draw on, replaced by a stand-in
    that hands the page ``canvas_image["data"]`` as the canvas's image (None: nothing drawn)."""
    drawing: dict = {"data": None}
    stand_in = types.ModuleType("streamlit_drawable_canvas")
    stand_in.st_canvas = lambda **_: types.SimpleNamespace(image_data=drawing["data"])
    monkeypatch.setitem(sys.modules, "streamlit_drawable_canvas", stand_in)
    return drawing


def test_draw_page_empty_canvas_gets_no_prediction_and_the_page_goes_on(canvas_image):
    at = open_app("pages/draw.py")
    assert "Draw a digit on the black square" in messages(at, "info")  # nothing drawn yet
    black = np.zeros((280, 280, 4), np.uint8)
    black[..., 3] = 255  # the canvas's opaque black background
    canvas_image["data"] = black  # drawn, then cleared with the bin icon
    rerun(at)
    assert "The canvas is empty: draw a digit on the black square." in messages(at, "info")
    assert not [m for m in at.markdown if "draw-prediction" in m.value]
    assert not at.error and not at.get("plotly_chart")
    speck = black.copy()
    speck[140:143, 140:143, :3] = 255  # one touch of the pen
    canvas_image["data"] = speck
    rerun(at)
    assert "Only a dot or a speck" in messages(at, "warning")
    canvas_image["data"] = draw_digit(3)  # then a real digit: read as before
    rerun(at)
    prediction = [m.value for m in at.markdown if "draw-prediction" in m.value]
    assert prediction and ">3</div>" in prediction[0]


def test_cli_classify_of_blank_images_says_no_digit(tmp_path, capsys):
    blank = [
        save_png(tmp_path / "white.png", np.full((60, 80), 255, np.uint8)),
        save_png(tmp_path / "grey.png", np.full((60, 80), 128, np.uint8)),
        save_png(tmp_path / "canvas.png", np.zeros((280, 280, 4), np.uint8)),
    ]
    assert main(["classify", *blank, "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert [r["prediction"] for r in results] == [None, None, None]  # never a guess
    assert all("empty" in r["message"] for r in results)
    assert main(["classify", blank[0]]) == 0
    assert capsys.readouterr().out.startswith(f"{blank[0]}: no digit. Nothing to classify")


def test_cli_classify_refuses_a_50_megapixel_photo(tmp_path, capsys):
    photo = tmp_path / "photo.png"
    photo.write_bytes(png_of_size(*FIFTY_MEGAPIXELS))
    assert main(["classify", str(photo)]) == 2
    err = capsys.readouterr().err
    assert "50.0 megapixels" in err and "Traceback" not in err
