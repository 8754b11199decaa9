"""CNN Lab: `streamlit run app.py`. This file only sets up the page and registers the lessons."""

import streamlit as st

from ui.nav import HOME, LESSONS
from ui.train_runtime import keep_keras_state

st.set_page_config(page_title="CNN Lab", page_icon="🧠", layout="wide")
# Visitors' trainings run in background threads while any page reruns: stop Streamlit from
# resetting Keras and forcing a full collection after every rerun (see ui/train_runtime.py).
keep_keras_state()

pages = [st.Page(HOME.path, title=HOME.title, icon=HOME.icon, default=True)] + [
    st.Page(lesson.path, title=lesson.title, icon=lesson.icon) for lesson in LESSONS
]
st.navigation(pages).run()
