"""The catalogues: complete in every language, placeholders that match, no unused or missing ids,
the generated Traditional catalogue up to date, and the language chosen per visitor."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cnn_core import config
from cnn_core.i18n import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    Message,
    catalogue,
    msg,
    normalize_language,
    placeholders,
    render,
    translate,
)

ROOT = Path(__file__).resolve().parents[1]
CODE = [
    ROOT / "app.py",
    *sorted((ROOT / "cnn_core").rglob("*.py")),
    *sorted((ROOT / "ui").rglob("*.py")),
    *sorted((ROOT / "pages").rglob("*.py")),
]
ID = re.compile(r"[a-z0-9_]+(\.[A-Za-z0-9_-]+)+")
# Calls whose first argument (second for translate) is a catalogue id.
ID_CALLS = {"t": 0, "msg": 0, "Message": 0, "translate": 1}


def _code_strings() -> tuple[set[str], list[re.Pattern[str]], list[tuple[str, str, int]]]:
    """Every string constant in the code, a pattern per f-string that starts like an id
    (``f"presets.{slug}.title"``), and every literal id passed to t()/msg()/… with its place."""
    literals: set[str] = set()
    families: list[re.Pattern[str]] = []
    calls: list[tuple[str, str, int]] = []
    for path in CODE:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                literals.add(node.value)
            elif isinstance(node, ast.JoinedStr):
                first = node.values[0] if node.values else None
                if not (isinstance(first, ast.Constant) and "." in str(first.value)):
                    continue
                parts = [
                    re.escape(v.value) if isinstance(v, ast.Constant) else r"[A-Za-z0-9_-]+"
                    for v in node.values
                ]
                families.append(re.compile("".join(parts)))
            elif isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                where = ID_CALLS.get(name)
                if where is None or len(node.args) <= where:
                    continue
                arg = node.args[where]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    calls.append((arg.value, str(path.relative_to(ROOT)), node.lineno))
    return literals, families, calls


def test_every_language_has_a_catalogue_with_the_same_ids():
    english = set(catalogue("en"))
    assert english, "the English catalogue is empty"
    for language in LANGUAGES:
        ids = set(catalogue(language))
        assert not english - ids, f"{language} lacks {sorted(english - ids)[:20]}"
        assert not ids - english, f"{language} has ids English lacks: {sorted(ids - english)[:20]}"


def test_ids_are_well_formed():
    bad = [id for id in catalogue("en") if not ID.fullmatch(id)]
    assert not bad, bad


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != "en"])
def test_every_entry_has_the_placeholders_of_english(language):
    english = catalogue("en")
    wrong = {
        id: (sorted(placeholders(entry)), sorted(placeholders(english[id])))
        for id, entry in catalogue(language).items()
        if placeholders(entry) != placeholders(english[id])
    }
    assert not wrong, f"{language}: (its placeholders, English's) {wrong}"


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_every_entry_formats_with_its_placeholders(language):
    for id, entry in catalogue(language).items():
        values = {name: 7 for name in placeholders(entry)}
        assert translate(language, id, **values) != id, f"{language} {id} does not format"


def test_no_catalogue_id_is_unused_and_no_used_id_is_missing():
    literals, families, calls = _code_strings()
    source = "\n".join(path.read_text(encoding="utf-8") for path in CODE)  # docstrings too
    ids = set(catalogue("en"))
    unused = sorted(
        id
        for id in ids
        if id not in literals
        and f'"{id}"' not in source
        and not any(f.fullmatch(id) for f in families)
    )
    assert not unused, f"ids no code uses: {unused[:30]}"
    missing = [(id, place, line) for id, place, line in calls if id not in ids]
    assert not missing, f"ids used but not in the English catalogue: {missing[:30]}"


def test_the_traditional_catalogue_is_generated_from_the_simplified_one():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from make_zh_hant import TARGET, generated_files
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    present = {p.name: p.read_text(encoding="utf-8") for p in TARGET.glob("*.toml")}
    assert present == generated_files(), "run: python scripts/make_zh_hant.py"


def test_glossary_terms_reach_the_traditional_catalogue():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from make_zh_hant import glossary_pairs
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    simplified, traditional = catalogue("zh-Hans"), catalogue("zh-Hant")
    for hans, hant in glossary_pairs():
        for id, entry in simplified.items():
            if isinstance(entry, str) and hans in entry and len(hans) > 1:
                assert hant in traditional[id] or id.startswith("i18n."), (id, hans, hant)


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------


def test_languages_from_browsers_and_links():
    assert normalize_language("zh-CN") == "zh-Hans"
    assert normalize_language("ZH-hant") == "zh-Hant"
    assert normalize_language("zh-HK") == "zh-Hant"
    assert normalize_language("zh") == "zh-Hans"
    assert normalize_language("en-US") == "en"
    for hostile in ("", "fr", "x" * 1000, None, 12, ["zh"], "zh-Latn-and-more-parts"):
        assert normalize_language(hostile) in (None, "zh-Hans"), hostile


def test_messages_render_in_each_language_and_nest():
    inner = msg("i18n.example", count=2)
    assert str(inner) == "2 layers fit."
    assert render([inner, "x"], "zh-Hans") == "2 个层能放下。、x"
    assert Message("i18n.example", {"count": 1}).render("en") == "1 layer fits."
    assert hash(inner) == hash(msg("i18n.example", count=2))


def test_a_missing_id_or_a_bad_value_never_raises():
    assert translate("zh-Hans", "no.such_id") == "no.such_id"
    assert translate("xx", "i18n.example", count=3) == "3 layers fit."
    assert translate("en", "i18n.example") == "i18n.example"  # no count given: the id, no crash
    assert translate("en", "i18n.example", count="many") == "many layers fit."


def test_the_default_language_is_english():
    assert DEFAULT_LANGUAGE == "en" and next(iter(LANGUAGES)) == "en"


# --------------------------------------------------------------------------------------------
# Per visitor, on the pages
# --------------------------------------------------------------------------------------------

APP = str(ROOT / "app.py")


def _sidebar_label(at: AppTest) -> str:
    picker = next(s for s in at.sidebar.selectbox if s.key == "language")
    return picker.label


def test_a_link_with_lang_opens_in_that_language_for_that_visitor_only():
    chinese = AppTest.from_file(APP, default_timeout=30)
    chinese.query_params["lang"] = "zh-Hans"
    chinese.run()
    english = AppTest.from_file(APP, default_timeout=30).run()
    assert not chinese.exception and not english.exception
    assert _sidebar_label(chinese) == "语言"
    assert _sidebar_label(english) == "Language"


def test_an_unknown_lang_falls_back_to_english_without_an_error():
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params["lang"] = "klingon"
    at.run()
    assert not at.exception and not at.error
    assert _sidebar_label(at) == "Language"


PICKER_SCRIPT = """
import streamlit as st
from ui.i18n import language_picker, t
language_picker()
st.write(t("i18n.example", count=2))
"""


def test_the_picker_switches_the_language_and_the_address_follows():
    # A page of its own: AppTest reruns an st.navigation app's page without app.py.
    at = AppTest.from_string(PICKER_SCRIPT, default_timeout=30).run()
    assert at.markdown[0].value == "2 layers fit."
    next(s for s in at.sidebar.selectbox if s.key == "language").set_value("zh-Hant").run()
    assert _sidebar_label(at) == "語言"
    assert at.markdown[0].value == "2 個層能放下。"
    assert at.query_params.get("lang") == "zh-Hant"
    next(s for s in at.sidebar.selectbox if s.key == "language").set_value("en").run()
    assert at.markdown[0].value == "2 layers fit."
    assert at.query_params.get("lang") == "en"  # chosen, so kept: a link opens in English


def test_an_instructor_can_lock_the_language(tmp_path, monkeypatch):
    path = tmp_path / "workshop.toml"
    path.write_text('[locked]\nlanguage = "zh-Hant"\n', encoding="utf-8")
    monkeypatch.setattr(config, "SETTINGS", config.load_settings(path))
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params["lang"] = "en"
    at.run()
    assert not at.exception
    assert not [s for s in at.sidebar.selectbox if s.key == "language"]
    assert any("講師" in c.value for c in at.sidebar.caption)


def test_the_language_control_offers_what_the_picker_offers():
    at = AppTest.from_string(PICKER_SCRIPT, default_timeout=30).run()
    picker = next(s for s in at.sidebar.selectbox if s.key == "language")
    control = config.CONTROLS["language"]
    assert [picker.format_func(o) for o in control.choices(config.LIMITS)] == picker.options
    assert control.check(picker.value, config.LIMITS) == picker.value


def test_an_instructor_can_preselect_a_language(tmp_path):
    path = tmp_path / "workshop.toml"
    path.write_text('language = "zh-CN"\n', encoding="utf-8")
    assert config.load_settings(path).language == "zh-Hans"
    path.write_text('language = "fr"\n', encoding="utf-8")
    with pytest.raises(config.ConfigError, match="not a language of CNN Lab"):
        config.load_settings(path)
