"""The command line's `summary` and `presets` commands (the other commands test themselves)."""

import json
import subprocess
import sys

import pytest

from cnn_core.__main__ import main
from cnn_core.presets import ALL_PRESETS, PRESETS
from cnn_core.spec import Spec


def run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        status = main(list(argv))
    except SystemExit as exit_:  # argparse's own usage errors
        status = 2 if exit_.code not in (0, None) else 0
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def spec_file(tmp_path):
    path = tmp_path / "spec.json"
    path.write_text(PRESETS["tutorial"].spec.to_json())
    return path


def test_summary_prints_the_ledger_as_a_table(capsys, spec_file):
    status, out, _ = run(capsys, "summary", str(spec_file))
    assert status == 0
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["#", "Layer", "Output", "shape"]
    assert any(
        line.split()[:6] == ["1", "Conv2D", "32", "3×3", "relu", "26×26×32"] for line in lines
    )
    total = next(line for line in lines if line.strip().startswith("Total"))
    assert "110,474" in total


def test_summary_json_has_every_layer_without_the_batch_dimension(capsys, spec_file):
    status, out, _ = run(capsys, "summary", str(spec_file), "--json")
    assert status == 0
    data = json.loads(out)
    assert data["total_params"] == 110_474
    first = data["layers"][0]
    assert first["layer"] == 1 and first["name"] == "conv2d_1" and first["type"] == "Conv2D"
    assert first["output_shape"] == [26, 26, 32]
    assert (first["params"], first["trainable_params"], first["non_trainable_params"]) == (
        320,
        320,
        0,
    )
    assert first["macs"] == 194_688
    assert first["receptive_field"] == [3, 3]
    assert {"label": "Parameters", "text": "(3·3·1 + 1)·32 = 320"}.items() <= first["formulas"][
        2
    ].items()
    assert [layer["output_shape"] for layer in data["layers"]][-1] == [10]
    assert data["problems"] == []


def test_summary_of_a_preset_and_from_standard_input(capsys, monkeypatch):
    status, out, _ = run(capsys, "summary", "--preset", "lenet5_bn", "--json")
    assert status == 0 and json.loads(out)["non_trainable_params"] == 56
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO(PRESETS["tiny"].spec.to_json()))
    status, out, _ = run(capsys, "summary", "-")
    assert status == 0 and "5,258" in out


def test_an_invalid_spec_exits_2_with_the_learners_message(capsys, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(
        json.dumps(
            {
                "input_shape": [28, 28, 1],
                "layers": [
                    {"type": "Conv2D", "filters": 8, "kernel_size": 3},
                    {"type": "Dense", "units": 10, "activation": "softmax"},
                ],
            }
        )
    )
    status, out, err = run(capsys, "summary", str(path))
    assert status == 2
    assert "Conv2D 8 3×3" in out  # the ledger up to the problem is still printed
    assert "Layer 2 (Dense): receives a 26×26×8 feature map, not a vector." in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "is not a valid spec:\nThis is not valid JSON (line 1, column 2"),
        (
            '{"input_shape": [28, 28, 1], "layers": [{"type": "Conv3D"}]}',
            "Layer 1: unknown layer type 'Conv3D'",
        ),
    ],
)
def test_unreadable_specs_exit_2(capsys, tmp_path, content, expected):
    path = tmp_path / "bad.json"
    path.write_text(content)
    status, _, err = run(capsys, "summary", str(path))
    assert status == 2 and expected in err


def test_missing_file_and_missing_argument(capsys, tmp_path):
    status, _, err = run(capsys, "summary", str(tmp_path / "nope.json"))
    assert status == 2 and "no such file" in err
    status, _, err = run(capsys, "summary")
    assert status == 2 and "give a spec file" in err
    status, _, err = run(capsys, "summary", str(tmp_path), "--json")
    assert status == 2 and "is a folder" in err
    status, _, err = run(capsys, "summary", "--preset", "alexnet2")
    assert status == 2 and "no preset called 'alexnet2'" in err


def test_presets_lists_them_and_prints_one_as_a_spec(capsys):
    status, out, _ = run(capsys, "presets")
    assert status == 0
    names = [line.split()[0] for line in out.splitlines()]
    assert names == list(ALL_PRESETS)
    assert "Tutorial CNN — 110,474 parameters" in out
    status, out, _ = run(capsys, "presets", "strided")
    assert status == 0 and Spec.from_json(out) == PRESETS["strided"].spec
    status, _, err = run(capsys, "presets", "vgg")
    assert status == 2 and "choose one of" in err


def test_python_dash_m_runs_as_a_program(spec_file):
    done = subprocess.run(
        [sys.executable, "-m", "cnn_core", "summary", str(spec_file), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["total_params"] == 110_474
    done = subprocess.run(
        [sys.executable, "-m", "cnn_core", "nonsense"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2 and "invalid choice" in done.stderr
