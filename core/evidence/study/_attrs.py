"""The keys this lab stores in Optuna's studies and trials: the format of every study journal and database.

Never rename one: a study written by an earlier release must still open, resume and read (tests/golden/study.journal,
tests/test_study_golden.py). ``failed_trial`` and ``retry_history`` are Optuna's own keys (its
``RetryHeartbeatStaleTrialCallback`` writes them on an RDB storage), so both retry paths keep one bookkeeping.
"""

from __future__ import annotations

_PLAN_ATTR = "lab"  # study user attr: the StudyPlan
_COMBINED_ATTR = "lab_combined"  # study user attr: the CombinedPlan, once combine_helpers has chosen it
_WORKER = "lab:worker"
_HEARTBEAT = "lab:heartbeat"
_SURPLUS = "lab:surplus"
_SEALED_TEST = "lab:sealed_test"
_RETRY_OF = "failed_trial"  # Optuna's key (RetryHeartbeatStaleTrialCallback): the slot's original trial number
_RETRY_HISTORY = "retry_history"
_SLOT_ATTRS = ("arm", "seed")  # user attrs that say what a lever-study trial runs; a retry keeps them
MAX_CRASH_RETRIES = 1  # a crashed trial is queued again at most this often (its retry_history's length)
