"""What a finished run's numbers say, in a sentence a learner can act on.

A learner who sees 98 % training accuracy next to 40 % validation accuracy, or a loss of ``nan``,
needs more than the numbers: what usually causes it, and what to change. :func:`training_advice`
reads a run's history (and its spec and settings) and returns such sentences; the Train page
shows them under the results. Each rule names a cause CNN Lab has met in practice, measured on
this project's networks (the figures are in the comments), not a generic checklist.

No Streamlit and no TensorFlow here: the rules read plain numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from cnn_core.spec import BatchNormalization, Dropout, Spec
from cnn_core.training import History, TrainingConfig

# Validation accuracy this far below training accuracy is not ordinary overfitting. Measured: a
# 14,698-parameter network with batch norm (Keras' default momentum 0.99) after every
# convolution, 3 epochs on 20,000 MNIST digits, reached 98.5 % training accuracy but 46 % on the
# test set in inference mode, and 97.7 % with the very same weights in training mode; with
# momentum 0.9 it scored 97.7 % on the test set. The moving mean and variance, which batch norm
# uses outside training, lag far behind weights that change quickly in a short run.
BN_GAP = 0.15
SLOW_BN_MOMENTUM = 0.95  # the presets use 0.9, as the tutorials did
# A gap between training and validation accuracy larger than this, once training accuracy is
# high, is the network memorising its training images.
OVERFIT_GAP = 0.03
OVERFIT_MIN_ACCURACY = 0.95


@dataclass(frozen=True)
class Advice:
    title: str  # a few words: "The loss blew up"
    text: str  # what happened, with the numbers, and what to try


def _last_epoch_with_validation(history: History):
    done = [e for e in history.epochs if e.val_accuracy is not None and e.complete]
    return done[-1] if done else None


def _first_non_finite(values: Sequence[float]) -> int | None:
    return next((i for i, v in enumerate(values) if not math.isfinite(v)), None)


def training_advice(
    spec: Spec, config: TrainingConfig, history: History, test_accuracy: float | None = None
) -> list[Advice]:
    """The advice that applies to a run that trained ``spec`` with ``config``, from its history.

    Training accuracy is compared with the last validation accuracy or, for a run without a
    validation split, with ``test_accuracy``. Returns an empty list when nothing looks wrong.
    """
    advice: list[Advice] = []
    bad = _first_non_finite(history.batch_loss)
    if bad is not None:
        step = history.steps[bad] if bad < len(history.steps) else bad + 1
        advice.append(
            Advice(
                "The loss blew up",
                f"The loss stopped being a number (NaN or infinity) at step {step:,}: the "
                f"updates grew until they overflowed. A learning rate of {config.learning_rate:g} "
                f"is too high for this network with {config.optimizer}; try one ten times "
                "smaller. Until then the model only guesses.",
            )
        )
        return advice  # every other number of this run is meaningless

    last = _last_epoch_with_validation(history)
    if last is not None:
        train_accuracy, held_out, name = last.accuracy, last.val_accuracy, "validation"
    elif test_accuracy is not None and history.epochs:
        train_accuracy, held_out, name = history.epochs[-1].accuracy, test_accuracy, "test"
    else:
        return advice
    gap = train_accuracy - held_out
    slow_bn = [
        (i, layer.momentum)
        for i, layer in enumerate(spec.layers, 1)
        if isinstance(layer, BatchNormalization) and layer.momentum >= SLOW_BN_MOMENTUM
    ]
    if gap >= BN_GAP and slow_bn:
        where = ", ".join(str(i) for i, _ in slow_bn)
        momentum = slow_bn[0][1]
        advice.append(
            Advice(
                "Batch norm has not caught up",
                f"Training accuracy is {train_accuracy:.1%} but {name} accuracy only "
                f"{held_out:.1%}. That is not ordinary overfitting: outside training, "
                f"batch normalisation (layer{'s' if len(slow_bn) > 1 else ''} {where}) uses a "
                f"moving average of the batches it saw, and with momentum {momentum:g} that "
                "average follows the changing weights too slowly in a short run. Set momentum to "
                "0.9 on the Shapes page (the presets do), or train longer.",
            )
        )
    elif gap > OVERFIT_GAP and train_accuracy >= OVERFIT_MIN_ACCURACY:
        has_dropout = any(isinstance(layer, Dropout) for layer in spec.layers)
        remedies = ["augmentation (shifts and small rotations)", "more training images"]
        if not has_dropout:
            remedies.insert(0, "a Dropout layer before the classifier")
        advice.append(
            Advice(
                "It memorises its training images",
                f"Training accuracy ({train_accuracy:.1%}) is {gap:.1%} above {name} accuracy "
                f"({held_out:.1%}): the network is learning its training images rather "
                f"than digits in general (overfitting). Try {', '.join(remedies[:-1])} or "
                f"{remedies[-1]}.",
            )
        )
    return advice
