"""The preset architectures, in one place. Pages, the command line and exercises read them here.

- :data:`PRESETS`: the tutorials' networks (the CNN tutorials this project grew out of) and CNN
  Lab's own (a tiny model for quick experiments, the Train page's default): stacks of layers
  for 28×28 MNIST digits.
- :data:`FAMOUS`: the famous architectures at their true sizes, on ImageNet's inputs, from
  LeNet-5 to MobileNetV2. ``vgg16``, ``resnet50`` and ``mobilenetv2`` are exactly
  ``keras.applications``' models (``weights=None``, ``include_top=True``, 1000 classes):
  every count and the shape after every block (tested). The others follow their papers' layer
  tables, cited in their descriptions.
- :data:`MINI`: small graphs (a residual network, an Inception network) that train on MNIST on
  a laptop CPU to ≥ 99 % in the Train page's default 3 epochs (benchmarks/mini_graphs.py).

Titles and descriptions are catalogue entries, ``presets.<slug>.title`` and
``presets.<slug>.description`` (``presets.toml``); :attr:`Preset.title` is the English one.
:data:`FAMOUS_FACTS` holds what the comparison chart plots: year, ImageNet accuracy (cited), and
the parameters, multiply-adds and depth computed by the ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from cnn_core.i18n import Message, msg, translate
from cnn_core.spec import Spec

Json = dict[str, Any]


@dataclass(frozen=True)
class Preset:
    name: str  # the slug used by the command line and share links
    spec: Spec

    @property
    def title_message(self) -> Message:
        """What a learner sees in a menu, to be rendered in their language."""
        return msg(f"presets.{self.name}.title")

    @property
    def description_message(self) -> Message:
        """One or two sentences: what it is, where it comes from, what it teaches."""
        return msg(f"presets.{self.name}.description")

    @property
    def title(self) -> str:
        return translate("en", f"presets.{self.name}.title")

    @property
    def description(self) -> str:
        return translate("en", f"presets.{self.name}.description")


def _spec(layers: list[Json], input_shape: tuple[int, int, int] = (28, 28, 1)) -> Spec:
    return Spec.from_dict({"input_shape": list(input_shape), "layers": layers})


def _conv(filters: int, kernel_size: int | list[int] = 3, **kwargs: Any) -> Json:
    return {
        "type": "Conv2D",
        "filters": filters,
        "kernel_size": kernel_size,
        "activation": "relu",
        **kwargs,
    }


_POOL = {"type": "MaxPooling2D", "pool_size": 2}
_FLATTEN = {"type": "Flatten"}
_SOFTMAX10 = {"type": "Dense", "units": 10, "activation": "softmax"}
_SOFTMAX1000 = {"type": "Dense", "units": 1000, "activation": "softmax"}


def _bn(momentum: float = 0.9, **kwargs: Any) -> Json:
    return {"type": "BatchNormalization", "momentum": momentum, **kwargs}


# --------------------------------------------------------------------------------------------
# The tutorials' networks and CNN Lab's own
# --------------------------------------------------------------------------------------------

_PRESET_LIST = [
    Preset(
        "tutorial",
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
        _spec([_conv(8), _POOL, _conv(16), _POOL, _FLATTEN, _SOFTMAX10]),
    ),
    # What made the difference (measured: see benchmarks/time_to_accuracy.py and the README):
    # batch normalisation after every convolution, which lets Adam take 3× larger steps
    # (0.003, warmed up, then cosine-decayed to 0 over the run: training.TrainingConfig);
    # "same" padding on the first two convolutions, so the third still sees 7×7 maps; and
    # dropout straight into the softmax instead of a Dense 128 layer.
    Preset(
        "default",
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


# --------------------------------------------------------------------------------------------
# The famous networks
# --------------------------------------------------------------------------------------------


def _lenet5_classic() -> Spec:
    """LeCun et al. 1998, section II.B: C1 (6 maps 5×5) S2 C3 (16) S4 C5 (120) F6 (84) output."""
    tanh = {"activation": "tanh"}
    average = {"type": "AveragePooling2D", "pool_size": 2}
    return _spec(
        [
            _conv(6, 5, **tanh),
            average,
            _conv(16, 5, **tanh),
            average,
            _conv(120, 5, **tanh),
            _FLATTEN,
            {"type": "Dense", "units": 84, **tanh},
            _SOFTMAX10,
        ],
        (32, 32, 1),
    )


def _alexnet() -> Spec:
    """Krizhevsky et al. 2012, figure 2 and section 3.5, on one GPU (no local response
    normalisation: it has no parameters and later networks dropped it)."""
    pool = {"type": "MaxPooling2D", "pool_size": 3, "strides": 2}
    dropout = {"type": "Dropout", "rate": 0.5}
    return _spec(
        [
            _conv(96, 11, strides=4),
            pool,
            _conv(256, 5, padding="same"),
            pool,
            _conv(384, 3, padding="same"),
            _conv(384, 3, padding="same"),
            _conv(256, 3, padding="same"),
            pool,
            _FLATTEN,
            {"type": "Dense", "units": 4096, "activation": "relu"},
            dropout,
            {"type": "Dense", "units": 4096, "activation": "relu"},
            dropout,
            _SOFTMAX1000,
        ],
        (227, 227, 3),
    )


def _vgg16() -> Spec:
    """keras.applications.VGG16: five blocks of 3×3 "same" convolutions, each ending in 2×2 max
    pooling, then two Dense 4096 and the 1000-way softmax."""
    blocks = []
    for number, (filters, convs) in enumerate(((64, 2), (128, 2), (256, 3), (512, 3), (512, 3)), 1):
        layers = [_conv(filters, padding="same") for _ in range(convs)]
        blocks.append({"type": "Sequential", "name": f"block{number}", "layers": [*layers, _POOL]})
    fc = {"type": "Dense", "units": 4096, "activation": "relu"}
    return _spec([*blocks, _FLATTEN, fc, fc, _SOFTMAX1000], (224, 224, 3))


def _inception(
    name: str, ones: int, reduce3: int, threes: int, reduce5: int, fives: int, proj: int
) -> Json:
    """An Inception (v1) module, in the columns of Szegedy et al. 2014, Table 1."""
    return {
        "type": "Parallel",
        "name": name,
        "paths": [
            [_conv(ones, 1)],
            [_conv(reduce3, 1), _conv(threes, 3, padding="same")],
            [_conv(reduce5, 1), _conv(fives, 5, padding="same")],
            [
                {"type": "MaxPooling2D", "pool_size": 3, "strides": 1, "padding": "same"},
                _conv(proj, 1),
            ],
        ],
    }


def _googlenet() -> Spec:
    """Szegedy et al. 2014, Table 1: the main network, without the auxiliary classifiers (used
    only while training) or local response normalisation (no parameters)."""
    pool = {"type": "MaxPooling2D", "pool_size": 3, "strides": 2, "padding": "same"}
    return _spec(
        [
            _conv(64, 7, strides=2, padding="same"),
            pool,
            _conv(64, 1),
            _conv(192, 3, padding="same"),
            pool,
            _inception("inception_3a", 64, 96, 128, 16, 32, 32),
            _inception("inception_3b", 128, 128, 192, 32, 96, 64),
            pool,
            _inception("inception_4a", 192, 96, 208, 16, 48, 64),
            _inception("inception_4b", 160, 112, 224, 24, 64, 64),
            _inception("inception_4c", 128, 128, 256, 24, 64, 64),
            _inception("inception_4d", 112, 144, 288, 32, 64, 64),
            _inception("inception_4e", 256, 160, 320, 32, 128, 128),
            pool,
            _inception("inception_5a", 256, 160, 320, 32, 128, 128),
            _inception("inception_5b", 384, 192, 384, 48, 128, 128),
            {"type": "AveragePooling2D", "pool_size": 7, "strides": 1},
            _FLATTEN,
            {"type": "Dropout", "rate": 0.4},
            _SOFTMAX1000,
        ],
        (224, 224, 3),
    )


_RESNET_BN = {"type": "BatchNormalization", "epsilon": 1.001e-5}  # as keras.applications
_RELU = {"type": "Activation", "activation": "relu"}


def _bottleneck(name: str, filters: int, stride: int, *, projection: bool, repeat: int = 1) -> Json:
    """ResNet's bottleneck block as keras.applications builds it (v1: the stride on the first
    1×1 convolution): 1×1 to ``filters``, 3×3, 1×1 to 4 × ``filters``; a projection shortcut
    (a strided 1×1 Conv2D and batch norm) where the shape changes, the identity elsewhere."""
    main = [
        {"type": "Conv2D", "filters": filters, "kernel_size": 1, "strides": stride},
        _RESNET_BN,
        _RELU,
        {"type": "Conv2D", "filters": filters, "kernel_size": 3, "padding": "same"},
        _RESNET_BN,
        _RELU,
        {"type": "Conv2D", "filters": 4 * filters, "kernel_size": 1},
        _RESNET_BN,
    ]
    shortcut = (
        [
            {"type": "Conv2D", "filters": 4 * filters, "kernel_size": 1, "strides": stride},
            _RESNET_BN,
        ]
        if projection
        else []
    )
    block: Json = {
        "type": "Residual",
        "name": name,
        "main": main,
        "shortcut": shortcut,
        "activation": "relu",
    }
    if repeat > 1:
        block["repeat"] = repeat
    return block


def _resnet50() -> Spec:
    """keras.applications.ResNet50 (He et al. 2015, Table 1, 50-layer column)."""
    stages = []
    for stage, (filters, blocks, stride) in enumerate(
        ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)), 2
    ):
        stages.append(
            {
                "type": "Sequential",
                "name": f"conv{stage}_x",
                "layers": [
                    _bottleneck(f"conv{stage}_block1", filters, stride, projection=True),
                    _bottleneck(
                        f"conv{stage}_block2-{blocks}",
                        filters,
                        1,
                        projection=False,
                        repeat=blocks - 1,
                    ),
                ],
            }
        )
    return _spec(
        [
            {"type": "ZeroPadding2D", "padding": 3},
            {"type": "Conv2D", "filters": 64, "kernel_size": 7, "strides": 2},
            _RESNET_BN,
            _RELU,
            {"type": "ZeroPadding2D", "padding": 1},
            {"type": "MaxPooling2D", "pool_size": 3, "strides": 2},
            *stages,
            {"type": "GlobalAveragePooling2D"},
            _SOFTMAX1000,
        ],
        (224, 224, 3),
    )


_MOBILE_BN = {"type": "BatchNormalization", "epsilon": 0.001, "momentum": 0.999}
_RELU6 = {"type": "ReLU", "max_value": 6.0}


def _pointwise(filters: int) -> Json:
    return {
        "type": "Conv2D",
        "filters": filters,
        "kernel_size": 1,
        "padding": "same",
        "use_bias": False,
    }


def _inverted_residual(
    name: str, in_channels: int, filters: int, stride: int, expansion: int, repeat: int = 1
) -> Json:
    """MobileNetV2's inverted residual block as keras.applications builds it: a 1×1 expansion
    (none in the first block), a 3×3 depthwise convolution (zero padding first when strided),
    a linear 1×1 projection; added to its input when the shape stays the same."""
    layers: list[Json] = []
    if expansion > 1:
        layers += [_pointwise(in_channels * expansion), _MOBILE_BN, _RELU6]
    depthwise: Json = {
        "type": "DepthwiseConv2D",
        "kernel_size": 3,
        "strides": stride,
        "use_bias": False,
    }
    if stride == 2:  # keras' correct_pad for even sizes: one row and column after
        layers.append({"type": "ZeroPadding2D", "padding": [[0, 1], [0, 1]]})
    else:
        depthwise["padding"] = "same"
    layers += [depthwise, _MOBILE_BN, _RELU6, _pointwise(filters), _MOBILE_BN]
    if stride == 1 and in_channels == filters:
        block: Json = {"type": "Residual", "name": name, "main": layers, "shortcut": []}
        if repeat > 1:
            block["repeat"] = repeat
        return block
    assert repeat == 1
    return {"type": "Sequential", "name": name, "layers": layers}


def _mobilenetv2() -> Spec:
    """keras.applications.MobileNetV2 (Sandler et al. 2018, Table 2; width 1.0, 224×224)."""
    # (expansion t, channels c, blocks n, first stride s): the rows of the paper's Table 2.
    table = (
        (1, 16, 1, 1),
        (6, 24, 2, 2),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    )
    blocks, channels, number = [], 32, 0
    for expansion, filters, count, stride in table:
        first = "expanded_conv" if number == 0 else f"block_{number}"
        blocks.append(_inverted_residual(first, channels, filters, stride, expansion))
        channels, number = filters, number + 1
        if count > 1:
            name = f"block_{number}" if count == 2 else f"block_{number}-{number + count - 2}"
            blocks.append(
                _inverted_residual(name, channels, filters, 1, expansion, repeat=count - 1)
            )
            number += count - 1
    return _spec(
        [
            {
                "type": "Conv2D",
                "filters": 32,
                "kernel_size": 3,
                "strides": 2,
                "padding": "same",
                "use_bias": False,
            },
            _MOBILE_BN,
            _RELU6,
            *blocks,
            {"type": "Conv2D", "filters": 1280, "kernel_size": 1, "use_bias": False},
            _MOBILE_BN,
            _RELU6,
            {"type": "GlobalAveragePooling2D"},
            _SOFTMAX1000,
        ],
        (224, 224, 3),
    )


_FAMOUS_LIST = [
    Preset("lenet5_classic", _lenet5_classic()),
    Preset("alexnet", _alexnet()),
    Preset("vgg16", _vgg16()),
    Preset("googlenet", _googlenet()),
    Preset("resnet50", _resnet50()),
    Preset("mobilenetv2", _mobilenetv2()),
]


# --------------------------------------------------------------------------------------------
# Small graphs that train on MNIST
# --------------------------------------------------------------------------------------------


def _conv_bn(filters: int, kernel_size: int = 3, **kwargs: Any) -> list[Json]:
    """A convolution without bias (batch norm's offset does its job) and its batch norm."""
    conv = {
        "type": "Conv2D",
        "filters": filters,
        "kernel_size": kernel_size,
        "padding": "same",
        "use_bias": False,
    }
    return [{**conv, **kwargs}, _bn()]


def _mini_resnet() -> Spec:
    """Two residual stages on 14×14 and 7×7 maps, as in a ResNet: identity shortcuts where the
    shape stays, a strided 1×1 projection where it halves."""
    return _spec(
        [
            *_conv_bn(32),
            _RELU,
            _POOL,
            {
                "type": "Residual",
                "name": "block1",
                "main": [*_conv_bn(32), _RELU, *_conv_bn(32)],
                "shortcut": [],
                "activation": "relu",
            },
            {
                "type": "Residual",
                "name": "block2",
                "main": [*_conv_bn(64, strides=2), _RELU, *_conv_bn(64)],
                "shortcut": _conv_bn(64, 1, strides=2),
                "activation": "relu",
            },
            {
                "type": "Residual",
                "name": "block3",
                "main": [*_conv_bn(64), _RELU, *_conv_bn(64)],
                "shortcut": [],
                "activation": "relu",
            },
            {"type": "GlobalAveragePooling2D"},
            {"type": "Dropout", "rate": 0.25},
            _SOFTMAX10,
        ]
    )


def _mini_inception() -> Spec:
    """Two Inception modules (1×1, 3×3 and 5×5 paths with 1×1 reductions, and a pooling path),
    each followed by batch norm and pooling."""
    return _spec(
        [
            *_conv_bn(32),
            _RELU,
            _POOL,
            _inception("inception_a", 16, 16, 32, 8, 16, 16),
            _bn(),
            _POOL,
            _inception("inception_b", 32, 32, 64, 16, 32, 32),
            _bn(),
            {"type": "GlobalAveragePooling2D"},
            {"type": "Dropout", "rate": 0.25},
            _SOFTMAX10,
        ]
    )


_MINI_LIST = [Preset("mini_resnet", _mini_resnet()), Preset("mini_inception", _mini_inception())]

PRESETS: dict[str, Preset] = {p.name: p for p in _PRESET_LIST}
FAMOUS: dict[str, Preset] = {p.name: p for p in _FAMOUS_LIST}
MINI: dict[str, Preset] = {p.name: p for p in _MINI_LIST}
ALL_PRESETS: dict[str, Preset] = {**PRESETS, **FAMOUS, **MINI}

# The preset the Train page and `python -m cnn_core train` use when nothing else is chosen.
DEFAULT_PRESET = "default"
# The preset the Shapes page opens with: the first network of the tutorials.
FIRST_PRESET = "tutorial"


def get_preset(name: str) -> Preset:
    """The preset called ``name`` (its slug or its English title), or a KeyError naming the
    choices."""
    for preset in ALL_PRESETS.values():
        if name in (preset.name, preset.title):
            return preset
    raise KeyError(str(msg("presets.unknown", name=repr(name), choices=", ".join(ALL_PRESETS))))


# --------------------------------------------------------------------------------------------
# The comparison of the famous networks
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """What the comparison of the famous networks shows for one of them.

    The year and the ImageNet accuracies are quoted (``source`` says from where); parameters,
    multiply-adds and depth are computed from the preset by the ledger, so they are the same
    numbers the Shapes page shows (and, for the keras.applications models, Keras' own).
    """

    preset: str
    year: int
    top1: float | None  # ImageNet top-1 accuracy (validation set, one centre crop), or None
    top5: float | None
    source: str  # where the accuracy comes from ("" when none is quoted)

    @cached_property
    def _ledger(self) -> Any:
        from cnn_core.shapes import ledger

        return ledger(ALL_PRESETS[self.preset].spec)

    @property
    def params(self) -> int:
        return self._ledger.total_params

    @property
    def macs(self) -> int:
        """Multiply-adds for one image at the network's own input size."""
        return self._ledger.total_macs

    @property
    def depth(self) -> int:
        """Weight layers on the longest path (VGG16: 16, ResNet-50: 50, GoogLeNet: 22)."""
        return self._ledger.weighted_depth

    @property
    def note(self) -> Message:
        """Where the accuracy comes from, or why there is none, for a person."""
        return msg(f"presets.facts.{self.preset}")


KERAS_APPLICATIONS = "https://keras.io/api/applications/"
FAMOUS_FACTS: tuple[Facts, ...] = (
    # LeNet-5 read digits (MNIST's ancestor), not ImageNet: 0.95 % test error on MNIST.
    Facts("lenet5_classic", 1998, None, None, ""),
    # ILSVRC-2012 validation, one network: 40.7 % top-1 and 18.2 % top-5 error (Table 2).
    Facts("alexnet", 2012, 0.593, 0.818, "Krizhevsky et al. 2012, Table 2"),
    Facts("vgg16", 2014, 0.713, 0.901, KERAS_APPLICATIONS),
    # The paper gives top-5 only: 10.07 % error for one network and one crop (Table 3).
    Facts("googlenet", 2014, None, 0.8993, "Szegedy et al. 2014, Table 3"),
    Facts("resnet50", 2015, 0.749, 0.921, KERAS_APPLICATIONS),
    Facts("mobilenetv2", 2018, 0.713, 0.901, KERAS_APPLICATIONS),
)
