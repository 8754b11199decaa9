"""The app's entry point and Home page under AppTest."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.conftest import APP_TIMEOUT
from ui.nav import LESSONS

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def test_home_renders_and_links_every_lesson():
    at = AppTest.from_file(APP, default_timeout=APP_TIMEOUT)
    at.run()
    assert not at.exception
    assert at.title[0].value == "CNN Lab"
    links = [element.proto.page for element in at.get("page_link")]
    assert links == [Path(lesson.path).stem for lesson in LESSONS]
    text = " ".join(m.value for m in at.markdown)
    assert "2,352" in text and "120,000" in text  # the fully connected comparison, computed


def test_every_lesson_page_exists_and_is_registered():
    root = Path(APP).parent
    for lesson in LESSONS:
        assert (root / lesson.path).is_file(), lesson.path
    order = [Path(lesson.path).stem for lesson in LESSONS]
    expected = [p for p in ["convolution", "shapes", "train", "draw", "exercises"] if p in order]
    assert order == expected, "the learning path is Convolution → Shapes → Train → Draw → Exercises"


def test_switching_to_the_shapes_page_through_navigation():
    at = AppTest.from_file(APP, default_timeout=APP_TIMEOUT)
    at.run()
    at.switch_page("pages/shapes.py").run()
    assert not at.exception
    assert at.title[0].value == "Shapes & parameters"
