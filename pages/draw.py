"""Draw & classify: draw a digit, watch it become MNIST-style input, and follow it through a CNN.

Thin: widgets → cnn_core.canvas / cnn_core.classify → pictures from ui.draw_charts. The bundled
model is loaded once per process and shared read-only (st.cache_resource); an uploaded or
session-trained model lives in this visitor's st.session_state.
"""

from __future__ import annotations

import hashlib
import html

import streamlit as st

import ui  # noqa: F401  (before cnn_core: a fresh server's first request, see ui/__init__.py)
from cnn_core.canvas import ImageError, load_image
from cnn_core.classify import (
    BUNDLED_COMMAND,
    BUNDLED_NAME,
    BUNDLED_TEST_ACCURACY,
    UNSURE_BELOW,
    Classification,
    Classifier,
    ModelError,
)
from cnn_core.config import LIMITS
from cnn_core.presets import get_preset
from cnn_core.shapes import fmt, shape_text
from ui import share
from ui.draw_charts import (
    PLOT_CONFIG,
    enlarge,
    feature_map_grid,
    input_heatmap,
    probability_chart,
    vector_chart,
)
from ui.nav import lessons
from ui.state import trained_runs
from ui.text import literal

TRAIN_PAGE = "pages/train.py"
CANVAS_SIZE = 280  # ten times MNIST's 28: room to draw with a mouse
DEFAULT_PEN = 22  # a digit drawn ~200 px tall with this pen comes out with MNIST's stroke width
SOURCE_BUNDLED = "Pretrained (bundled)"
SOURCE_SESSION = "Trained in this session"
SOURCE_UPLOAD = "Upload a .keras file"
SOURCES = [SOURCE_BUNDLED, SOURCE_SESSION, SOURCE_UPLOAD]
PEN_WIDTHS = (6, 40)  # the pen slider's range, in canvas pixels
UPLOAD_KEY = "draw_uploaded_model"  # {"digest", "name", "classifier" | None, "error" | None}
SESSION_MODELS_KEY = "draw_session_models"  # id(model) → Classifier, made once per run
EMPTY_MESSAGE = "The canvas is empty: draw a digit on the black square."
# Layers whose output looks like their input's: named in a line rather than drawn again.
PASSED_LAYERS = ("Dropout", "BatchNormalization", "Activation", "Flatten")


@st.cache_resource(show_spinner="Loading the pretrained model…")
def bundled_classifier() -> Classifier:
    """The pretrained model, once per process, shared by every visitor (it is only read)."""
    from cnn_core.classify import load_bundled

    return load_bundled()


# --------------------------------------------------------------------------------------------
# Choosing the model
# --------------------------------------------------------------------------------------------


def _uploaded_classifier() -> Classifier | None:
    """The visitor's uploaded model, loaded once per file (by content), or None with a message."""
    upload = st.file_uploader(
        "A Keras model file (.keras)",
        type=["keras"],
        key="draw_model_file",
        max_upload_size=LIMITS.max_upload_mb,
        help='Saved with model.save("model.keras"), e.g. downloaded from the Train page. '
        "Loaded in Keras' safe mode: a model containing Python code is refused.",
    )
    if upload is None:
        st.info("Upload a .keras model to classify with it; meanwhile the pretrained one is used.")
        return None
    data = upload.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    cached = st.session_state.get(UPLOAD_KEY)
    if cached is None or cached["digest"] != digest:
        from cnn_core.classify import load_classifier

        with st.spinner(f"Loading {literal(upload.name)}…"):
            try:
                classifier, error = load_classifier(data, upload.name), None
            except ModelError as err:
                classifier, error = None, str(err)
        cached = {"digest": digest, "name": upload.name, "classifier": classifier, "error": error}
        st.session_state[UPLOAD_KEY] = cached
    if cached["error"]:
        st.error(f"{literal(cached['error'])}\n\nThe pretrained model is used meanwhile.")
        return None
    return cached["classifier"]


def _session_classifier() -> Classifier | None:
    """A model this visitor trained on the Train page, chosen from their runs."""
    runs = trained_runs()
    if not runs:
        st.info(
            "You have not trained a model in this session yet; meanwhile the pretrained one "
            "is used."
        )
        if any(lesson.path == TRAIN_PAGE for lesson in lessons()):
            st.page_link(
                TRAIN_PAGE, label="Train one on the Train page", icon=":material/model_training:"
            )
        return None
    labels = [run.label for run in runs]
    label = st.selectbox("Run", labels, key="draw_session_run")
    run = runs[labels.index(label)]
    # Keep classifiers only for runs the Train page still keeps: a forgotten run's model must
    # not stay in memory because this page once used it.
    kept = {id(r.model) for r in runs}
    made = {
        key: value
        for key, value in st.session_state.get(SESSION_MODELS_KEY, {}).items()
        if key in kept
    }
    st.session_state[SESSION_MODELS_KEY] = made
    key = id(run.model)
    if key not in made:
        try:
            made[key] = Classifier(run.model, run.label, class_names=run.class_names)
        except ModelError as err:
            made[key] = str(err)
    if isinstance(made[key], str):
        st.error(
            f"{literal(run.label)}: {literal(made[key])}\n\nThe pretrained model is used meanwhile."
        )
        return None
    return made[key]


def choose_model() -> Classifier | None:
    """The model picker; returns the classifier to use (the bundled one as the fallback)."""
    source = st.radio(
        "Model",
        SOURCES,
        horizontal=True,
        key="draw_model_source",
        label_visibility="collapsed",
    )
    chosen = None
    if source == SOURCE_SESSION:
        chosen = _session_classifier()
    elif source == SOURCE_UPLOAD:
        chosen = _uploaded_classifier()
    if chosen is not None:
        return chosen
    try:
        return bundled_classifier()
    except ModelError as err:
        st.error(f"The pretrained model cannot be used: {literal(err)}")
        return None


def describe_model(classifier: Classifier) -> None:
    height, width, channels = classifier.input_shape
    text = (
        f"**{literal(classifier.name)}**: {fmt(classifier.num_params)} parameters, "
        f"{len(classifier.model.layers)} layers, input {height}×{width}×{channels}, "
        f"{len(classifier.class_names)} classes."
    )
    bundled = classifier.name == BUNDLED_NAME
    if bundled:
        text += f" {BUNDLED_TEST_ACCURACY:.2%} right on the 10,000 MNIST test digits."
    st.caption(text)
    if bundled:
        with st.expander("How this model was made"):
            st.markdown(get_preset("digits").description)
            st.markdown("Trained on the bundled MNIST by CNN Lab's own command line:")
            st.code(BUNDLED_COMMAND, language="bash")
            st.caption(
                "Random shifts (±10 %), turns (±10°) and zooms (±10 %) during training make it "
                "forgiving of where and how a digit is drawn."
            )
    if classifier.plan.note:
        st.caption(classifier.plan.note)
    numbered = classifier.class_names == tuple(str(i) for i in range(len(classifier.class_names)))
    if numbered and len(classifier.class_names) != 10:
        st.warning(
            f"This model has {len(classifier.class_names)} classes, not 10: they are shown as "
            "class numbers, which may not be digits."
        )


# --------------------------------------------------------------------------------------------
# Showing a result
# --------------------------------------------------------------------------------------------


def show_steps(result: Classification) -> None:
    steps = result.preprocessed.steps
    st.markdown("**The MNIST recipe, step by step**")
    columns = st.columns(max(len(steps), 5))
    for column, step in zip(columns, steps, strict=False):
        with column:
            st.image(enlarge(step.image), caption=step.title, width=112)
            st.caption(step.note)


def show_empty(result: Classification, from_canvas: bool = False) -> None:
    """No digit, no prediction: an empty canvas is normal, a speck deserves a word."""
    if result.preprocessed.status == "empty":
        st.info(EMPTY_MESSAGE if from_canvas else result.preprocessed.message)
    else:
        st.warning(result.preprocessed.message)


def show_prediction(result: Classification) -> None:
    label = result.label
    confidence = result.confidence or 0.0
    st.markdown(
        f'<div class="draw-prediction" style="font-size:5.5rem;font-weight:700;line-height:1;'
        f'text-align:center" title="predicted class">{html.escape(label)}</div>'
        f'<div style="text-align:center;color:#555">{confidence:.1%} sure</div>',
        unsafe_allow_html=True,
    )
    if result.unsure:
        runner = result.runner_up
        second = result.probabilities[runner] if runner is not None else 0.0
        st.warning(
            f"The model is unsure (below {UNSURE_BELOW:.0%}): {literal(label)} at "
            f"{confidence:.0%}, then {literal(result.class_names[runner])} at {second:.0%}. Is it "
            "one digit, written "
            "plainly? A shape between two digits splits the vote."
        )


def show_path(result: Classification, classifier: Classifier, key: str = "draw_path") -> None:
    """The drawing's path through the network: what every layer made of this very input."""
    st.subheader("The path through the network")
    if not result.layers:
        st.info("This model's inner layers cannot be shown (it is not built from Keras layers).")
        return
    st.caption(
        "Each convolution filter slides over its input and lights up where its pattern appears; "
        "pooling keeps the strongest response of each 2×2 window. One colour scale per layer: "
        "a map that stays dark found nothing in this drawing. Hover for values."
    )
    # Each drawn layer, with the layers after it that change little to look at (batch norm,
    # dropout, flatten), which are named in its box: "then …".
    last = len(result.layers) - 1
    boxes: list[tuple[int, list[str]]] = [(-1, [])]  # -1: the input
    for index, output in enumerate(result.layers):
        if output.type in PASSED_LAYERS and index != last:
            boxes[-1][1].append(_pass_note(output))
        else:
            boxes.append((index, []))
    for index, then in boxes:
        with st.container(border=True):
            left, right = st.columns([1, 3])
            if index < 0:
                height, width, channels = classifier.input_shape
                plan = classifier.plan
                with left:
                    st.markdown(f"**Input** · {height}×{width}×{channels}")
                    st.caption("The preprocessed drawing, values 0 (black) to 1 (white).")
                    for note in then:
                        st.caption(note)
                with right:
                    image = plan.adapt(result.preprocessed.digit)[0] / plan.pixel_scale
                    st.plotly_chart(input_heatmap(image), config=PLOT_CONFIG, key=f"{key}_input")
                continue
            output = result.layers[index]
            with left:
                heading = f"**{literal(output.name)}** · {output.type} → {shape_text(output.shape)}"
                st.markdown(heading)
                st.caption(_layer_note(output, index == last))
                for note in then:
                    st.caption(note)
            with right:
                if output.is_feature_maps:
                    fig = feature_map_grid(output)
                else:
                    names = result.class_names if index == last else None
                    fig = vector_chart(output, names)
                st.plotly_chart(fig, config=PLOT_CONFIG, key=f"{key}_{index}")


def _pass_note(output) -> str:
    if output.type == "Dropout":
        return (
            f"Then {literal(output.name)}: dropout acts only while training; when predicting it passes "
            "every value on."
        )
    if output.type == "BatchNormalization":
        return (
            f"Then {literal(output.name)}: batch normalisation rescales each map with statistics "
            "learned in training."
        )
    if output.type == "Flatten":
        return (
            f"Then {literal(output.name)}: the maps are unrolled into {fmt(output.values.size)} values "
            "(channels-last, as Keras does)."
        )
    return f"Then {literal(output.name)}: an activation function applied to every value."


def _layer_note(output, is_last: bool) -> str:
    if output.type == "Conv2D":
        return f"{output.shape[2]} feature maps, one per learned filter."
    if output.type in ("MaxPooling2D", "AveragePooling2D"):
        return "Each map shrunk on its own; the depth is unchanged."
    if is_last:
        return (
            "The last layer: one score per class. Softmax turns them into the probabilities above."
        )
    if output.is_feature_maps:
        return f"{output.shape[2]} maps."
    return f"{output.values.size} values, each a weighted sum of every input plus a bias."


def show_result(result: Classification, classifier: Classifier, with_path: bool = True) -> None:
    if result.probabilities is None:
        show_empty(result)
        show_steps(result)
        return
    left, right = st.columns([1, 2])
    with left:
        show_prediction(result)
    with right:
        st.plotly_chart(
            probability_chart(result.probabilities, result.class_names),
            config=PLOT_CONFIG,
            key="draw_file_probabilities",
        )
    show_steps(result)
    if with_path:
        show_path(result, classifier, key="draw_file_path")  # keys apart from the drawing's


# --------------------------------------------------------------------------------------------
# The page
# --------------------------------------------------------------------------------------------


# A share link carries the pen and the kind of model, never a drawing or a model itself.
share.restore_from_link()  # app.py does it first; again for a page run on its own
share.show_link_message()
share.apply_link_settings(
    {"draw_pen_width": share.whole_number(*PEN_WIDTHS), "draw_model_source": share.one_of(SOURCES)}
)
st.title("Draw & classify")
st.markdown(
    "Draw a digit and a trained CNN reads it. Your drawing is first turned into an MNIST-style "
    "28×28 image (the way the training digits were made), then passed through the network: "
    "below you can see every step and what every layer made of it."
)

with st.container(border=True):
    classifier = choose_model()
    if classifier is not None:
        describe_model(classifier)

share_token = share.update_link(
    {
        "draw_model_source": st.session_state.get("draw_model_source"),
        "draw_pen_width": st.session_state.get("draw_pen_width", DEFAULT_PEN),
    }
)
if classifier is None:
    st.stop()

draw_tab, file_tab = st.tabs(
    [":material/draw: Draw a digit", ":material/image: Classify an image file"]
)

with draw_tab:
    # The canvas keeps its full 280 px whatever the window; the result takes the rest of the
    # row, or goes below the canvas on a narrow screen.
    row = st.container(horizontal=True, gap="large")
    canvas_column = row.container(width=CANVAS_SIZE + 4)
    result_column = row.container(width="stretch")
    with canvas_column:
        from streamlit_drawable_canvas import st_canvas  # only inside a running page (FACTS.md)

        st.markdown("**Your drawing**")  # also leaves room for the canvas's hover toolbar
        pen = st.session_state.get("draw_pen_width", DEFAULT_PEN)
        canvas = st_canvas(
            stroke_width=pen,
            stroke_color="#FFFFFF",
            background_color="#000000",
            width=CANVAS_SIZE,
            height=CANVAS_SIZE,
            drawing_mode="freedraw",
            return_image_data=True,
            key="draw_canvas",
        )
        st.slider("Pen width", *PEN_WIDTHS, DEFAULT_PEN, key="draw_pen_width")
        st.caption("Draw one digit, white on black like MNIST. The bin icon clears the canvas.")
    drawing = canvas.image_data
    if drawing is None:
        with result_column:
            st.info(
                "Draw a digit on the black square: the prediction appears when you lift the mouse."
            )
        drawn = None
    else:
        drawn = classifier.classify(drawing, with_layers=True)
        with result_column:
            if drawn.probabilities is None:
                show_empty(drawn, from_canvas=True)
            else:
                left, right = st.columns([1, 2])
                with left:
                    show_prediction(drawn)
                with right:
                    st.plotly_chart(
                        probability_chart(drawn.probabilities, drawn.class_names),
                        config=PLOT_CONFIG,
                        key="draw_probabilities",
                    )
    if drawn is not None:
        show_steps(drawn)
        if drawn.probabilities is not None:
            show_path(drawn, classifier)

with file_tab:
    upload = st.file_uploader(
        "A photo or scan of one handwritten digit",
        type=["png", "jpg", "jpeg", "gif", "bmp", "webp"],
        key="draw_image_file",
        max_upload_size=LIMITS.max_upload_mb,
        help=f"Dark ink on light paper is detected and inverted. Up to {LIMITS.max_upload_mb} MB.",
    )
    if upload is not None and upload.size > LIMITS.max_upload_mb * 1024 * 1024:
        st.error(
            f"{literal(upload.name)} is larger than {LIMITS.max_upload_mb} MB; use a smaller one."
        )
    elif upload is not None:
        try:
            image = load_image(upload.getvalue())
        except ImageError as err:
            st.error(f"{literal(upload.name)}: {literal(err)}")
        else:
            with_path = st.toggle(
                "Show its path through the network", key="draw_file_show_path", value=False
            )
            from_file = classifier.classify(image, with_layers=with_path)
            show_result(from_file, classifier, with_path=with_path)

with st.expander("Share this page", icon=":material/share:"):
    st.caption(
        "This link opens this page with the same kind of model and pen width. Drawings, "
        "uploads and trained models stay with you: each visitor draws and trains their own."
    )
    share.show_share_link(share_token)
