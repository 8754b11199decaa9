"""CNN Lab: `streamlit run app.py`. This file only sets up the page and registers the lessons."""

import streamlit as st

from ui.text import literal  # reads no settings: usable when they have a mistake

try:  # these read the settings (cnn_core.config: limits, the instructor's file) once, at start
    from ui import share
    from ui.i18n import language_picker
    from ui.nav import HOME, hidden_lessons, hidden_page, lessons
    from ui.train_runtime import keep_keras_state
except SystemExit as mistake:  # cnn_core.config.ConfigExit: one sentence instead of the app
    st.error(literal(mistake), icon=":material/error:")
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

pages = [st.Page(HOME.path, title=HOME.title, icon=HOME.icon, default=True)]
pages += [st.Page(lesson.path, title=lesson.title, icon=lesson.icon) for lesson in lessons()]
# A lesson the instructor hid keeps its address, out of the navigation: it says it is hidden.
pages += [
    st.Page(hidden_page(lesson), title=lesson.title, url_path=lesson.name, visibility="hidden")
    for lesson in hidden_lessons()
]
st.navigation(pages).run()
