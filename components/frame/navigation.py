"""The dashboard's pages, listed once, and the frame every page runs in.

``app.py`` (the entry file) only calls :func:`run_app`. A page reached without ``app.py`` (Streamlit's legacy
pages-folder mode on a server's first request for an inner page) calls it too, through
``components.frame.common.run_page``, so nothing ever imports the entry file.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st


@dataclass(frozen=True)
class PageEntry:
    key: str
    path: str
    title: str
    icon: str  # Streamlit's bundled Material icons: they render without emoji fonts (headless Chromium, projectors)


PAGES: tuple[PageEntry, ...] = (
    PageEntry("data", "pages/data.py", "Data", ":material/table_view:"),
    PageEntry("preprocess", "pages/preprocess.py", "Preprocess", ":material/cleaning_services:"),
    PageEntry("resample", "pages/resample.py", "Resample", ":material/balance:"),
    PageEntry("model", "pages/model.py", "Model", ":material/neurology:"),
    PageEntry("train", "pages/train.py", "Train", ":material/model_training:"),
    PageEntry("study", "pages/study.py", "Study", ":material/experiment:"),
    PageEntry("evaluate", "pages/evaluate.py", "Evaluate", ":material/target:"),
    PageEntry("runs", "pages/runs.py", "Runs", ":material/folder_open:"),
    PageEntry("lessons", "pages/lessons.py", "Lessons", ":material/school:"),
)
PAGE_PATHS: dict[str, str] = {page.key: page.path for page in PAGES}
SIDEBAR_WIDTH = 256  # px


def run_app() -> None:
    """Page config, session state, navigation and the sidebar; then the chosen page."""
    # A 256-px sidebar (Streamlit's default is 300) still holds every page's name and the data line, and gives a
    # 1024-px projector's page 44 px more.
    st.set_page_config(page_title="LSTM Text Lab", page_icon=":material/science:", layout="wide",
                       initial_sidebar_state=SIDEBAR_WIDTH)
    from components.frame import state
    from components.frame.sidebar import render_sidebar

    state.init()
    navigation = st.navigation([st.Page(page.path, title=page.title, icon=page.icon, default=index == 0)
                                for index, page in enumerate(PAGES)])
    name_data_again = render_sidebar()
    navigation.run()
    name_data_again()  # the page may have changed the data (an upload): the sidebar names what is in use now
