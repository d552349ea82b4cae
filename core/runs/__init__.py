"""Runs: the typed records of a run's results, the run folder (saved atomically, listed, loaded with Keras safe
mode, zipped, deleted) and spreadsheet-safe CSV.

Modules: export, results, store.
Public names are listed below and imported from their module on first use (see core.lazy.exports).
"""

from core.lazy import exports

__getattr__, __dir__, __all__ = exports(__name__, {
    "export": ["predictions_csv", "safe_cell", "to_csv"],
    "results": [
        "BaselineResult", "CLASS", "ClassScore", "ClassificationMetrics", "Confusion", "DataSummary",
        "EnsembleSummary", "FoldScores", "FoldSummary", "MajorityResult", "MeanSd", "Prediction", "ResamplingAudit",
        "RunInfo", "RunMetrics", "SplitCounts", "TrainingSummary", "VectorCoverage", "VectorizingSummary",
    ],
    "store": [
        "DEFAULT_RUNS_DIR", "LoadedRun", "OPTIONAL_FILES", "RUN_FILES", "RUNS_DIR_VARIABLE", "RunSummary",
        "clean_abandoned", "delete_run", "ensure_writable", "list_runs", "load_model", "load_run", "new_run_id",
        "runs_dir", "save_run", "write_json", "zip_run",
    ],
})
