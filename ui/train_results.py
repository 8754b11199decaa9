"""The Train page's results: test scores, mistakes, learned filters, feature maps, run history.

Everything is computed from a finished run (cnn_core.runner.BackgroundTraining) of this
visitor's session; nothing is shared with other visitors.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from cnn_core.advice import training_advice
from cnn_core.runner import BackgroundTraining
from cnn_core.shapes import fmt
from cnn_core.training import describe_layers, feature_maps, first_layer_filters, model_bytes
from ui.text import literal
from ui.train_charts import (
    confusion_figure,
    curves_figure,
    feature_maps_mosaic,
    filters_mosaic,
    history_figure,
)

MAX_MISTAKES_SHOWN = 24  # four rows of six: enough to see a pattern


def show_failure(run: BackgroundTraining) -> None:
    """A run that could not train: its message, and what to do."""
    snapshot = run.snapshot()
    st.error(f"{literal(run.label)} did not train: {literal(snapshot.error)}")


def show_results(runs: list[BackgroundTraining]) -> None:
    """Results of one chosen run (newest by default) and the history of them all."""
    st.header("5 · Results", divider="gray")
    if len(runs) > 1:
        labels = {run.number: run.label for run in runs}
        number = st.selectbox(
            "Show the results of",
            list(labels),
            format_func=labels.get,
            key="train_result_run",
        )
        run = next(r for r in runs if r.number == number)
    else:
        run = runs[0]
    result = run.result
    assert result is not None  # trained_runs() only lists runs with a result

    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Test accuracy", f"{result.test_accuracy:.2%}")
    c2.metric("Test loss", f"{result.test_loss:.4f}")
    c3.metric("Training time", f"{result.train_seconds:.0f} s")
    c4.metric("Epochs", f"{result.epochs_done:.2f}".rstrip("0").rstrip("."))
    stopped = " It was stopped early; these are the weights it had then." if result.stopped else ""
    st.caption(
        f"{run.label}: {len(result.y_test):,} test images the network never saw while training, "
        f"from {result.dataset_name}.{stopped}"
    )
    for advice in training_advice(result.spec, result.config, result.history, result.test_accuracy):
        st.warning(f"**{advice.title}.** {advice.text}", icon=":material/lightbulb:")

    tabs = st.tabs(
        ["Curves", "Mistakes", "Learned filters", "Feature maps", "All runs", "Download"]
    )
    with tabs[0]:
        st.plotly_chart(
            curves_figure(result.history, result.config.epochs),
            width="stretch",
            config={"displayModeBar": False},
            key=f"train_result_curves_{run.number}",
        )
    with tabs[1]:
        _mistakes(run)
    with tabs[2]:
        _filters(run)
    with tabs[3]:
        _feature_maps(run)
    with tabs[4]:
        _history(runs)
    with tabs[5]:
        _downloads(run)


def _most_confused(confusion: np.ndarray) -> tuple[int, int]:
    off = confusion.copy()
    np.fill_diagonal(off, -1)
    true_class, predicted = np.unravel_index(np.argmax(off), off.shape)
    return int(true_class), int(predicted)


def _mistakes(run: BackgroundTraining) -> None:
    result = run.result
    names = result.class_names
    confusion = result.confusion
    wrong = int(confusion.sum() - np.trace(confusion))
    st.markdown(
        f"**{wrong:,} mistakes** out of {int(confusion.sum()):,}. Each row is a true class, each "
        "column what the network said; the grey diagonal is right answers. **Click a red cell** "
        "(or choose below) to see those images."
    )
    chart_col, pick_col = st.columns([3, 2])
    with chart_col:
        event = st.plotly_chart(
            confusion_figure(confusion, names),
            width="stretch",
            config={"displayModeBar": False},
            on_select="rerun",
            selection_mode="points",
            key=f"train_cm_chart_{run.number}",
        )
    true_key, pred_key = f"train_cm_true_{run.number}", f"train_cm_pred_{run.number}"
    points = event.selection.points if event and event.selection else []
    if points:
        point = points[0]
        clicked = (names.index(str(point["y"])), names.index(str(point["x"])))
        if st.session_state.get(f"train_cm_clicked_{run.number}") != clicked:
            st.session_state[f"train_cm_clicked_{run.number}"] = clicked
            st.session_state[true_key], st.session_state[pred_key] = clicked
    if true_key not in st.session_state:
        st.session_state[true_key], st.session_state[pred_key] = _most_confused(confusion)
    with pick_col:
        a, b = st.columns(2)
        true_class = a.selectbox("True class", range(len(names)), format_func=names.__getitem__,
                                 key=true_key)  # fmt: skip
        predicted = b.selectbox("Predicted as", range(len(names)), format_func=names.__getitem__,
                                key=pred_key)  # fmt: skip
        hits = result.misclassified(true_class, predicted)
        if true_class == predicted:
            st.caption(
                f"{len(hits):,} images of {literal(names[true_class])} recognised correctly."
            )
        elif not len(hits):
            st.success(
                f"No {literal(names[true_class])} was ever taken for {literal(names[predicted])}."
            )
        else:
            st.caption(
                f"{len(hits):,} images of **{literal(names[true_class])}** taken for "
                f"**{literal(names[predicted])}**, most confident first (the number under each image is "
                "how sure the network was)."
            )
        if len(hits):
            shown = hits[:MAX_MISTAKES_SHOWN]
            images = run.test_images[shown]
            st.image(
                [_enlarge(image) for image in images],
                caption=[f"{result.probabilities[i, predicted]:.0%} · #{i}" for i in shown],
                width=64,
            )


def _enlarge(image: np.ndarray, side: int = 64) -> np.ndarray:
    scale = max(1, side // image.shape[0])
    image = image.repeat(scale, axis=0).repeat(scale, axis=1)
    return image[..., 0] if image.shape[-1] == 1 else image


def _filters(run: BackgroundTraining) -> None:
    filters = first_layer_filters(run.model)
    if filters is None:
        st.info("This network has no convolution layer, so it has no filters to show.")
        return
    count, height, width, depth = filters.shape
    st.markdown(
        f"The **{count} filters of the first convolution**, {height}×{width}×{depth} weights each, "
        "as the network learned them from random numbers. White = a large positive weight, "
        "black = a large negative one (each filter stretched over its own range). Many look "
        "like **edge and stroke detectors**: a bright side next to a dark side responds to a "
        "change of brightness in that direction."
    )
    grid = filters_mosaic(filters)
    st.image(grid, width=min(grid.shape[1], 900))


def _feature_maps(run: BackgroundTraining) -> None:
    result = run.result
    images = run.test_images
    names = result.class_names
    key = f"train_fmap_index_{run.number}"
    pick_col, image_col = st.columns([2, 3])
    with pick_col:
        index = st.number_input(
            f"Test image number (0–{len(images) - 1:,})",
            0,
            len(images) - 1,
            0,
            key=key,
            help="Tip: the numbers under the images of the Mistakes tab.",
        )
        if st.button("Random image", key=f"train_fmap_random_{run.number}"):
            st.session_state[key] = int(np.random.default_rng().integers(len(images)))
            st.rerun()
    image = images[int(index)]
    predicted = int(result.predictions[int(index)])
    with image_col:
        st.image(_enlarge(image, 112), width=112)
        truth = names[int(result.y_test[int(index)])]
        verdict = "right" if names[predicted] == truth else "wrong"
        st.caption(
            f"True class **{literal(truth)}**; the network says **{literal(names[predicted])}** "
            f"({result.probabilities[int(index), predicted]:.0%} sure, {verdict})."
        )
    maps = feature_maps(run.model, image)
    if not maps:
        st.info("This network has no convolution layer.")
        return
    st.markdown(
        "What each convolution layer makes of this image: one small picture per filter, "
        "bright where the filter's pattern was found. Early layers keep the shape of the digit; "
        "deeper ones are smaller and more abstract."
    )
    for name, output in maps:
        grid, shown = feature_maps_mosaic(output)
        h, w, depth = output.shape
        more = f" (first {shown} shown)" if shown < depth else ""
        st.markdown(f"**{name}** → {h}×{w}×{depth}: {depth} feature maps{more}")
        st.image(grid, width=min(grid.shape[1], 1100))


def _history(runs: list[BackgroundTraining]) -> None:
    ordered = sorted(runs, key=lambda r: r.number)
    st.plotly_chart(
        history_figure([(r.label, r.result.history) for r in ordered]),
        width="stretch",
        config={"displayModeBar": False},
        key="train_history_chart",
    )
    rows = []
    for r in ordered:
        res = r.result
        rows.append(
            {
                "Run": r.number,
                "Architecture": f"{r.title}: {describe_layers(r.spec)}",
                "Data": res.dataset_name,
                "Parameters": fmt(r.params),
                "Epochs": round(res.epochs_done, 2),
                "Batch": res.config.batch_size,
                "Optimiser": f"{res.config.optimizer} {res.config.learning_rate:g}",
                "Augmentation": res.config.augmentation.describe(),
                "Seconds": round(res.train_seconds, 1),
                "Test accuracy": f"{res.test_accuracy:.2%}",
                "Stopped": "yes" if res.stopped else "",
            }
        )
    st.dataframe(rows, hide_index=True, width="stretch")


def _downloads(run: BackgroundTraining) -> None:
    result = run.result
    st.markdown(
        'The model as a Keras file: `keras.models.load_model("model.keras")` gives it back. It '
        "expects images scaled to 0–1 (pixels ÷ 255), shape (n, "
        f"{', '.join(map(str, run.spec.input_shape))})."
    )
    c1, c2 = st.columns(2)
    c1.download_button(
        "Download the model (.keras)",
        data=lambda: model_bytes(run.model),
        file_name=f"cnn_lab_run{run.number}.keras",
        mime="application/octet-stream",
        icon=":material/download:",
        on_click="ignore",
        key=f"train_download_model_{run.number}",
    )
    c2.download_button(
        "Download the history (.csv)",
        data=result.history.to_csv(),
        file_name=f"cnn_lab_run{run.number}_history.csv",
        mime="text/csv",
        icon=":material/table:",
        on_click="ignore",
        key=f"train_download_history_{run.number}",
    )
