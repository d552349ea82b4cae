"""Lever studies and sweeps: many ordinary training runs, organised by Optuna, resumable and shareable.

Two kinds of study, both stored by Optuna (imported lazily: this package is safe on the dashboard's first page):

* A **lever study** answers "which single change of my settings helps?". The reference config and each chosen lever
  (:mod:`core.evidence.levers`) run with the SAME seeds — seed ``s`` of lever ``L`` is paired with seed ``s`` of the
  reference, and each seed is its own split — and each lever gets the mean paired difference in validation macro-F1 with
  a verdict under :data:`VERDICT_RULE`. A racing study (:class:`Racing`, the CLI's and the page's default) spends seeds
  where verdicts are still open: every lever starts on one seed and successive halving, with the verdict as its stopping
  test, decides which get more (:mod:`core.evidence.study._racing`); an exhaustive one runs every lever on every seed.
  :func:`combine_helpers` then runs one config combining the levers that helped; only that config and the reference are
  ever scored on the sealed test split.
* A **sweep** searches a space built from the config's field metadata (:func:`default_space`, or a JSON space file:
  :func:`load_space`) with TPE, a trial or time budget, and median or successive-halving pruning on the per-epoch
  validation score.

Every trial is one ordinary run (:func:`core.training.experiment.run_experiment`) saved as a run record tagged with the
study and trial number, so the Evaluate and Runs pages work on trials unchanged. Runs go through an executor
(:class:`InProcessExecutor` for CLI workers, :class:`FunctionExecutor`/:func:`scheduler_executor` for the dashboard's
job scheduler).

Storage: by default one Optuna journal file per study, ``<runs dir>/studies/<name>.journal`` (safe for several processes
on one machine); or any SQLAlchemy URL (``postgresql+psycopg2://…``) to share a study across machines. Several workers
may run one study at once; a trial whose worker dies is retried once (:mod:`core.evidence.study._heartbeat`).

The modules are private, in Optuna's layout (``optuna/study/``); everything public is named here, and code outside
this package imports it from here:

=============== =====================================================================================
``_source``     where the data comes from, and its hash (DataSource, data_source, load_source)
``_space``      a sweep's search space (SearchSpace, default_space, load_space, parse_space)
``_verdict``    the verdict rule (paired_verdict, VERDICT_RULE, MIN_EFFECT)
``_plan``       what a study runs, stored in the study (StudyPlan, CombinedPlan, Racing, the kinds and arms)
``_racing``     racing levers: which lever gets more seeds, and why each stopped (race, race_state, advance_race)
``_attrs``      the attribute keys stored in journals and databases (never renamed)
``_storage``    journal files and database URLs; create, open (StudyHandle, create_lever_study, ...)
``_executors``  how a trial's run is carried out (InProcessExecutor, FunctionExecutor, scheduler_executor)
``_scores``     validation macro-F1, and the sealed test scores of the reference and combined config
``_progress``   slots and progress messages (StudyProgress)
``_heartbeat``  heartbeats and the recovery of trials whose worker died (recover_stale_trials)
``_loop``       the worker loop (run_study)
``_parallel``   several trials at once: spawned workers (CLI) or loops in threads (dashboard), TensorFlow threads
``_levers``     lever results, verdicts and the combination (lever_results, combine_helpers, ...)
``_sweep``      sweep results (sweep_results, trial_rows)
``_listing``    the study list (list_studies)
=============== =====================================================================================

Importing this package imports none of Optuna, scikit-learn, SciPy or TensorFlow; they load on first use.
"""

from core.evidence.study._attrs import MAX_CRASH_RETRIES
from core.evidence.study._executors import (
                                            FunctionExecutor,
                                            InProcessExecutor,
                                            StopSignal,
                                            TrialExecutor,
                                            TrialFailed,
                                            TrialOutcome,
                                            TrialRequest,
                                            scheduler_executor,
)
from core.evidence.study._heartbeat import Heartbeat, recover_stale_trials, worker_id
from core.evidence.study._levers import (
                                            ArmScore,
                                            CombinedResult,
                                            LeverRow,
                                            LeverTable,
                                            SealedScores,
                                            combine_helpers,
                                            combined_results,
                                            lever_results,
                                            plan_combination,
)
from core.evidence.study._listing import StudyInfo, list_studies
from core.evidence.study._loop import SessionSummary, run_study
from core.evidence.study._parallel import (
                                            default_workers,
                                            limit_threads,
                                            run_in_threads,
                                            run_with_workers,
                                            threads_per_trial,
)
from core.evidence.study._plan import (
                                            ARM_COMBINED,
                                            ARM_REFERENCE,
                                            KIND_LEVERS,
                                            KIND_SWEEP,
                                            PRUNERS,
                                            CombinedPlan,
                                            Racing,
                                            StudyPlan,
)
from core.evidence.study._progress import StudyProgress
from core.evidence.study._racing import (
                                            EXHAUSTIVE_RULE,
                                            STOP_ALL_SEEDS,
                                            STOP_FAILED,
                                            STOP_HALVED,
                                            STOP_NO_EFFECT,
                                            STOP_OPEN,
                                            STOP_SETTLED,
                                            RaceState,
                                            advance_race,
                                            most_runs,
                                            race,
                                            race_state,
                                            seeding_words,
                                            stop_words,
)
from core.evidence.study._scores import OBJECTIVE, objective_value
from core.evidence.study._source import DataSource, data_source, load_source
from core.evidence.study._space import DEFAULT_SEARCH, ParamSpec, SearchSpace, default_space, load_space, parse_space
from core.evidence.study._storage import (
                                            DEFAULT_SEEDS,
                                            GRACE_S,
                                            HEARTBEAT_S,
                                            JOURNAL_SUFFIX,
                                            NAME_RULE,
                                            STUDIES_FOLDER,
                                            StudyHandle,
                                            StudyNotFound,
                                            check_name,
                                            create_lever_study,
                                            create_sweep,
                                            journal_stem,
                                            open_study,
                                            storage_location,
                                            studies_folder,
)
from core.evidence.study._sweep import MIN_IMPORTANCE_TRIALS, SweepResult, TrialRow, sweep_results, trial_rows
from core.evidence.study._verdict import (
                                            CONFIDENCE,
                                            HELPS,
                                            HURTS,
                                            MIN_EFFECT,
                                            VERDICT_RULE,
                                            WITHIN_NOISE,
                                            paired_verdict,
)

__all__ = [
    # kinds, arms, verdicts and defaults
    "ARM_COMBINED", "ARM_REFERENCE", "CONFIDENCE", "DEFAULT_SEARCH", "DEFAULT_SEEDS", "GRACE_S", "HEARTBEAT_S", "HELPS",
    "HURTS", "JOURNAL_SUFFIX", "KIND_LEVERS", "KIND_SWEEP", "MAX_CRASH_RETRIES", "MIN_EFFECT", "MIN_IMPORTANCE_TRIALS",
    "OBJECTIVE", "PRUNERS", "STUDIES_FOLDER", "VERDICT_RULE", "WITHIN_NOISE", "EXHAUSTIVE_RULE", "STOP_ALL_SEEDS",
    "STOP_FAILED", "STOP_HALVED", "STOP_NO_EFFECT", "STOP_OPEN", "STOP_SETTLED",
    # data and space
    "DataSource", "data_source", "load_source", "ParamSpec", "SearchSpace", "default_space", "load_space",
    "parse_space",
    # plans and storage
    "CombinedPlan", "Racing", "StudyPlan", "StudyHandle", "StudyNotFound", "NAME_RULE", "check_name", "journal_stem",
    "create_lever_study", "create_sweep",
    "open_study", "storage_location", "studies_folder",
    # running trials
    "FunctionExecutor", "InProcessExecutor", "StopSignal", "TrialExecutor", "TrialFailed", "TrialOutcome",
    "TrialRequest",
    "scheduler_executor", "objective_value", "Heartbeat", "SessionSummary", "StudyProgress", "recover_stale_trials",
    "run_study", "worker_id",
    # several trials at once
    "default_workers", "limit_threads", "run_in_threads", "run_with_workers", "threads_per_trial",
    # racing levers
    "RaceState", "advance_race", "most_runs", "race", "race_state", "seeding_words", "stop_words",
    # results
    "ArmScore", "CombinedResult", "SealedScores", "LeverRow", "LeverTable", "combine_helpers", "combined_results",
    "lever_results",
    "paired_verdict", "plan_combination", "SweepResult", "TrialRow", "sweep_results", "trial_rows", "StudyInfo",
    "list_studies",
]
