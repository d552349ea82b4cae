"""Reading real-world CSV files (tests/corpus/), guessing columns, validating datasets and the built-in data."""

from __future__ import annotations

import gzip
import io
import time
import zipfile
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from core.data.builtin import BUILTIN_DATASETS, DEFAULT_DATASET, BuiltinDataset, load_builtin
from core.data.columns import ColumnGuess, guess_columns
from core.data.dataset import Dataset, build_dataset, load_dataset
from core.data.reading import Table, choose_delimiter, read_csv_bytes, read_csv_path
from core.errors import DataError
from support.paths import CORPUS  # noqa: E402


def assert_one_sentence(message: str) -> None:
    """User-facing errors are one line, one sentence, and never a traceback or a Python repr."""
    assert "\n" not in message and "\r" not in message
    assert message.endswith(".")
    assert message[0].isupper() or message[0] == "'"
    for leak in ("Traceback", "Error(", "\\x", "b'", 'b"'):
        assert leak not in message
    assert len(message) < 300


def refusal(call, *args, **kwargs) -> str:
    with pytest.raises(DataError) as caught:
        call(*args, **kwargs)
    assert_one_sentence(str(caught.value))
    return str(caught.value)


# ------------------------------------------------------------------------------------------ corpus that loads

LOADS = [
    # file, encoding, delimiter, skipped, columns, rows_total, text, label, rows kept, classes
    ("semicolon.csv", "utf-8", ";", 0, ["id", "review", "sentiment"], 6, "review", "sentiment", 6,
     ("negative", "neutral", "positive")),
    ("tab.tsv", "utf-8", "\t", 0, ["message", "label"], 5, "message", "label", 5, ("ham", "spam")),
    ("pipe.csv", "utf-8", "|", 0, ["text", "category"], 6, "text", "category", 6, ("business", "sport", "tech")),
    ("utf8_bom.csv", "utf-8-sig", ",", 0, ["text", "label"], 6, "text", "label", 6, ("de", "en", "fr")),
    ("utf16_bom.tsv", "utf-16", "\t", 0, ["text", "label"], 6, "text", "label", 6, ("de", "en", "fr")),
    ("utf16le_nobom.csv", "utf-16-le", ",", 0, ["text", "label"], 4, "text", "label", 4, ("a", "b")),
    ("cp1252.csv", "cp1252", ",", 0, ["text", "label"], 6, "text", "label", 6, ("food", "service")),
    ("latin1.csv", "latin-1", ",", 0, ["text", "label"], 8, "text", "label", 8, ("bad", "good")),
    ("quoted_newlines.csv", "utf-8", ",", 0, ["text", "label"], 6, "text", "label", 6, ("multi", "plain", "quote")),
    ("missing_values.csv", "utf-8", ",", 0, ["text", "label"], 11, "text", "label", 8, ("NA", "negative", "positive")),
    ("tiny_classes.csv", "utf-8", ",", 0, ["text", "label"], 9, "text", "label", 9, ("common", "rare", "singleton")),
    ("formulas_html.csv", "utf-8", ",", 0, ["text", "kind"], 8, "text", "kind", 8, ("formula", "html")),
    ("emoji_cjk.csv", "utf-8", ",", 0, ["text", "label"], 6, "text", "label", 6, ("neg", "pos")),
    ("crlf.csv", "utf-8", ",", 0, ["text", "label"], 4, "text", "label", 4, ("a", "b")),
    ("mac_cr.csv", "utf-8", ",", 0, ["text", "label"], 3, "text", "label", 3, ("a", "b")),
    ("ragged.csv", "utf-8", ",", 2, ["text", "label"], 4, "text", "label", 3, ("a", "b")),
    ("duplicate_headers.csv", "utf-8", ",", 0, ["text", "label", "text (2)", "column 4", "label (2)"], 3, "text",
     "label", 3, ("x", "y")),
    ("trailing_delimiter.csv", "utf-8", ",", 0, ["text", "label"], 3, "text", "label", 3, ("a", "b")),
    ("excel_sep_hint.csv", "utf-8", ";", 0, ["text", "label"], 3, "text", "label", 3, ("x", "y")),
]


@pytest.mark.parametrize(
    "name, encoding, delimiter, skipped, columns, rows_total, text, label, kept, classes", LOADS,
    ids=[row[0] for row in LOADS],
)
def test_corpus_file_loads(name, encoding, delimiter, skipped, columns, rows_total, text, label, kept, classes):
    table = read_csv_path(CORPUS / name)
    assert (table.encoding, table.delimiter, table.skipped_lines) == (encoding, delimiter, skipped)
    assert list(table.frame.columns) == columns
    assert table.source_name == name
    dataset = build_dataset(table)
    assert (dataset.text_column, dataset.label_column) == (text, label)
    assert dataset.rows_total == rows_total
    assert len(dataset) == kept == dataset.rows_total - dataset.rows_missing_text - dataset.rows_missing_label
    assert dataset.class_names == classes
    assert all(isinstance(value, str) for value in dataset.texts + dataset.labels)


def corpus(name: str, **columns) -> Dataset:
    return load_dataset(CORPUS / name, **columns)


def test_accented_characters_survive_each_encoding():
    assert "Grüße aus Köln" in corpus("utf16_bom.tsv").texts
    assert "third example, with é" in corpus("utf16le_nobom.csv").texts
    cp1252 = corpus("cp1252.csv").texts
    assert "Crème brûlée for £5 – “lovely”" in cp1252 and "Über-fast delivery, 10 €" in cp1252
    latin1 = corpus("latin1.csv").texts
    assert "Müller's Würstchen were great" in latin1 and "Prices in £ went up, too bad" in latin1


def test_bom_does_not_stick_to_the_first_column_name():
    assert read_csv_path(CORPUS / "utf8_bom.csv").frame.columns[0] == "text"


def test_quoted_newlines_and_doubled_quotes_stay_inside_cells():
    texts = corpus("quoted_newlines.csv").texts
    assert "First line\nsecond line of the same cell" in texts
    assert 'She said "hi", then left' in texts
    assert "Windows line\r\nbreak inside" in texts


def test_na_words_are_text_and_blank_cells_are_missing():
    dataset = corpus("missing_values.csv")
    for word in ("NA", "null", "None", "N/A", "nan"):
        assert word in dataset.texts
    assert (dataset.rows_missing_text, dataset.rows_missing_label) == (2, 1)
    assert dataset.labels[dataset.texts.index("bad stuff")] == "negative"  # labels are stripped
    assert Counter(dataset.labels)["NA"] == 2


def test_tiny_classes_are_kept_with_their_counts():
    dataset = corpus("tiny_classes.csv")
    assert Counter(dataset.labels) == {"common": 6, "rare": 2, "singleton": 1}
    assert np.bincount(dataset.y).tolist() == [6, 2, 1]


def test_formula_and_html_strings_are_kept_verbatim():
    texts = corpus("formulas_html.csv").texts
    for value in ("=SUM(A1:A3)", "+cmd|' /C calc'!A0", "@x", "-2+3", '=HYPERLINK("http://example.com","click")',
                  "<img src=x onerror=alert(1)>", "<script>alert('x')</script>", "<b>bold</b> &amp; more"):
        assert value in texts


def test_emoji_cjk_and_combining_marks_are_kept():
    texts = corpus("emoji_cjk.csv").texts
    assert "I love it 😍👍🏽" in texts and "这个产品很好" in texts and "Cafe\u0301 was bad 😡" in texts


def test_line_endings_do_not_leak_into_cells():
    for name in ("crlf.csv", "mac_cr.csv", "utf16_bom.tsv"):
        dataset = corpus(name)
        assert not any("\r" in value for value in dataset.texts + dataset.labels)


def test_ragged_rows_are_skipped_or_padded():
    dataset = corpus("ragged.csv")
    assert dataset.skipped_lines == 2
    assert dataset.texts == ("fine row", "another fine row", "last fine row")
    assert dataset.rows_missing_label == 1  # "too few fields" was padded with an empty label


# ------------------------------------------------------------------------------------------ corpus that is refused

REFUSALS = [
    ("empty.csv", {}, "empty"),
    ("whitespace_only.csv", {}, "empty"),
    ("header_only.csv", {}, "no data rows"),
    ("one_column.csv", {}, "Only one column"),
    ("single_class.csv", {}, "Every row has the label 'spam'"),
    ("id_label.csv", {}, "No column looks like a class label"),
    ("id_label.csv", {"label_column": "id"}, "'id' has a different value on almost every row (30 distinct in 30 rows)"),
    ("numbers_text.csv", {}, "No column besides 'label' holds texts"),
    ("numbers_text.csv", {"text_column": "amount", "label_column": "label"}, "only numbers"),
    ("unclosed_quote.csv", {}, "never closed"),
    ("semicolon.csv", {"text_column": "body"}, "no column 'body': choose one of 'id', 'review', 'sentiment'"),
    ("semicolon.csv", {"text_column": "review", "label_column": "review"}, "both the text and the label"),
]


@pytest.mark.parametrize("name, columns, expected", REFUSALS,
                         ids=[f"{row[0]}-{'-'.join(row[1].values())}" for row in REFUSALS])
def test_corpus_file_is_refused_with_one_sentence(name, columns, expected):
    assert expected in refusal(load_dataset, CORPUS / name, **columns)


@pytest.mark.parametrize(
    "raw, expected",
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "a PNG image"),
        (b"PK\x03\x04" + b"\x00" * 60, "a zip archive"),
        (gzip.compress(b"text,label\nhi,a\n"), "gzip"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "a PDF document"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "a JPEG image"),
        (b"GIF89a\x01\x00", "a GIF image"),
        (b"SQLite format 3\x00" + b"\x00" * 84, "an SQLite database"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504, "old Excel workbook"),
        (b"text,label\nhello\x00world,a\nmore text,b\n", "NUL bytes"),
        (bytes(range(1, 32)) * 40 + b",\n" * 10, "binary data"),
        (b"<!DOCTYPE html><html><body><table><tr><td>x</td></tr></table></body></html>", "web page"),
        (b'[{"text": "hello", "label": "a"}, {"text": "bye", "label": "b"}]', "JSON"),
    ],
    ids=["png", "zip", "gzip", "pdf", "jpeg", "gif", "sqlite", "xls", "nul", "controls", "html", "json"],
)
def test_non_csv_bytes_are_refused_before_parsing(raw, expected):
    assert expected in refusal(read_csv_bytes, raw)


def test_excel_workbook_is_named_as_such():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    message = refusal(read_csv_bytes, buffer.getvalue(), source_name="data.xlsx")
    assert message == "This looks like an Excel workbook (zip), not a CSV: save it as CSV and upload that."


def test_rows_that_all_overflow_the_header_are_refused():
    raw = b"text,label\nfirst text,a,\nsecond text,b,\nthird text,a,\n"  # a trailing comma on data rows only
    assert "Most rows (3 of 3) have more fields than the header" in refusal(read_csv_bytes, raw)


def test_missing_file_and_folder_are_refused(tmp_path):
    assert "There is no file" in refusal(read_csv_path, tmp_path / "nope.csv")
    assert "is a folder" in refusal(read_csv_path, tmp_path)


def test_free_text_label_column_is_refused():
    long_text = "this value is a whole sentence of free text and not a class name at all"
    frame = pd.DataFrame({"text": ["a b c", "d e f", "g h i", "j k l"], "note": [long_text, long_text + " 2"] * 2})
    table = Table(frame, "notes.csv", "utf-8", ",", 0)
    assert "looks like free text" in refusal(build_dataset, table, "text", "note")


def test_user_strings_in_messages_are_flattened_and_cut():
    frame = pd.DataFrame({"text": ["some words", "more words"], "label": ["x\ny " * 40] * 2})
    message = refusal(build_dataset, Table(frame, "x.csv", "utf-8", ",", 0), "text", "label")
    assert "Every row has the label 'x y x y" in message and "…" in message


# ------------------------------------------------------------------------------------------ large and awkward


def test_a_one_megabyte_cell_is_read(tmp_path):
    huge = "word " * 200_000  # 1 MB in one cell, first data row: the delimiter sample ends inside it
    path = tmp_path / "huge.csv"
    rows = [f'"{huge}",big'] + [f"small text {i},small" for i in range(5)]
    path.write_text("text,label\n" + "\n".join(rows) + "\n", encoding="utf-8")
    dataset = load_dataset(path)
    assert dataset.texts[0] == huge and len(dataset) == 6 and dataset.delimiter == ","


def test_delimiter_is_chosen_by_consistent_field_counts():
    assert choose_delimiter("text,label\nwait; what; really,a\nok; fine,b\n") == ","
    assert choose_delimiter("text;label\nhello, world, again;a\nbye, now;b\n") == ";"
    assert choose_delimiter("a|b\nx, y; z|1\n") == "|"


def test_hundred_thousand_rows_read_and_build_quickly():
    lines = ["id,review,sentiment"] + [
        f'{i},"Review number {i}, with some words, and ""quotes"" too",{("positive", "negative", "neutral")[i % 3]}'
        for i in range(100_000)
    ]
    raw = ("\n".join(lines) + "\n").encode("utf-8")
    started = time.perf_counter()
    dataset = load_dataset(raw, source_name="big.csv")
    elapsed = time.perf_counter() - started
    assert len(dataset) == 100_000 and dataset.text_column == "review" and dataset.label_column == "sentiment"
    assert elapsed < 10, f"100k rows took {elapsed:.1f} s"  # ~1 s on 2 cores; generous for a shared machine


# ------------------------------------------------------------------------------------------ guessing columns


def test_guess_prefers_long_varied_texts_and_few_repeating_labels():
    frame = pd.DataFrame({
        "id": [str(i) for i in range(12)],
        "title": [f"Title {i % 4}" for i in range(12)],
        "body": [f"A longer body of text number {i} that goes on for a while" for i in range(12)],
        "col_b": ["x", "y", "z"] * 4,
    })
    guess = guess_columns(frame)
    assert guess == ColumnGuess("body", "col_b", guess.reason)
    assert guess.reason == "'body' has the longest texts (about 13 words on average); 'col_b' has 3 distinct values."


def test_guess_prefers_label_names_over_measurements():
    frame = pd.DataFrame({
        "comment": [f"comment words here {i}" for i in range(40)],
        "score": [f"{i * 0.37:.2f}" for i in range(20)] * 2,
        "target": ["0", "1"] * 20,
    })
    guess = guess_columns(frame)
    assert (guess.text_column, guess.label_column) == ("comment", "target")
    assert "named like a label" in guess.reason


def test_guess_never_picks_the_same_column_and_respects_a_fixed_one():
    frame = pd.DataFrame({"a": ["red apple pie", "green apple", "red wine"] * 3, "b": ["x", "y", "x"] * 3})
    assert guess_columns(frame, label_column="a").text_column == "b"
    guess = guess_columns(frame, text_column="b")
    assert (guess.text_column, guess.label_column) == ("b", "a")


def test_explicit_columns_forgive_spaces_and_case():
    dataset = corpus("semicolon.csv", text_column=" Review ", label_column="SENTIMENT")
    assert (dataset.text_column, dataset.label_column) == ("review", "sentiment")


# ------------------------------------------------------------------------------------------ the Dataset


def test_class_ids_index_class_names_and_are_read_only():
    dataset = corpus("semicolon.csv")
    assert [dataset.class_names[i] for i in dataset.y] == list(dataset.labels)
    assert dataset.y.dtype == np.int64
    with pytest.raises(ValueError):
        dataset.y[0] = 1


def test_hand_made_frames_with_numbers_and_gaps_are_accepted():
    frame = pd.DataFrame({"review": ["good one", None, "bad one", "meh"], "stars": [5, 1, 1, 5]})
    dataset = build_dataset(Table(frame, "x.csv", "utf-8", ",", 0))
    assert dataset.labels == ("5", "1", "5") and dataset.rows_missing_text == 1


def test_numeric_class_names_sort_as_numbers():
    frame = pd.DataFrame({"review": [f"review words {i}" for i in range(6)], "stars": ["10", "2", "1"] * 2})
    assert build_dataset(Table(frame, "x.csv", "utf-8", ",", 0)).class_names == ("1", "2", "10")


def test_data_hash_follows_texts_and_labels_only():
    first = corpus("tab.tsv")
    assert len(first.data_hash) == 64 and first.data_hash == corpus("tab.tsv").data_hash
    raw = (CORPUS / "tab.tsv").read_bytes()
    assert load_dataset(raw, source_name="other.tsv").data_hash == first.data_hash
    assert load_dataset(raw.replace(b"\tspam\n", b"\tjunk\n")).data_hash != first.data_hash


# ------------------------------------------------------------------------------------------ built-in datasets


@pytest.mark.parametrize("key", list(BUILTIN_DATASETS))
def test_every_builtin_dataset_loads_offline(key):
    info = BUILTIN_DATASETS[key]
    assert isinstance(info, BuiltinDataset) and info.key == key and info.title and info.description
    table = load_builtin(key)
    assert list(table.frame.columns) == [info.text_column, info.label_column]
    assert (table.encoding, table.delimiter, table.skipped_lines) == ("builtin", "", 0)
    dataset = build_dataset(table)
    assert (dataset.text_column, dataset.label_column) == (info.text_column, info.label_column)
    expected = {"faa-bird-strikes-effect": (1900, 4), "faa-bird-strikes-phase": (14903, 8),
                "nace-rev2-sections": (996, 21)}
    assert (len(dataset), len(dataset.class_names)) == expected[key]


def test_default_builtin_is_bird_strike_effects_with_engine_shut_down_smallest():
    assert DEFAULT_DATASET == next(iter(BUILTIN_DATASETS))
    counts = Counter(build_dataset(load_builtin()).labels)
    assert counts == {"Precautionary Landing": 922, "Aborted Take-off": 521, "Other": 343, "Engine Shut Down": 114}


def test_builtin_tables_are_independent_copies():
    table = load_builtin()
    table.frame.iloc[0, 0] = "changed"
    assert load_builtin().frame.iloc[0, 0] != "changed"


def test_a_builtin_source_reads_as_its_title_and_an_upload_as_its_file_name():
    from core.data.builtin import source_title

    assert source_title(load_builtin().source_name) == "FAA wildlife strikes: what the crew did (built-in)"
    assert source_title("reviews.csv") == "reviews.csv"
    assert source_title("builtin:no-such-set") == "builtin:no-such-set"  # never invents a title


def test_unknown_builtin_key_lists_the_keys():
    message = refusal(load_builtin, "iris")
    assert all(key in message for key in BUILTIN_DATASETS)
