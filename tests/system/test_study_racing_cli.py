"""Racing lever studies from the command line on tiny real runs: two worker processes share the study, --json says
which rule stopped each lever and after how many seeds, --exhaustive keeps the old way, and a resumed study keeps
its rule."""

from __future__ import annotations

import json

from core.evidence.study import EXHAUSTIVE_RULE, STOP_ALL_SEEDS, STOP_OPEN, open_study
from support.fakes import csv_bytes, generated_texts

SETS = ("model.embedding_dim=8", "model.lstm_units=4", "model.bidirectional=false", "model.attention=none",
        "training.epochs=1", "vectorizing.max_length=12")
LEVERS = "model.dropout=0.4,model.dropout=0.6,model.l2=0.0,training.learning_rate=0.004"


def _cli(argv, capsys):
    from core.cli.entry import main

    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _args(tmp_path, name, *extra):
    path = tmp_path / "data.csv"
    if not path.exists():
        path.write_bytes(csv_bytes(generated_texts({"sports": 20, "tech": 20, "food": 20}, seed=2)))
    sets = [part for override in SETS for part in ("--set", override)]
    return ["study", str(path), "--levers", LEVERS, "--seeds", "3", "--name", name,
            "--runs-dir", str(tmp_path / "runs"), "--json", *sets, *extra]


def test_a_racing_study_on_two_workers_says_why_each_lever_stopped(tmp_path, capsys):
    code, out, err = _cli(_args(tmp_path, "raced", "--workers", "2"), capsys)
    assert code == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    table = result["levers"]
    assert table["complete"] and table["seeding"].startswith("Racing (successive halving") and table["most"] == 15
    assert table["done"] == table["planned"] < 15
    for row in table["rows"]:
        assert row["stopped_by"] != STOP_OPEN
        assert row["stopped_by"] == STOP_ALL_SEEDS or f"after {row['n']} of 3 seeds" in row["stop_reason"]
    handle = open_study("raced", runs_dir=tmp_path / "runs")
    workers = {t.system_attrs["lab:worker"]["id"].split(":")[1] for t in handle.trials()
               if "lab:worker" in t.system_attrs}
    assert len(workers) == 2, "two processes should have run trials"
    assert "Racing (successive halving" in err
    pairs = [(t.user_attrs["arm"], t.user_attrs["seed"]) for t in handle.trials()
             if t.user_attrs.get("arm") != "combined"]
    assert len(pairs) == len(set(pairs)) == table["done"]


def test_exhaustive_runs_every_lever_on_every_seed_and_a_resume_keeps_the_rule(tmp_path, capsys):
    code, out, err = _cli(_args(tmp_path, "every", "--exhaustive", "--workers", "1"), capsys)
    assert code == 0, err
    table = json.loads(out.strip().splitlines()[-1])["levers"]
    assert table["seeding"] == EXHAUSTIVE_RULE and table["done"] == table["most"] == 15
    assert {row["stopped_by"] for row in table["rows"]} == {STOP_ALL_SEEDS}
    # resumed without the flag: still exhaustive
    code, out, err = _cli(_args(tmp_path, "every", "--workers", "1"), capsys)
    assert code == 0, err
    assert json.loads(out.strip().splitlines()[-1])["levers"]["seeding"] == EXHAUSTIVE_RULE
    code, out, err = _cli(_args(tmp_path, "raced-too", "--workers", "1", "--budget-minutes", "0.0001"), capsys)
    assert code == 0, err
    code, out, err = _cli(_args(tmp_path, "raced-too", "--exhaustive", "--workers", "1"), capsys)
    assert code == 2 and "races its levers; resume it without --exhaustive" in err
