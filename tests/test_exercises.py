"""Exercises: Keras checks every generated answer; sheets are reproducible; answers are read
forgivingly; the training challenge is judged correctly; the answer-sheet command works."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cnn_core.__main__ import main
from cnn_core.exercises import (
    CHALLENGES,
    KINDS,
    MAX_SEED,
    SETS,
    Exercise,
    ExerciseError,
    answer_sheet_markdown,
    check,
    check_challenge,
    check_challenge_history,
    check_training_run,
    make_exercise,
    make_sheet,
    parse_grid,
    parse_number,
    parse_seed,
    parse_set,
    parse_shape,
)

ROOT = Path(__file__).resolve().parents[1]
# Seeds per exercise kind checked against Keras: every branch of every generator is reached
# (the generators pick among a handful of options), while the whole module stays a few seconds.
ORACLE_SEEDS = range(25)


# --------------------------------------------------------------------------------------------
# Keras is the oracle
# --------------------------------------------------------------------------------------------


def keras_model(input_shape, layers):
    import keras

    return keras.Sequential(
        [keras.Input(shape=input_shape)]
        + [getattr(keras.layers, layer.type)(**layer.keras_kwargs()) for layer in layers]
    )


def keras_answer(exercise: Exercise):
    """What Keras says the answer to ``exercise`` is, computed from the exercise's own network."""
    import keras

    network = exercise.network
    assert network is not None
    measure = exercise.measure
    if measure == "keeps_size":
        size = exercise.details["size"]
        keeps = {}
        for padding in ("valid", "same"):
            (layer,) = network.layers
            conv = keras.layers.Conv2D(
                layer.filters, layer.kernel_size, strides=layer.strides, padding=padding
            )
            shape = conv.compute_output_shape((None, *network.input_shape))
            keeps[padding] = shape[1:3] == (size, size)
        return {(True, True): "both", (False, True): "same", (False, False): "neither"}[
            (keeps["valid"], keeps["same"])
        ]
    if measure == "zero_padding":
        size, kernel = exercise.details["size"], exercise.details["kernel"]
        # The smallest P whose zero padding, followed by a valid convolution, keeps the size.
        for zeros in range(kernel + 1):
            model = keras.Sequential(
                [
                    keras.Input(shape=(size, size, 1)),
                    keras.layers.ZeroPadding2D(zeros),
                    keras.layers.Conv2D(1, kernel),
                ]
            )
            if model.output_shape[1:3] == (size, size):
                return zeros
        raise AssertionError("no padding keeps the size")
    if measure == "conv_cell":
        d = exercise.details
        image = np.array(d["image"], dtype="float32")[None, :, :, None]  # (1, h, w, 1)
        conv = keras.layers.Conv2D(1, 3, strides=d["stride"], use_bias=False)
        conv.build(image.shape)
        conv.set_weights([np.array(d["kernel"], dtype="float32")[:, :, None, None]])
        feature_map = keras.ops.convert_to_numpy(conv(image))[0, :, :, 0]
        if d["relu"]:
            feature_map = keras.ops.convert_to_numpy(keras.activations.relu(feature_map))
        return feature_map[d["row"], d["col"]]
    if measure == "pool_output":
        (layer,) = network.layers
        pool = getattr(keras.layers, layer.type)(**layer.keras_kwargs())
        grid = np.array(exercise.details["feature_map"], dtype="float32")[None, :, :, None]
        return tuple(keras.ops.convert_to_numpy(pool(grid)).ravel().tolist())

    model = keras_model(network.input_shape, network.layers)
    layer = model.layers[exercise.layer - 1]
    if measure == "output_shape":
        return tuple(layer.output.shape[1:])
    if measure == "params":
        return layer.count_params()
    if measure == "trainable":
        return sum(int(np.prod(w.shape)) for w in layer.trainable_weights)
    if measure == "non_trainable":
        return sum(int(np.prod(w.shape)) for w in layer.non_trainable_weights)
    if measure == "total_params":
        return model.count_params()
    raise AssertionError(f"no oracle for measure {measure!r}")


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_answer_is_the_one_keras_computes(kind):
    for seed in ORACLE_SEEDS:
        exercise = make_exercise(kind, seed, "oracle")
        expected = keras_answer(exercise)
        if exercise.answer_format == "grid":
            assert exercise.answer == pytest.approx(expected, abs=1e-5), exercise.question
        elif exercise.answer_format == "number":
            assert float(exercise.answer) == pytest.approx(float(expected)), exercise.question
        else:
            assert exercise.answer == expected, exercise.question


def test_the_oracle_seeds_reach_every_branch():
    # The oracle above is only as good as the variety it sees: check that the seeds it uses
    # produce each padding choice, relu and no relu, max and average pooling, and no-bias layers.
    seen = set()
    for seed in ORACLE_SEEDS:
        for kind in ("padding_keeps_size", "conv_cell", "pool_output", "conv_params"):
            exercise = make_exercise(kind, seed, "oracle")
            if exercise.answer_format == "choice":
                seen.add(("choice", exercise.answer))
            seen.add((kind, exercise.measure))
            seen.add(("relu", exercise.details.get("relu")))
            seen.add(("pool", exercise.details.get("kind")))
            if kind == "conv_params":
                seen.add(("bias", exercise.network.layers[0].use_bias))
    for expected in [
        ("choice", "same"),
        ("choice", "both"),
        ("choice", "neither"),
        ("padding_keeps_size", "zero_padding"),
        ("relu", True),
        ("relu", False),
        ("pool", "max"),
        ("pool", "average"),
        ("bias", False),
        ("bias", True),
    ]:
        assert expected in seen


# --------------------------------------------------------------------------------------------
# Sheets
# --------------------------------------------------------------------------------------------


def test_sets_have_a_fixed_number_of_questions_of_known_kinds():
    for exercise_set in SETS.values():
        sheet = make_sheet(123, exercise_set.name)
        assert len(sheet.exercises) == len(exercise_set.kinds)
        assert [e.kind for e in sheet.exercises] == list(exercise_set.kinds)
        assert [e.number for e in sheet.exercises] == list(range(1, len(exercise_set.kinds) + 1))
        assert set(exercise_set.kinds) <= set(KINDS)
    assert {k for s in SETS.values() for k in s.kinds} == set(KINDS)  # every kind is asked


def test_same_seed_same_sheet_and_different_seeds_differ():
    assert make_sheet(42, "mixed") == make_sheet("42", " Mixed ")
    questions = {
        tuple(e.question for e in make_sheet(seed, "mixed").exercises) for seed in range(20)
    }
    assert len(questions) == 20


SHEET_PROGRAM = (
    "import hashlib, sys; from cnn_core.exercises import make_sheet, answer_sheet_markdown; "
    "sys.stdout.write(hashlib.sha256(answer_sheet_markdown(make_sheet(2024, 'mixed')).encode())"
    ".hexdigest())"
)


def test_sheet_does_not_depend_on_the_process():
    # Another process with another string-hash seed makes the very same sheet: nothing depends on
    # hash() or on global random state.
    here = hashlib.sha256(answer_sheet_markdown(make_sheet(2024, "mixed")).encode()).hexdigest()
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    there = subprocess.run(
        [sys.executable, "-c", SHEET_PROGRAM],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert there == here


def test_a_known_sheet_stays_the_same():
    # A class may keep using a seed for years: these answers must not change between releases.
    sheet = make_sheet(1, "mixed")
    assert [e.answer_text for e in sheet.exercises] == KNOWN_ANSWERS


KNOWN_ANSWERS = [
    "222×222×64",
    "102,656",
    "30",
    "9, 8, 9, 7",
    "2",
    "10,836",
    "14×14×1",
    "24",
    "346,400",
    "2,346",
]


@pytest.mark.parametrize("bad", ["", "abc", "-1", "1.5", "1e3", str(MAX_SEED + 1), None, True])
def test_bad_seeds_are_refused_with_the_range(bad):
    with pytest.raises(ExerciseError, match="whole number from 0 to 999,999,999"):
        parse_seed(bad)


def test_seeds_and_sets_are_read_forgivingly():
    assert parse_seed(" 7 ") == 7
    assert parse_seed(0) == 0
    assert parse_seed("1,000") == 1000
    assert parse_seed(MAX_SEED) == MAX_SEED
    assert parse_set(" Shapes ") == "shapes"
    with pytest.raises(ExerciseError, match="mixed, shapes, params, conv"):
        parse_set("shape")
    with pytest.raises(ExerciseError):
        make_sheet(1, "<script>")


# --------------------------------------------------------------------------------------------
# Reading answers
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "26x26x32",
        "26×26×32",
        "26, 26, 32",
        "(26,26,32)",
        "[26 26 32]",
        "26 X 26 X 32",
        "(None, 26, 26, 32)",
    ],
)
def test_shapes_are_read_however_they_are_written(text):
    assert parse_shape(text) == (26, 26, 32)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("6272", 6272),
        ("6,272", 6272),
        ("6 272", 6272),
        ("6'272", 6272),
        ("6\u202f272", 6272),
        ("1,234,567", 1234567),
        ("−7", -7),
        ("-7", -7),
        ("4.5", 4.5),
        ("4,5", 4.5),
        ("6272.", 6272),
    ],
)
def test_numbers_are_read_however_they_are_written(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize("text", ["abc", "6,27,2", "nan", "inf", "1 2 3", ""])
def test_things_that_are_not_numbers(text):
    with pytest.raises(ValueError):
        parse_number(text)


def test_grids_are_read_row_by_row():
    assert parse_grid("3, 4.5, 2, 1") == (3, 4.5, 2, 1)
    assert parse_grid("3 4.5\n2 1") == (3, 4.5, 2, 1)
    assert parse_grid("[[3, 4.5], [2, 1]]") == (3, 4.5, 2, 1)
    assert parse_grid("3; −4") == (3, -4)
    with pytest.raises(ValueError):
        parse_grid("3, four")


def test_every_answer_checks_as_correct_when_typed_as_shown():
    for seed in range(15):
        for set_name in SETS:
            for exercise in make_sheet(seed, set_name).exercises:
                assert check(exercise, exercise.answer_text).correct, exercise.question


def exercise_of(kind: str, condition) -> Exercise:
    for seed in range(500):
        exercise = make_exercise(kind, seed, "test")
        if condition(exercise):
            return exercise
    raise AssertionError(f"no {kind} exercise matches")


def test_wrong_answers_are_wrong_and_name_the_usual_slip():
    exercise = exercise_of("conv_params", lambda e: e.network.layers[0].use_bias)
    conv = exercise.network.layers[0]
    no_bias = exercise.answer - conv.filters
    result = check(exercise, f"{no_bias:,}")
    assert result.status == "wrong"
    assert "biases" in result.message

    exercise = exercise_of("conv_output_shape", lambda e: e.network.input_shape[2] != e.answer[2])
    h, w, _ = exercise.answer
    result = check(exercise, f"{h}x{w}x{exercise.network.input_shape[2]}")
    assert result.status == "wrong"
    assert "number of filters" in result.message

    exercise = exercise_of("conv_cell", lambda e: e.details["relu"] and e.answer == 0)
    exercise_total = next(m for m, why in exercise.mistakes if "before ReLU" in why)
    result = check(exercise, str(exercise_total))
    assert result.status == "wrong"
    assert "ReLU" in result.message

    result = check(exercise, str(exercise.answer + 1000))
    assert result.status == "wrong"
    assert "worked solution" in result.message


def test_shape_and_grid_answers_of_the_wrong_length_say_so():
    shape = exercise_of("conv_output_shape", lambda e: True)
    assert "all 3 numbers" in check(shape, "26x26").message
    grid = exercise_of("pool_output", lambda e: len(e.answer) == 4)
    result = check(grid, "1, 2, 3")
    assert result.status == "wrong"
    assert "4 values" in result.message


def test_unreadable_answers_are_not_counted_and_say_how_to_write_them():
    shape = exercise_of("conv_output_shape", lambda e: True)
    for text in ("", "   ", None, "twenty-six", "26x26xabc"):
        result = check(shape, text)
        assert result.status == "unreadable"
        assert not result.correct
        assert "26x26x32" in result.message  # the example of how to write a shape
    choice = exercise_of("padding_keeps_size", lambda e: e.answer_format == "choice")
    assert check(choice, "maybe").status == "unreadable"
    assert check(choice, f'"{choice.answer.upper()}"').correct


def test_worked_solutions_show_the_numbers_of_the_answer():
    for seed in range(10):
        for kind in KINDS:
            exercise = make_exercise(kind, seed, "solution")
            working = "\n".join(exercise.solution)
            if exercise.answer_format == "number":
                assert exercise.answer_text in working, (exercise.question, working)
            elif exercise.answer_format == "shape":
                for dimension in exercise.answer:
                    assert str(dimension) in working
            elif exercise.answer_format == "grid":
                assert working.count("= ") >= len(exercise.answer)


def test_conv_cell_working_reproduces_the_tutorial_sum_style():
    exercise = exercise_of("conv_cell", lambda e: not e.details["relu"] and e.answer < 0)
    working = "\n".join(exercise.solution)
    assert "·(−1)" in working  # negative weights are bracketed, with a real minus sign
    assert f"= **−{abs(exercise.answer)}**" in working


# --------------------------------------------------------------------------------------------
# The training challenge
# --------------------------------------------------------------------------------------------


def test_challenge_passes_only_when_all_three_conditions_hold():
    challenge = CHALLENGES["small_and_fast"]
    assert challenge.text == (
        "Reach at least 98.5% validation accuracy on MNIST with fewer than 20,000 parameters "
        "within 3 epochs."
    )
    assert check_challenge(19_999, 3, 0.985, challenge).passed
    assert check_challenge(5_000, 1, 0.99, challenge).passed
    too_big = check_challenge(20_000, 2, 0.99, challenge)
    assert not too_big.passed
    assert [c.passed for c in too_big.criteria] == [True, False, True]
    assert "20,000 parameters" in too_big.criteria[1].detail
    too_slow = check_challenge(10_000, 4, 0.99, challenge)
    assert [c.passed for c in too_slow.criteria] == [True, True, False]
    not_accurate = check_challenge(10_000, 3, 0.9849, challenge)
    assert [c.passed for c in not_accurate.criteria] == [False, True, True]
    assert "98.49%" in not_accurate.criteria[0].detail
    assert not check_challenge(10_000, 0, 0.99, challenge).passed  # nothing trained yet


@pytest.mark.parametrize(
    ("params", "epochs", "accuracy"),
    [
        (-1, 3, 0.9),
        (10, -2, 0.9),
        (10, 3, 98.5),
        (10, 3, -0.1),
        (10, 3, float("nan")),
        (1.5, 3, 0.9),
    ],
)
def test_challenge_refuses_impossible_numbers(params, epochs, accuracy):
    with pytest.raises(ValueError):
        check_challenge(params, epochs, accuracy)


def test_challenge_from_history_counts_only_the_allowed_epochs():
    challenge = CHALLENGES["small_and_fast"]
    # Reached in epoch 2: passes, and says 2 epochs.
    result = check_challenge_history(15_000, [0.97, 0.986, 0.988], challenge)
    assert result.passed
    assert result.criteria[2].detail.startswith("2 epochs")
    # Only reached in epoch 4: the first 3 epochs decide, and they fall short.
    late = check_challenge_history(15_000, [0.97, 0.98, 0.984, 0.99], challenge)
    assert not late.passed
    assert "98.40%" in late.criteria[0].detail
    assert not check_challenge_history(15_000, [], challenge).passed
    assert not check_challenge_history(15_000, [float("nan")], challenge).passed


def test_a_training_run_is_judged_on_mnist_with_validation():
    challenge = CHALLENGES["small_and_fast"]
    good = check_training_run(15_000, "MNIST", [0.97, 0.986], challenge)
    assert good.passed
    assert [c.label for c in good.criteria] == ["Data", "Accuracy", "Size", "Speed"]
    other_data = check_training_run(15_000, "Fashion-MNIST", [0.99], challenge)
    assert not other_data.passed
    assert other_data.criteria[0].detail == "trained on Fashion-MNIST (needs MNIST)"
    no_validation = check_training_run(15_000, "MNIST", [None, None], challenge)
    assert not no_validation.passed
    assert "validation split" in no_validation.criteria[1].detail


# --------------------------------------------------------------------------------------------
# The instructor's answer sheet on the command line
# --------------------------------------------------------------------------------------------


def test_cli_prints_the_answer_sheet(capsys):
    assert main(["exercises", "--seed", "5", "--set", "params"]) == 0
    out = capsys.readouterr().out
    sheet = make_sheet(5, "params")
    assert out == answer_sheet_markdown(sheet)
    assert out.startswith("# CNN Lab exercises: Parameter counts")
    assert "`?seed=5&set=params`" in out
    assert out.count("**Answer:**") == len(sheet.exercises)
    for exercise in sheet.exercises:
        assert f"**Answer:** {exercise.answer_text}" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--seed", "banana"], "whole number from 0 to 999,999,999"),
        (["--seed", "-5"], "whole number"),
        (["--set", "everything"], "choose one of: mixed, shapes, params, conv"),
    ],
)
def test_cli_bad_seed_or_set_exits_2_with_a_message(capsys, argv, message):
    assert main(["exercises", *argv]) == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert captured.out == ""
    assert "Traceback" not in captured.err
