"""The frame every page runs in: the page list and navigation, the page frame and error guard, session state and
the lab session in the URL, the sidebar, this session's training job, engine calls behind Streamlit's caches (and
the server-wide services), escaping user text, formula-safe downloads, and one widget per config field.

Nothing is imported here: the first page loads only the modules it uses.
"""
