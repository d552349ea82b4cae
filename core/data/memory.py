"""Will a file fit? The memory an inspect needs, what the process may still allocate, and handing freed memory back.

A file that would not fit is refused before it is parsed (:func:`memory_check`), with one sentence that names the
largest sample that fits.
"""

from __future__ import annotations

import functools
import os
from typing import Optional

from core.errors import TooBigError
from core.errors import shown as _shown

MB = 1 << 20
# What an inspect (read, build the dataset, preprocess, triage, capped TF-IDF baseline) adds to the process beyond
# the libraries it already holds when the file is read. Measured with `bench/scale.py --inspect` (1,000,000 FAA-like
# rows, an 83 MiB CSV; 100,000 rows for the fixed part):
# - from a path (the CLI): the bytes, then ~4.3x the file while the dataset, the duplicate count and the baseline's
#   texts live, plus ~220 MiB that does not grow with the file (scikit-learn loading, the baseline fit on at most
#   100,000 rows): 689 MiB peak, 8.3x the file;
# - bytes held by the caller together with the table, the dataset and every preprocessed text (the dashboard):
#   5.6x the file on top of the bytes, plus the same fixed part: 877 MiB peak.
# The constants round those up.
MEMORY_FIXED_BYTES = 250 * MB
MEMORY_PER_FILE_BYTE = 4.5  # reading from a path, the file's own bytes included
MEMORY_PER_FILE_BYTE_HELD = 6.0  # bytes already in memory and kept, with everything built from them
ROW_ESTIMATE_BYTES = 1 << 20  # the head read to estimate how many rows a file has
_MEMINFO = "/proc/meminfo"
_CGROUP = "/sys/fs/cgroup"


def estimated_memory_bytes(num_bytes: int, *, fraction: float = 1.0, held: bool = False) -> int:
    """Memory an inspect of a CSV of ``num_bytes`` bytes needs beyond what the process holds now.

    ``fraction`` is the share of rows kept (a sample): the file is still read whole, once. ``held`` says that
    its bytes are in memory already and stay there, with the table and the texts built from them.
    """
    fraction = min(max(fraction, 0.0), 1.0)
    if held:
        return int(MEMORY_FIXED_BYTES + MEMORY_PER_FILE_BYTE_HELD * num_bytes * fraction)
    return int(MEMORY_FIXED_BYTES + num_bytes + (MEMORY_PER_FILE_BYTE - 1.0) * num_bytes * fraction)


def available_memory_bytes(*, meminfo: str = _MEMINFO, cgroup: str = _CGROUP) -> Optional[int]:
    """What the process may still allocate: the smaller of MemAvailable and its cgroup's limit minus its usage.

    None when neither can be read (not Linux): the memory check then lets everything through.
    """
    limits: list[int] = []
    try:
        with open(meminfo, encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    limits.append(int(line.split()[1]) * 1024)
                    break
    except (OSError, ValueError, IndexError):
        pass
    for limit_file, usage_file in (("memory.max", "memory.current"),  # cgroup v2
                                   ("memory/memory.limit_in_bytes", "memory/memory.usage_in_bytes")):  # v1
        limit, usage = _read_number(os.path.join(cgroup, limit_file)), _read_number(os.path.join(cgroup, usage_file))
        if limit is not None and limit < 1 << 60:  # v1 writes "no limit" as a huge number, v2 as "max"
            limits.append(max(limit - (usage or 0), 0))
    return min(limits) if limits else None


def _read_number(path: str) -> Optional[int]:
    try:
        with open(path, encoding="ascii") as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


def memory_check(
    num_bytes: int,
    *,
    rows: Optional[int] = None,
    max_rows: Optional[int] = None,
    name: str = "The file",
    held: bool = False,
    available: Optional[int] = None,
) -> Optional[str]:
    """None when inspecting a CSV of ``num_bytes`` bytes fits in the free memory; otherwise the one sentence
    that says so, how much it needs, how much is free and what to do (the largest sample that fits).

    ``rows`` is the file's estimated data rows, ``max_rows`` a sample size asked for, ``held`` that the bytes
    are in memory already (see :func:`estimated_memory_bytes`), ``available`` the free memory (default:
    :func:`available_memory_bytes`).
    """
    problem = _memory_problem(num_bytes, rows=rows, max_rows=max_rows, name=name, held=held, available=available)
    return problem[0] if problem else None


def refuse_if_too_big(num_bytes: int, **kwargs) -> None:
    """Raise :class:`core.errors.TooBigError` (with the largest sample that fits) when :func:`memory_check` would
    refuse; same arguments."""
    problem = _memory_problem(num_bytes, **kwargs)
    if problem:
        raise TooBigError(*problem)


def _memory_problem(num_bytes: int, *, rows: Optional[int] = None, max_rows: Optional[int] = None,
                    name: str = "The file", held: bool = False,
                    available: Optional[int] = None) -> Optional[tuple[str, int]]:
    """(sentence, rows of the largest sample that fits or 0) when the data does not fit, else None."""
    available = available_memory_bytes() if available is None else available
    if available is None:
        return None
    rows = max(rows or 1, 1)
    fraction = 1.0 if max_rows is None else min(max_rows / rows, 1.0)
    need = estimated_memory_bytes(num_bytes, fraction=fraction, held=held)
    if need <= available:
        return None
    size = f"{_shown(name, limit=60)} ({_size(num_bytes)}, about {_round_down(rows):,} rows)"
    spare = available - estimated_memory_bytes(num_bytes, fraction=0.0, held=held)
    per_row = (estimated_memory_bytes(num_bytes, held=held)
               - estimated_memory_bytes(num_bytes, fraction=0.0, held=held)) / rows
    fitting = _round_down(int(spare / per_row * 0.9)) if spare > 0 else 0  # 10% margin: the model is an estimate
    if fitting < 1000:
        return (f"Inspecting {size} needs about {_size(need)} of memory but only {_size(available)} is free, "
                "too little even for a sample: close other programs or use a machine with more memory."), 0
    return (f"Inspecting {size} needs about {_size(need)} of memory but only {_size(available)} is free: "
            f"use a random sample of at most {fitting:,} rows (--sample {fitting} on the command line, or the "
            "sample button in the app)."), fitting


def estimated_rows(head: bytes, num_bytes: int) -> int:
    """Data rows in a file, from the line length in its first megabyte."""
    lines = head.count(b"\n")
    if not head or lines == 0:
        return 1
    if len(head) >= num_bytes:
        return max(lines - 1 + (not head.endswith(b"\n")), 1)
    return max(int(num_bytes * lines / len(head)) - 1, 1)


def _round_down(number: int) -> int:
    """Two significant digits, rounded down: 183,456 -> 180,000."""
    if number < 100:
        return max(number, 0)
    scale = 10 ** (len(str(number)) - 2)
    return number // scale * scale


def _size(num_bytes: float) -> str:
    if num_bytes >= 1 << 30:
        return f"{num_bytes / (1 << 30):.1f} GB"
    return f"{max(num_bytes / MB, 0.1):.0f} MB" if num_bytes >= MB else f"{num_bytes / 1024:.0f} KB"


def release_free_memory() -> None:
    """Hand memory that was freed back to the system, so the next stage starts from a lower resident size.

    Arrow's pool and glibc's heap both keep freed blocks for reuse; after parsing a big file that is hundreds of
    megabytes the rest of the process (Python objects, NumPy arrays) cannot use. Cheap when there is nothing to give.
    """
    try:
        import pyarrow

        pyarrow.default_memory_pool().release_unused()
    except (ImportError, AttributeError):
        pass
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim():
    """glibc's malloc_trim, or None on other C libraries."""
    import ctypes
    import ctypes.util

    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


@functools.cache
def arrow_uses_the_system_allocator() -> None:
    """pandas stores strings in Arrow arrays; Arrow's own allocator (mimalloc) keeps what a parse frees, which
    measured +100-190 MB on a 1M-row file. The system allocator returns it (see release_free_memory)."""
    try:
        import pyarrow

        pyarrow.set_memory_pool(pyarrow.system_memory_pool())
    except (ImportError, AttributeError):
        pass
