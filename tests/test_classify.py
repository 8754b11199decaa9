"""Classifying drawings (cnn_core.classify) and the `classify` command, with Keras as the oracle:
the bundled model reads digits these tests draw themselves, the fast path gives exactly what
Keras gives, and model files that cannot or must not be used are refused with clear messages."""

from __future__ import annotations

import io
import json
import math
import threading
import zipfile
from dataclasses import replace

import keras
import numpy as np
import pytest
from PIL import Image, ImageDraw

from cnn_core import classify
from cnn_core.__main__ import main
from cnn_core.canvas import preprocess
from cnn_core.classify import (
    BUNDLED_COMMAND,
    BUNDLED_MODEL_PATH,
    BUNDLED_TEST_ACCURACY,
    Classifier,
    ModelError,
    load_bundled,
    load_classifier,
    plan_input,
)
from cnn_core.data import load_mnist, to_model_input

# --------------------------------------------------------------------------------------------
# Digits drawn the way a person draws them: polylines in a unit box (y down), one per stroke.
# --------------------------------------------------------------------------------------------


def _loop(cx, cy, rx, ry, start=0.0, n=28):
    return [
        (
            cx + rx * math.sin(start + 2 * math.pi * i / n),
            cy - ry * math.cos(start + 2 * math.pi * i / n),
        )
        for i in range(n + 1)
    ]


STROKES = {
    0: [_loop(0.5, 0.5, 0.32, 0.46)],
    1: [[(0.5, 0.03), (0.5, 0.97)]],
    2: [[(0.18, 0.28), (0.3, 0.1), (0.5, 0.03), (0.7, 0.1), (0.8, 0.28), (0.72, 0.48),
         (0.15, 0.97), (0.88, 0.97)]],
    3: [[(0.18, 0.12), (0.45, 0.03), (0.72, 0.1), (0.78, 0.27), (0.65, 0.43), (0.4, 0.5),
         (0.68, 0.57), (0.82, 0.75), (0.7, 0.92), (0.45, 0.97), (0.16, 0.88)]],
    4: [[(0.62, 0.97), (0.62, 0.03), (0.1, 0.66), (0.9, 0.66)]],
    5: [[(0.82, 0.04), (0.28, 0.04), (0.22, 0.45), (0.5, 0.38), (0.76, 0.5), (0.82, 0.72),
         (0.7, 0.9), (0.45, 0.97), (0.18, 0.88)]],
    6: [[(0.72, 0.04), (0.45, 0.22), (0.26, 0.5), (0.22, 0.75), (0.35, 0.94), (0.58, 0.96),
         (0.76, 0.8), (0.74, 0.6), (0.55, 0.5), (0.35, 0.55), (0.24, 0.68)]],
    7: [[(0.12, 0.05), (0.88, 0.05), (0.42, 0.97)]],
    8: [[(0.5 + 0.26 * math.sin(2 * t), 0.5 - 0.46 * math.cos(t))
         for t in np.linspace(0, 2 * math.pi, 40)]],
    9: [_loop(0.48, 0.3, 0.26, 0.26, start=math.pi / 2, n=24), [(0.74, 0.3), (0.68, 0.97)]],
}  # fmt: skip


def draw_digit(digit, *, height=200, center=(140, 140), width=20, aspect=0.7, canvas=280):
    """The digit as the Draw page's canvas sends it: RGBA, white ink on opaque black."""
    image = Image.new("L", (canvas, canvas), 0)
    draw = ImageDraw.Draw(image)
    box_w, box_h = height * aspect, height
    left, top = center[0] - box_w / 2, center[1] - box_h / 2
    for stroke in STROKES[digit]:
        points = [(left + fx * box_w, top + fy * box_h) for fx, fy in stroke]
        draw.line(points, fill=255, width=width, joint="curve")
        for x, y in (points[0], points[-1]):
            draw.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill=255)
    return np.asarray(image.convert("RGBA"))


def varied_drawings(per_digit: int, seed: int = 0):
    """(digit, drawing) pairs: sizes from small to nearly the canvas, anywhere on it, thin to
    thick pens, narrow to wide."""
    rng = np.random.default_rng(seed)
    for digit in range(10):
        for _ in range(per_digit):
            height = rng.uniform(70, 250)
            width = int(np.clip(rng.uniform(4, 36), 4, height * 0.22))  # a pen, not a blob
            aspect = rng.uniform(0.55, 0.85)
            half_w, half_h = height * aspect / 2 + width, height / 2 + width
            cx = rng.uniform(half_w, 280 - half_w) if half_w < 140 else 140.0
            cy = rng.uniform(half_h, 280 - half_h) if half_h < 140 else 140.0
            yield (
                digit,
                draw_digit(digit, height=height, center=(cx, cy), width=width, aspect=aspect),
            )


@pytest.fixture(scope="module")
def bundled() -> Classifier:
    return load_bundled()


# --------------------------------------------------------------------------------------------
# The bundled model
# --------------------------------------------------------------------------------------------


def test_bundled_model_is_small_and_is_the_digits_preset(bundled):
    from cnn_core.build import build_model
    from cnn_core.presets import get_preset

    assert BUNDLED_MODEL_PATH.stat().st_size < 4 * 1024 * 1024  # "a few MB at most"
    spec_model = build_model(get_preset("digits").spec)
    assert [type(layer).__name__ for layer in bundled.model.layers] == [
        type(layer).__name__ for layer in spec_model.layers
    ]
    assert bundled.num_params == spec_model.count_params()
    assert bundled.input_shape == (28, 28, 1) and bundled.class_names == tuple("0123456789")


def test_the_documented_command_is_one_our_command_line_accepts():
    from cnn_core.__main__ import build_parser

    words = BUNDLED_COMMAND.split()
    assert words[:3] == ["python", "-m", "cnn_core"]
    args = build_parser().parse_args(words[3:])
    assert args.command == "train" and args.preset == "digits"
    assert args.out == "cnn_core/assets/digits.keras"
    assert BUNDLED_MODEL_PATH.as_posix().endswith(args.out)


def test_bundled_model_reaches_99_4_percent_on_the_mnist_test_set(bundled):
    # The README's claim, checked with Keras itself on all 10,000 test digits.
    mnist = load_mnist()
    probabilities = bundled.model.predict(to_model_input(mnist.x_test), batch_size=1000, verbose=0)
    accuracy = float(np.mean(probabilities.argmax(axis=1) == mnist.y_test))
    assert accuracy >= 0.994, f"test accuracy {accuracy:.2%}"
    assert accuracy == pytest.approx(BUNDLED_TEST_ACCURACY, abs=0.00005)  # what the page says


def test_bundled_model_reads_digits_drawn_like_a_person_would(bundled):
    drawings = list(varied_drawings(per_digit=6))
    wrong = []
    for digit, drawing in drawings:
        result = bundled.classify(drawing)
        if result.prediction != digit:
            wrong.append((digit, result.prediction, round(result.confidence, 2)))
    rate = 1 - len(wrong) / len(drawings)
    assert rate >= 0.95, f"{rate:.0%} right; (drawn, read, confidence): {wrong}"


def test_mnist_digits_through_the_preprocessing_stay_right(bundled):
    # The recipe is MNIST's own, so redoing it on MNIST test digits costs almost no accuracy.
    mnist = load_mnist()
    predictions = [bundled.classify(image[..., 0]).prediction for image in mnist.x_test[:300]]
    assert np.mean(np.array(predictions) == mnist.y_test[:300]) >= 0.98


# --------------------------------------------------------------------------------------------
# Keras is the oracle
# --------------------------------------------------------------------------------------------


def test_fast_path_gives_what_keras_predict_gives(bundled):
    digit = preprocess(draw_digit(3)).digit
    expected = bundled.model.predict(digit[np.newaxis, :, :, np.newaxis], verbose=0)[0]
    np.testing.assert_allclose(bundled.probabilities(digit), expected, atol=1e-5)


def test_every_layer_output_matches_keras(bundled):
    digit = preprocess(draw_digit(8)).digit
    layers = bundled.layer_outputs(digit)
    assert [output.name for output in layers] == [layer.name for layer in bundled.model.layers]
    x = digit[np.newaxis, :, :, np.newaxis]
    for output, layer in zip(layers, bundled.model.layers, strict=True):
        assert output.shape == tuple(layer.output.shape[1:])
    # Spot-check values: the first convolution, recomputed by Keras alone.
    first = keras.Model(bundled.model.inputs, bundled.model.layers[0].output)
    np.testing.assert_allclose(layers[0].values, first.predict(x, verbose=0)[0], atol=1e-5)
    result = bundled.classify(draw_digit(8), with_layers=True)
    np.testing.assert_allclose(result.probabilities, layers[-1].values, atol=1e-6)
    assert result.layers[0].is_feature_maps and not result.layers[-1].is_feature_maps


def test_an_empty_canvas_gets_no_prediction(bundled):
    black = np.zeros((280, 280, 4), np.uint8)
    black[..., 3] = 255  # the canvas: opaque black
    result = bundled.classify(black)
    assert result.prediction is None and result.probabilities is None and result.label is None
    assert not result.unsure
    assert bundled.classify(draw_digit(1, height=4, width=4)).prediction is None  # a speck


def test_unsure_is_below_the_threshold():
    sure = classify.Classification(
        preprocess(draw_digit(1)), np.array([0.05, 0.9, 0.05]), ("a", "b", "c")
    )
    unsure = classify.Classification(
        preprocess(draw_digit(1)), np.array([0.45, 0.5, 0.05]), ("a", "b", "c")
    )
    assert not sure.unsure and unsure.unsure
    assert unsure.label == "b" and unsure.runner_up == 0 and unsure.confidence == 0.5


def test_one_shared_classifier_serves_many_visitors_at_once(bundled):
    # The page shares the bundled classifier between sessions (st.cache_resource), and
    # Streamlit runs each session in its own thread: concurrent calls must not mix up results.
    drawings = [draw_digit(d, height=120 + 10 * d, width=12 + d) for d in range(10)]
    expected = [bundled.classify(drawing).probabilities for drawing in drawings]
    mismatches: list[int] = []

    def visitor(offset: int) -> None:
        for round_ in range(3):
            for k in range(len(drawings)):
                index = (k + offset + round_) % len(drawings)
                result = bundled.classify(drawings[index], with_layers=index % 2 == 0)
                if not np.allclose(result.probabilities, expected[index], atol=1e-5):
                    mismatches.append(index)

    threads = [threading.Thread(target=visitor, args=(offset,)) for offset in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert mismatches == []


# --------------------------------------------------------------------------------------------
# Other models: adapting to their input, refusing what cannot take a drawing
# --------------------------------------------------------------------------------------------


def tiny_model(input_shape, *, outputs=10, softmax=True, first=None):
    layers = [keras.Input(shape=input_shape)]
    if first is not None:
        layers.append(first)
    layers += [
        keras.layers.Conv2D(4, 3, activation="relu"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(outputs, activation="softmax" if softmax else None),
    ]
    return keras.Sequential(layers)


def test_a_colour_model_of_another_size_gets_the_drawing_resized_and_in_three_channels():
    model = tiny_model((32, 32, 3))
    classifier = Classifier(model, "colour")
    assert classifier.input_shape == (32, 32, 3)
    assert "32×32" in classifier.plan.note and "red, green and blue" in classifier.plan.note
    digit = preprocess(draw_digit(7)).digit
    x = classifier.plan.adapt(digit)
    assert x.shape == (1, 32, 32, 3)
    np.testing.assert_array_equal(x[..., 0], x[..., 2])
    expected = np.asarray(model(x, training=False))[0]
    np.testing.assert_allclose(classifier.probabilities(digit), expected, atol=1e-5)


def test_a_model_that_rescales_pixels_itself_gets_0_to_255():
    model = tiny_model((28, 28, 1), first=keras.layers.Rescaling(1 / 255))
    classifier = Classifier(model, "rescaling")
    assert classifier.plan.pixel_scale == 255.0
    assert classifier.plan.adapt(preprocess(draw_digit(1)).digit).max() == pytest.approx(255.0)


def test_a_model_ending_in_logits_still_gives_probabilities():
    classifier = Classifier(tiny_model((28, 28, 1), softmax=False), "logits")
    probabilities = classifier.probabilities(preprocess(draw_digit(2)).digit)
    assert probabilities.sum() == pytest.approx(1.0) and probabilities.min() >= 0


def test_class_names_come_from_the_run_or_default_to_digits():
    model = tiny_model((28, 28, 1), outputs=3)
    assert Classifier(model, "x").class_names == ("0", "1", "2")
    assert Classifier(model, "x", class_names=("cat", "dog", "fox")).class_names == (
        "cat",
        "dog",
        "fox",
    )


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (keras.Sequential([keras.Input((784,)), keras.layers.Dense(10)]), "not an image"),
        (tiny_model((28, 28, 4)), "4 channels"),
        (tiny_model((None, None, 1)), "any size"),
        (tiny_model((28, 28, 1), outputs=1), "one score per class"),
        (tiny_model((4, 4, 1)), "sizes from 8×8"),
    ],
    ids=["flat", "rgba", "any-size", "one-output", "too-small"],
)
def test_models_that_cannot_take_a_drawing_say_why(model, message):
    with pytest.raises(ModelError, match=message):
        plan_input(model)


# --------------------------------------------------------------------------------------------
# Model files: Keras' safe mode and clear refusals
# --------------------------------------------------------------------------------------------


def test_a_saved_model_loads_from_a_path_and_from_upload_bytes(tmp_path):
    model = tiny_model((28, 28, 1))
    path = tmp_path / "tiny.keras"
    model.save(path)
    from_path = load_classifier(path)
    from_bytes = load_classifier(path.read_bytes(), "tiny.keras")
    digit = preprocess(draw_digit(4)).digit
    np.testing.assert_allclose(from_path.probabilities(digit), from_bytes.probabilities(digit))
    assert from_bytes.name == "tiny.keras"


def test_a_model_with_a_lambda_layer_is_refused_and_its_code_never_runs(tmp_path):
    marker = tmp_path / "ran.txt"

    def touch(x):  # runs whenever the layer is called: also on any load that builds it
        marker.write_text("the model's code ran")
        return x

    model = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Lambda(lambda x: touch(x)), keras.layers.Flatten(),
         keras.layers.Dense(10, activation="softmax")]
    )  # fmt: skip
    path = tmp_path / "unsafe.keras"
    model.save(path)
    marker.unlink()
    with pytest.raises(ModelError, match="Python code") as refusal:
        load_classifier(path.read_bytes(), "unsafe.keras")
    assert "safe mode" in str(refusal.value) and "unsafe.keras" in str(refusal.value)
    assert not marker.exists()


def keras_zip(**members: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name.replace("__", "."), data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not a Keras model file"),
        (b"PK\x03\x04 not really a zip at all", "damaged or incomplete"),
        (b"\x89HDF\r\n\x1a\n" + bytes(100), "HDF5"),
        (keras_zip(readme__txt=b"hello"), "no config.json"),
        (keras_zip(config__json=b"{not json"), "could not be loaded"),
        (
            keras_zip(config__json=json.dumps({"class_name": "MyLayer", "config": {}}).encode()),
            "could not be loaded|custom layer",
        ),
    ],
    ids=["empty", "fake-zip", "h5", "zip-without-config", "bad-json", "unknown-class"],
)
def test_files_that_are_not_models_get_a_clear_message(data, message):
    with pytest.raises(ModelError, match=message):
        load_classifier(data, "upload.keras")


def test_a_truncated_model_file_is_refused(tmp_path):
    path = tmp_path / "tiny.keras"
    tiny_model((28, 28, 1)).save(path)
    with pytest.raises(ModelError):
        load_classifier(path.read_bytes()[: path.stat().st_size // 2], "half.keras")


def test_a_model_file_over_the_limits_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "tiny.keras"
    tiny_model((28, 28, 1)).save(path)
    monkeypatch.setattr(classify, "LIMITS", replace(classify.LIMITS, max_model_params=10))
    with pytest.raises(ModelError, match="parameters"):
        load_classifier(path)
    monkeypatch.setattr(classify, "LIMITS", replace(classify.LIMITS, max_upload_mb=0))
    with pytest.raises(ModelError, match="MB"):
        load_classifier(path)


def test_a_zip_bomb_is_refused(monkeypatch):
    monkeypatch.setattr(classify, "LIMITS", replace(classify.LIMITS, max_upload_mb=1))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", "{}")
        archive.writestr("model.weights.h5", bytes(5 * 1024 * 1024))  # compresses to ~5 KB
    with pytest.raises(ModelError, match="unpacks to"):
        load_classifier(buffer.getvalue(), "bomb.keras")


def test_missing_files_and_folders(tmp_path):
    with pytest.raises(ModelError, match="no such file"):
        load_classifier(tmp_path / "nothing.keras")
    with pytest.raises(ModelError, match="folder"):
        load_classifier(tmp_path)


# --------------------------------------------------------------------------------------------
# The command line
# --------------------------------------------------------------------------------------------


def save_png(path, drawing: np.ndarray, invert: bool = False) -> str:
    image = Image.fromarray(drawing).convert("L")
    if invert:  # dark ink on white paper, like a scan
        image = Image.fromarray(255 - np.asarray(image))
    image.save(path)
    return str(path)


def test_cli_classifies_images_as_json(tmp_path, capsys):
    files = [
        save_png(tmp_path / "seven.png", draw_digit(7)),
        save_png(tmp_path / "zero_scan.png", draw_digit(0), invert=True),
        save_png(tmp_path / "blank.png", np.zeros((50, 50), np.uint8)),
    ]
    assert main(["classify", *files, "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert [r["file"] for r in results] == files
    assert results[0]["prediction"] == 7 and results[1]["prediction"] == 0
    assert len(results[0]["probabilities"]) == 10
    assert sum(results[0]["probabilities"]) == pytest.approx(1.0, abs=1e-4)
    assert results[2]["prediction"] is None and results[2]["probabilities"] is None
    assert "empty" in results[2]["message"]


def test_cli_prints_one_line_per_image(tmp_path, capsys):
    seven = save_png(tmp_path / "seven.png", draw_digit(7))
    blank = save_png(tmp_path / "blank.png", np.zeros((50, 50), np.uint8))
    assert main(["classify", seven, blank]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{seven}: 7 (") and "%" in lines[0]
    assert lines[1].startswith(f"{blank}: no digit")


def test_cli_with_another_model(tmp_path, capsys):
    path = tmp_path / "tiny.keras"
    tiny_model((32, 32, 3), outputs=3).save(path)
    seven = save_png(tmp_path / "seven.png", draw_digit(7))
    assert main(["classify", seven, "--model", str(path), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)[0]["probabilities"]) == 3


@pytest.mark.parametrize("bad", ["image", "model"])
def test_cli_bad_input_exits_2_with_a_message(tmp_path, capsys, bad):
    seven = save_png(tmp_path / "seven.png", draw_digit(7))
    args = ["classify", str(tmp_path / "missing.png")] if bad == "image" else [
        "classify", seven, "--model", seven
    ]  # fmt: skip
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert ("no such file" in err) if bad == "image" else ("not a Keras model file" in err)
    assert "Traceback" not in err
