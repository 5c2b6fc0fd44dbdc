"""Code tier: reading and writing tables (classifier/tables.py): encodings, formats, escaping, atomic writes."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import openpyxl
import pytest

from classifier.errors import BadInputError, EncodingDetectionError, UnsupportedFileError
from classifier.tables import (
    MISSING,
    TableWriter,
    detect_encoding,
    escape_formula,
    iter_rows,
    resolve_encoding,
    scan_table,
    table_format,
)

FIXTURES = Path(__file__).parent / "fixtures"
HOTLINE = FIXTURES / "label_hotline.csv"
BEYOND_GBK = "𠀀"  # CJK Extension B: GB18030 has it (four bytes), GBK does not


def _rows(path: Path, encoding: str | None = None) -> tuple[tuple[str, ...], list[list[object]]]:
    info = scan_table(path, encoding)
    return info.columns, list(iter_rows(info))


def _hotline_text() -> str:
    return HOTLINE.read_text(encoding="utf-8")


# ---------------------------------------------------------------- encodings


@pytest.mark.parametrize(
    ("codec", "extra", "detected"),
    [
        ("utf-8", "", "utf-8"),
        ("utf-8-sig", "", "utf-8-sig"),
        ("gbk", "", "gb18030"),  # GB18030 is a superset of GBK: strict GB18030 reads GBK files
        ("gb18030", BEYOND_GBK, "gb18030"),
        ("utf-16", "", "utf-16"),  # Excel's "Unicode text" export: UTF-16 with a BOM
    ],
)
def test_every_encoding_reads_back_the_same_rows(tmp_path: Path, codec: str, extra: str, detected: str) -> None:
    text = _hotline_text() + f'H007,2024-03-05 09:00,生僻字,"街道说{extra}这个字系统打不出来，办不了。",\n'
    if extra:
        with pytest.raises(UnicodeEncodeError):
            extra.encode("gbk")  # the test means something only if GBK cannot hold the character
    path = tmp_path / f"in_{codec}.csv"
    path.write_bytes(text.encode(codec))

    assert detect_encoding(path) == detected
    columns, rows = _rows(path)
    expected_columns, expected_rows = _rows(_write(tmp_path / "reference.csv", text))
    assert columns == expected_columns
    assert columns[:5] == ("工单编号", "来电时间", "标题", "诉求内容", "办理结果")
    assert rows == expected_rows
    assert rows[-1][3] == f"街道说{extra}这个字系统打不出来，办不了。"


def _write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


def test_a_character_cut_at_the_sample_end_is_not_a_false_failure(tmp_path: Path) -> None:
    gb = tmp_path / "gb.csv"
    gb.write_bytes(("内容\n" + f"中{BEYOND_GBK}" * 50).encode("gb18030"))
    # 8 bytes: 内容\n (5) + 中 (2) + the first byte of a four-byte character
    assert detect_encoding(gb, sample_bytes=8) == "gb18030"
    utf = tmp_path / "utf.csv"
    utf.write_bytes(("内容\n" + "中文" * 50).encode("utf-8"))
    assert detect_encoding(utf, sample_bytes=8) == "utf-8"  # 内容\n is 7 bytes: 中 is cut after one byte


def test_a_long_ascii_opening_does_not_decide_the_encoding(tmp_path: Path) -> None:
    path = tmp_path / "late.csv"
    path.write_bytes(b"id,text\n" + b"1,hello\n" * 40 + "2,领导不敢签字\n".encode("gbk"))
    assert detect_encoding(path, sample_bytes=64) == "gb18030"
    assert detect_encoding(path) == "gb18030"


def test_an_undecodable_file_names_what_was_tried_and_suggests_encoding(tmp_path: Path) -> None:
    path = tmp_path / "binary.csv"
    path.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(EncodingDetectionError) as caught:
        scan_table(path)
    message = caught.value.message
    assert "GB18030" in message and "UTF-8" in message and "charset-normalizer" in message
    assert "--encoding" in message
    assert "\n" not in message


def test_bad_bytes_after_the_sample_are_reported_with_a_line(tmp_path: Path) -> None:
    path = tmp_path / "late_bad.csv"
    good = "1,街道推诿扯皮，来回踢皮球\n" * 40_000  # > 1 MiB of UTF-8
    path.write_bytes(("id,text\n" + good).encode("utf-8") + "2,领导不敢签字\n".encode("gbk"))
    assert path.stat().st_size > 1 << 20
    with pytest.raises(EncodingDetectionError, match=r"as utf-8 near line 40002;") as caught:
        scan_table(path)
    assert "不敢签字" not in caught.value.message


def test_forced_encoding(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes("内容,编号\n推诿,1\n".encode("utf-8-sig"))
    assert resolve_encoding(path, "utf-8") == "utf-8-sig"  # the BOM never leaks into the first name
    assert _rows(path, "utf-8")[0] == ("内容", "编号")
    with pytest.raises(BadInputError, match="unknown encoding"):
        resolve_encoding(path, "no-such-codec")
    beyond = tmp_path / "beyond.csv"
    beyond.write_bytes(f"内容\n{BEYOND_GBK}\n".encode("gb18030"))
    with pytest.raises(EncodingDetectionError, match="cannot be decoded as gbk near line 2;"):
        scan_table(beyond, "gbk")
    jsonl = tmp_path / "beyond.jsonl"
    jsonl.write_bytes(f'{{"内容": "推诿"}}\n\n{{"内容": "{BEYOND_GBK}"}}\n'.encode("gb18030"))
    with pytest.raises(EncodingDetectionError, match="cannot be decoded as gbk near line 3;"):
        scan_table(jsonl, "gbk")


# ---------------------------------------------------------------- CSV/TSV shapes


def test_multiline_fields_empty_rows_and_ragged_rows(tmp_path: Path) -> None:
    text = (
        "编号,标题,内容\n"
        '1,多行,"第一行\n第二行，""引号""\n第三行"\n'
        "\n"  # an empty row in the middle is a row
        "2,短行\n"  # short: padded
        "3,长行,正文,多出来的,,\n"  # long: the extra cell kept, trailing empty cells not
        "4,,\n"
    )
    columns, rows = _rows(_write(tmp_path / "shapes.csv", text))
    assert columns == ("编号", "标题", "内容", "column_4")
    assert rows == [
        ["1", "多行", '第一行\n第二行，"引号"\n第三行', ""],
        ["", "", "", ""],
        ["2", "短行", "", ""],
        ["3", "长行", "正文", "多出来的"],
        ["4", "", "", ""],
    ]


def test_the_fixture_keeps_extra_cells_and_pads_short_rows() -> None:
    info = scan_table(HOTLINE)
    rows = list(iter_rows(info))
    assert info.rows == len(rows) == 6
    assert info.header_width == 5 and info.columns[5] == "column_6"
    assert rows[4][5] == "附件1"
    assert rows[5][4:] == ["", ""]
    assert rows[2][3].count("\n") == 2


def test_tsv_and_generated_names_do_not_collide(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.tsv", "column_3\ttext\n1\t推诿\t多\t余\n")
    columns, rows = _rows(path)
    assert columns == ("column_3", "text", "column_3_2", "column_4")
    assert rows == [["1", "推诿", "多", "余"]]


def test_empty_files_and_unsupported_suffixes(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="empty"):
        scan_table(_write(tmp_path / "empty.csv", ""))
    with pytest.raises(BadInputError, match="empty"):
        scan_table(_write(tmp_path / "empty.jsonl", "\n\n"))
    for name in ("old.xls", "notes.txt", "noext"):
        with pytest.raises(UnsupportedFileError, match="unsupported input file type"):
            table_format(tmp_path / name)
    assert table_format(tmp_path / "UPPER.CSV") == ".csv"


# ---------------------------------------------------------------- JSONL


def test_jsonl_keys_in_first_seen_order_and_missing_keys(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "in.jsonl",
        '{"id": 1, "内容": "推诿"}\n\n{"内容": "不敢签字", "extra": {"k": [1, 2]}}\n{"id": 3}\n',
    )
    columns, rows = _rows(path)
    assert columns == ("id", "内容", "extra")
    assert rows == [[1, "推诿", MISSING], [MISSING, "不敢签字", {"k": [1, 2]}], [3, MISSING, MISSING]]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('{"内容": "a"}\n{"内容": "机密内容"\n', "line 2 is not valid JSON"),
        ('{"内容": "a"}\n\n["机密内容"]\n', "line 3 is not a JSON object"),
    ],
)
def test_jsonl_errors_name_the_line_not_the_text(tmp_path: Path, body: str, expected: str) -> None:
    with pytest.raises(BadInputError, match=expected) as caught:
        scan_table(_write(tmp_path / "bad.jsonl", body))
    assert "机密内容" not in caught.value.message


# ---------------------------------------------------------------- XLSX


def _workbook(path: Path) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "工单"
    sheet.append(["编号", "内容", "金额"])
    sheet.append([1, "窗口推诿扯皮", 12.5])
    sheet.append([2, None, None])  # empty cells
    sheet.append([3, '=CONCAT("领导","不敢签字")', "=C2*2"])  # formulas, no cached values
    sheet.append([])  # an empty row in the middle is kept
    sheet.append([5, "多出一列", 1, "附加"])
    sheet.append([])  # trailing empty rows are formatting left-overs: dropped
    sheet.append([])
    book.save(path)
    return path


def test_xlsx_reads_values_empty_cells_formulas_and_extra_columns(tmp_path: Path) -> None:
    info = scan_table(_workbook(tmp_path / "in.xlsx"))
    assert info.sheet == "工单" and info.encoding is None
    assert info.columns == ("编号", "内容", "金额", "column_4")
    assert list(iter_rows(info)) == [
        [1, "窗口推诿扯皮", 12.5, None],
        [2, None, None, None],
        [3, '=CONCAT("领导","不敢签字")', "=C2*2", None],  # no cached value: the formula's text
        [None, None, None, None],
        [5, "多出一列", 1, "附加"],
    ]


def test_xlsx_prefers_cached_formula_values(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "cached.xlsx")
    patched = tmp_path / "patched.xlsx"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(patched, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":  # what Excel saves: the formula and its value
                assert b"<f>C2*2</f><v />" in data
                data = data.replace(b"<f>C2*2</f><v />", b"<f>C2*2</f><v>25</v>")
            dst.writestr(item, data)
    rows = list(iter_rows(scan_table(patched)))
    assert rows[2][2] == 25
    assert rows[2][1] == '=CONCAT("领导","不敢签字")'


@pytest.mark.parametrize("content", [b"PK\x03\x04 not really a zip", b"\x00" * 64, b""])
def test_corrupt_xlsx_is_bad_input(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_bytes(content)
    with pytest.raises(BadInputError, match="cannot read the Excel file"):
        scan_table(path)


def test_a_zip_that_is_not_a_workbook_is_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "zip.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(BadInputError, match="cannot read the Excel file"):
        scan_table(path)


# ---------------------------------------------------------------- formula escaping


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        # neutralised
        ("=1+1", "'=1+1"),
        ('=HYPERLINK("http://x","点我")', '\'=HYPERLINK("http://x","点我")'),
        ("+86 138", "'+86 138"),
        ("-1+1", "'-1+1"),
        ("-", "'-"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("=", "'="),
        ("-2e", "'-2e"),
        # left alone
        ("", ""),
        ("普通文本", "普通文本"),
        ("a=b", "a=b"),
        (" =1", " =1"),
        ("＝1+1", "＝1+1"),  # full-width: not a formula
        ("'=1", "'=1"),  # already neutral
        ("\n=1", "\n=1"),
        ("-12.5", "-12.5"),  # plain numbers are read as numbers, never run
        ("+3", "+3"),
        ("-1e5", "-1e5"),
        ("-.5", "-.5"),
        ("12", "12"),
    ],
)
def test_formula_escaping(cell: str, written: str) -> None:
    assert escape_formula(cell) == written


def test_writers_escape_every_cell_including_the_header(tmp_path: Path) -> None:
    columns = ["=cmd", "内容", "n"]
    row = ["@x", "-1+1", -3]
    out_csv = tmp_path / "out.csv"
    with TableWriter(out_csv, columns) as writer:
        writer.write(row)
    data = out_csv.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, for Excel
    assert list(csv.reader(io.StringIO(data.decode("utf-8-sig")))) == [["'=cmd", "内容", "n"], ["'@x", "'-1+1", "-3"]]

    out_xlsx = tmp_path / "out.xlsx"
    with TableWriter(out_xlsx, columns, sheet_title="工单") as writer:
        writer.write(row)
        writer.write(["=1+1", "控制\x0b字符", 2.5])
    book = openpyxl.load_workbook(out_xlsx)  # not data_only: a formula would show as one
    sheet = book["工单"]
    assert [[c.value for c in r] for r in sheet.iter_rows()] == [
        ["'=cmd", "内容", "n"],
        ["'@x", "'-1+1", -3],
        ["'=1+1", "控制\ufffd字符", 2.5],
    ]
    assert all(c.data_type != "f" for r in sheet.iter_rows() for c in r)

    out_jsonl = tmp_path / "out.jsonl"  # JSON is data, not a spreadsheet: no escaping
    with TableWriter(out_jsonl, ["=cmd", "", "n"]) as writer:
        writer.write(["=1+1", MISSING, None])
    assert json.loads(out_jsonl.read_text(encoding="utf-8")) == {"=cmd": "=1+1", "n": None}


def test_tsv_output_quotes_tabs_and_newlines(tmp_path: Path) -> None:
    out = tmp_path / "out.tsv"
    with TableWriter(out, ["a", "b"]) as writer:
        writer.write(["x\ty", "行一\n行二"])
    back = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"), newline=""), delimiter="\t"))
    assert back == [["a", "b"], ["x\ty", "行一\n行二"]]


def test_a_failed_write_leaves_neither_output_nor_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("previous", encoding="utf-8")
    with pytest.raises(RuntimeError), TableWriter(target, ["a"]) as writer:
        writer.write(["1"])
        raise RuntimeError("stop")
    assert target.read_text(encoding="utf-8") == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_the_write_replaces_the_target_only_at_the_end(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("previous", encoding="utf-8")
    with TableWriter(target, ["a"]) as writer:
        writer.write(["1"])
        assert target.read_text(encoding="utf-8") == "previous"
        assert writer.tmp.parent == tmp_path and writer.tmp.exists()
    assert target.read_bytes() == b"\xef\xbb\xbfa\r\n1\r\n"
    assert not writer.tmp.exists()
