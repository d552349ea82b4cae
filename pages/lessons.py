"""Lessons: small experiments that change one lever and check that the promised effect appears."""

import streamlit as st

from components.frame import cached
from components.frame.common import run_page
from components.panels import lessons as lessons_panel


def body() -> None:
    lessons = cached.all_lessons()
    if not lessons:
        st.info("There are no lesson files yet: add one (see Write your own lesson below).")
        lessons_panel.how_to_write()
        return
    st.markdown(lessons_panel.overview(lessons))
    lesson = lessons_panel.picker(lessons)
    lessons_panel.card(lesson)
    lessons_panel.controls(lesson)
    st.subheader("Results, side by side")
    lessons_panel.results(lesson)
    cached.warm_trainer()
    lessons_panel.how_to_write()


if __name__ == "__main__":
    run_page("Lessons", body, caption="Each lesson trains two or more variants that differ in one lever, back to back, "
                                      "and checks that the effect it promises appeared.")
