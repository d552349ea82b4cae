"""Where a study's data comes from, so any worker can load the same rows, and the hash that proves it did."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from core.errors import DataError
from core.records import Record

if TYPE_CHECKING:
    from core.data.dataset import Dataset


@dataclass(frozen=True)
class DataSource(Record):
    """How any worker loads the study's data, and the hash that proves it is the same data.

    ``kind`` is "csv" (``location`` is an absolute path), "builtin" (``location`` is the built-in key) or "upload"
    (bytes given to the dashboard: a worker elsewhere needs the same file passed as a path).
    """

    kind: str
    location: str
    text_column: str
    label_column: str
    data_hash: str
    rows: int
    source_name: str


def data_source(dataset: "Dataset", *, csv_path: str | os.PathLike | None = None,
                builtin: Optional[str] = None) -> DataSource:
    """Describe where ``dataset`` came from (a CSV path, a built-in key, or neither for an upload)."""
    if csv_path is not None and builtin is not None:
        raise ValueError("a dataset comes from a CSV file or a built-in dataset, not both")
    if csv_path is not None:
        kind, location = "csv", str(Path(csv_path).resolve())
    elif builtin is not None:
        kind, location = "builtin", builtin
    else:
        kind, location = "upload", dataset.source_name
    return DataSource(kind, location, dataset.text_column, dataset.label_column, dataset.data_hash, len(dataset.texts),
                      dataset.source_name)


def load_source(source: DataSource, *, csv_path: str | os.PathLike | None = None) -> "Dataset":
    """Load the study's data (``csv_path`` overrides where the file is) and refuse data whose hash differs."""
    from core.data.dataset import build_dataset
    from core.data.reading import read_csv_path

    if csv_path is not None:
        table = read_csv_path(csv_path)
        where = str(csv_path)
    elif source.kind == "csv":
        table = read_csv_path(source.location)
        where = source.location
    elif source.kind == "builtin":
        from core.data.builtin import load_builtin

        table = load_builtin(source.location)
        where = f"the built-in dataset {source.location}"
    else:
        raise DataError(
            f"This study was started from an uploaded file ({source.source_name}); "
            "give the same file as a path with --data."
        )
    dataset = build_dataset(table, source.text_column, source.label_column)
    if dataset.data_hash != source.data_hash:
        raise DataError(
            f"The data at {where} is not the data this study was started with (its hash differs); "
            "give the same file, or start a new study."
        )
    return dataset
