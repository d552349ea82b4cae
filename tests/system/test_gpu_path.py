"""bench/gpu_path.py's dry run, end to end on a CPU: the backend line, the three models' table, the masking check
in both directions and the JSON, on TensorFlow here, and on PyTorch or JAX without TensorFlow when a Python that has
torch (or jax) and keras is named by LSTM_TEXT_LAB_TORCH_PYTHON (LSTM_TEXT_LAB_JAX_PYTHON), e.g. a venv made with
``python3 -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch==2.13.0 keras==3.15.1 numpy`` (jax: ``pip
install jax keras==3.15.1 numpy``); never the project's own .venv."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from support.paths import ROOT

SCRIPT = ROOT / "bench" / "gpu_path.py"


def _dry_run(python: str, backend: str, tmp_path) -> tuple[subprocess.CompletedProcess, dict]:
    report = tmp_path / f"{backend}.json"
    env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([python, str(SCRIPT), "--dry-run", "--json", str(report)], env=env, capture_output=True,
                          text=True, timeout=900, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done, json.loads(report.read_text())


def _check_report(done: subprocess.CompletedProcess, result: dict, backend: str) -> None:
    lines = done.stdout.splitlines()
    assert lines[0].startswith("backend: Keras 3.") and f" on {backend} " in lines[0]
    assert "| model | samples/s | ratio to bare | fused LSTM op |" in lines
    for title in ("bare (no mask)", "masked Keras", "engine (LengthAwareLSTM)"):
        assert any(line.startswith(f"| {title} | ") for line in lines), title
    assert any(line.startswith("engine / bare = ") for line in lines)
    assert [line.split(":")[0] for line in lines if line.startswith("masking")] == ["masking (2 × LSTM)",
                                                                                   "masking (2 × BiLSTM)"]
    assert lines[-1] == "checks: all passed"
    assert result["dry_run"] and (result["rows"], result["length"], result["epochs"]) == (96, 12, 1)
    assert result["problems"] == [] and set(result["results"]) == {"bare", "masked", "engine"}
    for check in result["masking"]:
        assert check["shapes_equal"] and check["engine"] <= result["tolerance"]
        assert check["unmasked"] > 10 * result["tolerance"]  # a masking mistake would show
    assert all(len(model["epochs"]) == 1 and model["samples_per_second"] > 0 for model in result["results"].values())


def test_dry_run_on_tensorflow(tmp_path):
    done, result = _dry_run(sys.executable, "tensorflow", tmp_path)
    _check_report(done, result, "tensorflow")
    assert "GPUs: none" in result["backend"]
    # TensorFlow fuses the LSTM only on a GPU: on a CPU every model steps through time.
    assert {model["fused"] for model in result["results"].values()} == {"no"}


@pytest.mark.parametrize("backend, variable", [("torch", "LSTM_TEXT_LAB_TORCH_PYTHON"),
                                               ("jax", "LSTM_TEXT_LAB_JAX_PYTHON")])
def test_dry_run_without_tensorflow(tmp_path, backend, variable):
    python = os.environ.get(variable)
    if not python:
        pytest.skip(f"set {variable} to a Python with {backend} and keras (and no TensorFlow)")
    probe = "import importlib.util as u; print(u.find_spec('tensorflow') is None)"
    tensorflow_absent = subprocess.run([python, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    done, result = _dry_run(python, backend, tmp_path)
    _check_report(done, result, backend)
    fused = [result["results"][name]["fused"] for name in ("bare", "masked", "engine")]
    if backend == "torch":
        assert "cuDNN available: " in result["backend"]
        # torch's LSTM op takes unmasked LSTMs (cuDNN on a GPU): the bare model's and the engine's, not the masked
        # one's.
        assert fused == ["yes", "no", "yes"]
    else:
        assert "devices " in result["backend"]
        assert fused[2] == fused[0] and fused[1] == "no"  # JAX fuses (cuDNN) on a GPU only, never with a mask
    assert tensorflow_absent == "True", "this Python has TensorFlow: the run does not show that it is not needed"
