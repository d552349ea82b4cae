"""Which Keras backend is chosen (KERAS_BACKEND, then keras.json, then TensorFlow; an imported Keras's own), and
the one-sentence error when its library (or Keras) is missing, naming that package: core.backend, without Keras."""

from __future__ import annotations

import json
import sys

import pytest

from core import backend
from core.backend import BackendUnavailable, requested_backend, require_backend
from core.errors import UserError


@pytest.fixture
def keras_not_imported(monkeypatch, tmp_path):
    """As in a fresh process: Keras not imported yet, no KERAS_BACKEND, keras.json in an empty KERAS_HOME."""
    monkeypatch.delitem(sys.modules, "keras", raising=False)
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    return tmp_path


def _installed_only(monkeypatch, *packages: str) -> None:
    monkeypatch.setattr(backend, "_installed", lambda package: package in packages)


def test_keras_backend_variable_wins_over_keras_json(keras_not_imported, monkeypatch):
    (keras_not_imported / "keras.json").write_text(json.dumps({"backend": "jax"}))
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    assert requested_backend() == ("torch", "KERAS_BACKEND=torch")


def test_keras_json_decides_without_the_variable(keras_not_imported, monkeypatch):
    path = keras_not_imported / "keras.json"
    path.write_text(json.dumps({"backend": "jax", "floatx": "float32"}))
    monkeypatch.setenv("KERAS_BACKEND", "")  # Keras ignores an empty value too
    assert requested_backend() == ("jax", str(path))


def test_tensorflow_is_the_default(keras_not_imported):
    assert requested_backend() == ("tensorflow", "Keras's default")
    (keras_not_imported / "keras.json").write_text("not json")
    assert requested_backend()[0] == "tensorflow"


def test_once_keras_is_imported_its_backend_is_the_answer(keras_not_imported, monkeypatch):
    class FakeKeras:
        class backend:
            @staticmethod
            def backend():
                return "jax"

    monkeypatch.setitem(sys.modules, "keras", FakeKeras)
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    assert requested_backend() == ("jax", "Keras already imported")


def test_require_backend_returns_the_backend_when_its_library_is_there(keras_not_imported, monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    _installed_only(monkeypatch, "keras", "torch")
    assert require_backend() == "torch"
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    _installed_only(monkeypatch, "keras", "jax", "jaxlib")
    assert require_backend() == "jax"


def _one_sentence(message: str) -> None:
    assert message.endswith(".") and message.count(". ") == 0 and "\n" not in message


@pytest.mark.parametrize("name, package, title", [("torch", "torch", "PyTorch"), ("jax", "jax", "JAX"),
                                                  ("tensorflow", "tensorflow", "TensorFlow")])
def test_a_missing_backend_library_is_named_in_one_sentence(keras_not_imported, monkeypatch, name, package, title):
    monkeypatch.setenv("KERAS_BACKEND", name)
    monkeypatch.setattr(backend, "_installed", lambda wanted: wanted != package)
    with pytest.raises(BackendUnavailable) as raised:
        require_backend()
    message = str(raised.value)
    assert isinstance(raised.value, UserError)
    _one_sentence(message)
    assert f"{title}'s package '{package}' is not installed" in message
    assert f"KERAS_BACKEND={name}" in message and f"pip install {package}" in message
    assert f"'{package}'" in message and message.count("is not installed") == 1


def test_the_error_suggests_only_backends_that_can_run(keras_not_imported, monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    _installed_only(monkeypatch, "keras", "jax", "jaxlib", "numpy")
    message = str(pytest.raises(BackendUnavailable, require_backend).value)
    assert "set KERAS_BACKEND to jax or numpy, which can run here" in message
    _installed_only(monkeypatch, "keras")
    message = str(pytest.raises(BackendUnavailable, require_backend).value)
    assert "no other Keras backend can run here either" in message
    _one_sentence(message)


def test_jax_needs_jaxlib_too(keras_not_imported, monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    _installed_only(monkeypatch, "keras", "jax")
    assert "'jaxlib' is not installed" in str(pytest.raises(BackendUnavailable, require_backend).value)


def test_unknown_backends_and_a_missing_keras(keras_not_imported, monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "pytorch")
    message = str(pytest.raises(BackendUnavailable, require_backend).value)
    assert message == ("'pytorch' (KERAS_BACKEND=pytorch) is not a Keras backend: set KERAS_BACKEND to one of "
                       "tensorflow, jax, torch, numpy, openvino.")
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    _installed_only(monkeypatch, "torch")
    message = str(pytest.raises(BackendUnavailable, require_backend).value)
    assert message.startswith("Keras is not installed for ")
    _one_sentence(message)
