"""CNN Lab: `streamlit run app.py`. This file only sets up the page and registers the lessons."""

import streamlit as st

try:  # these read the settings (cnn_core.config: limits, the instructor's file) once, at start
    from ui import share
    from ui.i18n import language_picker
    from ui.nav import HOME, lessons
    from ui.train_runtime import keep_keras_state
except SystemExit as mistake:  # cnn_core.config.ConfigExit: one sentence instead of the app
    st.error(str(mistake), icon=":material/error:")
    st.stop()

st.set_page_config(page_title="CNN Lab", page_icon="🧠", layout="wide")
# Visitors' trainings run in background threads while any page reruns: stop Streamlit from
# resetting Keras and forcing a full collection after every rerun (see ui/train_runtime.py).
keep_keras_state()
# The visitor's language (their own, per session) before any page text is written.
language_picker()
# A share link (?share=…) works whichever page it opens: read it once per visit, before the page.
share.restore_from_link()
share.show_link_message()

pages = [st.Page(HOME.path, title=HOME.title, icon=HOME.icon, default=True)] + [
    st.Page(lesson.path, title=lesson.title, icon=lesson.icon) for lesson in lessons()
]
st.navigation(pages).run()
