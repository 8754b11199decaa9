"""Exercises: a seeded sheet of auto-checked questions, and the training challenge.

An instructor shares ``?seed=42&set=mixed`` and every learner gets the same sheet. Every answer is
checked as soon as it is typed, with the worked solution and a running score. No TensorFlow here:
the sheet is arithmetic, and the challenge reads runs the Train page already made.
"""

import secrets

import streamlit as st

import ui  # noqa: F401  (before cnn_core: a fresh server's first request, see ui/__init__.py)
from cnn_core.config import LIMITS
from cnn_core.exercises import (
    CHALLENGES,
    DEFAULT_CHALLENGE,
    DEFAULT_SEED,
    DEFAULT_SET,
    MAX_SEED,
    SETS,
    Check,
    Exercise,
    ExerciseError,
    answer_sheet_markdown,
    check,
    check_training_run,
    make_sheet,
    parse_seed,
    parse_set,
)
from ui import share
from ui.nav import lessons
from ui.state import trained_runs
from ui.text import literal

ANSWER_KEY = "exercises_answer_{}"  # one widget per question number
FULL_MNIST_TRAINING_IMAGES = 60_000
MAX_ANSWER_CHARS = 200  # the longest answer (a 3×3 pooled grid) is about 40 characters


def lesson_link(path: str, label: str) -> None:
    """A link to another lesson, when that lesson is in the app."""
    lesson = next((lesson for lesson in lessons() if lesson.path == path), None)
    if lesson is not None:
        st.page_link(lesson.path, label=label, icon=lesson.icon)


def read_sheet_from_url() -> None:
    """Once per session: take ?seed=…&set=… from the address, or explain why not."""
    if st.session_state.get("exercises_url_read"):
        return
    st.session_state["exercises_url_read"] = True
    problems = []
    for name, parse, key in (
        ("set", parse_set, "exercises_set"),
        ("seed", parse_seed, "exercises_seed"),
    ):
        raw = st.query_params.get(name)
        if raw is None:
            continue
        try:
            st.session_state[key] = parse(raw)
        except ExerciseError as err:
            problems.append(str(err)[:1].upper() + str(err)[1:])
    if problems:
        st.session_state["exercises_url_problem"] = (
            "This link's exercise sheet cannot be opened. "
            + " ".join(problems)
            + " Showing the default sheet instead."
        )


def new_sheet() -> None:
    # Not seeded on purpose: "another sheet" should differ each time it is pressed.
    st.session_state["exercises_seed"] = secrets.randbelow(MAX_SEED + 1)


def forget_answers_if_the_sheet_changed(seed: int, set_name: str) -> None:
    """Answers belong to one sheet: a new seed or set starts with empty boxes."""
    sheet_id = f"{set_name}:{seed}"
    if st.session_state.get("exercises_sheet_id") != sheet_id:
        for key in [k for k in st.session_state if str(k).startswith("exercises_answer_")]:
            del st.session_state[key]
        st.session_state["exercises_sheet_id"] = sheet_id
        st.session_state["exercises_first_tries"] = {}


def show_exercise(exercise: Exercise, result: Check) -> None:
    st.markdown(f"##### {exercise.number}. {exercise.title}")
    st.markdown(exercise.question)
    key = ANSWER_KEY.format(exercise.number)
    if exercise.answer_format == "choice":
        st.radio("Your answer", exercise.choices, index=None, key=key, horizontal=True)
    else:
        st.text_input("Your answer", key=key, placeholder=exercise.hint, max_chars=MAX_ANSWER_CHARS)
    answered = bool((st.session_state.get(key) or "").strip())
    if result.status == "correct":
        st.success(literal(result.message), icon=":material/check_circle:")
    elif result.status == "wrong":
        st.error(literal(result.message), icon=":material/cancel:")
    elif answered:  # typed, but not readable as an answer: say how to write it
        st.warning(literal(result.message), icon=":material/edit:")
    with st.expander("Worked solution", expanded=result.status != "unreadable"):
        st.markdown("\n\n".join(exercise.solution))
        if exercise.answer_format == "choice" or result.status != "unreadable":
            st.markdown(f"**Answer:** {exercise.answer_text}")


def exercise_sheet() -> None:
    read_sheet_from_url()
    if problem := st.session_state.pop("exercises_url_problem", None):
        st.warning(literal(problem), icon=":material/link_off:")
    st.session_state.setdefault("exercises_set", DEFAULT_SET)
    st.session_state.setdefault("exercises_seed", DEFAULT_SEED)

    pick_set, pick_seed, another, score_box = st.columns([3, 2, 2, 3], vertical_alignment="bottom")
    set_name = pick_set.selectbox(
        "Exercise set",
        list(SETS),
        format_func=lambda name: f"{SETS[name].title} ({len(SETS[name].kinds)} questions)",
        key="exercises_set",
    )
    seed = pick_seed.number_input(
        "Seed",
        min_value=0,
        max_value=MAX_SEED,
        step=1,
        key="exercises_seed",
        help="The same seed and set give the same questions on every computer.",
    )
    another.button("New sheet", icon=":material/casino:", on_click=new_sheet, key="exercises_new")
    forget_answers_if_the_sheet_changed(int(seed), set_name)
    if st.query_params.get("seed") != str(seed) or st.query_params.get("set") != set_name:
        st.query_params.update({"seed": str(seed), "set": set_name})

    sheet = make_sheet(int(seed), set_name)
    results = [
        check(exercise, st.session_state.get(ANSWER_KEY.format(exercise.number)))
        for exercise in sheet.exercises
    ]
    # The score counts first tries: the worked solution opens after any answer, so a corrected
    # answer shows as correct but does not add to the score an instructor may ask for.
    first_tries: dict[int, bool] = st.session_state.setdefault("exercises_first_tries", {})
    for exercise, result in zip(sheet.exercises, results, strict=True):
        if result.status != "unreadable":
            first_tries.setdefault(exercise.number, result.correct)
    correct = sum(r.correct for r in results)
    score = sum(first_tries.values())
    total = len(sheet.exercises)
    with score_box:
        st.metric(
            "Right at the first try",
            f"{score} / {total}",
            help="Questions answered correctly at the first try. A corrected answer shows as "
            "correct but does not add to the score.",
        )
    st.progress(
        len(first_tries) / total,
        text=f"{len(first_tries)} of {total} answered · right now: {correct} of {total} (after "
        f"corrections) · right at the first try: {score} of {total}",
    )
    st.caption(SETS[set_name].description)

    for start in range(0, total, 2):
        columns = st.columns(2)
        for column, exercise, result in zip(
            columns, sheet.exercises[start : start + 2], results[start : start + 2], strict=False
        ):
            with column.container(border=True):
                show_exercise(exercise, result)

    if correct == total:
        if st.session_state.get("exercises_celebrated") != st.session_state["exercises_sheet_id"]:
            st.session_state["exercises_celebrated"] = st.session_state["exercises_sheet_id"]
            st.balloons()  # once per sheet, not on every rerun
        st.success("All correct. Try another sheet, or the training challenge.")

    with st.expander("For instructors: share this sheet, print the answers"):
        st.markdown(
            "Send this link to the class: everyone who opens it gets exactly these questions."
        )
        st.code(share.page_url(seed=str(seed), set=set_name), language=None)
        st.markdown("The answer sheet, with every worked solution, is also on the command line:")
        st.code(f"python -m cnn_core exercises --seed {seed} --set {set_name}", language="bash")
        st.download_button(
            "Download the answer sheet (Markdown)",
            answer_sheet_markdown(sheet),
            file_name=f"cnn-lab-exercises-{set_name}-{seed}.md",
            mime="text/markdown",
            key="exercises_download",
        )


def training_challenge() -> None:
    name = st.radio(
        "Challenge",
        list(CHALLENGES),
        index=list(CHALLENGES).index(DEFAULT_CHALLENGE),
        format_func=lambda n: CHALLENGES[n].text,
        key="exercises_challenge",
    )
    challenge = CHALLENGES[name]
    st.markdown(
        "The tutorials reached 99 % with 110,000 parameters after 19 epochs. Can you get close "
        "with a network a fifth of that size, in a few minutes on your own CPU? Ideas: fewer "
        "filters, a GlobalAveragePooling2D instead of a large Dense layer, batch normalisation "
        "(with momentum 0.9: Keras' default 0.99 lags behind in a short run), "
        "a second convolution before each pooling."
    )
    if LIMITS.max_train_samples < FULL_MNIST_TRAINING_IMAGES:
        # Measured: a 19,546-parameter network passes with all 60,000 images (98.9 %) but reaches
        # only 49 % on 18,000 in 3 epochs (batch norm at momentum 0.99 cannot settle in so few
        # steps; cnn_core.advice), and an 18,314-parameter one without batch norm 96.8 %. Say so
        # rather than let learners wonder.
        st.warning(
            f"This server trains on at most {LIMITS.max_train_samples:,} images, which makes the "
            "challenge much harder than with all 60,000. Run CNN Lab on your own computer to try "
            "it with the full data set.",
            icon=":material/info:",
        )
    runs = trained_runs()
    if not runs:
        st.info(
            "No trained model in this session yet. Design a network on the Shapes page (the "
            "ledger shows its parameter count), train it on MNIST on the Train page with a "
            "validation split, then come back: every run you train is checked here.",
            icon=":material/model_training:",
        )
        lesson_link("pages/shapes.py", "Design it: Shapes & parameters")
        lesson_link("pages/train.py", "Train it")
        return
    for run in runs:
        epochs = run.result.history.epochs
        result = check_training_run(
            run.model.count_params(),
            run.dataset_name,
            [epoch.val_accuracy for epoch in epochs],
            challenge,
        )
        with st.container(border=True):
            verdict = "Challenge met" if result.passed else "Not yet"
            icon = ":material/emoji_events:" if result.passed else ":material/pending:"
            st.markdown(f"**{literal(run.label)}** — {verdict}")
            for criterion in result.criteria:
                # Material icons, not emoji: they render the same on every system.
                mark = (
                    ":green[:material/check_circle:]"
                    if criterion.passed
                    else ":red[:material/cancel:]"
                )
                st.markdown(f"{mark} **{criterion.label}:** {criterion.detail}")
            if result.passed:
                st.success("You met the challenge with this run.", icon=icon)


# A share link opened on this page still restores the design for the other pages.
share.restore_from_link()
share.show_link_message()
st.title("Exercises")
st.markdown(
    "Check yourself on everything the lessons showed: output shapes, parameter counts, a "
    "convolution and a pooling by hand. Each answer is checked as you type it (press Enter), "
    "with the worked solution; write shapes however you like (26x26x32, (26, 26, 32)) and "
    "numbers with or without separators (6,272)."
)
sheet_tab, challenge_tab = st.tabs(["Exercise sheet", "Training challenge"])
with sheet_tab:
    exercise_sheet()
with challenge_tab:
    training_challenge()
