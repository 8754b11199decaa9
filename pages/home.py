"""Home: what a CNN is, in one screen, and the way through the lessons."""

import plotly.graph_objects as go
import streamlit as st

import ui  # noqa: F401  (before cnn_core: a fresh server's first request, see ui/__init__.py)
from cnn_core.presets import FIRST_PRESET, get_preset
from cnn_core.shapes import dense_weights_per_neuron, fmt, ledger, shape_text
from ui.nav import lessons

st.title("CNN Lab")
st.markdown(
    "**Learn convolutional neural networks by doing them.** Slide a filter over pixels by hand, "
    "design a network and see every shape and parameter count with its formula, train it on "
    "real handwritten digits on your own CPU, then draw a digit and watch it flow through the "
    "model you just trained."
)


def network_picture() -> go.Figure:
    """The tutorial CNN as blocks: height ∝ image size, width ∝ depth, one block per stage."""
    preset = get_preset(FIRST_PRESET)
    led = ledger(preset.spec)
    stages = [("Input", tuple(preset.spec.input_shape))] + [
        (row.label.replace(" relu", "").replace(" softmax", "\n+ softmax"), row.output_shape)
        for row in led.rows
    ]
    fig = go.Figure()
    x = 0.0
    for name, shape in stages:
        if len(shape) == 3:
            height, depth = shape[0] / 28 * 2.0, 0.25 + depth_scale(shape[2])
            color = "#4C78A8" if name == "Input" else "#72B7B2"
        else:
            height, depth = 0.3 + 1.4 * min(shape[0], 1000) / 1000, 0.15
            color = "#F58518"
        fig.add_shape(
            type="rect",
            x0=x,
            x1=x + depth,
            y0=-height / 2,
            y1=height / 2,
            fillcolor=color,
            line={"color": "#333", "width": 1},
        )
        fig.add_annotation(
            x=x + depth / 2,
            y=-1.25,
            text=f"<b>{shape_text(shape)}</b>",
            showarrow=False,
            font={"size": 11},
        )
        fig.add_annotation(
            x=x + depth / 2,
            y=1.3,
            text=name.replace(" ", "<br>", 1).replace("\n", "<br>"),
            showarrow=False,
            font={"size": 10},
        )
        x += depth + 0.45
    fig.update_xaxes(visible=False, range=[-0.2, x])
    fig.update_yaxes(visible=False, range=[-1.5, 1.6])
    fig.update_layout(height=230, margin={"l": 0, "r": 0, "t": 10, "b": 0}, plot_bgcolor="white")
    return fig


def depth_scale(channels: int) -> float:
    return min(channels, 128) / 128 * 0.6


st.subheader("A CNN in one picture")
st.plotly_chart(network_picture(), width="stretch", config={"displayModeBar": False})
st.caption(
    "The tutorials' classic network on a 28×28 grayscale digit. Blue: the image; green: stacks of "
    "feature maps (taller = larger image, wider = more maps); orange: flat vectors. Each 3×3 "
    "convolution trims a pixel from every edge, each 2×2 max pool halves the size, and the depth "
    "grows as the network learns more kinds of pattern."
)

c1, c2, c3 = st.columns(3)
with c1:
    st.markdown(
        "#### 1. An image is a grid of numbers\n"
        "A grayscale digit is 28×28 values from 0 (black) to 255 (white); a colour photo has 3 "
        "such grids, red, green and blue."
    )
    st.markdown(
        "#### 2. A filter slides over it\n"
        "A small grid of weights (say 3×3) is multiplied element-wise with each patch of the image "
        "and summed: one number per position, the **feature map**. The same weights are used "
        "everywhere (**weight sharing**) and each output sees only its patch (**local receptive "
        "field**)."
    )
with c2:
    st.markdown(
        "#### 3. ReLU and pooling\n"
        "ReLU sets negatives to zero. Pooling keeps the largest (or average) value of each 2×2 "
        "window: the maps get smaller, the depth stays."
    )
    st.markdown(
        "#### 4. Flatten, Dense, softmax\n"
        "The last maps are unrolled into one vector; dense layers turn it into 10 scores, and "
        "softmax into probabilities: [0.02, 0.05, 0.10, 0.60, …] says “3”."
    )
with c3:
    st.markdown(
        "#### 5. The filters are learned\n"
        "They start random. Each batch: forward pass → loss → backpropagation → an update by "
        "Adam or SGD. Early filters end up finding edges; deeper ones combine them into shapes."
    )
    small, _ = dense_weights_per_neuron((28, 28, 3))
    large, _ = dense_weights_per_neuron((200, 200, 3))
    st.markdown(
        "#### Why not a plain dense network?\n"
        f"One fully connected neuron on a 28×28×3 image needs {fmt(small)} weights; on a "
        f"200×200×3 photo, {fmt(large)} — per neuron. A 3×3 filter on RGB needs 27, whatever "
        "the image size."
    )

st.subheader("The learning path")
for number, lesson in enumerate(lessons(), start=1):  # not the ones an instructor hid
    with st.container(border=True):
        st.page_link(lesson.path, label=f"{number}. {lesson.title}", icon=lesson.icon)
        st.caption(lesson.blurb)

st.caption(
    "CNN Lab is open source and runs offline. The handwritten digits are the MNIST data set by "
    "Yann LeCun, Corinna Cortes and Christopher Burges (CC BY-SA 3.0)."
)
