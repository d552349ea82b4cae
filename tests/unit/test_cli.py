"""The command line as a user meets it: every corpus file either works or fails with one `error:` line."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.cli.entry import main
from support.fakes import TINY_MODEL, csv_bytes, generated_texts
from support.paths import (
    CORPUS,  # noqa: E402
    ROOT,  # noqa: E402
)

TINY_SETS = [arg for setting in TINY_MODEL for arg in ("--set", setting)]


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _assert_user_error(code, err):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err


@pytest.mark.parametrize("path", [p for p in sorted(CORPUS.iterdir()) if not p.name.startswith(".")],
                         ids=lambda p: p.name)
def test_inspect_every_corpus_file_works_or_says_error(capsys, path):
    code, out, err = _run(capsys, "inspect", str(path), "--no-baseline")
    if code != 0:
        _assert_user_error(code, err)
    else:
        assert "classes (" in out and "Traceback" not in err


@pytest.fixture(scope="module")
def hostile_csv(tmp_path_factory):
    """Formula and HTML strings, emoji, a 1 MB cell, a 2-row class, missing values, semicolons, cp1252."""
    rows = generated_texts({"sports": 40, "tech": 20, "rare": 2}, seed=9)
    rows += [("=SUM(A1:A9) +cmd @evil -2+3", "sports"), ("<img src=x onerror=alert(1)> 🎉 naïve café", "tech"),
             ("goal " * 200_000, "sports"), ("", "tech"), ("orphan text", "")]
    path = tmp_path_factory.mktemp("hostile") / "hostile.csv"
    path.write_bytes(csv_bytes(rows, header=("Kommentar", "Klasse")).decode().replace(",", ";")
                     .encode("cp1252", errors="replace"))
    return path


@pytest.mark.slow
def test_train_json_on_a_hostile_file(capsys, hostile_csv, tmp_path):
    code, out, err = _run(capsys, "train", str(hostile_csv), "--epochs", "1", "--json", "--runs-dir", str(tmp_path),
                          *TINY_SETS)
    assert code == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert Path(result["run_dir"]).is_dir()
    assert {"accuracy", "macro_f1", "per_class"} <= set(result["test"])
    assert {"precision", "recall", "f1", "support"} <= set(result["test"]["per_class"][0])
    assert "macro_f1" in result["baseline"]
    assert "epoch 1/1" in err  # the per-epoch progress line went to stderr

    code, out, err = _run(capsys, "predict", result["run_dir"], "goal team", "<b>laptop</b> server", "--json")
    assert code == 0, err
    predictions = json.loads(out)
    assert len(predictions) == 2 and set(predictions[0]["probabilities"]) == {"rare", "sports", "tech"}
    [occlusion] = predictions[1]["explanations"]  # by default the run's most faithful method, else occlusion
    assert occlusion["method"] == "occlusion" and len(occlusion["scores"]) == len(predictions[1]["tokens"])

    run_id = Path(result["run_dir"]).name  # a bare id, looked up in --runs-dir
    code, out, err = _run(capsys, "predict", run_id, "goal team", "--runs-dir", str(tmp_path), "--json")
    assert code == 0, err
    assert set(json.loads(out)[0]["probabilities"]) == {"rare", "sports", "tech"}

    code, out, err = _run(capsys, "predict", result["run_dir"], "goal team", "--explain", "all")
    assert code == 0, err
    assert {"attention:", "occlusion:", "gradient_x_input:", "integrated_gradients:"} <= set(out.split())

    code, out, err = _run(capsys, "explain", result["run_dir"], "--sample", "20", "--json")
    assert code == 0, err
    table = json.loads(out.strip().splitlines()[-1])
    assert {row["method"] for row in table["rows"]} == {"attention", "occlusion", "gradient_x_input",
                                                        "integrated_gradients"}
    assert table["random"]["method"] == "random" and table["verdict"]
    code, out, err = _run(capsys, "predict", result["run_dir"], "goal team", "--json")
    [chosen] = json.loads(out)[0]["explanations"]  # now measured: the default is the most faithful method
    assert chosen["method"] == (table["most_faithful"] or "occlusion")

    code, out, err = _run(capsys, "runs", "--runs-dir", str(tmp_path))
    assert code == 0 and result["run_dir"] in out


def test_config_defaults_feed_back_into_train_config(capsys, tmp_path):
    code, out, _ = _run(capsys, "config", "--defaults")
    assert code == 0
    path = tmp_path / "config.json"
    path.write_text(out)
    from core.config import ExperimentConfig

    assert ExperimentConfig.from_json(path.read_text()) == ExperimentConfig()


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "--demo", "--set", "model.lstm_units=lots"],
        ["train", "--demo", "--set", "nosuch.field=1"],
        ["train", "--demo", "--config", "/does/not/exist.json"],
        ["train", "--demo", "--epochs", "0"],
        ["train"],
        ["train", "x.csv", "--demo"],
        ["inspect", "--demo", "--dataset", "nope"],
        ["inspect", "--demo", "--text-col", "missing_column"],
        ["predict", "/no/such/run", "hello"],
        ["explain", "/no/such/run"],
        ["train", "--demo", "--unknown-flag"],
        ["frobnicate"],
    ],
)
def test_user_mistakes_are_one_error_line_with_status_2(capsys, argv):
    code, _, err = _run(capsys, *argv)
    _assert_user_error(code, err)


def test_bad_config_file_is_one_error_line(capsys, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"model": {"lstm_layers": 9}}')
    code, _, err = _run(capsys, "train", "--demo", "--config", str(bad))
    _assert_user_error(code, err)
    assert "model.lstm_layers" in err


@pytest.mark.slow
def test_real_process_exit_status_and_stderr(tmp_path):
    """One true subprocess: the status code and the single stderr line, no TensorFlow chatter, no traceback."""
    binary = tmp_path / "data.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    completed = subprocess.run([sys.executable, "-m", "core", "inspect", str(binary)], cwd=ROOT,
                               capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert completed.returncode == 2
    assert completed.stderr.count("\n") == 1 and completed.stderr.startswith("error: ")


@pytest.mark.slow
@pytest.mark.parametrize("path", [p for p in sorted(CORPUS.iterdir()) if not p.name.startswith(".")],
                         ids=lambda p: p.name)
def test_train_every_corpus_file_works_or_says_error(capsys, path, tmp_path):
    """Even a 3-row file with a 1-row class either trains (1 tiny epoch) or stops with one error line."""
    code, out, err = _run(capsys, "train", str(path), "--epochs", "1", "--json", "--runs-dir", str(tmp_path),
                          *TINY_SETS)
    if code != 0:
        _assert_user_error(code, err)
    else:
        result = json.loads(out.strip().splitlines()[-1])
        assert Path(result["run_dir"]).is_dir() and "Traceback" not in err


def test_python_dash_m_core_is_the_cli(capsys, monkeypatch):
    """core/__main__.py, run as `python -m core` runs it (in this process: the fast loop starts no interpreter)."""
    import runpy
    import sys

    monkeypatch.setattr(sys, "argv", ["core", "--help"])
    with pytest.raises(SystemExit) as exited:
        runpy.run_module("core", run_name="__main__")
    assert exited.value.code == 0 and "inspect" in capsys.readouterr().out


# ------------------------------------------------------------------------------------ inspect --label-issues


@pytest.fixture(scope="module")
def noisy_csv(tmp_path_factory):
    """Three topics with every 12th label flipped, and 24 copies of one text (so some test rows have a twin)."""
    rows = generated_texts({"sports": 40, "tech": 40, "food": 40}, seed=21, length=(8, 14))
    flipped = {"sports": "tech", "tech": "food", "food": "sports"}
    rows = [(text, flipped[label] if i % 12 == 0 else label) for i, (text, label) in enumerate(rows)]
    rows += [("Goal! The team won the league match today.", "sports")] * 24
    path = tmp_path_factory.mktemp("noisy") / "noisy.csv"
    path.write_bytes(csv_bytes(rows))
    return path


def test_inspect_label_issues_top_caps_the_json_like_the_text(capsys, noisy_csv):
    code, out, err = _run(capsys, "inspect", str(noisy_csv), "--no-baseline", "--label-issues", "--top", "2", "--json")
    assert code == 0, err
    payload = json.loads(out)
    issues = payload["label_issues"]
    assert issues["suspects_found"] > 2 and len(issues["suspects"]) == 2
    for suspect in issues["suspects"]:
        assert 0 <= suspect["given_label_probability"] < suspect["suggested_label_probability"] <= 1
    assert issues["rows_checked"] == issues["rows_in_pool"] > 0
    assert issues["rows_in_pool"] + issues["test_rows_left_out"] == payload["source"]["rows_kept"]

    code, out, err = _run(capsys, "inspect", str(noisy_csv), "--no-baseline", "--label-issues", "--top", "2")
    assert code == 0, err
    listed = [line for line in out.splitlines() if line.strip().startswith("row ")]
    assert len(listed) == 2
    assert all("p(given)" in line and "p(suggested)" in line for line in listed)
    assert f"rows checked: {issues['rows_checked']}" in out
    assert f"the {issues['test_rows_left_out']} sealed test rows are never checked" in out


def test_inspect_label_issues_lists_near_duplicate_pairs_identical_ones_and_completeness(capsys, noisy_csv):
    code, out, err = _run(capsys, "inspect", str(noisy_csv), "--no-baseline", "--label-issues", "--json")
    near = json.loads(out)["near_duplicates"]
    assert near["identical"] >= 1 and near["complete"]
    code, out, err = _run(capsys, "inspect", str(noisy_csv), "--no-baseline", "--label-issues")
    assert code == 0, err
    pairs = [line for line in out.splitlines() if line.strip().startswith("test row ")]
    assert len(pairs) == min(10, len(near["matches"]))
    assert "~ training row" in pairs[0] and "similarity" in pairs[0]
    assert f"{near['identical']} of them identical" in out
    assert "search complete" in out
    if len(near["matches"]) > 10:
        assert f"{len(near['matches']) - 10} more" in out


def test_inspect_top_below_zero_is_one_error_line(capsys, noisy_csv):
    code, _, err = _run(capsys, "inspect", str(noisy_csv), "--label-issues", "--top", "-1")
    _assert_user_error(code, err)
    assert "--top" in err


# ------------------------------------------------------------------------------------------------ run ids


def test_a_bare_run_id_is_found_in_the_runs_folder(tmp_path, monkeypatch):
    from core.cli.arguments import run_folder

    (tmp_path / "env-runs" / "20261201-090000-abc123").mkdir(parents=True)
    (tmp_path / "flag-runs" / "20261201-090000-abc123").mkdir(parents=True)
    monkeypatch.setenv("LSTM_TEXT_LAB_RUNS", str(tmp_path / "env-runs"))
    assert run_folder("20261201-090000-abc123") == tmp_path / "env-runs" / "20261201-090000-abc123"
    assert run_folder("20261201-090000-abc123", str(tmp_path / "flag-runs")) == (
        tmp_path / "flag-runs" / "20261201-090000-abc123"
    )
    folder = tmp_path / "elsewhere" / "my-run"
    folder.mkdir(parents=True)
    assert run_folder(str(folder)) == folder  # a folder path still works as given
    monkeypatch.delenv("LSTM_TEXT_LAB_RUNS")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs" / "20261201-090000-def456").mkdir(parents=True)
    assert run_folder("20261201-090000-def456") == Path("runs") / "20261201-090000-def456"


@pytest.mark.parametrize("command", [["predict", "20261201-090000-nosuch", "some text"],
                                     ["explain", "20261201-090000-nosuch"]])
def test_an_unknown_run_id_says_where_it_looked(capsys, tmp_path, monkeypatch, command):
    monkeypatch.setenv("LSTM_TEXT_LAB_RUNS", str(tmp_path / "runs"))
    code, _, err = _run(capsys, *command)
    _assert_user_error(code, err)
    assert "no run '20261201-090000-nosuch'" in err and str(tmp_path / "runs") in err and "python -m core runs" in err


def test_explain_reads_the_golden_run_by_its_bare_id_before_loading_keras(capsys, tmp_path, monkeypatch):
    """``explain <id>`` loads the run from $LSTM_TEXT_LAB_RUNS (then stops: Keras is not loaded in the fast tier)."""
    import shutil

    from core.cli import run_commands
    from support.paths import GOLDEN

    shutil.copytree(GOLDEN / "run", tmp_path / "runs" / "golden-run")
    monkeypatch.setenv("LSTM_TEXT_LAB_RUNS", str(tmp_path / "runs"))
    loaded = []

    def stop_before_keras():
        raise KeyboardInterrupt  # ends the command here, as an interrupt would

    monkeypatch.setattr(run_commands, "load_keras", stop_before_keras)
    import core.runs.store as store

    real_load = store.load_run
    monkeypatch.setattr(store, "load_run", lambda folder: loaded.append(Path(folder)) or real_load(folder))
    code, _, err = _run(capsys, "explain", "golden-run")
    assert code == 130 and loaded == [tmp_path / "runs" / "golden-run"], err


# ------------------------------------------------------------------------------------------- train's last line


@pytest.mark.slow
def test_train_says_early_stopping_only_when_it_stopped_before_the_last_epoch(capsys, noisy_csv, tmp_path):
    # A learning rate too small to change a prediction: validation macro-F1 never improves after epoch 1, so with
    # patience 0 early stopping ends training after epoch 2 — of 4 (early), or of 2 (that is simply the last epoch).
    frozen = [*TINY_SETS, "--set", "training.learning_rate=0.000001", "--set", "training.monitor=val_macro_f1",
              "--set", "training.patience=0"]
    code, _, err = _run(capsys, "train", str(noisy_csv), "--epochs", "2", "--runs-dir", str(tmp_path), *frozen)
    assert code == 0, err
    assert "Early stopping" not in err and "Finished 2 epoch(s)." in err
    code, _, err = _run(capsys, "train", str(noisy_csv), "--epochs", "4", "--runs-dir", str(tmp_path), *frozen)
    assert code == 0, err
    assert "Early stopping after 2 epochs" in err
