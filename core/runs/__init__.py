"""What a run produces and keeps: the typed result records (metrics.json, run.json, predictions.json), the run
folder written atomically and loaded in Keras safe mode, and CSV that is safe to open in a spreadsheet.

Modules: export, results, store.
Public names are listed below and imported from their module on first use (see core.lazy.exports).
"""

from core.lazy import exports

__getattr__, __dir__, __all__ = exports(__name__, {
    "export": ["predictions_csv", "safe_cell", "to_csv"],
    "results": [
        "BaselineResult", "BlendSummary", "CLASS", "ClassScore", "ClassificationMetrics", "Confusion",
        "DataSummary", "EnsembleSummary", "FoldScores", "FoldSummary", "MajorityResult", "MeanSd", "Prediction",
        "ResamplingAudit", "RunInfo", "RunMetrics", "SplitCounts", "TrainingSummary", "VectorCoverage",
        "VectorizingSummary"
    ],
    "store": [
        "RUN_FILES", "clean_abandoned", "delete_run", "ensure_writable", "list_runs", "load_model", "load_run",
        "runs_dir", "save_run", "write_json", "zip_run"
    ],
})
