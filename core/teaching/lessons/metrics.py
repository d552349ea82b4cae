"""Lesson metric paths: what a name in an ``[[expect]]`` clause means, and how it is read from a run's records.

* any path into a run's metrics.json: ``test.macro_f1``, ``baseline.macro_f1``, ``training.epochs_run`` ...; a
  ``[name]`` segment picks a per-class entry by its class (``test.per_class[Other].recall``), ``[2]`` a list item;
* ``history.<key>[i]``: one epoch of a training curve, Python indexing (``history.loss[-1]`` is the last epoch);
* the derived names of :data:`DERIVED_METRICS`, computed from the run's history, vocabulary, test texts and (for
  the position-bias ones) its trained model while it is still in memory (see :mod:`core.teaching.lessons.running`).

Plain Python: the lessons page reads saved runs with these functions without loading a model.
"""

from __future__ import annotations

import json
import re
from typing import Any, Optional, Sequence

DERIVED_METRICS: dict[str, str] = {
    "train_val_gap": "training accuracy minus validation accuracy at the epoch whose weights the run kept",
    "loss_drop": "training loss of the first epoch minus that of the last epoch",
    "val_loss_rise": "validation loss of the last epoch minus its lowest value",
    "vocabulary_size": "tokens in the vocabulary, padding and out-of-vocabulary included",
    "oov_rate": "share of the test texts' token occurrences that the training vocabulary does not know",
    "truncated_share": "share of the test texts longer than the max_length kept",
    "attention_position_bias": "mean Spearman rho between token position and attention weight over test texts",
    "occlusion_position_bias": "mean Spearman rho between token position and leave-one-token-out importance",
    "attention_position_strength": (
        "how strongly attention follows position in either direction: |attention_position_bias|"
    ),
    "occlusion_position_strength": (
        "how strongly occlusion follows position in either direction: |occlusion_position_bias|"
    ),
}
# Computed on every variant because they cost nothing; the position-bias ones only when a clause asks for them.
STANDARD_METRICS = (
    "test.macro_f1", "baseline.macro_f1", "train_val_gap", "loss_drop", "vocabulary_size", "oov_rate", "truncated_share"
)
HISTORY_METRICS = ("train_val_gap", "loss_drop", "val_loss_rise", "vocabulary_size")  # read from metrics + history
TEXT_METRICS = ("oov_rate", "truncated_share")  # computed over the run's preprocessed test texts
POSITION_METRICS = (
    "attention_position_bias", "occlusion_position_bias", "attention_position_strength", "occlusion_position_strength"
)
METRIC_ROOTS = (
    "test", "validation", "baseline", "majority", "split", "resampling", "training", "vectorizing", "preprocessing",
    "folds",
)


def metric_path_problem(path: str) -> Optional[str]:
    """None when ``path`` is a metric path this module can resolve, else one sentence saying what is wrong."""
    if path in DERIVED_METRICS:
        return None
    segments = split_path(path)
    if segments is None:
        return (
            f"{path!r} is not a metric path; "
            "write e.g. test.macro_f1, test.per_class[<class>].recall or history.loss[-1]."
        )
    root = segments[0][0]
    if root == "history":
        if len(segments) != 2 or segments[1][1] is None or not _is_int(segments[1][1]):
            return f"{path!r}: history paths look like history.<curve>[<epoch index>], e.g. history.val_loss[-1]."
        return None
    if root not in METRIC_ROOTS:
        return (
            f"{path!r} starts with {root!r}; use one of {', '.join(METRIC_ROOTS)}, history, "
            f"or a derived metric ({', '.join(DERIVED_METRICS)})."
        )
    return None



def split_path(path: str) -> Optional[list[tuple[str, Optional[str]]]]:
    """'test.per_class[Other].recall' → [('test', None), ('per_class', 'Other'), ('recall', None)].

    Class names may hold dots and spaces, so brackets are split off before the dots."""
    segments: list[tuple[str, Optional[str]]] = []
    rest = path.strip()
    while rest:
        match = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)(?:\[([^\[\]]+)\])?(?:\.|$)", rest)
        if not match:
            return None
        segments.append((match.group(1), match.group(2)))
        rest = rest[match.end():]
    return segments or None


def _is_int(text: str) -> bool:
    return re.fullmatch(r"-?\d+", text.strip()) is not None


def history_metric(path: str, metrics: dict, history: dict) -> Optional[float]:
    """A metric of :data:`HISTORY_METRICS`, from a run's metrics record and history alone (the same whether the run
    is in memory or read back from disk); None when the run has no such value."""
    if path == "train_val_gap":
        accuracy, val_accuracy = history.get("accuracy") or [], history.get("val_accuracy") or []
        if not accuracy or not val_accuracy:
            return None
        best = metrics["training"].get("best_epoch")
        kept = (best - 1) if best else min(len(accuracy), len(val_accuracy)) - 1
        return float(accuracy[kept] - val_accuracy[kept])
    if path == "loss_drop":
        loss = history.get("loss") or []
        return float(loss[0] - loss[-1]) if loss else None
    if path == "val_loss_rise":
        val_loss = history.get("val_loss") or []
        return float(val_loss[-1] - min(val_loss)) if val_loss else None
    if path == "vocabulary_size":
        return float(metrics["vectorizing"]["vocabulary_size"])
    raise ValueError(f"{path!r} is not one of {HISTORY_METRICS}")


def text_metric(path: str, test_texts: Sequence[str], vocabulary, max_length: int) -> Optional[float]:
    """A metric of :data:`TEXT_METRICS` over the run's preprocessed test texts; None when there are none."""
    from core.text.vectorizing import oov_rate

    if not test_texts:
        return None
    if path == "oov_rate":
        return float(oov_rate(test_texts, vocabulary))
    if path == "truncated_share":
        return sum(len(text.split()) > max_length for text in test_texts) / len(test_texts)
    raise ValueError(f"{path!r} is not one of {TEXT_METRICS}")



def as_plain_dict(value: Any) -> dict:
    """A metrics record as the plain dict metrics.json holds (records have ``to_dict``; dicts pass through)."""
    if hasattr(value, "to_dict"):
        value = value.to_dict()
    return json.loads(json.dumps(value, default=float))


def resolve_metric(path: str, metrics: dict, history: dict) -> Optional[float]:
    """A metrics.json or history path (not the derived names) → its number, or None when absent."""
    segments = split_path(path)
    if segments is None:
        raise ValueError(f"not a metric path: {path!r}")
    if segments[0][0] == "history":
        curve = history.get(segments[1][0]) or []
        index = int(segments[1][1])
        return float(curve[index]) if -len(curve) <= index < len(curve) else None
    node: Any = metrics
    for key, index in segments:
        node = node.get(key) if isinstance(node, dict) else None
        if node is not None and index is not None:
            node = _pick(node, index)
        if node is None:
            return None
    if isinstance(node, bool) or not isinstance(node, (int, float)):
        return None
    return float(node)


def _pick(node: Any, index: str) -> Any:
    if not isinstance(node, list):
        return None
    if _is_int(index):
        position = int(index)
        return node[position] if -len(node) <= position < len(node) else None
    return next((item for item in node if isinstance(item, dict) and item.get("class") == index), None)



def describe_metric(metric: str) -> str:
    """A metric in words, as the lessons page and the check's sentences name it: "the fall in training loss" for
    ``loss_drop``, "baseline macro-F1" for ``baseline.macro_f1``, "test recall of 'Other'" for
    ``test.per_class[Other].recall``. The path itself stays in the lesson files."""
    names = {
        "train_val_gap": "the train/validation accuracy gap",
        "loss_drop": "the fall in training loss",
        "val_loss_rise": "the rise in validation loss",
        "vocabulary_size": "the vocabulary size",
        "oov_rate": "the out-of-vocabulary rate",
        "truncated_share": "the share of truncated test texts",
        "attention_position_bias": "attention's position bias",
        "occlusion_position_bias": "occlusion's position bias",
        "attention_position_strength": "how strongly attention follows position",
        "occlusion_position_strength": "how strongly occlusion follows position",
        "test.macro_f1": "test macro-F1",
        "test.accuracy": "test accuracy",
    }
    if metric in names:
        return names[metric]
    match = re.fullmatch(r"test\.per_class\[(.+)\]\.(recall|precision|f1)", metric)
    if match:
        return f"test {match.group(2)} of '{match.group(1)}'"
    match = re.fullmatch(r"history\.(\w+)\[(-?\d+)\]", metric)
    if match:
        curves = {"loss": "training loss", "val_loss": "validation loss", "accuracy": "training accuracy",
                  "val_accuracy": "validation accuracy", "learning_rate": "learning rate"}
        index = int(match.group(2))
        epoch = (
            "the last epoch" if index == -1
            else f"epoch {index + 1}" if index >= 0
            else f"the epoch {-index} from the end"
        )
        return f"the {curves.get(match.group(1), match.group(1))} of {epoch}"
    return _path_in_words(metric)


_ROOT_WORDS = {"majority": "majority-class baseline", "folds": "k-fold"}
_FIELD_WORDS = {"per_class": "", "per_fold": ""}
_TERMS = ((r"\bmacro f1\b", "macro-F1"), (r"\bweighted f1\b", "weighted-F1"), (r"\bf1\b", "F1"), (r"\boov\b", "OOV"))


def _path_in_words(metric: str) -> str:
    """Any other metrics.json path in words: 'baseline.macro_f1' -> 'baseline macro-F1', 'training.epochs_run' ->
    'training epochs run', 'validation.per_class[Other].f1' -> "validation F1 of 'Other'"."""
    segments = split_path(metric)
    if segments is None:
        return metric
    words, of = [], []
    for position, (name, index) in enumerate(segments):
        word = _ROOT_WORDS.get(name, name) if position == 0 else _FIELD_WORDS.get(name, name)
        if word:
            words.append(word.replace("_", " "))
        if index is not None:
            of.append(f"item {int(index) + 1 if int(index) >= 0 else index}" if _is_int(index) else f"'{index}'")
    text = " ".join(words)
    for pattern, term in _TERMS:
        text = re.sub(pattern, term, text)
    return text + (f" of {', '.join(of)}" if of else "")
