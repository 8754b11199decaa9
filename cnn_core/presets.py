"""The preset architectures, in one place. Pages, the command line and exercises read them here.

The tutorial models reproduce the networks of the CNN tutorials this project grew out of; the
others are CNN Lab's own (a tiny model for quick experiments, the Train page's default).
"""

from __future__ import annotations

from dataclasses import dataclass

from cnn_core.spec import Spec


@dataclass(frozen=True)
class Preset:
    name: str  # the slug used by the command line and share links
    title: str  # what a learner sees in a menu
    description: str  # one or two sentences: what it is, where it comes from, what it teaches
    spec: Spec


def _spec(layers: list[dict], input_shape: tuple[int, int, int] = (28, 28, 1)) -> Spec:
    return Spec.from_dict({"input_shape": list(input_shape), "layers": layers})


def _conv(filters: int, **kwargs) -> dict:
    return {"type": "Conv2D", "filters": filters, "kernel_size": 3, "activation": "relu", **kwargs}


_POOL = {"type": "MaxPooling2D", "pool_size": 2}
_FLATTEN = {"type": "Flatten"}
_SOFTMAX10 = {"type": "Dense", "units": 10, "activation": "softmax"}


def _bn(momentum: float = 0.9) -> dict:
    return {"type": "BatchNormalization", "momentum": momentum}


_PRESET_LIST = [
    Preset(
        "tutorial",
        "Tutorial CNN",
        "The tutorials' classic: three 3×3 convolutions (32, 64, 128 filters), each followed by "
        "2×2 max pooling, then Dense 128 and a 10-way softmax. Trained with Adam and "
        "cross-entropy, batch 64.",
        _spec(
            [
                _conv(32),
                _POOL,
                _conv(64),
                _POOL,
                _conv(128),
                _POOL,
                _FLATTEN,
                {"type": "Dense", "units": 128, "activation": "relu"},
                _SOFTMAX10,
            ]
        ),
    ),
    Preset(
        "strided",
        "Strided, no pooling",
        "The Tutorial CNN with stride-2 convolutions doing the down-sampling instead of pooling "
        "layers: the network learns how to shrink the image.",
        _spec(
            [
                _conv(32, strides=2),
                _conv(64, strides=2),
                _conv(128, strides=2),
                _FLATTEN,
                {"type": "Dense", "units": 128, "activation": "relu"},
                _SOFTMAX10,
            ]
        ),
    ),
    Preset(
        "lenet5",
        "LeNet-5 style",
        'After LeCun\'s LeNet-5: 12 then 16 feature maps of 3×3 with "same" padding, each '
        "followed by max pooling, then two SELU dense layers (120 and 84 units) and the softmax.",
        _spec(
            [
                _conv(12, padding="same"),
                _POOL,
                _conv(16, padding="same"),
                _POOL,
                _FLATTEN,
                {"type": "Dense", "units": 120, "activation": "selu"},
                {"type": "Dense", "units": 84, "activation": "selu"},
                _SOFTMAX10,
            ]
        ),
    ),
    Preset(
        "lenet5_bn",
        "LeNet-5 style + batch norm + dropout",
        "The LeNet-5 style model with batch normalisation (momentum 0.9) after each convolution "
        "and dropout before each dense layer: the tutorials' best variant.",
        _spec(
            [
                _conv(12, padding="same"),
                _bn(),
                _POOL,
                _conv(16, padding="same"),
                _bn(),
                _POOL,
                _FLATTEN,
                {"type": "Dropout", "rate": 0.25},
                {"type": "Dense", "units": 120, "activation": "selu"},
                {"type": "Dropout", "rate": 0.25},
                {"type": "Dense", "units": 84, "activation": "selu"},
                _SOFTMAX10,
            ]
        ),
    ),
    Preset(
        "tiny",
        "Tiny (fast)",
        "About 5,000 parameters: two small convolutions and a softmax. Trains an MNIST epoch in "
        "a few seconds, for quick experiments.",
        _spec(
            [
                _conv(8),
                _POOL,
                _conv(16),
                _POOL,
                _FLATTEN,
                _SOFTMAX10,
            ]
        ),
    ),
    Preset(
        "default",
        "CNN Lab default",
        "The Train page's default, tuned to pass 99 % on the MNIST test set within 3 epochs on "
        "a laptop CPU: three 3×3 convolutions (32, 64, 128 filters), each followed by batch "
        "normalisation and 2×2 max pooling, then dropout and the 10-way softmax: about 99,000 "
        "parameters, nearly all of them in the filters.",
        # What made the difference (measured: see benchmarks/time_to_accuracy.py and the README):
        # batch normalisation after every convolution, which lets Adam take 3× larger steps
        # (0.003, warmed up, then cosine-decayed to 0 over the run: training.TrainingConfig);
        # "same" padding on the first two convolutions, so the third still sees 7×7 maps; and
        # dropout straight into the softmax instead of a Dense 128 layer.
        _spec(
            [
                _conv(32, padding="same"),
                _bn(),
                _POOL,
                _conv(64, padding="same"),
                _bn(),
                _POOL,
                _conv(128),
                _bn(),
                _POOL,
                _FLATTEN,
                {"type": "Dropout", "rate": 0.25},
                _SOFTMAX10,
            ]
        ),
    ),
    # The Draw page's pretrained model (cnn_core/assets/digits.keras), trained by the command in
    # the README. Valid padding shrinks the maps early, which keeps it quick to train on a CPU.
    Preset(
        "digits",
        "Draw page model",
        "The Draw page's pretrained model: two pairs of 3×3 convolutions (32, then 64 filters) "
        "with batch normalisation, each pair followed by 2×2 max pooling, then dropout, Dense "
        "128 and the softmax. Trained with random shifts, turns and zooms so that it reads "
        "digits drawn with a mouse, too.",
        _spec(
            [
                _conv(32),
                _bn(),
                _conv(32),
                _bn(),
                _POOL,
                _conv(64),
                _bn(),
                _conv(64),
                _bn(),
                _POOL,
                _FLATTEN,
                {"type": "Dropout", "rate": 0.3},
                {"type": "Dense", "units": 128, "activation": "relu"},
                {"type": "Dropout", "rate": 0.3},
                _SOFTMAX10,
            ]
        ),
    ),
]

PRESETS: dict[str, Preset] = {p.name: p for p in _PRESET_LIST}

# The preset the Train page and `python -m cnn_core train` use when nothing else is chosen.
DEFAULT_PRESET = "default"
# The preset the Shapes page opens with: the first network of the tutorials.
FIRST_PRESET = "tutorial"


def get_preset(name: str) -> Preset:
    """The preset called ``name`` (its slug or its title), or a KeyError naming the choices."""
    for preset in _PRESET_LIST:
        if name in (preset.name, preset.title):
            return preset
    raise KeyError(f"no preset called {name!r}; choose one of: {', '.join(PRESETS)}.")
