"""Files in legacy encodings decode to the right text, say which encoding and how sure, or are flagged.

Strict UTF-8 failing used to mean cp1252, so Russian, Japanese, Chinese or Greek files became mojibake with no
warning. The files here are generated from the strings below (and a few are kept in tests/corpus/).
"""

from __future__ import annotations

import csv
import io

import pytest

from core.data.dataset import build_dataset
from core.data.encoding import ENCODING_UNCERTAIN_BELOW, encoding_label
from core.data.reading import read_csv_bytes, read_csv_path
from core.evidence.triage import SourceFacts, triage
from support.paths import CORPUS  # noqa: E402

ROWS = {
    "russian": [
        ("Отличный сервис, быстрая доставка и вежливый курьер", "хорошо"),
        ("Ужасное качество, товар сломался через неделю", "плохо"),
        ("Всё пришло вовремя, упаковка целая", "хорошо"),
        ("Не рекомендую этот магазин, деньги не вернули", "плохо"),
        ("Цена соответствует качеству, буду заказывать ещё", "хорошо"),
        ("Оператор грубил и бросил трубку", "плохо"),
        ("Приятно удивлён скоростью обработки заказа", "хорошо"),
        ("Ждал доставку три недели, это слишком долго", "плохо"),
    ],
    "japanese": [
        ("とても良い商品でした。また購入したいです", "良い"),
        ("配達が遅すぎて、箱も壊れていました", "悪い"),
        ("店員さんの対応が丁寧で安心しました", "良い"),
        ("説明と違う色の商品が届きました", "悪い"),
        ("値段の割に品質が高く、満足しています", "良い"),
        ("返品の手続きがとても面倒でした", "悪い"),
        ("使いやすくて家族にも好評です", "良い"),
        ("電池がすぐに切れてしまい残念です", "悪い"),
    ],
    "chinese": [
        ("这个产品质量很好，物流也很快", "好评"),
        ("服务态度非常差，再也不会买了", "差评"),
        ("包装完整，价格实惠，推荐购买", "好评"),
        ("收到的商品和描述完全不一样", "差评"),
        ("客服回复及时，问题很快解决了", "好评"),
        ("用了两天就坏了，非常失望", "差评"),
        ("性价比很高，家人都很喜欢", "好评"),
        ("发货太慢，等了整整两个星期", "差评"),
    ],
    "greek": [
        ("Εξαιρετική εξυπηρέτηση και γρήγορη παράδοση", "καλό"),
        ("Το προϊόν χάλασε μετά από μία εβδομάδα", "κακό"),
        ("Πολύ ευγενικό προσωπικό, θα ξαναέρθω", "καλό"),
        ("Η παραγγελία άργησε πάρα πολύ", "κακό"),
        ("Καλή ποιότητα σε λογική τιμή", "καλό"),
        ("Δεν μου επέστρεψαν ποτέ τα χρήματα", "κακό"),
        ("Όλα ήρθαν στην ώρα τους, ευχαριστώ", "καλό"),
        ("Απαράδεκτη συμπεριφορά του υπαλλήλου", "κακό"),
    ],
    "western": [
        ("Crème brûlée für 5 € – wirklich köstlich", "gut"),
        ("Die Straße war gesperrt, Lieferung zu spät", "schlecht"),
        ("Très bon rapport qualité-prix, je recommande", "gut"),
        ("Le café était froid et le garçon impoli", "schlecht"),
        ("Größe passt perfekt, schöne Qualität", "gut"),
        ("Señora García: «el envío llegó roto»", "schlecht"),
        ("Smørrebrød und Kaffee für 12 €", "gut"),
        ("Über drei Wochen gewartet… enttäuschend", "schlecht"),
    ],
    "latin1": [
        ("Müller's Würstchen waren großartig", "gut"),
        ("Preise in £ sind gestiegen, schade", "schlecht"),
        ("Señor García está contento", "gut"),
        ("Les crêpes étaient froides", "schlecht"),
        ("Très bon service, merci beaucoup", "gut"),
        ("Ça coûte trop cher à Zürich", "schlecht"),
        ("Frühstück mit Brötchen und Käse", "gut"),
        ("Año difícil para el señor Muñoz", "schlecht"),
    ],
}
HEADERS = {"russian": ("текст", "оценка"), "japanese": ("本文", "評価"), "chinese": ("内容", "标签"),
           "greek": ("κείμενο", "ετικέτα")}

# language, codec the file is written in, encodings that read it right (Python codec names as Table.encoding gives them)
DETECTED = [
    ("russian", "cp1251", {"cp1251"}),
    ("russian", "koi8_r", {"koi8-r"}),
    ("japanese", "shift_jis", {"cp932", "shift_jis", "shift_jis_2004", "shift_jisx0213"}),
    ("japanese", "euc_jp", {"euc_jp", "euc_jis_2004", "euc_jisx0213"}),
    ("chinese", "gbk", {"gb18030", "gbk", "gb2312"}),
    ("chinese", "gb18030", {"gb18030", "gbk"}),
    ("greek", "cp1253", {"cp1253"}),
]
WESTERN = [("western", "cp1252"), ("latin1", "latin_1")]
# Files kept in tests/corpus/: name -> (language, codec).
CORPUS_FILES = {
    "cp1251_russian.csv": ("russian", "cp1251"),
    "koi8r_russian.csv": ("russian", "koi8_r"),
    "shift_jis_japanese.csv": ("japanese", "shift_jis"),
    "euc_jp_japanese.csv": ("japanese", "euc_jp"),
    "gbk_chinese.csv": ("chinese", "gbk"),
    "cp1253_greek.csv": ("greek", "cp1253"),
}


def csv_text(language: str, rows: list[tuple[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADERS.get(language, ("text", "label")))
    writer.writerows(rows)
    return buffer.getvalue()


def cells(table) -> list[tuple[str, ...]]:
    return [tuple(row) for row in table.frame.itertuples(index=False)]


def assert_reads_back(table, language: str, rows: list[tuple[str, str]]) -> None:
    assert list(table.frame.columns) == list(HEADERS.get(language, ("text", "label")))
    assert cells(table) == rows


@pytest.mark.parametrize("language, codec, expected", DETECTED, ids=[f"{lang}-{codec}" for lang, codec, _ in DETECTED])
def test_non_western_files_are_detected_and_decoded_exactly(language, codec, expected):
    rows = ROWS[language]
    table = read_csv_bytes(csv_text(language, rows).encode(codec))
    assert_reads_back(table, language, rows)
    assert table.encoding in expected
    assert table.encoding_confidence is not None and table.encoding_confidence >= ENCODING_UNCERTAIN_BELOW
    assert table.encoding_note == (
        f"{encoding_label(table.encoding)} (detected, confidence {table.encoding_confidence:.2f})"
    )


@pytest.mark.parametrize("language, codec", WESTERN)
def test_western_text_keeps_cp1252_and_says_it_was_assumed(language, codec):
    rows = ROWS[language]
    table = read_csv_bytes(csv_text(language, rows).encode(codec))
    assert_reads_back(table, language, rows)
    assert table.encoding == "cp1252"  # latin-1 text without bytes 0x80-0x9F reads the same in cp1252
    assert table.encoding_confidence is not None
    assert table.encoding_note.startswith("windows-1252 (")
    if table.encoding_confidence < 1:  # the detector also liked a Central European / Baltic code page
        assert "assumed for Western European text" in table.encoding_note and "windows-125" in table.encoding_note


@pytest.mark.parametrize("rows_kept", [1, 2, 3])
@pytest.mark.parametrize("language, codec", [(lang, codec) for lang, codec, _ in DETECTED] + WESTERN)
def test_short_files_decode_right_or_are_flagged_uncertain(language, codec, rows_kept):
    rows = ROWS[language][:rows_kept]
    table = read_csv_bytes(csv_text(language, rows).encode(codec))
    right = list(table.frame.columns) == list(HEADERS.get(language, ("text", "label"))) and cells(table) == rows
    assert table.encoding_confidence is not None
    assert right or table.encoding_confidence < ENCODING_UNCERTAIN_BELOW, (table.encoding, table.encoding_note)


UNICODE = [
    (language, codec, encoding, note)
    for language in ("russian", "japanese", "western")
    for codec, encoding, note in (
        ("utf-8", "utf-8", "UTF-8"),
        ("utf-8-sig", "utf-8-sig", "UTF-8 with a byte-order mark"),
        ("utf-16", "utf-16", "UTF-16 with a byte-order mark"),
    )
] + [("western", "utf-16-le", "utf-16-le", "UTF-16 without a byte-order mark")]  # found by its NUL bytes: mostly ASCII


@pytest.mark.parametrize("language, codec, encoding, note", UNICODE, ids=[f"{row[0]}-{row[1]}" for row in UNICODE])
def test_unicode_files_are_certain(language, codec, encoding, note):
    rows = ROWS[language]
    table = read_csv_bytes(csv_text(language, rows).encode(codec))
    assert_reads_back(table, language, rows)
    assert (table.encoding, table.encoding_confidence, table.encoding_note) == (encoding, None, note)


def test_detection_looks_at_the_lines_with_non_ascii_bytes_even_far_into_the_file():
    """A big English file whose only Russian rows come after 2 MB of ASCII is still read as windows-1251."""
    ascii_rows = [(f"plain report number {i} about nothing in particular", "plain") for i in range(40_000)]
    rows = ascii_rows + ROWS["russian"]
    raw = csv_text("western", rows).encode("cp1251")
    assert raw.index("Отличный".encode("cp1251")) > 2_000_000
    table = read_csv_bytes(raw)
    assert table.encoding == "cp1251" and cells(table)[-8:] == ROWS["russian"]


def test_a_stray_byte_past_the_detection_sample_is_replaced_and_said():
    """The detector judges up to 1 MB; a byte further on that the encoding cannot read becomes U+FFFD (and the
    note says how many), instead of the whole file falling back to cp1252 mojibake."""
    russian = csv_text("russian", ROWS["russian"] * 3000).encode("cp1251")
    assert len(russian) > 1_100_000
    # b"\x98" is unassigned in cp1251
    raw = russian + "Ошибка в конце,плохо\n".encode("cp1251").replace("О".encode("cp1251"), b"\x98")
    table = read_csv_bytes(raw)
    assert table.encoding == "cp1251" and "1 unreadable byte replaced by \ufffd" in table.encoding_note
    assert cells(table)[:8] == ROWS["russian"] and cells(table)[-1] == ("\ufffdшибка в конце", "плохо")


@pytest.mark.parametrize("name", sorted(CORPUS_FILES))
def test_corpus_files_in_legacy_encodings(name):
    language, codec = CORPUS_FILES[name]
    path = CORPUS / name
    assert path.read_bytes() == csv_text(language, ROWS[language]).encode(codec)  # the file is what this test says
    table = read_csv_path(path)
    assert_reads_back(table, language, ROWS[language])
    assert table.encoding_confidence is not None and table.encoding_confidence >= ENCODING_UNCERTAIN_BELOW


def test_encoding_and_confidence_reach_the_dataset_and_the_triage_report():
    table = read_csv_bytes(csv_text("russian", ROWS["russian"] * 4).encode("cp1251"), source_name="ru.csv")
    dataset = build_dataset(table)
    assert (dataset.encoding, dataset.encoding_confidence, dataset.encoding_note) == (
        table.encoding, table.encoding_confidence, table.encoding_note)
    report = triage(dataset, include_baseline=False)
    source = report.source
    assert source.encoding == "cp1251" and source.encoding_note.startswith("windows-1251 (detected, confidence ")
    assert source.encoding_confidence == table.encoding_confidence
    assert SourceFacts.from_dict(source.to_dict()) == source
    assert not any("encoding" in warning for warning in report.warnings)


def test_an_uncertain_encoding_becomes_a_warning_in_the_report():
    table = read_csv_bytes(csv_text("western", ROWS["western"] * 3).encode("cp1252"))
    assert table.encoding_confidence < ENCODING_UNCERTAIN_BELOW  # cp1250 and cp1257 fit these bytes as well
    report = triage(build_dataset(table), include_baseline=False)
    assert any("re-save the file as UTF-8" in warning and "windows-1252" in warning for warning in report.warnings)


def test_old_reports_without_the_new_fields_still_load():
    old = {"name": "a.csv", "text_column": "text", "label_column": "label", "rows_read": 3, "rows_kept": 3,
           "rows_missing_text": 0, "rows_missing_label": 0, "malformed_lines_skipped": 0, "encoding": "utf-8",
           "delimiter": ","}
    facts = SourceFacts.from_dict(old)
    assert (facts.encoding_confidence, facts.encoding_note, facts.sampled_from_rows) == (None, "", None)


def test_encoding_labels_are_the_names_people_know():
    assert encoding_label("cp1251") == "windows-1251"
    assert encoding_label("koi8_r") == "KOI8-R"
    assert encoding_label("iso8859_5") == "ISO-8859-5"
    assert encoding_label("cp932") == "Shift-JIS (cp932)"
    assert encoding_label("utf-8") == "UTF-8"
