"""Batch labelling (`buwei label`, classifier/labelling.py): nothing lost, nothing overwritten, bounded memory,
parallel output identical to serial, and every bad input answered with one clear line and exit code 2."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from classifier.errors import BadInputError, ColumnNotFoundError
from classifier.labelling import (
    OUTPUT_COLUMNS,
    SUPPORTED_SUFFIXES,
    LabelSummary,
    TextColumns,
    choose_text_columns,
    default_output_path,
    format_evidence,
    label_file,
)
from classifier.labels import LABEL_CODES, LABEL_ZH
from classifier.predict import Predictor
from tests.conftest import subprocess_env

FIXTURES = Path(__file__).parent / "fixtures"
HOTLINE = FIXTURES / "label_hotline.csv"
SECRET = "机密内容张三13812345678"  # row text that must never reach an error message


def _read_csv(path: Path, delimiter: str = ",") -> list[list[str]]:
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf"), "CSV/TSV output is UTF-8 with a BOM"
    return list(csv.reader(io.StringIO(data[3:].decode("utf-8"), newline=""), delimiter=delimiter))


def _input_rows() -> list[list[str]]:
    with HOTLINE.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


# ---------------------------------------------------------------- small helpers


def test_supported_suffixes_and_default_output_path(tmp_path: Path) -> None:
    assert SUPPORTED_SUFFIXES == (".csv", ".tsv", ".xlsx", ".jsonl")
    assert default_output_path(tmp_path / "工单.xlsx") == tmp_path / "工单.labelled.xlsx"
    assert default_output_path("a/b.c.CSV") == Path("a/b.c.labelled.CSV")


def test_evidence_format() -> None:
    evidence = [{"term": "推诿", "weight": 0.21249}, {"term": "敷衍", "weight": 0.1786}]
    assert format_evidence(evidence) == "推诿(0.212)；敷衍(0.179)"
    assert format_evidence([]) == ""


@pytest.mark.parametrize(
    ("columns", "chosen"),
    [
        (["id", "text", "label"], "text"),
        (["编号", "Content"], "Content"),  # case-insensitive
        (["编号", "标题", "内容"], "内容"),  # the body beats the title
        (["标题", "留言详情", "留言时间"], "留言详情"),
        (["来电时间", "诉求内容", "办理结果"], "诉求内容"),
        (["问题描述", "联系电话"], "问题描述"),
        (["工单号", "反映内容（详细）"], "反映内容（详细）"),  # contained, when nothing matches exactly
        (["事件内容摘要", "内容"], "内容"),  # an exact match beats a containing name
        (["回复内容", "群众诉求内容"], "群众诉求内容"),  # the office's answer is never the text
        (["编号", "标题"], "标题"),  # a title alone, when there is nothing better
        (["编号", " ＴＥＸＴ "], " ＴＥＸＴ "),  # full-width and padded
    ],
)
def test_column_guessing(columns: list[str], chosen: str) -> None:
    choice = choose_text_columns(columns, None)
    assert choice.names == (chosen,) and choice.guessed
    assert columns[choice.indices[0]] == chosen


def test_named_columns_and_missing_ones() -> None:
    columns = ["编号", "标题", "诉求内容"]
    both = choose_text_columns(columns, ["标题", "诉求内容"])
    assert both == TextColumns(("标题", "诉求内容"), (1, 2), guessed=False)
    assert choose_text_columns(["Title", "Body"], ["title"]).names == ("Title",)  # loose match when unique
    with pytest.raises(ColumnNotFoundError) as caught:
        choose_text_columns(columns, ["正文"])
    assert "正文" in caught.value.message and "编号, 标题, 诉求内容" in caught.value.message
    with pytest.raises(ColumnNotFoundError, match="--text-column"):
        choose_text_columns(["编号", "日期", "回复内容"], None)


def test_summary_render_is_a_small_bilingual_table(tmp_path: Path) -> None:
    summary = LabelSummary(tmp_path / "a.csv", tmp_path / "a.labelled.csv", ("内容",), True, "gb18030")
    summary.counts.update(unwilling=3, afraid=2, unable=1, other=0)
    summary.total_rows, summary.empty_text_rows, summary.needs_review = 7, 1, 4
    text = summary.render()
    for code in LABEL_CODES:
        assert f"{code} {LABEL_ZH[code]}" in text
    assert "行数 / rows" in text and "占比 / share" in text
    assert "合计 / total" in text and "空文本 / empty text" in text
    assert "需复核 / needs review: 4" in text and "a.labelled.csv" in text
    assert summary.to_dict()["counts"] == {"unwilling": 3, "afraid": 2, "unable": 1, "other": 0}


# ---------------------------------------------------------------- end to end, in process


def test_csv_end_to_end_keeps_every_row_and_column(tmp_path: Path, mini_model: Predictor) -> None:
    out = tmp_path / "out.csv"
    heard: list[TextColumns] = []
    summary = label_file(HOTLINE, out, predictor=mini_model, show_progress=False, on_columns=heard.append)

    assert heard == [TextColumns(("诉求内容",), (3,), guessed=True)]
    source = _input_rows()
    written = _read_csv(out)
    assert written[0] == [*source[0], "column_6", *OUTPUT_COLUMNS]
    assert len(written) == len(source)
    width = len(source[0]) + 1
    for before, after in zip(source[1:], written[1:], strict=True):
        padded = before + [""] * (width - len(before))
        assert after[:width] == [("'" + c if c.startswith("=") else c) for c in padded]

    texts = [r[3] for r in source[1:] if r[3]]
    expected = iter(mini_model.predict(texts))
    for row in written[1:]:
        pred = dict(zip(OUTPUT_COLUMNS, row[width:], strict=True))
        if row[3] == "":  # H004: kept, marked, not predicted
            assert pred == dict.fromkeys(OUTPUT_COLUMNS, "") | {"needs_review": "true"}
            continue
        p = next(expected)
        assert pred["pred_label"] == p.label and pred["pred_label_zh"] == LABEL_ZH[p.label]
        assert float(pred["confidence"]) == p.confidence and pred["second_label"] == p.second_label
        assert pred["needs_review"] == ("true" if p.needs_review else "false")
        assert pred["evidence"] == format_evidence(p.evidence) and pred["evidence"]

    assert summary.total_rows == 6 and summary.empty_text_rows == 1
    assert sum(summary.counts.values()) == 5
    assert summary.counts == {c: sum(r[width] == c for r in written[1:]) for c in LABEL_CODES}
    assert summary.needs_review == sum(r[width + 4] == "true" for r in written[1:])
    assert summary.text_columns == ("诉求内容",) and summary.guessed and summary.encoding == "utf-8"


def test_repeated_text_columns_are_joined_with_a_newline(tmp_path: Path, mini_model: Predictor) -> None:
    out = tmp_path / "out.jsonl"
    label_file(HOTLINE, out, predictor=mini_model, text_columns=["标题", "诉求内容"], show_progress=False)
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    joined = [f"{r['标题']}\n{r['诉求内容']}" for r in records[:3]]
    assert [r["confidence"] for r in records[:3]] == [p.confidence for p in mini_model.predict(joined)]
    title_only = records[3]  # H004 has neither: empty
    assert title_only["pred_label"] is None and title_only["needs_review"] is True


def test_library_use_prints_nothing(tmp_path: Path, mini_model: Predictor, capsys: pytest.CaptureFixture[str]) -> None:
    label_file(HOTLINE, tmp_path / "out.csv", predictor=mini_model, show_progress=True, chunk_rows=2)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""  # stderr is no terminal here: no progress bar either


class _FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("show", [True, False])
def test_progress_bar_only_on_a_terminal_when_asked(
    tmp_path: Path, mini_model: Predictor, monkeypatch: pytest.MonkeyPatch, show: bool
) -> None:
    terminal = _FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    label_file(HOTLINE, tmp_path / "out.csv", predictor=mini_model, show_progress=show, chunk_rows=2)
    assert ("labelling" in terminal.getvalue()) is show


def _workbook(path: Path) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "工单"
    sheet.append(["编号", "留言内容", "金额", "=备注"])
    sheet.append([1, "窗口工作人员推诿扯皮，来回踢皮球", 12.5, None])
    sheet.append([2, None, None, "无内容"])  # empty text, kept
    sheet.append([3, '=CONCAT("领导怕担责","不敢签字")', "=C2*2", "@mention"])  # formulas without cached values
    sheet.append([4, "不懂新政策，不会操作系统", -3, "-1+1"])
    book.save(path)
    return path


def test_xlsx_round_trip(tmp_path: Path, mini_model: Predictor) -> None:
    src = _workbook(tmp_path / "工单.xlsx")
    summary = label_file(src, None, predictor=mini_model, show_progress=False)
    out = tmp_path / "工单.labelled.xlsx"
    assert summary.output_path == out and out.exists()

    book = openpyxl.load_workbook(out)  # not data_only: a formula would show as one
    sheet = book["工单"]
    rows = [[c.value for c in r] for r in sheet.iter_rows()]
    assert all(c.data_type != "f" for r in sheet.iter_rows() for c in r)
    assert rows[0] == ["编号", "留言内容", "金额", "'=备注", *OUTPUT_COLUMNS]
    assert [r[:4] for r in rows[1:]] == [
        [1, "窗口工作人员推诿扯皮，来回踢皮球", 12.5, None],
        [2, None, None, "无内容"],
        [3, '\'=CONCAT("领导怕担责","不敢签字")', "'=C2*2", "'@mention"],
        [4, "不懂新政策，不会操作系统", -3, "'-1+1"],
    ]
    assert rows[2][4:] == [None, None, None, None, True, None]
    first = mini_model.predict_one("窗口工作人员推诿扯皮，来回踢皮球")
    assert rows[1][4:9] == [
        first.label,
        LABEL_ZH[first.label],
        first.confidence,
        first.second_label,
        first.needs_review,
    ]
    assert isinstance(rows[1][6], float)
    assert summary.total_rows == 4 and summary.empty_text_rows == 1

    again = tmp_path / "again.csv"  # and the labelled workbook labels again, old predictions kept aside
    label_file(out, again, predictor=mini_model, show_progress=False)
    header = _read_csv(again)[0]
    assert header[4:10] == [f"{c}_input" for c in OUTPUT_COLUMNS] and header[10:] == list(OUTPUT_COLUMNS)


def test_jsonl_keeps_objects_and_invents_no_keys(tmp_path: Path, mini_model: Predictor) -> None:
    src = tmp_path / "in.jsonl"
    lines = [
        {"id": 1, "内容": "社区街道城管来回推诿", "meta": {"来源": "12345"}},
        {"id": 2},
        {"id": 3, "内容": "怕担责任不敢签字"},
    ]
    src.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", encoding="utf-8")
    label_file(src, None, predictor=mini_model, show_progress=False)
    out = [json.loads(x) for x in (tmp_path / "in.labelled.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [{k: v for k, v in r.items() if k not in OUTPUT_COLUMNS} for r in out] == lines
    assert all(list(r)[-6:] == list(OUTPUT_COLUMNS) for r in out)
    assert out[1]["pred_label"] is None and out[1]["needs_review"] is True
    assert out[2]["pred_label"] in LABEL_CODES and isinstance(out[2]["confidence"], float)


def test_tsv_in_gbk_out_tsv(tmp_path: Path, mini_model: Predictor) -> None:
    src = tmp_path / "in.tsv"
    src.write_bytes("编号\t内容\n1\t社区推诿扯皮\n2\t\n".encode("gbk"))
    summary = label_file(src, None, predictor=mini_model, show_progress=False)
    rows = _read_csv(tmp_path / "in.labelled.tsv", delimiter="\t")
    assert rows[0] == ["编号", "内容", *OUTPUT_COLUMNS]
    assert rows[1][:2] == ["1", "社区推诿扯皮"] and rows[1][2] in LABEL_CODES
    assert summary.encoding == "gb18030" and summary.empty_text_rows == 1


def test_never_overwrites_the_input(tmp_path: Path, mini_model: Predictor) -> None:
    src = tmp_path / "in.csv"
    src.write_bytes(HOTLINE.read_bytes())
    linked = tmp_path / "linked.csv"
    os.link(src, linked)  # another name for the same file
    for target in (src, tmp_path / "." / "in.csv", linked):
        with pytest.raises(BadInputError, match="must not be the input"):
            label_file(src, target, predictor=mini_model, show_progress=False)
    assert src.read_bytes() == HOTLINE.read_bytes()


def test_xlsx_output_too_large_for_excel_is_refused_before_work(
    tmp_path: Path, mini_model: Predictor, monkeypatch: pytest.MonkeyPatch
) -> None:
    import classifier.labelling as labelling

    monkeypatch.setattr(labelling, "XLSX_MAX_ROWS", 6)  # the fixture has 6 rows + a header
    with pytest.raises(BadInputError, match="more than Excel holds: write .csv output"):
        label_file(HOTLINE, tmp_path / "out.xlsx", predictor=mini_model, show_progress=False)
    assert list(tmp_path.iterdir()) == []
    label_file(HOTLINE, tmp_path / "out.csv", predictor=mini_model, show_progress=False)  # CSV has no limit


@dataclass
class _Failing:
    """Predicts until the n-th call, then fails: the run must leave nothing behind."""

    model: Predictor
    fail_at: int
    calls: list[int] = field(default_factory=list)

    def predict(self, texts: Sequence[str]) -> list[Any]:
        self.calls.append(len(texts))
        if len(self.calls) == self.fail_at:
            raise RuntimeError("model failed")
        return self.model.predict(texts)


def test_a_failure_midway_leaves_no_output_and_no_temp_file(tmp_path: Path, mini_model: Predictor) -> None:
    src = tmp_path / "in.csv"
    src.write_bytes(HOTLINE.read_bytes())
    failing = _Failing(mini_model, fail_at=2)
    with pytest.raises(RuntimeError):
        label_file(src, None, predictor=failing, show_progress=False, chunk_rows=2)
    assert len(failing.calls) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


def test_a_lazy_predictor_is_loaded_only_for_usable_input(tmp_path: Path, mini_model: Predictor) -> None:
    loads: list[int] = []

    def load() -> Predictor:
        loads.append(1)
        return mini_model

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"内容": "x"}\nnot json\n', encoding="utf-8")
    with pytest.raises(BadInputError):
        label_file(bad, None, predictor=load, show_progress=False)
    assert loads == []
    label_file(HOTLINE, tmp_path / "ok.csv", predictor=load, show_progress=False)
    assert loads == [1]


# ---------------------------------------------------------------- scale: parallel and streaming


def _generated(path: Path, rows: int) -> Path:
    texts = [r[3] for r in _input_rows()[1:]]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["编号", "内容"])
        for i in range(rows):
            writer.writerow([i, "" if i % 13 == 0 else f"{texts[i % len(texts)]}（第{i}号）"])
    return path


def test_parallel_output_is_byte_identical_to_serial(tmp_path: Path, mini_model: Predictor) -> None:
    src = _generated(tmp_path / "in.csv", 600)
    serial = label_file(src, tmp_path / "serial.csv", predictor=mini_model, show_progress=False, chunk_rows=50)
    parallel = label_file(
        src, tmp_path / "parallel.csv", predictor=mini_model, jobs=2, show_progress=False, chunk_rows=50
    )
    assert (tmp_path / "serial.csv").read_bytes() == (tmp_path / "parallel.csv").read_bytes()
    assert serial.to_dict() | {"output": ""} == parallel.to_dict() | {"output": ""}
    assert serial.total_rows == 600 and serial.empty_text_rows == 47


@dataclass
class _Pid:
    label: str = "other"
    confidence: float = 0.5
    second_label: str = "unwilling"
    needs_review: bool = False
    evidence: list[dict[str, Any]] = field(default_factory=lambda: [{"term": str(os.getpid()), "weight": 1.0}])


class _PidPredictor:
    """Says which process predicted each row."""

    def predict(self, texts: Sequence[str]) -> list[_Pid]:
        return [_Pid() for _ in texts]


def test_jobs_really_run_in_worker_processes(tmp_path: Path) -> None:
    src = _generated(tmp_path / "in.csv", 400)
    label_file(src, tmp_path / "out.csv", predictor=_PidPredictor(), jobs=2, show_progress=False, chunk_rows=20)
    pids = {row[-1].split("(")[0] for row in _read_csv(tmp_path / "out.csv")[1:] if row[-1]}
    assert str(os.getpid()) not in pids and len(pids) == 2


class _WarmedPredictor(_PidPredictor):
    def __init__(self) -> None:
        self.warmed_in: list[int] = []

    def warm_up(self) -> None:
        self.warmed_in.append(os.getpid())


def test_the_model_warms_up_once_before_the_workers_fork(tmp_path: Path) -> None:
    # jieba loads in ~1 s: once in the parent, shared by the forked workers, not once in each
    predictor = _WarmedPredictor()
    src = _generated(tmp_path / "in.csv", 400)
    label_file(src, tmp_path / "out.csv", predictor=predictor, jobs=2, show_progress=False, chunk_rows=20)
    assert predictor.warmed_in == [os.getpid()]


_MEMORY_CHILD = """
import sys
from pathlib import Path
from classifier.labelling import label_file

def peak_rss():  # VmHWM: this process's peak; ru_maxrss would carry the parent's peak over exec
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024

class Result:
    label, confidence, second_label, needs_review = "other", 0.5, "unwilling", False
    evidence = [{"term": "推诿", "weight": 0.1}]

class Predictor:  # cheap: the test is about reading and writing, not the model
    def predict(self, texts):
        return [Result() for _ in texts]

big, small = Path(sys.argv[1]), Path(sys.argv[2])
label_file(small, None, predictor=Predictor(), show_progress=False)  # every code path imported and warm
before = peak_rss()
serial = label_file(big, None, predictor=Predictor(), show_progress=False)
after_serial = peak_rss()
parallel = label_file(big, big.with_name("parallel.csv"), predictor=Predictor(), jobs=2, show_progress=False)
after_parallel = peak_rss()  # this process's: it reads, sends texts to the workers and writes
print(serial.total_rows, parallel.total_rows, after_serial - before, after_parallel - before)
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="peak memory is read from Linux's /proc")
def test_a_large_file_streams_in_bounded_memory(tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    rows = 200_000
    with big.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["编号", "内容", "备注"])
        for i in range(rows):
            writer.writerow([i, f"第{i}号：路灯不亮，社区街道来回推诿", "备注" * 20])
    small = tmp_path / "small.csv"
    small.write_text("编号,内容,备注\n1,推诿,无\n", encoding="utf-8")
    script = tmp_path / "child.py"
    script.write_text(_MEMORY_CHILD, encoding="utf-8")

    done = subprocess.run(
        [sys.executable, str(script), str(big), str(small)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    serial_rows, parallel_rows, serial_growth, parallel_growth = map(int, done.stdout.split())
    size = big.stat().st_size
    assert serial_rows == parallel_rows == rows and size > 30 << 20
    # Reading the file whole would hold it in memory several times over (a str per cell); streaming in
    # chunks holds a few thousand rows whatever the size, with --jobs too (a bounded number in flight).
    assert serial_growth < size / 4, f"peak memory grew by {serial_growth / size:.2f}× the file's size"
    assert parallel_growth < size / 4, f"with --jobs 2 by {parallel_growth / size:.2f}× the file's size"
    out = tmp_path / "big.labelled.csv"
    with out.open(encoding="utf-8-sig", newline="") as handle:
        assert sum(1 for _ in csv.reader(handle)) == rows + 1
    assert out.read_bytes() == (tmp_path / "parallel.csv").read_bytes()


# ---------------------------------------------------------------- the command line


def _buwei(models: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "classifier", "label", *args],
        capture_output=True,
        text=True,
        env=subprocess_env(models),
        cwd=cwd,
        timeout=120,
    )


def test_cli_labels_a_gbk_file_and_says_the_column(tmp_path: Path, models_env: Path) -> None:
    src = tmp_path / "热线.csv"
    src.write_bytes(HOTLINE.read_text(encoding="utf-8").encode("gbk"))
    done = _buwei(models_env, src.name, "--jobs", "2", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0].startswith("buwei: 文本列 / text column: 诉求内容") and "guessed" in lines[0]
    assert any("合计 / total" in line and line.split()[-2] == "6" for line in lines)
    rows = _read_csv(tmp_path / "热线.labelled.csv")
    assert rows[0][-6:] == list(OUTPUT_COLUMNS) and len(rows) == 7
    assert rows[1][3].startswith("小区门口路灯坏了") and done.stdout == ""


def _bad_inputs(tmp: Path) -> dict[str, tuple[list[str], str]]:
    """name: (arguments after `label`, what stderr must say). Files are made here, in `tmp`."""
    good = tmp / "good.csv"
    good.write_text(f"编号,内容\n1,{SECRET}\n", encoding="utf-8")
    (tmp / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0" + SECRET.encode())
    (tmp / "binary.csv").write_bytes(bytes(range(256)) * 8)
    (tmp / "noguess.csv").write_text(f"a,b\n1,{SECRET}\n", encoding="utf-8")
    (tmp / "corrupt.xlsx").write_bytes(b"PK\x03\x04" + SECRET.encode())
    (tmp / "bad.jsonl").write_text(f'{{"内容": "{SECRET}"}}\n{{"内容": "{SECRET}"\n', encoding="utf-8")
    (tmp / "array.jsonl").write_text(f'["{SECRET}"]\n', encoding="utf-8")
    (tmp / "empty.csv").write_bytes(b"")
    (tmp / "beyond.csv").write_bytes(f"内容\n{SECRET}𠀀\n".encode("gb18030"))
    (tmp / "folder.csv").mkdir()
    (tmp / "unclosed.csv").write_text('编号,内容\n1,"' + "x" * (17 << 20) + SECRET, encoding="utf-8")
    os.symlink(good, tmp / "alias.csv")
    return {
        "missing file": (["nope.csv"], "input file not found"),
        "input is a folder": (["folder.csv"], "the input is not a file"),
        "unsupported input": (["old.xls"], "unsupported input file type .xls"),
        "unsupported output": (["good.csv", "-o", "out.txt"], "unsupported output file type .txt"),
        "undecodable": (["binary.csv"], "cannot detect the file's encoding"),
        "wrong forced encoding": (["beyond.csv", "--encoding", "gbk"], "cannot be decoded as gbk near line 2"),
        "unknown encoding": (["good.csv", "--encoding", "klingon"], "unknown encoding klingon"),
        "missing column": (["good.csv", "--text-column", "正文"], "available columns: 编号, 内容"),
        "no guessable column": (["noguess.csv"], "available columns: a, b"),
        "output is input": (["good.csv", "-o", "good.csv"], "must not be the input"),
        "output is a link to the input": (["good.csv", "-o", "alias.csv"], "must not be the input"),
        "output folder missing": (["good.csv", "-o", "no/such/out.csv"], "output folder does not exist"),
        "corrupt xlsx": (["corrupt.xlsx"], "cannot read the Excel file"),
        "invalid JSON line": (["bad.jsonl"], "line 2 is not valid JSON"),
        "not a JSON object": (["array.jsonl"], "line 1 is not a JSON object"),
        "empty file": (["empty.csv"], "the file is empty"),
        "unclosed quote": (["unclosed.csv"], "malformed CSV near line 2: field larger than field limit"),
        "no workers": (["good.csv", "--jobs", "0"], "--jobs must be at least 1"),
    }


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, tuple[list[str], str]]]:
    tmp = tmp_path_factory.mktemp("bad-inputs")
    return tmp, _bad_inputs(tmp)


_CASE_NAMES = [
    "missing file",
    "input is a folder",
    "unsupported input",
    "unsupported output",
    "undecodable",
    "wrong forced encoding",
    "unknown encoding",
    "missing column",
    "no guessable column",
    "output is input",
    "output is a link to the input",
    "output folder missing",
    "corrupt xlsx",
    "invalid JSON line",
    "not a JSON object",
    "empty file",
    "unclosed quote",
    "no workers",
]


@pytest.mark.parametrize("case", _CASE_NAMES)
def test_every_error_path_exits_2_with_one_clear_line(
    case: str, bad_inputs: tuple[Path, dict[str, tuple[list[str], str]]], tmp_path: Path
) -> None:
    folder, cases = bad_inputs
    args, expected = cases[case]
    before = sorted(p.name for p in folder.iterdir())
    # An empty model folder: bad input is answered before any model is needed (and in a blink).
    done = _buwei(tmp_path, *args, cwd=folder)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("buwei: ") and " / " in lines[0]  # Chinese / English
    assert expected in lines[0]
    assert "Traceback" not in done.stderr
    assert SECRET not in done.stderr and "13812345678" not in done.stderr and "机密" not in done.stderr
    assert sorted(p.name for p in folder.iterdir()) == before  # nothing written, not even a temp file


def test_the_case_list_is_complete(bad_inputs: tuple[Path, dict[str, tuple[list[str], str]]]) -> None:
    assert sorted(_CASE_NAMES) == sorted(bad_inputs[1])
