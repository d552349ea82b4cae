"""Importing Keras (and its TensorFlow backend) without start-up chatter on stderr.

TensorFlow 2.21 prints "All log messages before absl::InitializeLog() is called are written to STDERR" and
"oneDNN custom operations are on …" from C++ while it is imported, whatever TF_CPP_MIN_LOG_LEVEL says, so a
failing ``predict`` printed five lines instead of one. The import runs with file descriptor 2 pointed at a
temporary file; if the import fails, what it printed is replayed so nothing useful is lost.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
from typing import Iterator

_lock = threading.Lock()


@contextlib.contextmanager
def _native_stderr_captured() -> Iterator[tempfile.SpooledTemporaryFile]:
    """Point file descriptor 2 (where C++ writes) at a temporary file for the duration."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield captured
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def import_keras():
    """``import keras`` with the backend's start-up lines kept off stderr; returns the module."""
    if "keras" in sys.modules:
        return sys.modules["keras"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with _lock:
        try:
            stderr_fd = sys.stderr.fileno()
        except (AttributeError, OSError, ValueError):  # stderr replaced (pytest capture, notebooks): nothing to hide
            stderr_fd = None
        if stderr_fd != 2:
            import keras

            return keras
        with _native_stderr_captured() as captured:
            try:
                import keras
            except BaseException:
                captured.seek(0)
                sys.stderr.write(captured.read().decode("utf-8", "replace"))
                raise
        return keras
