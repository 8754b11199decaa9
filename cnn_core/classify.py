"""Classify a drawing with a Keras model, and show what every layer made of it.

A :class:`Classifier` wraps a model that takes an image and gives class probabilities:

- it checks the model can take a drawing at all (an image input, 1 or 3 channels, one output
  per class) and says plainly why not otherwise (:class:`ModelError`);
- it adapts the 28×28 MNIST-style digit from :mod:`cnn_core.canvas` to the model's own input
  (another size is resized, 3 channels get three copies of the gray);
- it predicts through a compiled TensorFlow graph for one image: ~2 ms for the bundled model
  on a 2-core CPU, where ``model.predict`` spends ~40 ms setting up a data pipeline for a
  single image (benchmarks/classify_latency.py measures both);
- it returns the output of every layer for the same input, for the "path through the network".

Models from files are loaded by :func:`load_model_file` with Keras' safe mode: a model that
carries Python code (a ``Lambda`` layer) is refused, never run. No Streamlit here.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cnn_core.canvas import Preprocessed, preprocess
from cnn_core.config import LIMITS
from cnn_core.data import ASSETS

if TYPE_CHECKING:
    import keras

BUNDLED_MODEL_PATH = ASSETS / "digits.keras"
# How the bundled model was made (the README repeats this), and what it scored on the 10,000
# MNIST test digits: tests/test_classify.py re-measures the score with Keras.
BUNDLED_COMMAND = (
    "python -m cnn_core train --preset digits --epochs 15 "
    "--augment shift=0.1,rotation=10,zoom=0.1 --validation-split 0 "
    "--out cnn_core/assets/digits.keras"
)
BUNDLED_TEST_ACCURACY = 0.9947
BUNDLED_NAME = "Bundled digits model"
DIGIT_NAMES = tuple(str(d) for d in range(10))

# Below this top probability the page says the model is unsure, and shows the runner-up.
# MNIST test digits the bundled model gets right score above 0.9 almost always; a drawing
# scoring under 0.6 is usually ambiguous (a 4 that could be a 9) or not a digit at all.
UNSURE_BELOW = 0.6

# A .keras file is a zip; its weights hardly compress, so an archive that unpacks to many
# times the upload limit is not a model but a zip bomb.
MAX_UNPACKED_FACTOR = 4


class ModelError(ValueError):
    """A model file or model that cannot classify drawings, with a message for the learner."""


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerOutput:
    """What one layer produced for one input (the batch dimension removed)."""

    name: str  # the layer's name in the model, e.g. "conv2d_1"
    type: str  # its Keras class, e.g. "Conv2D"
    values: np.ndarray  # (height, width, maps) for image-shaped outputs, (units,) for vectors

    @property
    def is_feature_maps(self) -> bool:
        return self.values.ndim == 3

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.values.shape)


@dataclass(frozen=True)
class Classification:
    """A prediction for one image, or the reason there is none (an empty canvas)."""

    preprocessed: Preprocessed
    probabilities: np.ndarray | None  # (classes,) summing to 1; None when there was no digit
    class_names: tuple[str, ...]
    layers: tuple[LayerOutput, ...] = ()  # every layer's output, when asked for

    @property
    def prediction(self) -> int | None:
        return None if self.probabilities is None else int(np.argmax(self.probabilities))

    @property
    def label(self) -> str | None:
        return None if self.prediction is None else self.class_names[self.prediction]

    @property
    def confidence(self) -> float | None:
        return None if self.probabilities is None else float(self.probabilities.max())

    @property
    def runner_up(self) -> int | None:
        """The second most probable class."""
        if self.probabilities is None or len(self.probabilities) < 2:
            return None
        return int(np.argsort(self.probabilities)[-2])

    @property
    def unsure(self) -> bool:
        """True when the top probability is below :data:`UNSURE_BELOW`."""
        return self.confidence is not None and self.confidence < UNSURE_BELOW


# --------------------------------------------------------------------------------------------
# Checking and adapting a model
# --------------------------------------------------------------------------------------------


def _shape_text(shape: Any) -> str:
    return "×".join("?" if d is None else str(d) for d in shape)


@dataclass(frozen=True)
class InputPlan:
    """How a 28×28 gray digit becomes this model's input."""

    shape: tuple[int, int, int]  # the model's (height, width, channels)
    pixel_scale: float  # 1.0 for inputs in [0, 1]; 255.0 for models that rescale 0-255 themselves
    note: str  # for the learner; empty when the model takes MNIST's own shape

    def adapt(self, digit: np.ndarray) -> np.ndarray:
        """(28, 28) in [0, 1] → (1, height, width, channels) float32, as the model takes it."""
        height, width, channels = self.shape
        image = digit.astype(np.float32, copy=False)
        if image.shape != (height, width):
            from PIL import Image

            image = np.asarray(
                Image.fromarray(image).resize((width, height), Image.Resampling.BILINEAR),
                dtype=np.float32,
            )
        image = image * self.pixel_scale
        return np.repeat(image[np.newaxis, :, :, np.newaxis], channels, axis=3)


def plan_input(model: keras.Model) -> InputPlan:
    """Check that ``model`` takes one image and gives class scores; say how to feed it a digit.

    Raises:
        ModelError: the model's input is not an image (height, width, 1 or 3 channels), or its
            output is not one score per class.
    """
    inputs = getattr(model, "inputs", None)
    if not inputs:
        raise ModelError(
            "this model has no defined input shape (it was never built or called), so CNN Lab "
            "cannot tell what it expects."
        )
    if len(inputs) != 1:
        raise ModelError(f"this model takes {len(inputs)} inputs; a drawing is one image.")
    shape = tuple(inputs[0].shape[1:])
    if len(shape) != 3:
        flat = f" of {shape[0]} numbers" if len(shape) == 1 and shape[0] else ""
        kind = f"a flat vector{flat}" if len(shape) == 1 else "another kind of data"
        raise ModelError(
            f"this model's input is {_shape_text(shape)}, not an image: it takes {kind}. The "
            "Draw page needs a model whose input is an image (height, width, channels), like "
            "every network made on the Train page."
        )
    height, width, channels = shape
    if height is None or width is None:
        raise ModelError(
            "this model accepts images of any size (its input is "
            f"{_shape_text(shape)}); CNN Lab needs a fixed height and width to draw into."
        )
    if channels not in (1, 3):
        raise ModelError(
            f"this model takes images with {channels} channels; a drawing can be given as "
            "1 channel (grayscale) or 3 (RGB) only."
        )
    if not (8 <= height <= LIMITS.max_input_side and 8 <= width <= LIMITS.max_input_side):
        raise ModelError(
            f"this model takes {height}×{width} images; a digit can be drawn into sizes from "
            f"8×8 up to {LIMITS.max_input_side}×{LIMITS.max_input_side}."
        )
    outputs = getattr(model, "outputs", None) or []
    if len(outputs) != 1 or len(outputs[0].shape) != 2 or (outputs[0].shape[1] or 0) < 2:
        got = ", ".join(_shape_text(o.shape[1:]) for o in outputs) or "nothing"
        raise ModelError(
            f"this model's output is {got}; a classifier gives one score per class "
            "(e.g. 10 for digits), ending in a Dense layer."
        )

    # A model that starts with Rescaling(1/255) expects pixels 0-255, not 0-1.
    first = model.layers[0] if model.layers else None
    pixel_scale = 1.0
    if type(first).__name__ == "Rescaling" and abs(float(first.scale) * 255 - 1) < 0.01:
        pixel_scale = 255.0

    notes = []
    if (height, width) != (28, 28):
        notes.append(f"resized from 28×28 to {height}×{width}")
    if channels == 3:
        notes.append("the gray copied into the red, green and blue channels")
    if pixel_scale != 1.0:
        notes.append("pixels given as 0-255 (the model rescales them itself)")
    note = ""
    if notes:
        note = f"This model takes {height}×{width}×{channels} images: the drawing is " + (
            "; ".join(notes) + "."
        )
    return InputPlan((int(height), int(width), int(channels)), pixel_scale, note)


def _as_probabilities(scores: np.ndarray) -> np.ndarray:
    """Scores as probabilities. A model ending without softmax gives logits: apply softmax."""
    scores = scores.astype(np.float64)
    if scores.min() >= 0 and abs(scores.sum() - 1.0) < 1e-3:
        return scores
    exp = np.exp(scores - scores.max())
    return exp / exp.sum()


# --------------------------------------------------------------------------------------------
# The classifier
# --------------------------------------------------------------------------------------------


class Classifier:
    """A model ready to classify drawings: checked, adapted, compiled and warmed up.

    Read-only once made, so one instance (the bundled model's) can serve every visitor.
    """

    def __init__(self, model: keras.Model, name: str, class_names: tuple[str, ...] | None = None):
        """
        Args:
            model: a built Keras model with an image input and one score per class.
            name: what the page calls it, e.g. "Bundled model".
            class_names: a name per output; "0"…"9" for a 10-class model when not given.

        Raises:
            ModelError: the model cannot take a drawing (see :func:`plan_input`).
        """
        import keras

        self.model = model
        self.name = name
        self.plan = plan_input(model)
        num_classes = int(model.outputs[0].shape[1])
        if class_names is not None and len(class_names) == num_classes:
            self.class_names = tuple(class_names)
        elif num_classes == 10:
            self.class_names = DIGIT_NAMES
        else:
            self.class_names = tuple(str(i) for i in range(num_classes))
        # One model with every layer's output, for the path through the network. Layers of a
        # subclassed model have no symbolic outputs to collect; those models show none.
        self._layers = [layer for layer in model.layers if _single_output(layer)]
        try:
            tracer = keras.Model(model.inputs, [layer.output for layer in self._layers])
        except (ValueError, AttributeError, TypeError):
            self._layers, tracer = [], None
        # The fast path: each forward pass compiled once into a TensorFlow graph for exactly one
        # image of this shape (~2 ms for this model on a 2-core CPU, vs ~40 ms for
        # model.predict, which builds a data pipeline on every call, and ~20 ms for an eager
        # model(x) call; predict_on_batch is in between).
        import tensorflow as tf

        signature = [tf.TensorSpec((1, *self.plan.shape), tf.float32)]
        self._forward = tf.function(lambda x: model(x, training=False), input_signature=signature)
        self._tracer = None
        if tracer is not None:
            self._tracer = tf.function(
                lambda x: tracer(x, training=False), input_signature=signature
            )
        # Warm up: the first call traces and compiles the graph (a few hundred ms); doing it
        # now means the first drawing, and concurrent visitors, get the fast path.
        blank = np.zeros((28, 28), np.float32)
        self.probabilities(blank)
        self.layer_outputs(blank)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return self.plan.shape

    @property
    def num_params(self) -> int:
        return int(self.model.count_params())

    def probabilities(self, digit: np.ndarray) -> np.ndarray:
        """Class probabilities for one (28, 28) digit in [0, 1]: the fast path."""
        scores = self._forward(self.plan.adapt(digit))
        return _as_probabilities(np.asarray(scores)[0])

    def layer_outputs(self, digit: np.ndarray) -> tuple[LayerOutput, ...]:
        """Every layer's output for one digit, in order (one forward pass)."""
        if self._tracer is None:
            return ()
        outputs = self._tracer(self.plan.adapt(digit))
        if not isinstance(outputs, list | tuple):
            outputs = [outputs]
        return tuple(
            LayerOutput(layer.name, type(layer).__name__, np.asarray(values)[0])
            for layer, values in zip(self._layers, outputs, strict=True)
        )

    def classify(self, image: Any, *, with_layers: bool = False) -> Classification:
        """Preprocess ``image`` the MNIST way and classify it.

        Args:
            image: anything :func:`cnn_core.canvas.preprocess` takes (the canvas's array, a
                Pillow image, a grayscale array).
            with_layers: also return every layer's output (one forward pass serves both).
        """
        preprocessed = preprocess(image)
        return self.classify_digit(preprocessed, with_layers=with_layers)

    def classify_digit(
        self, preprocessed: Preprocessed, *, with_layers: bool = False
    ) -> Classification:
        """Classify an already preprocessed image (no prediction when it is empty)."""
        if preprocessed.digit is None:
            return Classification(preprocessed, None, self.class_names)
        if with_layers and self._tracer is not None:
            layers = self.layer_outputs(preprocessed.digit)
            probabilities = _as_probabilities(layers[-1].values.reshape(-1))
            return Classification(preprocessed, probabilities, self.class_names, layers)
        probabilities = self.probabilities(preprocessed.digit)
        return Classification(preprocessed, probabilities, self.class_names)


def _single_output(layer: Any) -> bool:
    try:
        output = layer.output
    except (AttributeError, ValueError):  # a layer used twice, or never called
        return False
    return not isinstance(output, list | tuple | dict)


# --------------------------------------------------------------------------------------------
# Loading model files
# --------------------------------------------------------------------------------------------


def _check_archive(path: Path, name: str) -> None:
    """Refuse files that are not .keras archives before Keras opens them."""
    size = path.stat().st_size
    if size > LIMITS.max_upload_mb * 1024 * 1024:
        raise ModelError(
            f"{name} is {size / 1024 / 1024:.1f} MB; CNN Lab accepts model files up to "
            f"{LIMITS.max_upload_mb} MB."
        )
    with open(path, "rb") as file:
        head = file.read(8)
    if head.startswith(b"\x89HDF"):
        raise ModelError(
            f"{name} is an old-style HDF5 (.h5) model. CNN Lab reads the Keras 3 format only: "
            'load it in Keras and save it again with model.save("model.keras").'
        )
    if not zipfile.is_zipfile(path):
        if head.startswith(b"PK\x03\x04"):  # a zip's first member, but no table of contents
            raise ModelError(
                f"{name} is a damaged or incomplete .keras file (the end of its zip archive is "
                "missing): download or save it again."
            )
        raise ModelError(
            f"{name} is not a Keras model file: a .keras file is a zip archive made by "
            'model.save("model.keras"), and this one is not (damaged, or another kind of file).'
        )
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except zipfile.BadZipFile as err:
        raise ModelError(f"{name} is a damaged zip archive ({err}).") from None
    names = {member.filename for member in members}
    if "config.json" not in names:
        raise ModelError(
            f"{name} is a zip archive but not a Keras model (it has no config.json). Save "
            'models with model.save("model.keras").'
        )
    unpacked = sum(member.file_size for member in members)
    if unpacked > MAX_UNPACKED_FACTOR * LIMITS.max_upload_mb * 1024 * 1024:
        raise ModelError(
            f"{name} unpacks to {unpacked / 1024 / 1024:.0f} MB; CNN Lab refuses archives that "
            f"large (the limit is {MAX_UNPACKED_FACTOR * LIMITS.max_upload_mb} MB)."
        )
    _check_members_unpack_as_declared(path, name)


def _check_members_unpack_as_declared(path: Path, name: str) -> None:
    """Inflate every member a megabyte at a time, before Keras reads any of them.

    Keras reads a member whole, and ``ZipFile.read`` inflates all of a member's compressed bytes
    in one call before cutting the result to the size its header declares: a 1 MB .keras whose
    header understates a member's size made 2 GB of memory that way. Read in steps, the output
    never exceeds the declared sizes (checked above), and such a lie fails the CRC check here.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            for member in archive.infolist():
                with archive.open(member) as stream:
                    while stream.read(1 << 20):
                        pass
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as err:
        raise ModelError(f"{name} is a damaged zip archive ({err}).") from None
    except NotImplementedError:  # zipfile: "That compression method is not supported"
        raise ModelError(
            f"{name} is packed with a compression method Keras does not use; save it again with "
            'model.save("model.keras").'
        ) from None
    except RuntimeError:  # zipfile: "File … is encrypted, password required …"
        raise ModelError(
            f"{name} is password-protected; Keras saves models without one. Save it again with "
            'model.save("model.keras").'
        ) from None


def _explain_load_error(err: Exception, name: str) -> ModelError:
    text = str(err)
    if "arbitrary code execution" in text or "lambda" in text.lower():
        return ModelError(
            f"{name} contains Python code (a Lambda layer or function). CNN Lab loads models in "
            "Keras' safe mode and never runs code from a model file: rebuild the model with "
            "standard layers only."
        )
    if "Could not locate" in text or "Unknown layer" in text:
        return ModelError(
            f"{name} uses a custom layer or function that CNN Lab does not know: "
            f"{text.splitlines()[0]} Only models made of Keras' own layers can be loaded."
        )
    first_line = text.strip().splitlines()[0] if text.strip() else type(err).__name__
    return ModelError(f"{name} could not be loaded as a Keras model: {first_line}")


def load_keras_model(source: str | Path | bytes, name: str = "the model file") -> keras.Model:
    """Load a ``.keras`` file (a path, or the bytes of an upload) with Keras' safe mode.

    Uploads are written to a private temporary file first (Keras reads paths); it is removed
    afterwards. The model is loaded uncompiled: classifying needs no optimizer or loss.

    Raises:
        ModelError: missing, too large, not a .keras archive, contains code, uses unknown
            layers, or any other reason Keras gives for refusing it, said plainly.
    """
    import keras

    temp_path: str | None = None
    try:
        if isinstance(source, bytes):
            handle, temp_path = tempfile.mkstemp(suffix=".keras", prefix="cnn_lab_upload_")
            with os.fdopen(handle, "wb") as file:
                file.write(source)
            path = Path(temp_path)
        else:
            path = Path(source)
            name = str(source) if name == "the model file" else name
            if not path.exists():
                raise ModelError(f"no such file: {source}")
            if path.is_dir():
                raise ModelError(f"{source} is a folder; give a .keras model file.")
            if path.suffix != ".keras":
                # Keras decides the format by the file name; give it the name it expects.
                handle, temp_path = tempfile.mkstemp(suffix=".keras", prefix="cnn_lab_model_")
                with os.fdopen(handle, "wb") as file:
                    file.write(path.read_bytes())
                path = Path(temp_path)
        _check_archive(path, name)
        try:
            model = keras.models.load_model(path, compile=False, safe_mode=True)
        except Exception as err:  # untrusted input: Keras raises many kinds; each is explained
            raise _explain_load_error(err, name) from None
    finally:
        if temp_path is not None:
            Path(temp_path).unlink(missing_ok=True)
    if not isinstance(model, keras.Model):
        raise ModelError(f"{name} holds a {type(model).__name__}, not a model.")
    params = model.count_params()
    if params > LIMITS.max_model_params:
        raise ModelError(
            f"{name} has {params:,} parameters; CNN Lab accepts models up to "
            f"{LIMITS.max_model_params:,} here."
        )
    return model


def load_classifier(source: str | Path | bytes, name: str = "the model file") -> Classifier:
    """:func:`load_keras_model`, then check the model can classify drawings."""
    model = load_keras_model(source, name)
    try:
        return Classifier(model, name)
    except ModelError as err:
        raise ModelError(f"{name}: {err}") from None


def load_bundled() -> Classifier:
    """The pretrained digits model that ships with CNN Lab (see the README for how it was made)."""
    if not BUNDLED_MODEL_PATH.exists():
        raise ModelError(
            f"the bundled model {BUNDLED_MODEL_PATH.name} is missing from "
            f"{BUNDLED_MODEL_PATH.parent}; reinstall CNN Lab or train it (see the README)."
        )
    return load_classifier(BUNDLED_MODEL_PATH, BUNDLED_NAME)
