"""CNN Lab's core: the architecture spec, its arithmetic, and the Keras side. No Streamlit here."""
