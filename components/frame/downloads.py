"""Download buttons for tables a user may take away, in CSV that is safe to open in a spreadsheet.

Streamlit's own table toolbar ("Download as CSV") exports cells as they are, so a text such as
``=HYPERLINK("http://evil", "click")`` would run as a formula in Excel. That toolbar is switched off
(``client.disableDataExport`` in .streamlit/config.toml) and these buttons take its place: every cell goes through
``core.runs.export.to_csv``, which prefixes formula-like cells with an apostrophe.
"""

from __future__ import annotations

import math
from typing import Optional

import pandas as pd
import streamlit as st

from core.runs.export import to_csv

SAFE_HELP = "Cells that a spreadsheet would run as formulas are prefixed with an apostrophe."


def _cell(value: object) -> object:
    """Plain Python values for the CSV writer: NaN and None become empty cells, NumPy scalars plain numbers."""
    if value is None:
        return ""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    return value


def frame_csv(frame: pd.DataFrame, *, index: bool = False) -> bytes:
    """The table as formula-safe UTF-8 CSV (header included; the index as a first column when ``index``)."""
    table = frame.reset_index() if index else frame
    header = [str(column) for column in table.columns]
    rows = ([_cell(value) for value in row] for row in table.itertuples(index=False, name=None))
    return to_csv(header, rows)


def csv_button(data: bytes, *, label: str, file_name: str, key: str, help: Optional[str] = None) -> None:
    """A download button for CSV bytes already made safe (``frame_csv`` or ``core.runs.export``)."""
    # "ignore": a download needs no rerun (on the Evaluate page a rerun would redo the explanations).
    st.download_button(label, data=data, file_name=file_name, mime="text/csv", key=key, help=help or SAFE_HELP,
                       icon=":material/download:", on_click="ignore")


def table_download(frame: pd.DataFrame, *, label: str, file_name: str, key: str, index: bool = False) -> None:
    """A download button for ``frame`` as formula-safe CSV."""
    csv_button(frame_csv(frame, index=index), label=label, file_name=file_name, key=key)
