"""Train: pick data and a network, train it live on this CPU, then study what it learned.

The training itself runs on a background thread owned by this visitor's session
(cnn_core.runner), so clicking around, or leaving the page and coming back, loses neither the
model nor its curves. This page reads widgets, starts runs and draws snapshots.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

import ui  # noqa: F401  (before cnn_core: a fresh server's first request, see ui/__init__.py)
from cnn_core.augment import FLIP_WARNING, FLIPS, Augmentation
from cnn_core.config import BATCH_SIZES, LIMITS
from cnn_core.data import (
    DATASETS,
    DataError,
    Dataset,
    class_counts,
    load_dataset,
    load_image_zip,
    preview_indices,
    split_indices,
)
from cnn_core.presets import DEFAULT_PRESET, PRESETS, get_preset
from cnn_core.runner import SLOTS
from cnn_core.shapes import fmt, ledger
from cnn_core.spec import SpecError
from cnn_core.training import (
    DEFAULTS,
    OPTIMIZERS,
    SCHEDULES,
    TrainingConfig,
    adapt_spec,
    describe_layers,
    fit_problems,
)
from ui import controls, share, state
from ui.text import literal
from ui.train_charts import counts_figure, curves_figure, mosaic
from ui.train_results import show_failure, show_results
from ui.train_runtime import keep_keras_state

# Before any training: stop Streamlit from calling keras.backend.clear_session() after every
# rerun, under the feet of every visitor's training thread (see ui/train_runtime.py).
keep_keras_state()

st.title("Train a CNN")
st.markdown(
    "Pick the data and a network, press **Train**, and watch it learn: after every batch of "
    "images the network guesses, the **loss** measures how wrong it was, backpropagation "
    "works out how each weight should change, and the optimiser nudges them all. One pass "
    "over the training images is an **epoch**. Images held out for **validation** show "
    "whether it learns digits in general or only memorises these ones."
)

ZIP_OPTION = "zip"
LIVE_REDRAW_SECONDS = 1.0
SHAPES_OPTION = "shapes"
# The settings a share link carries and an instructor may lock or hide (cnn_core.config.CONTROLS
# checks their values, for both).
HYPERPARAMETERS = (
    "train_epochs",
    "train_batch_size",
    "train_optimizer",
    "train_learning_rate",
    "train_schedule",
    "train_seed",
)
AUGMENTATION = ("train_aug_shift", "train_aug_rotation", "train_aug_zoom", "train_aug_flip")
TRAIN_CONTROLS = (
    "train_dataset",
    "train_samples",
    "train_val_split",
    "train_arch",
    *HYPERPARAMETERS,
    *AUGMENTATION,
)

# Before any widget: a share link's values (checked like an instructor's), then locks win.
# (app.py reads the link too; this page reads it itself when Streamlit runs it on its own.)
share.restore_from_link()
share.show_link_message()
share.apply_link_settings(controls.link_validators(TRAIN_CONTROLS))


@st.cache_resource(show_spinner="Loading the data set…")
def shared_dataset(name: str) -> Dataset:
    """One read-only copy per server process, shared by every visitor."""
    return load_dataset(name)


def zip_dataset(upload, size: int, color: str) -> Dataset:
    """A visitor's own images, decoded once per upload and setting (kept in their session)."""
    key = (upload.file_id, size, color)
    cached = st.session_state.get("train_zip_cache")
    if cached is None or cached[0] != key:
        with st.spinner("Reading your images…"):
            try:
                dataset: Dataset | str = load_image_zip(
                    upload.getvalue(),
                    image_size=(size, size),
                    color_mode=color,
                    name=upload.name.removesuffix(".zip"),
                )
            except DataError as err:
                dataset = str(err)
        st.session_state["train_zip_cache"] = cached = (key, dataset)
    if isinstance(cached[1], str):
        raise DataError(cached[1])
    return cached[1]


# --------------------------------------------------------------------------------------------
# 1. Data
# --------------------------------------------------------------------------------------------

st.header("1 · Data", divider="gray")
data_names = [name for name in [*DATASETS, ZIP_OPTION] if name in LIMITS.datasets]
data_col, size_col = st.columns([2, 3])
with data_col:
    choice = controls.widget(
        st.selectbox,
        "Data set",
        data_names,
        format_func=lambda n: DATASETS[n].title if n in DATASETS else "Your images (.zip)",
        key="train_dataset",
        default=data_names[0],
    )
    if choice in DATASETS:
        st.caption(DATASETS[choice].description)

dataset: Dataset | None = None
try:
    if choice == ZIP_OPTION:
        with data_col:
            upload = st.file_uploader(
                f"A .zip with one folder per class (PNG or JPEG), up to {LIMITS.max_upload_mb} MB",
                type=["zip"],
                key="train_zip",
                max_upload_size=LIMITS.max_upload_mb,
            )
            zip_size = st.select_slider(
                "Resize every image to (pixels)", [28, 32, 48, 64, 96], 32, key="train_zip_size"
            )
            zip_color = st.radio(
                "Colour", ["grayscale", "rgb"], horizontal=True, key="train_zip_color",
                format_func=lambda c: {"grayscale": "Grayscale (1 channel)", "rgb": "RGB (3)"}[c],
            )  # fmt: skip
        if upload is None:
            with size_col:
                st.info(
                    "Make a folder with one sub-folder per class, e.g. `cats/` and `dogs/`, put "
                    "the pictures in them, zip the folder and drop it here. Pictures of any size "
                    "are resized to one shape, because a network takes one input shape."
                )
        else:
            dataset = zip_dataset(upload, zip_size, zip_color)
    else:
        dataset = shared_dataset(choice)
except DataError as err:
    with size_col:
        st.error(literal(err))

if dataset is not None:
    for note in dataset.notes:
        st.caption(literal(note))
    available = len(dataset.y_train)
    limit = min(available, LIMITS.max_train_samples)
    if st.session_state.get("train_samples", 0) > limit:  # a smaller data set was chosen
        st.session_state["train_samples"] = limit
    with size_col:
        c1, c2 = controls.columns(["train_samples", "train_val_split"])
        train_samples = controls.widget(
            c1.number_input,
            f"Training images (of {available:,})",
            min_value=min(100, limit),
            max_value=limit,
            value=limit,
            step=1000 if limit >= 5000 else 10,
            key="train_samples",
            default=limit,
            fit=lambda locked: min(locked, limit),  # an instructor's number, on a smaller set
            help="A random subset: fewer images train faster but learn less.",
        )
        validation_split = controls.widget(
            c2.slider,
            "Held out for validation",
            0.0,
            0.5,
            DEFAULTS.validation_split,
            0.05,
            format="%.2f",
            key="train_val_split",
            default=DEFAULTS.validation_split,
            help="This fraction of the training images is never trained on; after each epoch "
            "the network is scored on it.",
        )
        seed_for_split = int(controls.current("train_seed", DEFAULTS.seed))
        try:
            train_index, val_index = split_indices(
                available, int(train_samples), validation_split, seed_for_split
            )
            counts = class_counts(dataset.y_train[train_index], dataset.num_classes)
            st.caption(
                f"{len(train_index):,} images to train on, {len(val_index):,} to validate, "
                f"{len(dataset.y_test):,} test images kept apart until the end. "
                f"Images are {'×'.join(map(str, dataset.input_shape))} "
                f"({'grayscale' if dataset.input_shape[2] == 1 else 'colour'})."
            )
        except DataError as err:
            counts = None
            st.error(literal(err))
    with st.expander("Preview: samples of each class and how many there are", expanded=False):
        per_class = 12 if dataset.num_classes <= 10 else 6
        index = preview_indices(dataset.y_train, dataset.num_classes, per_class=per_class)
        grid_col, count_col = st.columns([3, 2])
        scale = max(1, 64 // dataset.input_shape[0])
        grid_col.image(
            mosaic(np.asarray(dataset.x_train[index]), columns=per_class, scale=scale),
            caption="One row per class: "
            + ", ".join(str(c) for c in dataset.class_names[:12])
            + (" …" if dataset.num_classes > 12 else ""),
        )
        if counts is not None:
            count_col.plotly_chart(
                counts_figure(counts, dataset.class_names),
                width="stretch",
                config={"displayModeBar": False},
            )

# --------------------------------------------------------------------------------------------
# 2. Network
# --------------------------------------------------------------------------------------------

st.header("2 · Network", divider="gray")
arch_names = [*PRESETS, SHAPES_OPTION]
arch_col, info_col = st.columns([2, 3])
with arch_col:
    arch = controls.widget(
        st.selectbox,
        "Architecture",
        arch_names,
        index=arch_names.index(DEFAULT_PRESET),
        format_func=lambda n: PRESETS[n].title if n in PRESETS else "My design (Shapes page)",
        key="train_arch",
        default=DEFAULT_PRESET,
    )
spec = None
title = "My design"
spec_problems: list[str] = []
if arch in PRESETS:
    preset = get_preset(arch)
    title = preset.title
    spec = preset.spec
    with arch_col:
        st.caption(preset.description)
    if dataset is not None:
        spec, changes = adapt_spec(spec, dataset)
        if changes:
            with arch_col:
                st.caption("Fitted to this data: " + "; ".join(changes) + ".")
else:
    try:
        spec = state.get_spec()
    except SpecError as err:
        spec_problems.append(f"The design from the Shapes page cannot be read: {err}")
    with arch_col:
        st.caption("The network you designed on the Shapes page.")

if spec is not None:
    led = ledger(spec)
    with info_col:
        st.metric("Parameters to learn", fmt(led.total_params))
        st.caption(
            f"{describe_layers(spec)} · input {'×'.join(map(str, spec.input_shape))} · "
            f"{fmt(led.total_macs)} multiply-adds per image"
        )
    if dataset is not None:
        spec_problems += [str(p) for p in fit_problems(spec, dataset)]
    if led.total_params > LIMITS.max_model_params:
        spec_problems.append(
            f"This network has {fmt(led.total_params)} parameters; CNN Lab trains at most "
            f"{fmt(LIMITS.max_model_params)}. Use fewer filters or units, or pool earlier."
        )
if spec_problems:
    with info_col:
        st.error("This network cannot train on this data yet:\n\n" + "\n".join(
            f"- {literal(p)}" for p in spec_problems
        ))  # fmt: skip
        if arch == SHAPES_OPTION and dataset is not None and spec is not None:
            fitted, changes = adapt_spec(spec, dataset)
            if changes and st.button(
                f"Fit my design to {literal(dataset.name)} ({literal('; '.join(changes))})",
                key="train_adapt_spec",
            ):
                state.set_spec(fitted)
                st.rerun()

# --------------------------------------------------------------------------------------------
# 3. Hyperparameters
# --------------------------------------------------------------------------------------------

st.header("3 · How to train", divider="gray")
c1, c2, c3, c4, c5, c6 = controls.columns(HYPERPARAMETERS)
default_epochs = min(DEFAULTS.epochs, LIMITS.max_epochs)
epochs = controls.widget(
    c1.number_input, "Epochs", 1, LIMITS.max_epochs, default_epochs, key="train_epochs",
    default=default_epochs, help="Passes over the training images.",
)  # fmt: skip
batch_sizes = [b for b in BATCH_SIZES if b <= LIMITS.max_batch_size]
default_batch = DEFAULTS.batch_size if DEFAULTS.batch_size in batch_sizes else batch_sizes[-1]
batch_size = controls.widget(
    c2.selectbox, "Batch size", batch_sizes, index=batch_sizes.index(default_batch),
    key="train_batch_size", default=default_batch,
    help="Images per weight update. Larger batches are faster per image on a CPU.",
)  # fmt: skip
optimizer = controls.widget(
    c3.selectbox, "Optimiser", OPTIMIZERS, index=OPTIMIZERS.index(DEFAULTS.optimizer),
    key="train_optimizer", default=DEFAULTS.optimizer,
    format_func=lambda o: {"adam": "Adam", "sgd": "SGD + momentum", "rmsprop": "RMSprop"}[o],
)  # fmt: skip
learning_rate = controls.widget(
    c4.number_input, "Learning rate", 0.00001, 1.0, DEFAULTS.learning_rate, format="%.4f",
    step=0.0005, key="train_learning_rate", default=DEFAULTS.learning_rate,
    help="How big each step is. Too big: the loss jumps about; too small: it hardly falls.",
)  # fmt: skip
schedule = controls.widget(
    c5.selectbox, "Schedule", SCHEDULES, index=SCHEDULES.index(DEFAULTS.schedule),
    key="train_schedule", default=DEFAULTS.schedule,
    format_func=lambda s: {"cosine": "Warm-up + cosine", "constant": "Constant"}[s],
    help="Warm-up + cosine: the rate climbs over the first 10 % of steps, then glides to zero, "
    "so the last epoch fine-tunes.",
)  # fmt: skip
seed = controls.widget(
    c6.number_input, "Random seed", 0, 2**31 - 1, DEFAULTS.seed, key="train_seed",
    default=DEFAULTS.seed,
    help="Same seed, same settings → the same split, starting weights, batches and curves.",
)  # fmt: skip

# An instructor may hide every augmentation control: then the section goes, and the locked (or
# default, no) augmentation is used.
shown_augmentation = any(controls.shown(key) for key in AUGMENTATION)
augment_box = (
    st.expander("Data augmentation: show the network slightly changed images", expanded=False)
    if shown_augmentation
    else st.container()
)
with augment_box:
    if shown_augmentation:
        st.caption(
            "Each training batch is randomly shifted, turned, zoomed or mirrored (Keras "
            "preprocessing layers, only while training; validation and test images are never "
            "changed). The network learns that these changes do not change the answer."
        )
    a1, a2, a3, a4 = controls.columns(AUGMENTATION)
    shift = controls.widget(
        a1.slider, "Shift (fraction of size)", 0.0, 0.3, 0.0, 0.05, key="train_aug_shift",
        default=0.0,
    )  # fmt: skip
    rotation = controls.widget(
        a2.slider, "Rotation (degrees)", 0, 45, 0, 5, key="train_aug_rotation", default=0
    )
    zoom = controls.widget(
        a3.slider, "Zoom (fraction)", 0.0, 0.3, 0.0, 0.05, key="train_aug_zoom", default=0.0
    )
    flip_names = {
        "none": "No mirroring",
        "horizontal": "Left ↔ right",
        "vertical": "Upside down",
        "horizontal_and_vertical": "Both",
    }
    flip = controls.widget(
        a4.selectbox, "Mirror", FLIPS, key="train_aug_flip", default="none",
        format_func=flip_names.get,
    )  # fmt: skip
    augmentation = Augmentation(shift=shift, rotation=rotation, zoom=zoom, flip=flip)
    if flip != "none" and controls.shown("train_aug_flip"):
        st.warning(FLIP_WARNING)
    if augmentation.active and dataset is not None and shown_augmentation:
        from cnn_core.augment import augmented_samples

        sample = np.asarray(
            dataset.x_train[preview_indices(dataset.y_train, dataset.num_classes, 1)]
        )
        with st.spinner("Drawing random versions (the first time starts TensorFlow)…"):
            copies = augmented_samples(sample[:8], augmentation, seed=int(seed), copies=6)
        scale = max(1, 64 // dataset.input_shape[0])
        st.image(
            mosaic(copies.reshape(-1, *copies.shape[2:]), columns=6, scale=scale),
            caption="Left: the original; right: five random versions the network might see.",
        )

config = TrainingConfig(
    epochs=int(epochs),
    batch_size=int(batch_size),
    optimizer=optimizer,
    learning_rate=float(learning_rate),
    schedule=schedule,
    seed=int(seed),
    train_samples=int(train_samples) if dataset is not None else None,
    validation_split=float(validation_split) if dataset is not None else DEFAULTS.validation_split,
    augmentation=augmentation,
)
config_problems = config.problems()
for problem in config_problems:
    st.error(literal(problem))

# The address bar becomes this page's share link. "All the images" stays out of it: the number
# depends on the data set and on the server's limit, and the default means "all" everywhere.
all_images = dataset is None or int(train_samples) == min(
    len(dataset.y_train), LIMITS.max_train_samples
)
share_token = share.update_link(
    {
        "train_dataset": choice,
        "train_samples": None if all_images else int(train_samples),
        "train_val_split": float(validation_split) if dataset is not None else None,
        "train_arch": arch,
        "train_epochs": int(epochs),
        "train_batch_size": int(batch_size),
        "train_optimizer": optimizer,
        "train_learning_rate": float(learning_rate),
        "train_schedule": schedule,
        "train_seed": int(seed),
        "train_aug_shift": float(shift),
        "train_aug_rotation": int(rotation),
        "train_aug_zoom": float(zoom),
        "train_aug_flip": flip,
    }
)
with st.expander("Share this page", icon=":material/share:"):
    st.caption(
        "This link opens the Train page with these settings (data set, network, and how to "
        "train), and your design from the Shapes page: send it to someone, or to a whole class."
    )
    share.show_share_link(share_token)

# --------------------------------------------------------------------------------------------
# 4. Training (live)
# --------------------------------------------------------------------------------------------

st.header("4 · Training", divider="gray")
active = state.active_run()
can_train = dataset is not None and spec is not None and not spec_problems and not config_problems
start_col, note_col = st.columns([1, 4])
if start_col.button(
    "Train",
    type="primary",
    icon=":material/play_arrow:",
    disabled=not can_train or active is not None,
    key="train_start",
    width="stretch",
):
    with st.spinner("Starting TensorFlow…"):
        state.start_run(spec, dataset, config, title)
    st.rerun()
if active is not None:
    note_col.caption("One training at a time per visitor: stop this one to start another.")
elif not can_train:
    note_col.caption("Fix the problems above to train.")
else:
    note_col.caption(
        f"{title} on {dataset.name}: {config.epochs} epoch(s), batch {config.batch_size}. "
        "You can leave this page while it trains; the run carries on and waits for you."
    )


def describe_state(snapshot) -> str:
    latest = snapshot.latest
    if snapshot.state == "queued":
        return (
            f"Waiting for a free training slot: you are number {snapshot.queue_position} in line "
            f"({SLOTS.running} training(s) running on this server now)."
        )
    if snapshot.state == "preparing":
        return "Building the network and preparing the data…"
    if snapshot.state == "testing":
        return "Training done; scoring the network on the test images…"
    if latest is None:
        return "Compiling the network (the first batch takes a few seconds)…"
    eta = f"about {latest.eta_seconds:.0f} s left" if np.isfinite(latest.eta_seconds) else ""
    return (
        f"Epoch {latest.epoch}/{latest.epochs} · batch {latest.batch}/{latest.batches_per_epoch} · "
        f"{latest.samples_per_second:,.0f} images/s · {eta}"
    )


def live_panel() -> None:
    """Redrawn a few times per second while a run is going; hands over to the results after."""
    run = state.active_run()
    if run is None:
        st.rerun()  # the run ended since the last redraw: show its results
    snapshot = run.snapshot()
    bar_col, stop_col = st.columns([5, 1])
    fraction = snapshot.latest.fraction_done if snapshot.latest else 0.0
    bar_col.progress(min(fraction, 1.0), text=describe_state(snapshot))
    if stop_col.button(
        "Stop",
        icon=":material/stop:",
        key="train_stop",
        disabled=run.stop_requested,
        width="stretch",
        help="Ends training after the current batch and keeps the weights learned so far.",
    ):
        run.stop()
    if run.stop_requested and not snapshot.done:
        st.caption("Stopping after this batch; the weights learned so far are kept and tested.")
    # Building a plotly figure costs tens of milliseconds of the CPU the training needs: build
    # it again only when new numbers have arrived.
    drawn = (run.number, len(snapshot.history.steps), len(snapshot.history.epochs))
    cached = st.session_state.get("train_live_figure")
    if cached is None or cached[0] != drawn:
        cached = (drawn, curves_figure(snapshot.history, run.config.epochs))
        st.session_state["train_live_figure"] = cached
    st.plotly_chart(
        cached[1], width="stretch", config={"displayModeBar": False}, key="train_live_chart"
    )
    st.caption(
        f"{run.label} · {snapshot.elapsed_seconds:.0f} s. Pale line: each batch's own loss and "
        "accuracy (noisy: every batch is different images); dark line: smoothed; orange dots: "
        "each epoch's average on the training images; green diamonds: validation images, "
        "which it never trains on, scored at the end of each epoch."
    )


if active is not None:
    # Redraw once a second: live enough to watch, and on a 2-core machine each redraw takes
    # CPU from the training (measured with py-spy: a third of the server's time at 2 per s).
    st.fragment(live_panel, run_every=LIVE_REDRAW_SECONDS)()

# --------------------------------------------------------------------------------------------
# 5. Results
# --------------------------------------------------------------------------------------------

runs = state.all_runs()
if runs and runs[0].state == "failed":
    show_failure(runs[0])
trained = state.trained_runs()
if not trained and active is None:
    st.info("No trained network yet: press **Train**. The tiny preset trains in seconds.")
if trained:
    show_results(trained)
