"""Importing Keras (and its TensorFlow backend) without start-up chatter on stderr; which backend Keras will use.

TensorFlow 2.21 prints "All log messages before absl::InitializeLog() is called are written to STDERR" and
"oneDNN custom operations are on …" from C++ while it is imported, whatever TF_CPP_MIN_LOG_LEVEL says, so a
failing ``predict`` printed five lines instead of one. The import runs with file descriptor 2 pointed at a
temporary file; if the import fails, what it printed is replayed so nothing useful is lost.

:func:`require_backend` checks, before Keras is imported, that the backend Keras will pick (``KERAS_BACKEND``, then
keras.json) can be imported here, and says in one sentence which package is missing; :func:`describe_backend` is
the one-line report of backend, device and cuDNN (bench/gpu_path.py prints it).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import sys
import tempfile
import threading
from typing import Iterator

from core.errors import UserError

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


# ------------------------------------------------------------------------------------------ which backend, and where
# Keras 3 runs on TensorFlow, JAX or PyTorch. The lab's engine (core.layers, core.model.classifier) is written with
# keras.ops only and imports TensorFlow solely inside functions that check the backend first, so on a GPU machine
# without TensorFlow ``KERAS_BACKEND=torch`` (or jax) is enough. A missing backend library otherwise surfaces as a
# deep traceback out of ``import keras`` ("No module named 'torch'" from keras/src/tree/torchtree_impl.py).

# backend -> (what to call it, the packages it imports). Keras 3.15's numpy backend imports JAX too.
KERAS_BACKENDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "tensorflow": ("TensorFlow", ("tensorflow",)),
    "jax": ("JAX", ("jax", "jaxlib")),
    "torch": ("PyTorch", ("torch",)),
    "numpy": ("NumPy", ("numpy", "jax")),
    "openvino": ("OpenVINO", ("openvino",)),
}
DEFAULT_BACKEND = "tensorflow"  # Keras's own default, and what requirements.txt installs


class BackendUnavailable(UserError):
    """The Keras backend asked for cannot be loaded here; the message is one sentence saying why and what to do."""


def _keras_config_path() -> str:
    """Where Keras reads keras.json (keras/src/backend/config.py): $KERAS_HOME, else ~/.keras, else /tmp/.keras."""
    if "KERAS_HOME" in os.environ:
        folder = os.environ["KERAS_HOME"]
    else:
        home = os.path.expanduser("~")
        folder = os.path.join(home if os.access(home, os.W_OK) else "/tmp", ".keras")
    return os.path.expanduser(os.path.join(folder, "keras.json"))


def requested_backend() -> tuple[str, str]:
    """``(backend, where the choice came from)``, decided as Keras decides it, without importing Keras.

    Once Keras is imported its backend is fixed, so that one is returned. Otherwise a non-empty ``KERAS_BACKEND``
    wins, then the "backend" of keras.json, then Keras's default.
    """
    keras = sys.modules.get("keras")
    if keras is not None and hasattr(keras, "backend"):
        return keras.backend.backend(), "Keras already imported"
    name = os.environ.get("KERAS_BACKEND", "")
    if name:
        return name, f"KERAS_BACKEND={name}"
    path = _keras_config_path()
    try:
        with open(path, encoding="utf-8") as handle:
            configured = json.load(handle).get("backend")
    except (OSError, ValueError, AttributeError):
        configured = None
    if isinstance(configured, str) and configured:
        return configured, path
    return DEFAULT_BACKEND, "Keras's default"


def _installed(package: str) -> bool:
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        return False


def require_backend() -> str:
    """The backend Keras will use, after checking that Keras and that backend's library can be imported here.

    Raises :class:`BackendUnavailable` with one sentence (naming the missing package, never TensorFlow unless
    TensorFlow is what was asked for) instead of the traceback ``import keras`` would give.
    """
    name, source = requested_backend()
    python = sys.executable or "this Python"
    if name not in KERAS_BACKENDS:
        raise BackendUnavailable(f"{name!r} ({source}) is not a Keras backend: set KERAS_BACKEND to one of "
                                 f"{', '.join(KERAS_BACKENDS)}.")
    if not _installed("keras"):
        raise BackendUnavailable(f"Keras is not installed for {python}: install it (pip install keras) or run with "
                                 f"the Python that has it.")
    title, packages = KERAS_BACKENDS[name]
    missing = [package for package in packages if not _installed(package)]
    if missing:
        others = [other for other, (_, needs) in KERAS_BACKENDS.items()
                  if other != name and all(_installed(package) for package in needs)]
        alternative = (f"or set KERAS_BACKEND to {' or '.join(others)}, which can run here" if others
                       else "no other Keras backend can run here either")
        raise BackendUnavailable(f"Keras is set to the {name} backend ({source}), but {title}'s package "
                                 f"{missing[0]!r} is not installed for {python}: install it "
                                 f"(pip install {missing[0]}), {alternative}.")
    return name


def describe_backend() -> str:
    """One line: Keras's backend and version, the device it computes on, and whether the fused cuDNN LSTM can run
    (torch: ``torch.backends.cudnn.is_available()``; jax: its devices; tensorflow: its GPUs). Imports Keras."""
    keras = import_keras()
    name = keras.backend.backend()
    head = f"Keras {keras.__version__} on {name}"
    if name == "torch":
        import torch

        cuda = torch.cuda.is_available()
        device = f"cuda:0 ({torch.cuda.get_device_name(0)})" if cuda else "cpu"
        cudnn = torch.backends.cudnn.is_available()
        version = torch.backends.cudnn.version() if cudnn else None
        return (f"{head} {torch.__version__}; device {device}; CUDA available: {'yes' if cuda else 'no'}; "
                f"cuDNN available: {'yes' if cudnn else 'no'}{f' (version {version})' if version else ''}")
    if name == "jax":
        import jax

        devices = ", ".join(f"{device.platform}:{device.id} ({getattr(device, 'device_kind', '?')})"
                            for device in jax.devices())
        return f"{head} {jax.__version__}; default backend {jax.default_backend()}; devices {devices}"
    if name == "tensorflow":
        import tensorflow as tf

        gpus = [gpu.name for gpu in tf.config.list_physical_devices("GPU")]
        return (f"{head} {tf.__version__}; GPUs: {', '.join(gpus) if gpus else 'none'}; "
                f"built with CUDA: {'yes' if tf.test.is_built_with_cuda() else 'no'}")
    return f"{head}; device cpu"
