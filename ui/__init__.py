"""Streamlit-only helpers shared by the pages (navigation, session state, charts)."""
