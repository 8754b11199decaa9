"""The command line: ``python -m cnn_core <command> ...``. Run with ``--help`` for the commands.

Each command is a function ``cmd_<name>(args) -> int`` registered in :func:`build_parser`. Bad
input raises :class:`CliError`; ``main`` prints its message and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cnn_core.presets import PRESETS, get_preset
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
                "formulas": [
                    {"label": f.label, "text": f.text, "note": f.note} for f in row.formulas
                ],
            }
            for row in led.rows
        ],
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
    header = ("#", "Layer", "Output shape", "Params", "Trainable", "Non-train.", "Mult-adds", "Memory", "Receptive field")
    lines = [("", "Input", shape_text(led.spec.input_shape), "", "", "", "", "", "1×1")]
    for row in led.rows:
        rf = shape_text(row.receptive_field) if row.receptive_field else ("whole image" if row.output_shape else "—")
        lines.append(
            (
                str(row.position),
                row.label,
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
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    rule = "-" * len(render(header))
    out = [render(header), rule, *(render(r) for r in lines[:-1]), rule, render(lines[-1])]
    return "\n".join(out)


def cmd_summary(args: argparse.Namespace) -> int:
    spec = spec_from_args(args)
    if spec is None:
        raise CliError("give a spec file (or - for standard input), or --preset NAME.")
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
    width = max(len(name) for name in PRESETS)
    for preset in PRESETS.values():
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


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's own errors: usage, one line, exit 2
        self.print_usage(sys.stderr)
        raise SystemExit(f"error: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m cnn_core", description="CNN Lab on the command line.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = commands.add_parser("summary", help="print the ledger of a network: shapes, parameters, formulas")
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
