"""The command line: ``python -m cnn_core <command> ...``. Run with ``--help`` for the commands.

Each command is a function ``cmd_<name>(args) -> int`` registered in :func:`build_parser`. Bad
input raises :class:`CliError`; ``main`` prints its message and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cnn_core.presets import ALL_PRESETS, get_preset
from cnn_core.shapes import Ledger, fmt, human_bytes, ledger, shape_text
from cnn_core.spec import Spec, SpecError


class CliError(Exception):
    """Bad input on the command line: printed as one clear message, exit status 2."""


def read_spec(path: str) -> Spec:
    """Load a spec from a JSON file (``-`` reads standard input)."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_bytes()
    except FileNotFoundError:
        raise CliError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise CliError(f"{path} is a folder; give a spec's JSON file.") from None
    except OSError as err:
        raise CliError(f"cannot read {path}: {err.strerror}.") from None
    try:
        return Spec.from_json(text)
    except SpecError as err:
        raise CliError(f"{path} is not a valid spec:\n{err}") from None


def spec_from_args(args: argparse.Namespace) -> Spec | None:
    """The spec named by ``args.spec`` (a file) or ``args.preset``, or None when neither is given."""
    if getattr(args, "spec", None) and getattr(args, "preset", None):
        raise CliError("give a spec file or --preset, not both.")
    if getattr(args, "preset", None):
        try:
            return get_preset(args.preset).spec
        except KeyError as err:
            raise CliError(err.args[0]) from None
    if getattr(args, "spec", None):
        return read_spec(args.spec)
    return None


def _check_whole(flag: str, value: int, low: int, high: int) -> None:
    """Refuse a number flag outside the range the app's own widgets allow."""
    if not low <= value <= high:
        shown = f"{value:,}" if abs(value) < 10**15 else "far too large"
        raise CliError(f"{flag} is {shown}; it must be from {low:,} to {high:,}.")


# --------------------------------------------------------------------------------------------
# summary
# --------------------------------------------------------------------------------------------


def ledger_json(led: Ledger) -> dict:
    """The ledger as plain JSON data; shapes omit the batch dimension."""
    from cnn_core.build import layer_name

    return {
        "input_shape": list(led.spec.input_shape),
        "layers": [
            {
                "layer": row.position,
                "name": layer_name(row.position, row.layer),
                "type": row.type,
                "label": row.label,
                "output_shape": list(row.output_shape) if row.output_shape else None,
                "params": row.params,
                "trainable_params": row.trainable_params,
                "non_trainable_params": row.non_trainable_params,
                "macs": row.macs,
                "activations": row.activations,
                "activation_bytes": row.activation_bytes,
                "receptive_field": list(row.receptive_field) if row.receptive_field else None,
                "jump": list(row.jump) if row.jump else None,
                "depth": row.depth,
                "block": row.block,
                "branch": row.branch,
                "inputs": [
                    {"branch": i.branch, "output_shape": list(i.shape) if i.shape else None}
                    for i in row.incoming
                ],
                "formulas": [
                    {"kind": f.kind, "label": f.label, "text": f.text, "note": f.note}
                    for f in row.formulas
                ],
            }
            for row in led.rows
        ],
        "blocks": [
            {
                "id": block.id,
                "type": block.kind,
                "name": block.name,
                "label": str(block.label),
                "parent": block.parent,
                "depth": block.depth,
                "first_layer": block.first,
                "last_layer": block.last,
                "input_shape": list(block.input_shape) if block.input_shape else None,
                "output_shape": list(block.output_shape) if block.output_shape else None,
                "params": block.params,
                "trainable_params": block.trainable_params,
                "non_trainable_params": block.non_trainable_params,
                "macs": block.macs,
            }
            for block in led.blocks
        ],
        "weighted_depth": led.weighted_depth,
        "output_shape": list(led.output_shape) if led.output_shape else None,
        "total_params": led.total_params,
        "trainable_params": led.trainable_params,
        "non_trainable_params": led.non_trainable_params,
        "total_macs": led.total_macs,
        "total_activations": led.total_activations,
        "total_activation_bytes": led.total_activation_bytes,
        "problems": [
            {"layer": p.position, "type": p.layer_type, "severity": p.severity, "message": str(p)}
            for p in led.problems
        ],
    }


def ledger_table(led: Ledger) -> str:
    """The ledger as a plain-text table, as ``model.summary()`` would print it, with more columns."""
    header = (
        "#",
        "Layer",
        "Output shape",
        "Params",
        "Trainable",
        "Non-train.",
        "Mult-adds",
        "Memory",
        "Receptive field",
    )
    lines = [("", "Input", shape_text(led.spec.input_shape), "", "", "", "", "", "1×1")]
    starts = {block.first: [] for block in led.blocks}
    for block in led.blocks:
        starts[block.first].append(block)
    for row in led.rows:
        for block in starts.get(row.position, ()):  # a heading line for each block starting here
            heading = f"{'  ' * block.depth}[{block.label}]"
            lines.append(
                ("", heading, shape_text(block.output_shape), fmt(block.params), "", "", "", "", "")
            )
        rf = (
            shape_text(row.receptive_field)
            if row.receptive_field
            else ("whole image" if row.output_shape else "—")
        )
        lines.append(
            (
                str(row.position),
                "  " * row.depth + row.label,
                shape_text(row.output_shape),
                fmt(row.params),
                fmt(row.trainable_params),
                fmt(row.non_trainable_params),
                fmt(row.macs),
                human_bytes(row.activation_bytes) if row.output_shape else "—",
                rf,
            )
        )
    lines.append(
        (
            "",
            "Total",
            shape_text(led.output_shape),
            fmt(led.total_params),
            fmt(led.trainable_params),
            fmt(led.non_trainable_params),
            fmt(led.total_macs),
            human_bytes(led.total_activation_bytes),
            "",
        )
    )
    widths = [max(len(r[i]) for r in [header, *lines]) for i in range(len(header))]
    right = {0, 3, 4, 5, 6, 7}

    def render(cells) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    rule = "-" * len(render(header))
    out = [render(header), rule, *(render(r) for r in lines[:-1]), rule, render(lines[-1])]
    return "\n".join(out)


def cmd_summary(args: argparse.Namespace) -> int:
    spec = spec_from_args(args)
    if spec is None:
        raise CliError("give a spec file (or - for standard input), or --preset NAME.")
    if args.num_classes is not None:
        from cnn_core.config import LIMITS

        _check_whole("--num-classes", args.num_classes, 2, LIMITS.max_units)
    led = ledger(spec, num_classes=args.num_classes)
    errors = [p for p in led.problems if p.severity == "error"]
    if args.json:
        print(json.dumps(ledger_json(led), indent=2, ensure_ascii=False))
    else:
        print(ledger_table(led))
        for problem in led.problems:
            if problem.severity == "warning":
                print(f"warning: {problem}")
    if errors:
        print("This network cannot be built:", file=sys.stderr)
        for problem in errors:
            print(f"- {problem}", file=sys.stderr)
        return 2
    return 0


# --------------------------------------------------------------------------------------------
# presets
# --------------------------------------------------------------------------------------------


def cmd_presets(args: argparse.Namespace) -> int:
    if args.name:
        try:
            print(get_preset(args.name).spec.to_json(), end="")
        except KeyError as err:
            raise CliError(err.args[0]) from None
        return 0
    width = max(len(name) for name in ALL_PRESETS)
    for preset in ALL_PRESETS.values():
        params = ledger(preset.spec).total_params
        print(f"{preset.name.ljust(width)}  {preset.title} — {fmt(params)} parameters")
    return 0


# --------------------------------------------------------------------------------------------
# exercises
# --------------------------------------------------------------------------------------------


def cmd_exercises(args: argparse.Namespace) -> int:
    """Print an exercise sheet with its answers and worked solutions: an instructor's copy."""
    from cnn_core.exercises import ExerciseError, answer_sheet_markdown, make_sheet

    try:
        sheet = make_sheet(args.seed, args.set)
    except ExerciseError as err:
        raise CliError(str(err)) from None
    print(answer_sheet_markdown(sheet), end="")
    return 0


# --------------------------------------------------------------------------------------------
# train
# --------------------------------------------------------------------------------------------


def _train_dataset(args: argparse.Namespace):
    """The data set named by --dataset: a name from cnn_core.data.DATASETS or a .zip path."""
    from cnn_core.data import DataError, load_dataset, load_image_zip

    try:
        if args.dataset.lower().endswith(".zip"):
            try:
                data = Path(args.dataset).read_bytes()
            except OSError as err:
                raise CliError(f"cannot read {args.dataset}: {err.strerror}.") from None
            size = args.image_size
            return load_image_zip(
                data, image_size=(size, size), color_mode=args.color, seed=args.seed,
                name=Path(args.dataset).stem,
            )  # fmt: skip
        return load_dataset(args.dataset)
    except DataError as err:
        raise CliError(str(err)) from None


def cmd_train(args: argparse.Namespace) -> int:
    """Train a network and save it; a progress bar per epoch, the test accuracy at the end.

    Ctrl-C once stops after the current batch and still tests and saves the model; twice aborts.
    """
    import signal
    import threading

    from cnn_core.augment import Augmentation, AugmentationError
    from cnn_core.data import DataError
    from cnn_core.presets import DEFAULT_PRESET
    from cnn_core.training import (
        BatchProgress,
        TrainingConfig,
        TrainingError,
        adapt_spec,
        model_bytes,
        train,
    )

    out = Path(args.out)
    if out.suffix != ".keras":
        raise CliError(f"--out must name a .keras file (Keras' format), not {args.out!r}.")
    if not out.parent.is_dir():
        raise CliError(f"the folder {str(out.parent)!r} for --out does not exist.")
    try:
        augmentation = Augmentation.parse(args.augment or "")
    except AugmentationError as err:
        raise CliError(f"--augment: {err}") from None
    config = TrainingConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        optimizer=args.optimizer.lower(),
        learning_rate=args.learning_rate,
        seed=args.seed,
        train_samples=args.train_samples,
        validation_split=args.validation_split,
        augmentation=augmentation,
        schedule=args.schedule,
    )
    if problems := config.problems():
        raise CliError(" ".join(problems))

    spec = spec_from_args(args)
    dataset = _train_dataset(args)
    name = args.spec or args.preset or DEFAULT_PRESET
    if spec is None or args.preset:  # a preset is fitted to the data; a spec file is taken as is
        spec, changes = adapt_spec(spec or get_preset(DEFAULT_PRESET).spec, dataset)
        for change in changes:
            print(f"note: {change}.")
    params = ledger(spec).total_params
    print(
        f"Training {name} ({fmt(params)} parameters) on {dataset.name}: {config.epochs} epoch(s), "
        f"batch {config.batch_size}, {config.optimizer} lr {config.learning_rate:g} "
        f"({config.schedule}), seed {config.seed}, augmentation {augmentation.describe()}."
    )

    import keras

    stop = threading.Event()
    bar: list = []

    def on_progress(event) -> None:
        if isinstance(event, BatchProgress):
            if event.batch == 1:
                print(f"Epoch {event.epoch}/{event.epochs}")
                bar[:] = [keras.utils.Progbar(event.batches_per_epoch, stateful_metrics=["img/s"])]
            bar[0].update(
                event.batch,
                [("loss", event.loss), ("accuracy", event.accuracy),
                 ("img/s", round(event.samples_per_second))],
            )  # fmt: skip
        else:
            if bar and not event.complete:
                print()  # the bar of a stopped epoch has no final newline
            text = f"  epoch {event.epoch}: loss {event.loss:.4f}, accuracy {event.accuracy:.2%}"
            if event.val_accuracy is not None:
                text += f"; validation loss {event.val_loss:.4f}, accuracy {event.val_accuracy:.2%}"
            print(text + f" ({event.seconds:.1f} s)")

    def on_interrupt(signum, frame) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        print("\nstopping after this batch (Ctrl-C again to abort); the model will still be saved.")

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        result = train(spec, dataset, config, on_progress=on_progress, stop=stop)
    except (TrainingError, DataError) as err:
        raise CliError(str(err)) from None
    finally:
        signal.signal(signal.SIGINT, previous)
    out.write_bytes(model_bytes(result.model))
    if args.history:
        Path(args.history).write_text(result.history.to_csv())
    stopped = f" (stopped after {result.epochs_done:.2f} epochs)" if result.stopped else ""
    print(
        f"Test accuracy: {result.test_accuracy:.2%} on {len(result.y_test):,} test images "
        f"(loss {result.test_loss:.4f}){stopped}; trained in {result.train_seconds:.0f} s."
    )
    print(f"Saved {out}" + (f" and {args.history}" if args.history else "") + ".")
    return 0


# --------------------------------------------------------------------------------------------
# classify
# --------------------------------------------------------------------------------------------


def cmd_classify(args: argparse.Namespace) -> int:
    """Classify image files with the Draw page's preprocessing and model (the bundled one, or
    --model). An image with no digit on it is reported as empty, never guessed."""
    import os

    from cnn_core.canvas import ImageError, load_image

    images = []
    for path in args.images:  # read them all first: a bad file fails before TensorFlow loads
        try:
            images.append(load_image(path))
        except ImageError as err:
            raise CliError(str(err)) from None

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from cnn_core.classify import ModelError, load_bundled, load_classifier

    try:
        classifier = load_classifier(args.model) if args.model else load_bundled()
    except ModelError as err:
        raise CliError(str(err)) from None

    results = []
    for path, image in zip(args.images, images, strict=True):
        result = classifier.classify(image)
        entry: dict = {
            "file": path,
            "prediction": result.prediction,
            "probabilities": None
            if result.probabilities is None
            else [round(float(p), 6) for p in result.probabilities],
        }
        if result.probabilities is None:
            entry["message"] = result.preprocessed.message
        results.append(entry)
        if args.json:
            continue
        if result.probabilities is None:
            print(f"{path}: no digit. {result.preprocessed.message}")
            continue
        line = f"{path}: {result.label} ({result.confidence:.1%})"
        if result.unsure and result.runner_up is not None:
            runner = result.runner_up
            line += (
                f", unsure: {result.class_names[runner]} is next at "
                f"{result.probabilities[runner]:.1%}"
            )
        print(line)
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


# --------------------------------------------------------------------------------------------
# conv
# --------------------------------------------------------------------------------------------


def _grid(text: str, name: str, max_side: int):
    """A grid typed on the command line: rows separated by ";" or new lines, cells by spaces."""
    from cnn_core.conv_math import parse_grid

    rows = [row.split() for row in text.replace(";", "\n").splitlines() if row.strip()]
    return parse_grid(rows, name, max_side)


def cmd_conv(args: argparse.Namespace) -> int:
    """Slide a filter over a small grid, as the Convolution page does: the feature map, and with
    --steps every cell's sum written out with the real numbers."""
    from cnn_core import conv_math as cm
    from cnn_core.config import LIMITS

    if args.list:
        width = max(len(name) for name in [*cm.EXAMPLES, *cm.KERNELS])
        for name, example in cm.EXAMPLES.items():
            print(f"{name.ljust(width)}  {example.title}")
        for name, kernel in cm.KERNELS.items():
            print(f"{name.ljust(width)}  filter: {kernel.title}")
        return 0
    try:
        example = cm.EXAMPLES[args.example] if args.example else None
    except KeyError:
        raise CliError(
            f"no example {args.example!r}; choose one of: {', '.join(cm.EXAMPLES)}."
        ) from None
    if example is None and not args.image:
        raise CliError("give --example NAME or --image GRID (see --list).")
    try:
        image = _grid(args.image, "image", LIMITS.max_grid_side) if args.image else example.values
        kernel_text = args.kernel or (example.kernel if example else None)
        if kernel_text is None:
            raise CliError("give --kernel (a filter's name, see --list, or a grid).")
        if kernel_text in cm.KERNELS:
            kernel = cm.KERNELS[kernel_text].weights
        else:
            kernel = _grid(kernel_text, "filter", LIMITS.max_kernel_side)
        padding = args.padding or (example.padding if example else "valid")
        if isinstance(padding, str) and padding.isdigit():
            padding = int(padding)
        # The Convolution page's bounds: beyond them the written-out sums are unreadable, and a
        # padding of millions would allocate petabytes.
        if isinstance(padding, int):
            _check_whole("--padding", padding, 0, LIMITS.max_grid_padding)
        strides = args.stride if args.stride is not None else (example.stride if example else 1)
        _check_whole("--stride", strides, 1, LIMITS.max_grid_side)
        result = cm.conv2d(
            image,
            kernel,
            bias=args.bias if args.bias is not None else (example.bias if example else 0.0),
            strides=strides,
            padding=padding,
            normalised=args.normalised or bool(example and example.normalised),
        )
    except cm.ConvMathError as err:
        raise CliError(str(err)) from None

    feature_map = result.output[:, :, 0]
    kh, kw = result.kernel.shape[:2]
    for axis, size, window, stride in (
        ("height", image.shape[0], kh, result.strides[0]),
        ("width", image.shape[1], kw, result.strides[1]),
    ):
        print(f"Output {axis}: {cm.size_formula(size, window, stride, result.padding)[1]}")
    cells = [[cm.number_text(v) for v in row] for row in feature_map]
    width = max(len(c) for row in cells for c in row)
    print(f"Feature map ({feature_map.shape[0]}×{feature_map.shape[1]}):")
    for row in cells:
        print("  " + "  ".join(c.rjust(width) for c in row))
    if args.steps:
        for step in result.steps():
            print(f"row {step.row + 1}, column {step.col + 1}: {step.text}")
    return 0


# --------------------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's own errors: usage, one line, exit 2
        self.print_usage(sys.stderr)
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m cnn_core", description="CNN Lab on the command line.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = commands.add_parser(
        "summary", help="print the ledger of a network: shapes, parameters, formulas"
    )
    p.add_argument("spec", nargs="?", help="a spec JSON file, or - for standard input")
    p.add_argument("--preset", help="summarise a preset instead of a file")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--num-classes", type=int, help="check that the classifier has this many units")
    p.set_defaults(func=cmd_summary)

    p = commands.add_parser("presets", help="list the presets, or print one as a spec")
    p.add_argument("name", nargs="?", help="print this preset's spec as JSON")
    p.set_defaults(func=cmd_presets)

    p = commands.add_parser(
        "exercises", help="print an exercise sheet with answers as Markdown (for instructors)"
    )
    p.add_argument("--seed", default="1", help="the sheet's seed, 0 to 999,999,999 (default 1)")
    p.add_argument("--set", default="mixed", help="mixed, shapes, params or conv (default mixed)")
    p.set_defaults(func=cmd_exercises)

    from cnn_core.data import DATASETS
    from cnn_core.training import DEFAULTS, OPTIMIZERS, SCHEDULES

    p = commands.add_parser("train", help="train a network on MNIST (or another data set), save it")
    p.add_argument("spec", nargs="?", help="a spec JSON file (default: the default preset)")
    p.add_argument("--preset", help="train a preset instead of a file")
    p.add_argument(
        "--dataset", default="mnist",
        help=f"{', '.join(DATASETS)}, or a .zip of class folders (default mnist, bundled)",
    )  # fmt: skip
    p.add_argument("--epochs", type=int, default=DEFAULTS.epochs)
    p.add_argument("--batch-size", type=int, default=DEFAULTS.batch_size)
    p.add_argument("--seed", type=int, default=DEFAULTS.seed)
    p.add_argument("--optimizer", default=DEFAULTS.optimizer, help=" | ".join(OPTIMIZERS))
    p.add_argument("--learning-rate", type=float, default=DEFAULTS.learning_rate)
    p.add_argument("--schedule", default=DEFAULTS.schedule, help=" | ".join(SCHEDULES))
    p.add_argument("--augment", help="e.g. shift=0.1,rotation=10,zoom=0.1,flip=horizontal")
    p.add_argument("--train-samples", type=int, help="train on a random subset of this size")
    p.add_argument("--validation-split", type=float, default=DEFAULTS.validation_split)
    p.add_argument("--image-size", type=int, default=28, help="for a .zip: resize to this size")
    p.add_argument("--color", default="grayscale", help="for a .zip: grayscale or rgb")
    p.add_argument("--history", help="also write the per-batch history to this CSV file")
    p.add_argument("--out", required=True, help="where to save the model, e.g. model.keras")
    p.set_defaults(func=cmd_train)

    p = commands.add_parser(
        "classify", help="classify images of handwritten digits, as the Draw page does"
    )
    p.add_argument("images", nargs="+", metavar="IMAGE", help="PNG, JPEG, GIF, BMP or WebP files")
    p.add_argument("--model", help="a .keras model file (default: the bundled digits model)")
    p.add_argument(
        "--json", action="store_true", help="print JSON: file, prediction, probabilities"
    )
    p.set_defaults(func=cmd_classify)

    p = commands.add_parser(
        "conv", help="slide a filter over a small grid by hand, as the Convolution page does"
    )
    p.add_argument("--example", help="a worked example, e.g. edge_6x6 or x_match (see --list)")
    p.add_argument("--image", help='a grid: rows separated by ";", e.g. "3 1 1; 1 0 7; 2 3 5"')
    p.add_argument("--kernel", help="a filter's name (see --list) or a grid like --image")
    p.add_argument("--stride", type=int, help="step between windows (default 1)")
    p.add_argument("--padding", help='"valid" (default), "same", or a number of zeros per side')
    p.add_argument("--bias", type=float, help="added to every sum (default 0)")
    p.add_argument("--normalised", action="store_true", help="divide each sum by the filter size")
    p.add_argument("--steps", action="store_true", help="write out every cell's sum")
    p.add_argument("--list", action="store_true", help="list the examples and filters")
    p.set_defaults(func=cmd_conv)

    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except CliError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
