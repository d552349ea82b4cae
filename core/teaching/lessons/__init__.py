"""Teaching mode: lessons are data files that run two or more variants of one experiment and check what happened.

Modules: files (loading and validating the TOML files), metrics (metric paths and how a run's records answer them),
running (running the variants and measuring them), checking (whether each expect clause held, in words).
Public names are listed below and imported from their module on first use (see core.lazy.exports).
"""

from core.lazy import exports

__getattr__, __dir__, __all__ = exports(__name__, {
    "files": [
        "LESSONS_DIR", "OPERATORS", "Expectation", "Lesson", "LessonError", "Operand", "Subsample", "Variant",
        "check_class_names", "load_lesson", "load_lessons",
    ],
    "metrics": [
        "DERIVED_METRICS", "HISTORY_METRICS", "METRIC_ROOTS", "POSITION_METRICS", "STANDARD_METRICS", "TEXT_METRICS",
        "as_plain_dict", "describe_metric", "history_metric", "metric_path_problem", "resolve_metric", "split_path",
        "text_metric",
    ],
    "running": [
        "POSITION_MIN_TOKENS", "POSITION_ROWS", "LessonResult", "VariantOutcome", "lesson_dataset", "position_bias",
        "run_lesson", "subsample",
    ],
    "checking": ["check"],
})
