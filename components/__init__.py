"""The dashboard: figures (Altair and HTML builders, no Streamlit) < services (server-wide state, no Streamlit) <
frame (navigation, session state, caches, the sidebar) < panels (what each page draws) < pages/."""
