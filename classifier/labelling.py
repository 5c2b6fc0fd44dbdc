"""Batch labelling: label every row of a CSV/TSV/XLSX/JSONL file and write it back with predictions.

`label_file` is the one engine behind `buwei label` and the upload endpoint. It prints nothing (a progress
bar on stderr only when asked and stderr is a terminal); what it chose and counted comes back in a
`LabelSummary`, and every problem with the input is a `BadInputError` raised before any prediction.

Appended columns (OUTPUT_COLUMNS):
- `pred_label`, `pred_label_zh` — the label code and its Chinese name;
- `confidence` — the calibrated probability of that label (0–1, 4 decimals);
- `second_label` — the runner-up label code;
- `needs_review` — true when the model is unsure (thresholds in the model's manifest) or the text is empty;
- `evidence` — the terms that pushed the text toward its label, strongest first, each as
  `term(weight)` with the weight to 3 decimals, joined by a full-width semicolon: `推诿(0.212)；敷衍(0.179)`.
  It is for reading; the API's `evidence` list carries the same terms as data.
Rows whose text is empty are kept: their prediction cells are empty and `needs_review` is true.
Labelling a labelled file again keeps its old prediction columns as `pred_label_input` … (`output_names`).
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import os
import sys
import unicodedata
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.pool import AsyncResult, Pool
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from classifier.errors import BadInputError, BuweiError, ColumnNotFoundError
from classifier.labels import LABEL_CODES, LABEL_ZH
from classifier.tables import (
    MISSING,
    SUPPORTED_SUFFIXES,
    XLSX_MAX_COLUMNS,
    XLSX_MAX_ROWS,
    TableInfo,
    TableWriter,
    iter_rows,
    one_line,
    scan_table,
    table_format,
)

if TYPE_CHECKING:
    from classifier.predict import Prediction

__all__ = [
    "CHUNK_ROWS",
    "OUTPUT_COLUMNS",
    "SUPPORTED_SUFFIXES",
    "TEXT_COLUMN_NAMES",
    "LabelSummary",
    "SupportsPredict",
    "TextColumns",
    "choose_text_columns",
    "default_output_path",
    "format_evidence",
    "label_file",
    "output_names",
]

OUTPUT_COLUMNS: tuple[str, ...] = (
    "pred_label",
    "pred_label_zh",
    "confidence",
    "second_label",
    "needs_review",
    "evidence",
)
CHUNK_ROWS = 500  # rows read, predicted and written at a time: small enough to keep every job busy to the end
# Header names that hold the complaint, most specific first. Matched after NFKC and case folding:
# an exact match anywhere beats a name that merely contains one.
TEXT_COLUMN_NAMES: tuple[str, ...] = (
    "text",
    "content",
    "留言详情",
    "留言内容",
    "投诉内容",
    "诉求内容",
    "反映内容",
    "来电内容",
    "来信内容",
    "举报内容",
    "问题描述",
    "事项描述",
    "内容",
    "详情",
    "正文",
    "描述",
    "message",
    "body",
    "description",
    "标题",
    "title",
)
# Columns holding the office's answer, not the complaint: never guessed.
_ANSWER_WORDS = ("回复", "答复", "办理", "处理", "结果", "意见", "reply", "response", "answer")
_EVIDENCE_SEPARATOR = "；"


@runtime_checkable
class SupportsPredict(Protocol):
    def predict(self, texts: Sequence[str]) -> list[Prediction]: ...


PredictorSource = SupportsPredict | Callable[[], SupportsPredict]
PredictionCells = tuple[Any, Any, Any, Any, bool, Any]
_EMPTY_CELLS: PredictionCells = (None, None, None, None, True, None)


@dataclass(frozen=True)
class TextColumns:
    """The column(s) whose text is labelled, and whether Buwei guessed them."""

    names: tuple[str, ...]
    indices: tuple[int, ...]
    guessed: bool

    def describe(self) -> str:
        names = " + ".join(one_line(n, 40) for n in self.names)
        if self.guessed:
            hint = "（自动识别，可用 --text-column 指定 / guessed; choose with --text-column）"
            return f"文本列 / text column: {names}{hint}"
        return f"文本列 / text column: {names}"


@dataclass
class LabelSummary:
    """What one run did: counts by label, empty texts, rows to review, and where the output went."""

    input_path: Path
    output_path: Path
    text_columns: tuple[str, ...]
    guessed: bool
    encoding: str | None
    total_rows: int = 0
    empty_text_rows: int = 0
    needs_review: int = 0  # rows with needs_review true, empty-text rows included
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LABEL_CODES, 0))

    def to_dict(self) -> dict[str, Any]:
        return {
            "input": str(self.input_path),
            "output": str(self.output_path),
            "text_columns": list(self.text_columns),
            "guessed": self.guessed,
            "encoding": self.encoding,
            "total_rows": self.total_rows,
            "empty_text_rows": self.empty_text_rows,
            "needs_review": self.needs_review,
            "counts": dict(self.counts),
        }

    def render(self) -> str:
        """A small table by label, Chinese and English, for stderr."""
        from rich.cells import cell_len

        def share(n: int) -> str:
            return f"{n / self.total_rows:.1%}" if self.total_rows else "-"

        body = [(f"{code} {LABEL_ZH[code]}", n) for code, n in self.counts.items()]
        body.append(("空文本 / empty text", self.empty_text_rows))
        table = [("类别 / label", "行数 / rows", "占比 / share")]
        table += [(name, f"{n:,}", share(n)) for name, n in body]
        table.append(("合计 / total", f"{self.total_rows:,}", share(self.total_rows)))
        widths = [max(cell_len(row[i]) for row in table) for i in range(3)]

        def line(row: tuple[str, str, str]) -> str:
            first = row[0] + " " * (widths[0] - cell_len(row[0]))
            rest = [" " * (widths[i] - cell_len(row[i])) + row[i] for i in (1, 2)]
            return "  ".join([first, *rest]).rstrip()

        names = " + ".join(one_line(n, 40) for n in self.text_columns)
        lines = [
            f"已写入 / written: {self.output_path}",
            f"文本列 / text column: {names}{'（自动识别 / guessed）' if self.guessed else ''}",
            line(table[0]),
            *(line(row) for row in table[1:-1]),
            line(table[-1]),
            f"需复核 / needs review: {self.needs_review:,}（含空文本 / empty text included）",
        ]
        return "\n".join(lines)


def default_output_path(input_path: str | os.PathLike[str]) -> Path:
    """INPUT's name with `.labelled` before the suffix: complaints.xlsx → complaints.labelled.xlsx."""
    path = Path(input_path)
    return path.with_name(f"{path.stem}.labelled{path.suffix}")


def output_names(columns: Sequence[str]) -> list[str]:
    """Input column names as written out. A file labelled before has its own `pred_label` …: those keep
    their values under `pred_label_input` …, so the appended columns always carry the contract's names."""
    taken = set(columns) | set(OUTPUT_COLUMNS)
    names = []
    for name in columns:
        if name in OUTPUT_COLUMNS:
            new, k = f"{name}_input", 2
            while new in taken:
                new, k = f"{name}_input_{k}", k + 1
            taken.add(new)
            name = new
        names.append(name)
    return names


def format_evidence(evidence: Iterable[dict[str, Any]]) -> str:
    """`推诿(0.212)；敷衍(0.179)`: each term with its weight to 3 decimals, strongest first."""
    return _EVIDENCE_SEPARATOR.join(f"{e['term']}({float(e['weight']):.3f})" for e in evidence)


# ---------------------------------------------------------------- columns


def _key(name: str) -> str:
    return unicodedata.normalize("NFKC", name).strip().casefold()


def _available(columns: Sequence[str]) -> tuple[str, str]:
    shown = [one_line(c, 30) or "（空）" for c in columns[:30]]
    more = f" …(+{len(columns) - 30})" if len(columns) > 30 else ""
    listing = ", ".join(shown) + more if shown else "-"
    return listing, listing.replace("（空）", "(empty)")


def choose_text_columns(columns: Sequence[str], requested: Sequence[str] | None) -> TextColumns:
    """The requested column(s) by name (exact, else ignoring case and width), or a guess from the header."""
    if requested:
        indices = []
        for name in requested:
            if name in columns:
                indices.append(list(columns).index(name))
                continue
            loose = [i for i, c in enumerate(columns) if _key(c) == _key(name)]
            if len(loose) != 1:
                zh, en = _available(columns)
                raise ColumnNotFoundError(
                    f"找不到文本列 {one_line(name, 40)}；可用的列：{zh}",
                    f"no column named {one_line(name, 40)}; available columns: {en}",
                )
            indices.append(loose[0])
        return TextColumns(tuple(columns[i] for i in indices), tuple(indices), guessed=False)
    keys = [_key(c) for c in columns]
    usable = [i for i, k in enumerate(keys) if k and not any(w in k for w in _ANSWER_WORDS)]
    for matches in (lambda k, cand: k == cand, lambda k, cand: cand in k):
        for candidate in TEXT_COLUMN_NAMES:
            for i in usable:
                if matches(keys[i], candidate):
                    return TextColumns((columns[i],), (i,), guessed=True)
    zh, en = _available(columns)
    raise ColumnNotFoundError(
        f"无法判断哪一列是文本，请用 --text-column 指定；可用的列：{zh}",
        f"cannot tell which column holds the text: name it with --text-column; available columns: {en}",
    )


def _row_text(row: Sequence[Any], indices: Sequence[int]) -> str:
    parts = []
    for i in indices:
        value = row[i]
        if value is None or value is MISSING:
            continue
        text = value if isinstance(value, str) else str(value)
        if text.strip():
            parts.append(text.strip())
    return "\n".join(parts)


# ---------------------------------------------------------------- prediction


def _prediction_cells(predictor: SupportsPredict, texts: Sequence[str]) -> list[PredictionCells]:
    """The six appended cells for each text; empty texts get empty cells and needs_review."""
    wanted = [i for i, t in enumerate(texts) if t]
    cells: list[PredictionCells] = [_EMPTY_CELLS] * len(texts)
    predictions = predictor.predict([texts[i] for i in wanted]) if wanted else []
    for i, p in zip(wanted, predictions, strict=True):
        cells[i] = (
            p.label,
            LABEL_ZH[p.label],
            p.confidence,
            p.second_label,
            bool(p.needs_review),
            format_evidence(p.evidence),
        )
    return cells


_WORKER_PREDICTOR: SupportsPredict | None = None


def _init_worker(predictor: SupportsPredict) -> None:
    # With fork the predictor arrives by inheritance, not by pickling.
    global _WORKER_PREDICTOR
    _WORKER_PREDICTOR = predictor


def _predict_in_worker(texts: list[str]) -> list[PredictionCells]:
    assert _WORKER_PREDICTOR is not None
    return _prediction_cells(_WORKER_PREDICTOR, texts)


def _chunks(rows: Iterator[list[Any]], size: int) -> Iterator[list[list[Any]]]:
    while chunk := list(itertools.islice(rows, size)):
        yield chunk


def _predicted(
    chunks: Iterator[list[list[Any]]], indices: Sequence[int], predictor: SupportsPredict, pool: Pool | None, jobs: int
) -> Iterator[tuple[list[list[Any]], list[PredictionCells]]]:
    """Each chunk of rows with its prediction cells, in input order.

    With a pool, at most 2 × jobs chunks are in flight (Pool.imap would read the whole file ahead).
    """
    if pool is None:
        for rows in chunks:
            yield rows, _prediction_cells(predictor, [_row_text(r, indices) for r in rows])
        return
    pending: deque[tuple[list[list[Any]], AsyncResult[list[PredictionCells]]]] = deque()
    for rows in chunks:
        texts = [_row_text(r, indices) for r in rows]
        pending.append((rows, pool.apply_async(_predict_in_worker, (texts,))))
        if len(pending) >= 2 * jobs:
            done, result = pending.popleft()
            yield done, result.get()
    while pending:
        done, result = pending.popleft()
        yield done, result.get()


# ---------------------------------------------------------------- the engine


def _check_paths(src: Path, dst: Path) -> None:
    if not src.exists():
        raise BadInputError(f"找不到输入文件：{one_line(str(src))}", f"input file not found: {one_line(str(src))}")
    if not src.is_file():
        raise BadInputError(f"输入不是文件：{one_line(str(src))}", f"the input is not a file: {one_line(str(src))}")
    table_format(src)
    table_format(dst, role="output")
    same = dst.resolve() == src.resolve()
    if not same and dst.exists():
        with contextlib.suppress(OSError):
            same = os.path.samefile(dst, src)
    if same:
        raise BadInputError(
            "输出文件不能是输入文件（不会覆盖原文件），请用 -o 另选路径",
            "the output must not be the input (it is never overwritten): choose another path with -o",
        )
    if dst.is_dir():
        raise BadInputError(
            f"输出路径是文件夹：{one_line(str(dst))}", f"the output path is a folder: {one_line(str(dst))}"
        )
    if not dst.parent.is_dir():
        raise BadInputError(
            f"输出文件夹不存在：{one_line(str(dst.parent))}",
            f"the output folder does not exist: {one_line(str(dst.parent))}",
        )


def _check_output_fits(info: TableInfo, dst: Path) -> None:
    if dst.suffix.lower() != ".xlsx":
        return
    if info.rows + 1 > XLSX_MAX_ROWS or len(info.columns) + len(OUTPUT_COLUMNS) > XLSX_MAX_COLUMNS:
        raise BadInputError(
            f"文件有 {info.rows:,} 行、{len(info.columns):,} 列，超出 Excel 的上限，请输出为 .csv",
            f"the file has {info.rows:,} rows and {len(info.columns):,} columns, more than Excel holds: "
            "write .csv output instead",
        )


@contextlib.contextmanager
def _progress(total: int, enabled: bool) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr, or nothing."""
    if not enabled:
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn("标注 / labelling"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("label", total=total)
        yield lambda n: bar.advance(task, n)


def label_file(
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str] | None = None,
    *,
    predictor: PredictorSource,
    text_columns: Sequence[str] | None = None,
    jobs: int = 1,
    encoding: str | None = None,
    show_progress: bool = True,
    on_columns: Callable[[TextColumns], None] | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> LabelSummary:
    """Label every row of INPUT and write OUTPUT (default: `default_output_path(INPUT)`) atomically.

    `predictor` is a loaded Predictor, or a function that loads one: then the model is loaded only once
    the input has been read through and found usable. `on_columns` hears the text column(s) chosen
    before labelling starts. With `jobs` > 1 the chunks are predicted by forked worker processes; the
    output is the same as with one.
    """
    src = Path(input_path)
    dst = Path(output_path) if output_path is not None else default_output_path(src)
    _check_paths(src, dst)
    if jobs < 1:
        raise BadInputError("--jobs 至少为 1", "--jobs must be at least 1")
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be at least 1")

    info = scan_table(src, encoding)
    chosen = choose_text_columns(info.columns, text_columns)
    _check_output_fits(info, dst)
    model = predictor if isinstance(predictor, SupportsPredict) else predictor()

    summary = LabelSummary(src, dst, chosen.names, chosen.guessed, info.encoding)
    parallel = jobs > 1 and info.rows > chunk_rows and "fork" in multiprocessing.get_all_start_methods()
    show = show_progress and sys.stderr.isatty() and info.rows > chunk_rows
    try:
        with contextlib.ExitStack() as stack:
            pool = None
            if parallel:  # fork before any other thread (the progress bar's) starts
                if callable(warm_up := getattr(model, "warm_up", None)):
                    warm_up()  # load what every worker needs once, here, and share it
                context = multiprocessing.get_context("fork")
                pool = stack.enter_context(context.Pool(jobs, initializer=_init_worker, initargs=(model,)))
            header = [*output_names(info.columns), *OUTPUT_COLUMNS]
            writer = stack.enter_context(TableWriter(dst, header, info.sheet))
            if on_columns is not None:  # once nothing but the labelling itself can fail
                on_columns(chosen)
            advance = stack.enter_context(_progress(info.rows, show))
            chunks = _chunks(iter_rows(info), chunk_rows)
            for rows, cells in _predicted(chunks, chosen.indices, model, pool, jobs):
                for row, predicted in zip(rows, cells, strict=True):
                    writer.write([*row, *predicted])
                    _count(summary, predicted)
                advance(len(rows))
    except OSError as exc:  # the disk, not the input: a runtime failure
        raise BuweiError(f"读写文件失败：{exc.strerror}", f"reading or writing a file failed: {exc.strerror}") from None
    return summary


def _count(summary: LabelSummary, cells: PredictionCells) -> None:
    summary.total_rows += 1
    label, needs_review = cells[0], cells[4]
    if label is None:
        summary.empty_text_rows += 1
    else:
        summary.counts[label] += 1
    if needs_review:
        summary.needs_review += 1
