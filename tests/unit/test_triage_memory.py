"""Big files: refused with one sentence before they would exhaust memory, sampled on request, and triaged without
holding a Python object per token (the memory model, sampling, and a 100k-row peak measured in a child process).

`python -m core inspect` on 1M rows used to peak at 2.4 GB (28x the file); see bench/scale.py --inspect.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest

import core.data.memory as memory
import core.data.reading as reading
from core.config import ExperimentConfig
from core.data.dataset import build_dataset, data_hash
from core.data.memory import available_memory_bytes, memory_check
from core.data.reading import read_csv_bytes, read_csv_path, sample_table
from core.data.splitting import stratified_split
from core.errors import DataError
from core.evidence.triage import (
    _duplicates,
    _preprocessed_profile,
    _vocabulary_size,
    capped_baseline,
    triage,
)
from core.model.baseline import baseline_on_split
from core.text.preprocessing import preprocess
from support.fakes import csv_bytes, generated_texts, make_dataset
from support.paths import ROOT  # noqa: E402

MB = 1 << 20


def assert_one_sentence(message: str) -> None:
    assert "\n" not in message and message.endswith(".") and message[0].isupper()
    assert message.count(": ") == 1  # what is wrong: what to do


def numbered_csv(rows: int, classes: tuple[str, ...] = ("a", "b", "c")) -> bytes:
    lines = ["text,label"] + [f"row {i} says hello,{classes[i % len(classes)]}" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode("utf-8")


# ------------------------------------------------------------------------------------ the pre-flight check


def test_memory_check_passes_when_there_is_room_and_names_everything_when_not():
    assert memory_check(50 * MB, rows=1_000_000, available=64 << 30) is None
    message = memory_check(300 * MB, rows=3_000_000, name="big.csv", available=1 << 30)
    assert_one_sentence(message)
    assert "'big.csv' (300 MB, about 3,000,000 rows)" in message
    need = memory.estimated_memory_bytes(300 * MB)
    assert f"needs about {need / (1 << 30):.1f} GB" in message and "only 1.0 GB is free" in message
    fitting = int(message.split("--sample ")[1].split(" ")[0])
    assert 1000 <= fitting < 3_000_000
    # The sample it suggests does fit, and one twice as large does not.
    assert memory_check(300 * MB, rows=3_000_000, max_rows=fitting, available=1 << 30) is None
    assert memory_check(300 * MB, rows=3_000_000, max_rows=2 * fitting, available=1 << 30) is not None


def test_memory_check_says_when_not_even_a_sample_fits():
    message = memory_check(300 * MB, rows=3_000_000, available=200 * MB)
    assert_one_sentence(message)
    assert "too little even for a sample" in message and "--sample" not in message


def test_the_model_counts_the_file_once_and_a_sample_in_proportion():
    size = 100 * MB
    whole, half, none = (memory.estimated_memory_bytes(size, fraction=f) for f in (1.0, 0.5, 0.0))
    assert none == memory.MEMORY_FIXED_BYTES + size  # a sample still reads the file once
    assert whole - half == half - none > 0
    held = memory.estimated_memory_bytes(size, held=True, fraction=0.0)
    assert held == memory.MEMORY_FIXED_BYTES  # bytes already in memory are not counted again


def test_available_memory_is_the_smaller_of_meminfo_and_the_cgroup_headroom(tmp_path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       32000000 kB\nMemFree:  100 kB\nMemAvailable:    8000000 kB\n")
    cgroup = tmp_path / "cgroup"
    cgroup.mkdir()
    assert available_memory_bytes(meminfo=str(meminfo), cgroup=str(cgroup)) == 8_000_000 * 1024
    (cgroup / "memory.max").write_text("max\n")  # cgroup v2 without a limit
    (cgroup / "memory.current").write_text("123\n")
    assert available_memory_bytes(meminfo=str(meminfo), cgroup=str(cgroup)) == 8_000_000 * 1024
    (cgroup / "memory.max").write_text(f"{4 << 30}\n")
    (cgroup / "memory.current").write_text(f"{1 << 30}\n")
    assert available_memory_bytes(meminfo=str(meminfo), cgroup=str(cgroup)) == 3 << 30
    assert available_memory_bytes(meminfo=str(tmp_path / "none"), cgroup=str(tmp_path / "none")) is None


def test_reading_refuses_before_parsing_and_a_sample_that_fits_is_read(monkeypatch, tmp_path):
    raw = numbered_csv(20_000)
    path = tmp_path / "big.csv"
    path.write_bytes(raw)
    # Pretend the machine is small: the file's model need is over what is free, a 2,000-row sample is under.
    free = memory.estimated_memory_bytes(len(raw), fraction=0.2)
    monkeypatch.setattr(memory, "available_memory_bytes", lambda: free)

    def no_parsing(*args, **kwargs):
        raise AssertionError("the file was parsed before the memory check refused it")

    monkeypatch.setattr(reading, "_parse", no_parsing)
    for read in (lambda: read_csv_path(path), lambda: read_csv_bytes(raw, source_name="big.csv")):
        with pytest.raises(DataError) as refused:
            read()
        assert_one_sentence(str(refused.value))
        assert "'big.csv'" in str(refused.value) and "--sample" in str(refused.value)
        assert 1_000 <= refused.value.fitting_rows < 20_000  # the size the app's sample button offers
    monkeypatch.undo()
    monkeypatch.setattr(memory, "available_memory_bytes", lambda: free)
    table = read_csv_path(path, max_rows=2_000)
    assert len(table.frame) == 2_000 and table.sampled_from_rows == 20_000


@pytest.mark.slow
def test_the_cli_reads_a_sample_when_asked_and_refuses_a_sample_of_nothing(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_bytes(numbered_csv(3_000))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = [sys.executable, "-m", "core", "inspect", str(path), "--no-baseline"]
    sampled = subprocess.run([*run, "--sample", "500"], capture_output=True, text=True, env=env, timeout=120)
    assert sampled.returncode == 0, sampled.stderr
    assert ("500 rows kept of 500" in sampled.stdout
            and "random sample of 500 of the file's 3,000 rows" in sampled.stdout)
    refused = subprocess.run([*run, "--sample", "0"], capture_output=True, text=True, env=env, timeout=120)
    assert refused.returncode == 2 and refused.stderr.strip() == "error: --sample must be at least 1 row."


# ------------------------------------------------------------------------------------------------ sampling


def test_max_rows_reads_a_seeded_uniform_sample_in_file_order_across_chunks(monkeypatch):
    monkeypatch.setattr(reading, "_CHUNK_ROWS", 700)  # many chunks, so the reservoir merge is exercised
    raw = numbered_csv(10_000)
    table = read_csv_bytes(raw, max_rows=1_000, seed=3)
    numbers = [int(text.split()[1]) for text in table.frame["text"]]
    assert len(numbers) == 1_000 and numbers == sorted(numbers) and len(set(numbers)) == 1_000
    assert table.sampled_from_rows == 10_000 and list(table.frame.columns) == ["text", "label"]
    assert all(table.frame["label"] == [("a", "b", "c")[n % 3] for n in numbers])  # rows stay whole
    # Uniform over the file: each tenth of it holds about a tenth of the sample.
    assert np.histogram(numbers, bins=10, range=(0, 10_000))[0].min() > 60
    assert read_csv_bytes(raw, max_rows=1_000, seed=3).frame.equals(table.frame)
    assert not read_csv_bytes(raw, max_rows=1_000, seed=4).frame.equals(table.frame)


def test_max_rows_above_the_row_count_reads_everything_and_is_not_a_sample():
    table = read_csv_bytes(numbered_csv(50), max_rows=1_000)
    assert len(table.frame) == 50 and table.sampled_from_rows is None


def test_a_sample_reaches_the_report_as_a_warning():
    rows = generated_texts({"sports": 300, "tech": 300, "food": 300}, seed=5)
    dataset = build_dataset(read_csv_bytes(csv_bytes(rows), max_rows=300, seed=1))
    assert dataset.sampled_from_rows == 900 and len(dataset) == 300
    report = triage(dataset, include_baseline=False)
    assert report.source.sampled_from_rows == 900
    assert "This report describes a random sample of 300 of the file's 900 rows." in report.warnings


def test_sample_table_stratified_keeps_every_class_and_its_share():
    rows = generated_texts({"sports": 600, "tech": 300, "rare": 4}, seed=2)
    table = read_csv_bytes(csv_bytes(rows))
    sample = sample_table(table, 90, seed=0, label_column="label")
    counts = Counter(sample.frame["label"])
    assert sum(counts.values()) == 90 and counts["rare"] >= 1
    assert abs(counts["sports"] - 60) <= 1 and abs(counts["tech"] - 30) <= 1
    assert sample.sampled_from_rows == 904
    plain = sample_table(table, 90, seed=0)
    assert len(plain.frame) == 90 and plain.frame.equals(sample_table(table, 90, seed=0).frame)
    assert sample_table(table, 10_000) is table


# ---------------------------------------------------------------------------------- same results, less memory


def reference_duplicates(texts, labels):
    """The Counter-per-text computation triage used before (kept here as the reference)."""
    pair_counts = Counter(zip(texts, labels))
    labels_by_text = defaultdict(Counter)
    for text, label in zip(texts, labels):
        labels_by_text[text][label] += 1
    repeated = {text: sum(c.values()) for text, c in labels_by_text.items() if sum(c.values()) > 1}
    conflicting = {text: c for text, c in labels_by_text.items() if len(c) > 1}
    return (
        sum(count - 1 for count in pair_counts.values()),
        len(repeated),
        sum(repeated.values()),
        [(text, count) for text, count in sorted(repeated.items(), key=lambda item: -item[1])[:20]],
        len(conflicting),
        sum(sum(c.values()) for c in conflicting.values()),
        [(text, dict(c.most_common()))
         for text, c in sorted(conflicting.items(), key=lambda item: -sum(item[1].values()))[:20]],
    )


def test_duplicates_and_conflicts_match_the_counter_computation():
    rng = random.Random(7)
    stems = [f"text {i}" for i in range(60)] + ["", "NA", "é", "a  b"]
    texts = tuple(rng.choice(stems) for _ in range(3_000))
    labels = tuple(rng.choice(["x", "y", "z", "x"]) for _ in range(3_000))
    duplicates, conflicts = _duplicates(texts, labels)
    got = (
        duplicates.exact_duplicate_rows, duplicates.repeated_texts, duplicates.rows_with_repeated_text,
        [(e.text, e.count) for e in duplicates.examples],
        conflicts.texts, conflicts.rows, [(e.text, e.labels) for e in conflicts.examples],
    )
    assert got == reference_duplicates(texts, labels)
    assert [list(e.labels) for e in conflicts.examples] == [list(labels_) for _, labels_ in got[6]]  # order too


def test_lengths_and_vocabulary_match_token_lists_with_and_without_cached_preprocessing():
    dataset = make_dataset({"sports": 400, "tech": 300, "food": 200}, seed=4)
    config = ExperimentConfig()
    processed, _ = preprocess(dataset.texts, config.preprocessing)
    tokens = [text.split() for text in processed]
    lengths, vocabulary_size, kept = _preprocessed_profile(dataset.texts, config.preprocessing, np.array([5, 0, 899]))
    assert lengths.tolist() == [len(t) for t in tokens]
    assert vocabulary_size == len({token for t in tokens for token in t}) == _vocabulary_size(
        [processed[:7], processed[7:]]
    )
    assert kept == {0: processed[0], 5: processed[5], 899: processed[899]}
    with_cache = triage(dataset, config, include_baseline=False, processed=processed)
    assert with_cache == triage(dataset, config, include_baseline=False)


def test_data_hash_is_the_hash_of_the_whole_json_document(monkeypatch):
    import hashlib
    import json

    texts = ("plain", 'quote " and \\ backslash', "é ü 日本", "line\nbreak", "\ud800 lone surrogate", "")
    labels = ("a", "b", "a", "c", "b", "a")
    whole = json.dumps([texts, labels], ensure_ascii=False, separators=(",", ":"))
    expected = hashlib.sha256(whole.encode("utf-8", "surrogatepass")).hexdigest()
    for chunk in (1, 2, 4, 10_000):
        monkeypatch.setattr("core.data.dataset._HASH_CHUNK", chunk)
        assert data_hash(texts, labels) == expected
    assert data_hash((), ()) == hashlib.sha256(b"[[],[]]").hexdigest()


def test_labels_share_one_string_per_class():
    dataset = make_dataset({"sports": 50, "tech": 50}, seed=1)
    assert len({id(label) for label in dataset.labels}) == 2


def test_baseline_is_fitted_on_a_stratified_sample_beyond_the_cap_and_says_so():
    dataset = make_dataset({"sports": 120, "tech": 80, "food": 40}, seed=3)
    config = ExperimentConfig()
    processed, _ = preprocess(dataset.texts, config.preprocessing)
    split = stratified_split(dataset.y, config.split, config.seed, dataset.class_names)
    full = capped_baseline(processed, dataset.y, split, dataset.class_names)
    reference = baseline_on_split(processed, dataset.y, split, dataset.class_names)
    assert full.fitted_on == "the training and validation splits" and full.macro_f1 == reference.macro_f1
    capped = capped_baseline(processed, dataset.y, split, dataset.class_names, max_train_rows=60)
    assert capped.available
    available = len(split.train) + len(split.validation)
    assert capped.fitted_on == f"a 60-row stratified sample of the training and validation splits ({available} rows)"


def test_triage_preprocessing_itself_keeps_just_the_rows_the_capped_baseline_needs(monkeypatch):
    """Without cached preprocessing, triage keeps only the sampled training rows and the test rows; the baseline
    must come out exactly as when every preprocessed text is passed in."""
    monkeypatch.setattr("core.evidence.triage.BASELINE_MAX_TRAIN_ROWS", 50)
    dataset = make_dataset({"sports": 90, "tech": 60, "food": 30}, seed=6)
    config = ExperimentConfig()
    processed, _ = preprocess(dataset.texts, config.preprocessing)
    streamed = triage(dataset, config)
    cached = triage(dataset, config, processed=processed)
    assert streamed.baseline.fitted_on.startswith("a 50-row stratified sample of the training and validation splits")
    assert streamed.baseline.macro_f1 == cached.baseline.macro_f1
    assert streamed.baseline.per_class == cached.baseline.per_class


# ------------------------------------------------------------------------------------- a measured peak (RSS)

_PEAK_SCRIPT = """
import os, sys
from core.config import ExperimentConfig
from core.data.dataset import build_dataset, load_dataset, read_csv_path
from core.evidence.triage import triage

def status(key):
    with open("/proc/self/status") as handle:
        return next(int(line.split()[1]) * 1024 for line in handle if line.startswith(key))

triage(load_dataset(b"text,label\\na b,x\\nc d,y\\ne f,x\\ng h,y\\n"), ExperimentConfig(), include_baseline=False)
before = status("VmRSS")  # the libraries are loaded: what follows is the data's own cost
dataset = build_dataset(read_csv_path(sys.argv[1]), "remarks", "phase_of_flt")
triage(dataset, ExperimentConfig(), include_baseline=False)
print(status("VmHWM") - before)
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="peak memory is read from /proc (Linux)")
def test_inspecting_100k_rows_grows_the_process_by_less_than_12_times_the_file(tmp_path):
    """Measured: 8.6x here (the old triage: 26x, with a Python string per token); 1M rows: see bench/scale.py."""
    from bench.scale import csv_of  # the FAA remarks, repeated and numbered (pytest puts the root on the path)

    path = tmp_path / "faa_100k.csv"
    path.write_bytes(csv_of(100_000))
    completed = subprocess.run([sys.executable, "-c", _PEAK_SCRIPT, str(path)], cwd=ROOT, capture_output=True,
                               text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert completed.returncode == 0, completed.stderr
    growth = int(completed.stdout.strip())
    assert growth < 12 * path.stat().st_size, f"{growth / MB:.0f} MB for a {path.stat().st_size / MB:.1f} MB file"
