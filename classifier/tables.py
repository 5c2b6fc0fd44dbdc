"""Reading and writing tables for batch labelling: CSV, TSV, XLSX and JSONL, one row at a time.

Used by `buwei label` and by the upload endpoint, so that both read and write files the same way.

- Encodings of text formats are detected from a bounded sample, in this order: a byte-order mark, strict
  UTF-8, strict GB18030 (a superset of GBK), then charset-normalizer. `encoding=` forces one.
- Nothing is read whole. `scan_table` streams the file once to learn its columns, its row count and
  whether it can be read at all; `iter_rows` streams it again for labelling. Every input error surfaces
  in the scan, before any work is done.
- Ragged rows are padded; cells beyond the header are kept under generated names (`column_5`).
- XLSX: the first worksheet, read-only; formulas give their cached values, or their text when the file
  holds none; trailing empty rows (formatting left-overs) are dropped.
- Written cells that a spreadsheet would run as a formula get a leading `'` (see `escape_formula`).
- Output is written to a temporary file beside the target and moved into place (`os.replace`).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import json
import math
import os
import re
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import IO, Any

from classifier.errors import BadInputError, BuweiError, EncodingDetectionError, UnsupportedFileError

SUPPORTED_SUFFIXES: tuple[str, ...] = (".csv", ".tsv", ".xlsx", ".jsonl")
SAMPLE_BYTES = 1 << 20  # encoding detection looks at this much, never more at once
FIELD_LIMIT = 16 << 20  # longest CSV field accepted (characters); an unclosed quote stops here
XLSX_MAX_ROWS = 1_048_576
XLSX_MAX_COLUMNS = 16_384
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE, whose BOM is its prefix
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_FORMULA_FIRST = frozenset(FORMULA_PREFIXES)
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
# Characters XML 1.0 cannot hold; openpyxl refuses them.
_XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


class _Missing:
    """A JSONL key absent from one object: empty in a table, left out of a JSON object."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def one_line(text: str, limit: int = 60) -> str:
    """A name or path fit for a one-line message: no line breaks, bounded length."""
    flat = re.sub(r"[\r\n\t]+", " ", text)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def table_format(path: Path, role: str = "input") -> str:
    """The format named by a path's suffix (`.csv` …); anything else is refused."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        kinds = "/".join(SUPPORTED_SUFFIXES)
        what_zh = "输入" if role == "input" else "输出"
        raise UnsupportedFileError(
            f"不支持的{what_zh}文件类型 {suffix or '（无后缀）'}，请使用 {kinds}",
            f"unsupported {role} file type {suffix or '(no suffix)'}: use {kinds}",
        )
    return suffix


# ---------------------------------------------------------------- encodings


def _decodes(sample: bytes, encoding: str, final: bool) -> bool:
    """Strictly decodable; a multi-byte character cut at the sample's end is not a failure."""
    try:
        codecs.getincrementaldecoder(encoding)("strict").decode(sample, final=final)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def detect_encoding(path: Path, sample_bytes: int = SAMPLE_BYTES) -> str:
    """BOM, strict UTF-8, strict GB18030, then charset-normalizer, judged on at most `sample_bytes`.

    A long pure-ASCII opening says nothing, so the sample is taken where the first non-ASCII byte is
    (read forward chunk by chunk: memory stays bounded).
    """
    with _open_binary(path) as handle:
        sample = handle.read(sample_bytes)
        for bom, name in _BOMS:
            if sample.startswith(bom):
                return name
        final = len(sample) < sample_bytes
        while sample.isascii() and not final:
            sample = handle.read(sample_bytes)
            final = len(sample) < sample_bytes
    if sample.isascii():
        return "utf-8"
    for candidate in ("utf-8", "gb18030"):
        if _decodes(sample, candidate, final):
            return candidate
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    if best is not None and _decodes(sample, best.encoding, final):
        return str(best.encoding)
    raise EncodingDetectionError(
        "无法识别文件编码（已尝试 BOM、UTF-8、GB18030、charset-normalizer），请用 --encoding 指定，如 --encoding gbk",
        "cannot detect the file's encoding (tried BOM, UTF-8, GB18030, charset-normalizer); "
        "give it with --encoding, e.g. --encoding gbk",
    )


def resolve_encoding(path: Path, forced: str | None) -> str:
    """The encoding to read a text table with: `forced` if given (checked), else detected."""
    if not forced:
        return detect_encoding(path)
    try:
        name = codecs.lookup(forced).name
    except LookupError:
        raise BadInputError(
            f"未知的编码 {one_line(forced, 30)}，可用如 utf-8、gbk、gb18030",
            f"unknown encoding {one_line(forced, 30)}: try utf-8, gbk or gb18030",
        ) from None
    if name == "utf-8":
        with _open_binary(path) as handle:
            if handle.read(3) == codecs.BOM_UTF8:
                return "utf-8-sig"  # the BOM is not part of the first column's name
    return forced


def _first_bad_line(path: Path, encoding: str, chunk_bytes: int = SAMPLE_BYTES) -> int:
    """The line (1-based) of the first byte `encoding` cannot decode, found by a streaming re-read.

    Only for error messages: lines are counted by b"\n", exact for UTF-8 and GB18030 (whose multi-byte
    characters never contain that byte).
    """
    line, carry = 1, b""
    with _open_binary(path) as handle:
        while True:
            chunk = handle.read(chunk_bytes)
            data, final = carry + chunk, len(chunk) < chunk_bytes
            try:
                data.decode(encoding)
                carry = b""
            except UnicodeDecodeError as exc:
                cut_short = exc.end == len(data) and len(data) - exc.start < 4
                if final or not cut_short:
                    return line + data[: exc.start].count(b"\n")
                carry, data = data[exc.start :], data[: exc.start]
            except LookupError:
                return line
            line += data.count(b"\n")
            if final:
                return line


def _decode_error(path: Path, encoding: str) -> EncodingDetectionError:
    line = _first_bad_line(path, encoding)
    return EncodingDetectionError(
        f"文件第 {line} 行附近无法按 {encoding} 解码，请用 --encoding 指定正确的编码",
        f"the file cannot be decoded as {encoding} near line {line}; give the right encoding with --encoding",
    )


# ---------------------------------------------------------------- reading


@dataclass(frozen=True)
class TableInfo:
    """What one streaming pass learned about an input table."""

    path: Path
    format: str  # ".csv", ".tsv", ".xlsx" or ".jsonl"
    columns: tuple[str, ...]  # the header, then generated names for cells beyond it
    header_width: int  # how many of `columns` the file's header named
    rows: int  # data rows, header excluded
    encoding: str | None  # None for .xlsx
    sheet: str | None = None  # .xlsx: the worksheet read
    has_formulas: bool = False  # .xlsx: some cell holds a formula


def _open_binary(path: Path) -> IO[bytes]:
    try:
        return path.open("rb")
    except OSError as exc:
        raise BadInputError(
            f"无法读取输入文件 {one_line(str(path))}：{exc.strerror}",
            f"cannot read the input file {one_line(str(path))}: {exc.strerror}",
        ) from None


@contextlib.contextmanager
def _open_text(path: Path, encoding: str, newline: str | None) -> Iterator[IO[str]]:
    raw = _open_binary(path)
    with io.TextIOWrapper(raw, encoding=encoding, errors="strict", newline=newline) as text:
        yield text


def _extra_width(row: Sequence[Any], header_width: int) -> int:
    """The width a row needs: cells beyond the header count only up to the last non-empty one."""
    n = len(row)
    while n > header_width and row[n - 1] in (None, ""):
        n -= 1
    return n


def _generated_names(header: list[str], width: int) -> tuple[str, ...]:
    names = list(header)
    taken = set(header)
    for position in range(len(header) + 1, width + 1):
        name, k = f"column_{position}", 2
        while name in taken:
            name, k = f"column_{position}_{k}", k + 1
        taken.add(name)
        names.append(name)
    return tuple(names)


def _csv_records(path: Path, fmt: str, encoding: str) -> Iterator[list[str]]:
    """Every record of a CSV/TSV file, header included; decoding and syntax errors become BadInputError."""
    if csv.field_size_limit() < FIELD_LIMIT:
        csv.field_size_limit(FIELD_LIMIT)
    with _open_text(path, encoding, newline="") as text:
        reader = csv.reader(text, delimiter="\t" if fmt == ".tsv" else ",")
        try:
            yield from reader
        except UnicodeDecodeError:
            raise _decode_error(path, encoding) from None
        except csv.Error as exc:  # messages name the problem, never the cell's text
            raise BadInputError(
                f"{fmt[1:].upper()} 格式错误（第 {reader.line_num} 行附近）：{exc}",
                f"malformed {fmt[1:].upper()} near line {reader.line_num}: {exc}",
            ) from None


def _jsonl_records(path: Path, encoding: str) -> Iterator[dict[str, Any]]:
    """Every object of a JSONL file; blank lines are skipped."""
    with _open_text(path, encoding, newline=None) as text:
        try:
            for number, line in enumerate(text, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise BadInputError(
                        f"第 {number} 行不是有效的 JSON（{exc.msg}，第 {exc.colno} 列）",
                        f"line {number} is not valid JSON: {exc.msg} at column {exc.colno}",
                    ) from None
                if not isinstance(record, dict):
                    raise BadInputError(
                        f"第 {number} 行不是 JSON 对象（每行应为一个 {{…}}）",
                        f"line {number} is not a JSON object (each line must be one {{…}})",
                    )
                yield record
        except UnicodeDecodeError:
            raise _decode_error(path, encoding) from None


def _xlsx_error(detail: str) -> BadInputError:
    return BadInputError(
        f"无法读取 Excel 文件（文件损坏、加密或不是 .xlsx）：{detail}",
        f"cannot read the Excel file (corrupt, encrypted or not .xlsx): {detail}",
    )


@contextlib.contextmanager
def _xlsx_rows(path: Path, data_only: bool) -> Iterator[tuple[str, Iterator[Sequence[Any]]]]:
    """The first worksheet's title and its rows (values), from a read-only workbook."""
    import openpyxl

    try:
        with warnings.catch_warnings():  # openpyxl warns about styles and extensions it skips
            warnings.simplefilter("ignore")
            book = openpyxl.load_workbook(path, read_only=True, data_only=data_only)
    except BuweiError:
        raise
    except OSError as exc:
        raise _xlsx_error(exc.strerror or type(exc).__name__) from None
    except Exception as exc:  # a parser of untrusted files fails in many ways: zip, XML, key errors
        raise _xlsx_error(type(exc).__name__) from None
    try:
        if not book.worksheets:
            raise _xlsx_error("no worksheet")
        sheet = book.worksheets[0]
        sheet.reset_dimensions()  # some writers record wrong dimensions: read what is there

        def rows() -> Iterator[Sequence[Any]]:
            try:
                yield from sheet.iter_rows(values_only=True)
            except BuweiError:
                raise
            except Exception as exc:
                raise _xlsx_error(type(exc).__name__) from None

        yield str(sheet.title), rows()
    finally:
        book.close()


def scan_table(path: Path, encoding: str | None = None) -> TableInfo:
    """Read the whole input once, streaming: its columns, row count, and every reason it cannot be read."""
    fmt = table_format(path)
    if fmt == ".xlsx":
        return _scan_xlsx(path)
    enc = resolve_encoding(path, encoding)
    if fmt == ".jsonl":
        keys: dict[str, None] = {}
        count = 0
        for record in _jsonl_records(path, enc):
            count += 1
            for key in record:
                if key not in keys:
                    keys[key] = None
        if not keys and count == 0:
            raise BadInputError("文件为空，没有任何记录", "the file is empty: no records")
        return TableInfo(path, fmt, tuple(keys), len(keys), count, enc)
    records = _csv_records(path, fmt, enc)
    header = next(records, None)
    if header is None:
        raise BadInputError("文件为空，没有表头", "the file is empty: no header row")
    if header:
        header[0] = header[0].lstrip("\ufeff")
    width, count = len(header), 0
    for row in records:
        count += 1
        if len(row) > width:
            width = max(width, _extra_width(row, len(header)))
    return TableInfo(path, fmt, _generated_names(header, width), len(header), count, enc)


def _scan_xlsx(path: Path) -> TableInfo:
    # Without data_only every cell that has a formula shows it: width and last row count them too.
    with _xlsx_rows(path, data_only=False) as (title, rows):
        first = next(rows, None)
        header = ["" if v is None else str(v) for v in (first or ())]
        width, last, formulas = len(header), 0, False
        for count, row in enumerate(rows, 1):
            if any(v not in (None, "") for v in row):
                last = count
            if len(row) > width:
                width = max(width, _extra_width(row, len(header)))
            formulas = formulas or any(isinstance(v, str) and v.startswith("=") for v in row)
        formulas = formulas or any(h.startswith("=") for h in header)
    if first is None or (not any(header) and last == 0):
        raise BadInputError("Excel 工作表为空，没有表头", "the Excel sheet is empty: no header row")
    return TableInfo(
        path, ".xlsx", _generated_names(header, width), len(header), last, None, title, has_formulas=formulas
    )


def _fit(row: Sequence[Any], width: int, fill: Any) -> list[Any]:
    cells = list(row[:width])
    if len(cells) < width:
        cells.extend([fill] * (width - len(cells)))
    return cells


def iter_rows(info: TableInfo) -> Iterator[list[Any]]:
    """The data rows of a scanned table, in order, each exactly `len(info.columns)` cells long.

    CSV/TSV cells are strings (empty for padding); XLSX cells keep their types (None when empty);
    JSONL cells are the objects' values, MISSING where an object lacks the key.
    """
    width = len(info.columns)
    if info.format == ".jsonl":
        assert info.encoding is not None
        for record in _jsonl_records(info.path, info.encoding):
            yield [record.get(key, MISSING) for key in info.columns]
    elif info.format == ".xlsx":
        yield from _iter_xlsx(info)
    else:
        assert info.encoding is not None
        records = _csv_records(info.path, info.format, info.encoding)
        next(records, None)
        for row in records:
            yield _fit(row, width, "")


def _iter_xlsx(info: TableInfo) -> Iterator[list[Any]]:
    width = len(info.columns)
    with contextlib.ExitStack() as stack:
        _, cached = stack.enter_context(_xlsx_rows(info.path, data_only=True))
        next(cached, None)
        if not info.has_formulas:
            for _, row in zip(range(info.rows), cached, strict=False):
                yield _fit(row, width, None)
            return
        # Cached values where the file has them, the formula's text where it has none.
        _, raw = stack.enter_context(_xlsx_rows(info.path, data_only=False))
        next(raw, None)
        for _, row, formulas in zip(range(info.rows), cached, raw, strict=False):
            values = _fit(row, width, None)
            for i, formula in enumerate(formulas[:width]):
                if values[i] is None and isinstance(formula, str) and formula.startswith("="):
                    values[i] = formula
            yield values


# ---------------------------------------------------------------- writing


def escape_formula(text: str) -> str:
    """Neutralise a cell a spreadsheet would run as a formula: prefix `'` when it starts with
    = + - @, a tab or a carriage return. Plain numbers such as -12.5 or +3 stay as they are: a
    spreadsheet reads them as numbers, never as formulas."""
    if text[:1] in _FORMULA_FIRST and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def _table_text(value: Any) -> str:
    """A cell as CSV/TSV text."""
    if type(value) is str:  # the common case, first
        return "'" + value if value[:1] in _FORMULA_FIRST and not _PLAIN_NUMBER.fullmatch(value) else value
    if value is None or value is MISSING:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return escape_formula(str(value))


def _xlsx_value(value: Any) -> Any:
    """A cell as an Excel value: numbers, booleans and dates keep their type; text is made safe."""
    if value is None or value is MISSING:
        return None
    if isinstance(value, bool | int | datetime | date | time):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False)
    return _XLSX_ILLEGAL.sub("\ufffd", escape_formula(str(value)))


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def unique_keys(columns: Sequence[str]) -> list[str]:
    """Column names made usable as JSON keys: empty names get their position, repeats a suffix."""
    keys: list[str] = []
    taken: set[str] = set()
    for position, name in enumerate(columns, 1):
        key = name or f"column_{position}"
        base, k = key, 2
        while key in taken:
            key, k = f"{base}_{k}", k + 1
        taken.add(key)
        keys.append(key)
    return keys


class TableWriter:
    """Writes rows to a temporary file; `commit()` moves it onto the target, `abort()` removes it.

    Use as a context manager: it commits when the block ends normally, aborts on any exception.
    """

    def __init__(self, target: Path, columns: Sequence[str], sheet_title: str | None = None) -> None:
        self.target = target
        self.format = table_format(target, role="output")
        self.columns = list(columns)
        self.rows = 0
        try:
            fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        except OSError as exc:
            raise BadInputError(
                f"无法在 {one_line(str(target.parent))} 写入输出文件：{exc.strerror}",
                f"cannot write the output file in {one_line(str(target.parent))}: {exc.strerror}",
            ) from None
        os.close(fd)
        self.tmp = Path(name)
        self._handle: IO[str] | None = None
        self._csv: Any = None
        self._book: Any = None
        self._sheet: Any = None
        self._keys: list[str] = []
        if self.format in (".csv", ".tsv"):
            # utf-8-sig: the BOM tells Excel the file is UTF-8
            self._handle = self.tmp.open("w", encoding="utf-8-sig", newline="")
            self._csv = csv.writer(self._handle, delimiter="\t" if self.format == ".tsv" else ",")
            self._csv.writerow([_table_text(c) for c in self.columns])
        elif self.format == ".jsonl":
            self._handle = self.tmp.open("w", encoding="utf-8", newline="\n")
            self._keys = unique_keys(self.columns)
        else:
            import openpyxl

            self._book = openpyxl.Workbook(write_only=True)
            self._sheet = self._book.create_sheet(sheet_title or "Sheet1")
            self._sheet.append([_xlsx_value(c) for c in self.columns])

    def write(self, row: Sequence[Any]) -> None:
        if self._csv is not None:
            self._csv.writerow([_table_text(v) for v in row])
        elif self._handle is not None:
            record = {k: v for k, v in zip(self._keys, row, strict=True) if v is not MISSING}
            self._handle.write(json.dumps(record, ensure_ascii=False, default=_json_default) + "\n")
        else:
            self._sheet.append([_xlsx_value(v) for v in row])
        self.rows += 1

    def commit(self) -> None:
        if self._handle is not None:
            self._handle.close()
        if self._book is not None:
            self._book.save(self.tmp)
        os.chmod(self.tmp, 0o644)  # mkstemp makes it private; the output is an ordinary file
        os.replace(self.tmp, self.target)

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            if self._handle is not None:
                self._handle.close()
        with contextlib.suppress(Exception):
            if self._book is not None:
                self._book.close()
        self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            self.abort()
            return
        try:
            self.commit()
        except OSError as error:
            self.abort()
            raise BuweiError(
                f"写入输出文件失败：{error.strerror}", f"writing the output file failed: {error.strerror}"
            ) from None


__all__ = [
    "FORMULA_PREFIXES",
    "MISSING",
    "SUPPORTED_SUFFIXES",
    "TableInfo",
    "TableWriter",
    "detect_encoding",
    "escape_formula",
    "iter_rows",
    "resolve_encoding",
    "scan_table",
    "table_format",
    "unique_keys",
]
