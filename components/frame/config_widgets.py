"""One widget per config field, built from the field's own type, choices, bounds and help text.

Each widget writes its value back into the session's ExperimentConfig when it changes. An impossible value (say,
validation + test fractions leaving no room for training) is refused: the config keeps its last valid value, the
widget snaps back to it, and one sentence appears right under the widget.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, Optional

import streamlit as st

from components.frame import state
from components.frame.safe import plain
from core.config import SECTIONS, ExperimentConfig, field_info, setting_label
from core.errors import ConfigError

# A settings grid's narrowest column: a number input with its −/+ buttons still shows a value such as "0.002" or
# "20000" whole, and a label's longest word ("Bidirectional", "validation") fits. Measured in Chromium at 1024 × 768:
# two columns of widgets inside a page column left ~107 px (values cut to "0.0020", labels to "Validati-on").
MIN_WIDGET_WIDTH = 200
# Core formats such as "%.5f" pad a learning rate to "0.00200"; a fixed-point format of more than this many decimals
# is shown as "%g" ("0.002", "0.0001", "5e-05"): the same value, in the fewest characters.
MAX_DECIMALS_SHOWN = 3


def label_for(name: str) -> str:
    """A field's widget label (core.config.setting_label: one source for the words)."""
    return setting_label(name)


def choice_title(info: dict, choice: str) -> str:
    """A choice's title: its registry record's, or the field's own titles, or the key itself."""
    if "registry" in info:
        return info["registry"].title(choice)
    return info.get("titles", {}).get(choice, choice)


def _field_type(section: str, name: str) -> tuple[Any, bool]:
    cls = SECTIONS[section] if section else ExperimentConfig
    hint = typing.get_type_hints(cls)[name]
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if args and len(args) == 1:
        return args[0], True
    return hint, False


def _current(section: str, name: str) -> Any:
    config = state.config()
    return getattr(getattr(config, section), name) if section else getattr(config, name)


def _key(section: str, name: str) -> str:
    return f"cfg_{state.widget_version()}_{section or 'top'}_{name}"


def _on_change(section: str, name: str, key: str) -> None:
    errors = state.field_errors()
    where = f"{section}.{name}" if section else name
    try:
        state.update_field(section, name, st.session_state[key])
        errors.pop(where, None)
    except ConfigError as exc:
        errors[where] = str(exc)
        # Snap the widget back to the value the config kept.
        st.session_state[key] = _current(section, name)


def settings_grid(columns: int | str = "auto"):
    """A grid for widgets: at most ``columns`` columns, as many as fit at :data:`MIN_WIDGET_WIDTH` px each (one on a
    narrow page column, three on a projector, four on a laptop); each direct child is one cell, in reading order."""
    return st.grid(columns, min_column_width=MIN_WIDGET_WIDTH, gap="small")


def shown_format(format: Optional[str]) -> str:
    """The number input's display format: "%.5f" becomes "%g" (0.002 reads "0.002", not "0.00200", and fits the
    box); short fixed formats ("%.2f") and anything else stay as they are."""
    if not format:
        return "%g"
    decimals = format[2:-1] if format.startswith("%.") and format.endswith("f") else ""
    if decimals.isdigit() and int(decimals) > MAX_DECIMALS_SHOWN:
        return "%g"
    return format


def config_input(
    section: str,
    name: str,
    *,
    label: Optional[str] = None,
    slider: bool = False,
    step: Optional[float] = None,
    format: Optional[str] = None,
    disabled: bool = False,
    help_extra: str = "",
) -> Any:
    """Draw the widget for ``section.name`` and return the config's current value."""
    info = field_info(section, name)
    # The field's own widget hints (config metadata), unless the caller asks otherwise.
    slider = slider or info.get("slider", False)
    step = step if step is not None else info.get("step")
    format = format or info.get("format")
    kind, optional = _field_type(section, name)
    key = _key(section, name)
    value = _current(section, name)
    text = label or label_for(name)
    help_text = info.get("help", "") + (f" {help_extra}" if help_extra else "")
    common: dict[str, Any] = dict(key=key, help=help_text, disabled=disabled, on_change=_on_change,
                                  args=(section, name, key))
    if key not in st.session_state:
        st.session_state[key] = value
    with st.container():  # the widget and its error sentence: one cell of a settings grid
        if "choices" in info:
            choices = list(info["choices"])
            st.selectbox(text, choices, format_func=lambda c: choice_title(info, c), **common)
        elif kind is bool:
            st.toggle(text, **common)
        elif kind is int:
            bounds = dict(min_value=int(info.get("min", 0)), max_value=int(info.get("max", 10**9)))
            if slider:
                st.slider(text, step=int(step or 1), **bounds, **common)
            else:
                st.number_input(text, step=int(step or 1), placeholder="automatic" if optional else None, **bounds,
                                **common)
        elif kind is float:
            bounds = dict(min_value=float(info.get("min", 0.0)), max_value=float(info.get("max", 1e9)))
            if slider:
                st.slider(text, step=float(step or 0.05), format=format or "%.2f", **bounds, **common)
            else:
                st.number_input(text, step=step, format=shown_format(format),
                                placeholder="automatic" if optional else None, **bounds, **common)
        else:
            st.text_input(text, **common)
        error = state.field_errors().get(f"{section}.{name}" if section else name)
        if error:
            st.error(plain(error))
    return _current(section, name)


def choice_with_settings(section: str, name: str, *, label: Optional[str] = None, columns: int | str = 1,
                         inline: bool = False) -> Any:
    """A choice backed by a registry, then exactly the settings its chosen record reads (no hand-written
    conditions: a new record's settings appear by themselves). Returns the chosen record. ``inline`` draws the
    settings straight into the current container (each its own cell of an enclosing :func:`settings_grid`);
    otherwise they get a grid of their own, at most ``columns`` wide."""
    choice = config_input(section, name, label=label)
    record = field_info(section, name)["registry"].get(choice)
    if record.settings and inline:
        for setting in record.settings:
            config_input(section, setting)
    elif record.settings:
        section_inputs(section, list(record.settings), columns=columns)
    return record


def section_inputs(section: str, names: list[str], *, columns: int | str = "auto",
                   overrides: Optional[dict[str, dict]] = None) -> None:
    """Several fields of one section in a :func:`settings_grid` of at most ``columns`` columns."""
    overrides = overrides or {}
    with settings_grid(columns):
        for name in names:
            config_input(section, name, **overrides.get(name, {}))


def apply_recommended(sections: tuple[str, ...]) -> None:
    """Reset the given sections to the recommended defaults and refresh every widget."""
    defaults = ExperimentConfig()
    current = state.config()
    state.set_config(dataclasses.replace(current, **{s: getattr(defaults, s) for s in sections}))


def recommended_button(sections: tuple[str, ...], *, label: str = "Recommended settings", key: str) -> None:
    st.button(label, key=key, on_click=apply_recommended, args=(sections,),
              help="Reset these settings to the ones we recommend as a starting point (not the smallest model).")

