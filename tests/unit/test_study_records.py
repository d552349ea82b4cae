"""The study package's records travel through core.records.Record: what is stored in journals and databases (the
plan ``lab``, the combination ``lab_combined``) keeps its keys both ways, and the results read back whatever a newer
or older release added. No Optuna, no training."""

from __future__ import annotations

import json

import pytest

from core.config import ExperimentConfig
from core.evidence.levers import find_levers
from core.evidence.study import (
    HELPS,
    VERDICT_RULE,
    WITHIN_NOISE,
    ArmScore,
    CombinedPlan,
    CombinedResult,
    DataSource,
    LeverRow,
    LeverTable,
    SessionSummary,
    StudyPlan,
    StudyProgress,
    SweepResult,
    TrialRow,
)
from core.records import Record
from support.paths import GOLDEN

SOURCE = DataSource("builtin", "faa-bird-strikes-effect", "text", "label", "abc123", 120, "faa-bird-strikes-effect")


def _golden_attr(key: str) -> dict:
    """A study user attr as the previous release wrote it into tests/golden/study.journal."""
    for line in (GOLDEN / "study.journal").read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        if key in entry.get("user_attr", {}):
            return entry["user_attr"][key]
    raise AssertionError(f"no {key} in the golden journal")


def _previous_release_reads_plan(raw: dict) -> dict:
    """How the previous release (commit bda76a0) read a plan: these keys, nothing else."""
    return dict(
        kind=raw["kind"], config=raw["config"], data=raw["data"], planned=int(raw["planned"]), created=raw["created"],
        seeds=tuple(raw.get("seeds", ())), levers=tuple(raw.get("levers", ())), space=raw.get("space"),
        pruner=raw.get("pruner", "none"), version=int(raw.get("version", 1)),
    )


def _plan(**changes) -> StudyPlan:
    config = ExperimentConfig()
    levers = tuple(find_levers(config, ["model.dropout=0.4", "model.bidirectional=false"]))
    return StudyPlan(**{"kind": "levers", "config": config.to_dict(), "data": SOURCE, "planned": 9,
                        "created": "2026-12-07T10:00:00+00:00", "seeds": (42, 43, 44), "levers": levers, **changes})


def _row(key: str = "model.dropout=0.4", **changes) -> LeverRow:
    return LeverRow(**{"key": key, "title": "Dropout: 0.5 → 0.4", "category": "regularisation", "overrides": (key,),
                       "n": 3, "mean_delta": 0.02, "sd_delta": 0.004, "interval": (0.013, 0.027), "mean_value": 0.61,
                       "deltas": (0.02, 0.016, 0.024), "seeds": (42, 43, 44), "verdict": HELPS, **changes})


def _through_json(record: Record) -> dict:
    return json.loads(json.dumps(record.to_dict()))


@pytest.mark.parametrize("cls", [StudyPlan, CombinedPlan, LeverRow, LeverTable, ArmScore, CombinedResult, SweepResult,
                                 TrialRow, StudyProgress, SessionSummary, DataSource])
def test_every_study_record_is_a_record(cls):
    assert issubclass(cls, Record)


def test_the_golden_plan_reads_and_writes_back_the_keys_it_was_written_with():
    raw = _golden_attr("lab")
    plan = StudyPlan.from_dict(raw)
    assert plan.seeds == (42,) and plan.levers[0].key == "model.dropout=0.4" and plan.data.kind == "csv"
    written = plan.to_dict()
    assert {key: written[key] for key in raw} == raw  # every old key, with its old value


def test_a_plan_written_today_has_every_key_the_previous_release_reads():
    plan = _plan()
    raw = _through_json(plan)
    old = _previous_release_reads_plan(raw)
    assert old["kind"] == "levers" and old["planned"] == 9 and old["seeds"] == (42, 43, 44) and old["pruner"] == "none"
    assert [lever["key"] for lever in old["levers"]] == ["model.dropout=0.4", "model.bidirectional=false"]
    assert old["data"] == SOURCE.to_dict() and ExperimentConfig.from_dict(old["config"]) == ExperimentConfig()
    assert StudyPlan.from_dict(raw) == plan


def test_the_golden_combination_reads_and_writes_back_unchanged():
    raw = _golden_attr("lab_combined")
    assert CombinedPlan.from_dict(raw).to_dict() == raw
    plan = CombinedPlan(("model.dropout=0.4",),
                        (("model.l2=0.0", "changes model.l2, which an earlier lever already changed"),), {})
    assert _through_json(plan) == {"applied": ["model.dropout=0.4"], "config": {},
                                   "skipped": [["model.l2=0.0",
                                                "changes model.l2, which an earlier lever already changed"]]}
    assert CombinedPlan.from_dict(_through_json(plan)) == plan


def test_a_lever_row_with_a_field_it_does_not_know_still_loads():
    raw = {**_through_json(_row()), "added_by_a_later_release": {"anything": 1}}
    assert LeverRow.from_dict(raw) == _row()


def test_a_lever_row_without_an_interval_round_trips():
    row = _row(n=1, sd_delta=None, interval=None, deltas=(0.0,), seeds=(42,), verdict=WITHIN_NOISE)
    assert LeverRow.from_dict(_through_json(row)) == row


def test_a_lever_table_round_trips_with_its_rows():
    table = LeverTable("s", "validation macro-F1", VERDICT_RULE, (42, 43, 44), 0.6, 0.01, 3,
                       (_row(), _row("model.l2=0.0")), True, 9, 9)
    raw = _through_json(table)
    assert raw["rows"][0]["interval"] == [0.013, 0.027] and raw["seeds"] == [42, 43, 44]
    assert LeverTable.from_dict({**raw, "unknown": 1}) == table


def test_a_combined_result_keeps_its_json_shape_and_round_trips():
    result = CombinedResult.from_dict({
        "study": "s", "plan": {"applied": ["model.dropout=0.4"], "skipped": [], "config": {}},
        "validation": _through_json(_row()),
        "test": {"reference": {"mean": 0.6, "sd": 0.01, "n": 3}, "combined": {"mean": 0.62, "sd": None, "n": 3},
                 "baseline": {"mean": 0.55, "sd": 0.0, "n": 3}},
        "per_seed": [{"seed": 42, "reference": 0.6, "combined": 0.62, "baseline": 0.55}], "note": "n",
    })
    assert result.test_reference == ArmScore(0.6, 0.01, 3) and result.test_combined.sd is None
    assert result.test_baseline.mean == 0.55 and result.baseline_fitted_on is None
    raw = _through_json(result)
    assert set(raw) == {"study", "plan", "validation", "test", "per_seed", "note", "baseline_fitted_on"}
    assert set(raw["test"]) == {"reference", "combined", "baseline"}
    assert CombinedResult.from_dict(raw) == result


def test_a_sweep_result_round_trips():
    row = TrialRow(0, "COMPLETE", 0.6, {"model.dropout": 0.3}, 1.5, "/runs/a", None, None, None, None)
    result = SweepResult("s", 4, 1, (row,), row, {"seed": 1}, {"model.dropout": 1.0}, "note",
                         ({"name": "model.dropout", "kind": "float"},), ({"trial": 0, "axis": "objective"},))
    assert SweepResult.from_dict(_through_json(result)) == result


def test_progress_messages_and_session_summaries_round_trip():
    event = StudyProgress("epoch", "s", 3, "reference, seed 42", epoch=2, value=0.5)
    summary = SessionSummary("s", "host:1:abc", 4, "finished", 9, 9)
    assert StudyProgress.from_dict(_through_json(event)) == event
    assert SessionSummary.from_dict({**_through_json(summary), "new": True}) == summary
