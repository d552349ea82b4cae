"""A study journal written by the previous release (tests/golden/study.journal, commit 2c550ae) still opens and reads
through core.evidence.study's public names: the attribute keys stored in journals ("lab", "lab_combined",
"lab:sealed_test", "arm", "seed", ...) are a file format. Reads only: no training, no process, no TensorFlow.

The golden study: a lever study named golden-study, one seed (42), one lever (model.dropout=0.4), both trials
complete, combined with nothing applied (no lever helped beyond noise).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from core.evidence.study import (
    ARM_REFERENCE,
    HELPS,
    HURTS,
    JOURNAL_SUFFIX,
    KIND_LEVERS,
    OBJECTIVE,
    VERDICT_RULE,
    WITHIN_NOISE,
    StudyPlan,
    combined_results,
    lever_results,
    list_studies,
    open_study,
    trial_rows,
)
from support.paths import GOLDEN  # noqa: E402

JOURNAL = GOLDEN / "study.journal"
from support.paths import ROOT  # noqa: E402


@pytest.fixture
def runs(tmp_path) -> Path:
    """A runs folder holding a copy of the golden journal (opening a journal may write lock files beside it)."""
    (tmp_path / "studies").mkdir()
    shutil.copyfile(JOURNAL, tmp_path / "studies" / f"golden-study{JOURNAL_SUFFIX}")
    return tmp_path


def test_the_golden_journal_opens_with_its_plan(runs):
    handle = open_study("golden-study", runs_dir=runs)
    plan = handle.plan
    assert isinstance(plan, StudyPlan) and plan.kind == handle.kind == KIND_LEVERS
    assert plan.seeds == (42,) and plan.planned == 2 and plan.pruner == "none"
    assert [lever.key for lever in plan.levers] == ["model.dropout=0.4"]
    assert plan.data.kind == "csv" and plan.data.text_column == "text" and plan.data.label_column == "label"
    assert plan.base_config.seed == 42 and plan.base_config.model.dropout == 0.5
    assert handle.planned() == 2  # combined with nothing applied: no combined seeds on top


def test_the_golden_journal_reads_its_lever_table_and_combination(runs):
    handle = open_study("golden-study", runs_dir=runs)
    table = lever_results(handle)
    assert table.study == "golden-study" and table.objective == OBJECTIVE and table.rule == VERDICT_RULE
    assert table.complete and (table.done, table.planned) == (2, 2) and table.seeds == (42,)
    assert table.reference_n == 1 and table.reference_mean == pytest.approx(0.26515151515151514)
    (row,) = table.rows
    assert row.key == "model.dropout=0.4" and row.n == 1 and row.seeds == (42,)
    assert row.mean_delta == pytest.approx(0.0) and row.interval is None  # one seed: no interval
    assert row.verdict == WITHIN_NOISE and row.verdict not in (HELPS, HURTS)

    combined = combined_results(handle)
    assert combined.plan.applied == () and combined.test_combined is None and combined.validation is None
    assert combined.per_seed == ({"seed": 42, "reference": pytest.approx(0.49883597883597885), "combined": None,
                                  "baseline": 1.0},)
    assert combined.baseline_fitted_on == "the training and validation splits"

    rows = trial_rows(handle)
    assert [(r.number, r.state, r.arm, r.seed) for r in rows] == [(0, "COMPLETE", ARM_REFERENCE, 42),
                                                                   (1, "COMPLETE", "model.dropout=0.4", 42)]


def test_the_golden_journal_is_listed_as_finished(runs):
    (info,) = list_studies(runs)
    assert (info.name, info.kind, info.state) == ("golden-study", KIND_LEVERS, "finished")
    assert (info.planned, info.done, info.running, info.waiting, info.failed) == (2, 2, 0, 0, 0)


def test_importing_the_study_package_loads_no_heavy_library():
    """Optuna, scikit-learn, SciPy and TensorFlow load on first use, never on import (the dashboard's first page)."""
    code = ("import sys, core.evidence.study; "
            "print(sorted(m for m in ('optuna', 'sklearn', 'scipy', 'tensorflow', 'keras') if m in sys.modules))")
    completed = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]"
