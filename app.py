"""LSTM Text Lab: routing only. Each step of an experiment is one page under pages/."""

import streamlit as st


def main() -> None:
    st.set_page_config(page_title="LSTM Text Lab", page_icon="🧪", layout="wide")
    from components import state
    from components.sidebar import render_sidebar

    state.init()
    pages = [
        st.Page("pages/data.py", title="Data", icon="📄", default=True),
        st.Page("pages/preprocess.py", title="Preprocess", icon="🧹"),
        st.Page("pages/resample.py", title="Resample", icon="⚖️"),
        st.Page("pages/model.py", title="Model", icon="🧠"),
        st.Page("pages/train.py", title="Train", icon="🏋️"),
        st.Page("pages/evaluate.py", title="Evaluate", icon="🎯"),
        st.Page("pages/runs.py", title="Runs", icon="🗂️"),
    ]
    navigation = st.navigation(pages)
    render_sidebar()
    navigation.run()


# Training and inference run in spawned processes, which import this module as __mp_main__: the guard keeps
# them from starting a second app.
if __name__ == "__main__":
    main()
