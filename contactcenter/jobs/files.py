"""Reading import files: CSV (UTF-8 with or without BOM, UTF-16 with BOM, Windows-1252;
`,` `;` or tab) and XLSX (openpyxl read-only, behind zip-bomb and DTD checks).

Three steps, each raising FileRejected with a message a supervisor can act on:
- inspect(): in the request, from the head of the file: format, separator, header, one data row.
  A file without a header row is read only when the importer recognises its first row as data
  (Importer.header_for_bare_file) and gives the header to read it with.
- scan(): in the worker, before anything is written: the whole file decodes, every row has the
  header's shape, the row cap holds. It also counts the rows for the progress bar.
- rows(): the data rows with their spreadsheet line numbers (the header is line 1).
"""

from __future__ import annotations

import codecs
import csv
import datetime
import io
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import IO

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

HEAD_BYTES = 64 * 1024
DELIMITERS = (";", ",", "\t")
XLSX_MAGIC = b"PK\x03\x04"
XLS_MAGIC = b"\xd0\xcf\x11\xe0"
# How many structural problems are listed before the scan gives up.
MAX_LISTED_PROBLEMS = 1000


class FileRejected(Exception):
    """The file cannot be imported; `message` says why in words the user can act on."""

    def __init__(self, message: str, problems: list[Problem] | None = None):
        super().__init__(message)
        self.message = message
        self.problems = problems or []


@dataclass
class Problem:
    line: int
    values: list[str]
    reason: str


@dataclass
class Table:
    """What inspect() learnt about a file; stored in the job's options as a dict."""

    format: str  # "csv" or "xlsx"
    header: list[str]
    encoding: str = ""
    delimiter: str = ""
    # False: the first row is data and `header` came from the importer.
    has_header: bool = True

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class ScanResult:
    rows: int
    encoding: str
    problems: list[Problem] = field(default_factory=list)


# --- format and encoding -------------------------------------------------------------------


def _format_of(head: bytes, name: str) -> str:
    if not head:
        raise FileRejected(_("The file is empty."))
    if head.startswith(XLS_MAGIC):
        raise FileRejected(
            _("Old Excel .xls files are not supported: save the file as .xlsx or CSV.")
        )
    if head.startswith(XLSX_MAGIC):
        return "xlsx"
    if name.lower().endswith((".xlsx", ".xlsm")):
        raise FileRejected(_("The file is named .xlsx but is not an Excel workbook."))
    return "csv"


def _encoding_from_head(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in head:
        raise FileRejected(
            _(
                "The file is not readable text (it contains NUL bytes): save it as CSV UTF-8 "
                "or as an Excel workbook."
            )
        )
    try:
        # The head may end in the middle of a character: a final incomplete sequence is fine.
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        return "cp1252"


def _sniff_delimiter(header_line: str) -> str:
    counts = {d: _count_outside_quotes(header_line, d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _count_outside_quotes(line: str, char: str) -> int:
    return sum(part.count(char) for part in line.split('"')[::2])


def _clean_header(raw: list[str]) -> list[str]:
    header = [cell.strip().lstrip("\ufeff").strip() for cell in raw]
    while header and not header[-1]:
        header.pop()
    if not header:
        raise FileRejected(_("The first row of the file is empty: it must hold the column names."))
    if len(header) > settings.JOBS_MAX_COLUMNS:
        raise FileRejected(
            _("The file has %(count)d columns; at most %(max)d are accepted.")
            % {"count": len(header), "max": settings.JOBS_MAX_COLUMNS}
        )
    seen: set[str] = set()
    for position, name in enumerate(header, start=1):
        if not name:
            raise FileRejected(_("Column %(n)d has no name in the header row.") % {"n": position})
        if name.casefold() in seen:
            raise FileRejected(_("The column “%(name)s” appears twice.") % {"name": name})
        seen.add(name.casefold())
    return header


# --- inspect: in the request -----------------------------------------------------------------


# Given a file's first row, the header to read it with if that row is data; None if it is the header.
BareHeader = Callable[[list[str]], list[str] | None]


def inspect(
    fileobj: IO[bytes], name: str, size: int, bare_header: BareHeader | None = None
) -> Table:
    """Check an upload before any job exists; the file object is left at position 0."""
    if size > settings.MAX_IMPORT_FILE_BYTES:
        raise FileRejected(
            _("The file is %(size)s; the limit is %(max)s.")
            % {
                "size": filesizeformat(size),
                "max": filesizeformat(settings.MAX_IMPORT_FILE_BYTES),
            }
        )
    fileobj.seek(0)
    head = fileobj.read(HEAD_BYTES)
    fileobj.seek(0)
    fmt = _format_of(head, name)
    if fmt == "xlsx":
        table = _inspect_xlsx(fileobj, bare_header)
    else:
        table = _inspect_csv(head, size <= HEAD_BYTES, bare_header)
    fileobj.seek(0)
    return table


def _header(first: list[str], bare_header: BareHeader | None) -> tuple[list[str], bool]:
    """(header, whether the file has a header row) from the file's first row."""
    cells = [cell.strip().lstrip("\ufeff").strip() for cell in first]
    while cells and not cells[-1]:
        cells.pop()
    bare = bare_header(cells) if bare_header and cells else None
    return (bare, False) if bare else (_clean_header(first), True)


def _inspect_csv(head: bytes, whole: bool, bare_header: BareHeader | None = None) -> Table:
    encoding = _encoding_from_head(head)
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(head, final=whole)
    if not text.strip("\ufeff \r\n\t"):
        raise FileRejected(_("The file is empty."))
    first_line = text.lstrip("\ufeff").splitlines()[0] if text.strip() else ""
    delimiter = _sniff_delimiter(first_line)
    records = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=delimiter)
    first = next(records, [])
    header, has_header = _header(first, bare_header)
    complete = list(records)
    # The last record of a partial head may be cut in two: only trust it when the head is whole.
    if not whole:
        complete = complete[:-1]
    if whole and has_header and not any(_has_value(r) for r in complete):
        raise FileRejected(_("The file has a header row but no data rows."))
    return Table(
        format="csv",
        header=header,
        encoding=encoding,
        delimiter=delimiter,
        has_header=has_header,
    )


def _has_value(values: list[str]) -> bool:
    # Some cell holds more than white space: one join and one strip, both in C (this runs
    # twice for every row of an import, in scan() and in rows()).
    return bool("".join(values).strip())


# --- XLSX safety -----------------------------------------------------------------------------

_ROOT_START = re.compile(rb"<[A-Za-z_]")
_DTD = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)
PROLOG_MAX_BYTES = 1024 * 1024


def _check_zip(fileobj: IO[bytes]) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(fileobj)
    except zipfile.BadZipFile:
        raise FileRejected(
            _("The Excel file is damaged: it cannot be opened as a workbook.")
        ) from None
    members = archive.infolist()
    expanded = sum(m.file_size for m in members)
    if expanded > settings.JOBS_XLSX_MAX_UNCOMPRESSED_BYTES:
        raise FileRejected(
            _("The workbook expands to %(size)s; at most %(max)s are accepted.")
            % {
                "size": filesizeformat(expanded),
                "max": filesizeformat(settings.JOBS_XLSX_MAX_UNCOMPRESSED_BYTES),
            }
        )
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > 1024 * 1024 and ratio > settings.JOBS_XLSX_MAX_RATIO:
            raise FileRejected(
                _("The workbook is compressed suspiciously well (%(ratio)d to 1): it is refused.")
                % {"ratio": ratio}
            )
    for member in members:
        if member.filename.endswith((".xml", ".rels", ".vml")):
            _check_xml_prolog(archive, member)
    return archive


def _check_xml_prolog(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> None:
    """Refuse any document type declaration: XLSX never needs one, XML attacks always do."""
    seen = b""
    with archive.open(member) as stream:
        while len(seen) < PROLOG_MAX_BYTES:
            chunk = stream.read(16 * 1024)
            if not chunk:
                return
            seen += chunk
            root = _ROOT_START.search(seen)
            prolog = seen[: root.start()] if root else seen
            if _DTD.search(prolog):
                raise FileRejected(
                    _(
                        "The workbook contains an XML document type declaration (DTD): it is refused."
                    )
                )
            if root:
                return
    raise FileRejected(_("The Excel file is damaged: it cannot be opened as a workbook."))


def _open_sheet(fileobj: IO[bytes]):
    import openpyxl

    _check_zip(fileobj)
    fileobj.seek(0)
    try:
        workbook = openpyxl.load_workbook(fileobj, read_only=True, data_only=True)
    except Exception:
        raise FileRejected(
            _("The Excel file is damaged: it cannot be opened as a workbook.")
        ) from None
    if not workbook.worksheets:
        raise FileRejected(_("The workbook has no sheet."))
    return workbook, workbook.worksheets[0]


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime):
        # Excel has no date type: a date cell reads as midnight, yet the sheet shows a date.
        if value.time() == datetime.time():
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value)


def _xlsx_records(fileobj: IO[bytes]) -> Iterator[list[str]]:
    workbook, sheet = _open_sheet(fileobj)
    try:
        for row in sheet.iter_rows(values_only=True):
            yield [_cell_text(v) for v in row]
    except FileRejected:
        raise
    except Exception:
        raise FileRejected(_("The Excel file is damaged: it cannot be read to the end.")) from None
    finally:
        workbook.close()


def _inspect_xlsx(fileobj: IO[bytes], bare_header: BareHeader | None = None) -> Table:
    records = _xlsx_records(fileobj)
    header, has_header = _header(next(records, []), bare_header)
    if has_header and not any(_has_value(r) for r, _i in zip(records, range(1000), strict=False)):
        raise FileRejected(_("The file has a header row but no data rows."))
    records.close()
    return Table(format="xlsx", header=header, has_header=has_header)


# --- scan and rows: in the worker ------------------------------------------------------------


def _csv_records(path: str, table: Table, encoding: str) -> Iterator[list[str]]:
    with open(path, encoding=encoding, newline="") as stream:
        yield from csv.reader(stream, delimiter=table.delimiter)


def _records(path: str, table: Table, encoding: str | None = None) -> Iterator[list[str]]:
    if table.format == "xlsx":
        # A sheet need not store a row's trailing empty cells: a short row is not a ragged one.
        width = len(table.header)
        with open(path, "rb") as stream:
            for values in _xlsx_records(stream):
                yield values + [""] * (width - len(values))
    else:
        yield from _csv_records(path, table, encoding or table.encoding)


def _undecodable_line(path: str, encoding: str) -> int:
    """The line of the first byte `encoding` cannot read.

    A text stream's UnicodeDecodeError only knows its place in the chunk it was decoding, so
    the file is decoded again here, counting lines as it goes.
    """
    decoder = codecs.getincrementaldecoder(encoding)()
    line = 1
    with open(path, "rb") as stream:
        try:
            for chunk in iter(lambda: stream.read(1024 * 1024), b""):
                line += decoder.decode(chunk).count("\n")
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            line += exc.object.count(b"\n", 0, exc.start)
    return line


def _decoding_error(path: str, encoding: str, exc: UnicodeDecodeError) -> FileRejected:
    line = _undecodable_line(path, encoding)
    return FileRejected(
        _(
            "Line %(line)d cannot be read: byte 0x%(byte)02X is neither UTF-8 nor Windows-1252. "
            "Save the file as “CSV UTF-8” and import it again."
        )
        % {"line": line, "byte": exc.object[exc.start]}
    )


def _utf8_or_cp1252(path: str) -> str:
    """The head read as UTF-8; the rest may not (an accent on line 50,000 of a cp1252 file).

    Falling back to Windows-1252 is right only while no UTF-8 accent has been read: a file that
    has both is two files pasted together, and either reading would garble half of it.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    accented = False
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1024 * 1024), b""):
            try:
                accented = not decoder.decode(chunk).isascii() or accented
            except UnicodeDecodeError as exc:
                if accented or not chunk[: exc.start].isascii():
                    raise FileRejected(
                        _(
                            "Line %(line)d is not UTF-8 although earlier lines are: the file mixes "
                            "two encodings. Save the whole file again as “CSV UTF-8” and import it again."
                        )
                        % {"line": _undecodable_line(path, "utf-8")}
                    ) from None
                return "cp1252"
    return "utf-8"


def scan(path: str, table: Table, max_rows: int | None = None) -> ScanResult:
    """Read the whole file once before any write; raise FileRejected on any structural fault."""
    max_rows = max_rows or settings.JOBS_MAX_ROWS
    encoding = table.encoding
    if table.format == "csv" and encoding == "utf-8":
        encoding = _utf8_or_cp1252(path)
    width = len(table.header)
    count, problems = 0, []
    try:
        for line, values in _data_rows(path, table, encoding):
            count += 1
            if count > max_rows:
                raise FileRejected(
                    _(
                        "The file has more than %(max)s rows; split it into files of at most %(max)s rows."
                    )
                    % {"max": f"{max_rows:,}".replace(",", "\u202f")}
                )
            if (
                len(values) != width
                and _is_ragged(values, width)
                and len(problems) < MAX_LISTED_PROBLEMS
            ):
                problems.append(Problem(line, values, _ragged_reason(len(values), width)))
    except UnicodeDecodeError as exc:
        raise _decoding_error(path, encoding, exc) from None
    except csv.Error as exc:
        raise FileRejected(_("The CSV file is malformed: %(error)s.") % {"error": exc}) from None
    if problems:
        raise FileRejected(
            ngettext(
                "%(count)d row does not have the header's %(width)d columns (first: line %(line)d); "
                "nothing was imported. Check for an unquoted separator in a value.",
                "%(count)d rows do not have the header's %(width)d columns (first: line %(line)d); "
                "nothing was imported. Check for an unquoted separator in a value.",
                len(problems),
            )
            % {"count": len(problems), "width": width, "line": problems[0].line},
            problems,
        )
    return ScanResult(rows=count, encoding=encoding)


def _is_ragged(values: list[str], width: int) -> bool:
    # Extra empty cells (Excel's trailing ";;") are harmless; extra values or missing cells are not.
    return len(values) < width or _has_value(values[width:])


def _ragged_reason(got: int, width: int) -> str:
    return ngettext(
        "this row has %(got)d value where the header has %(width)d columns",
        "this row has %(got)d values where the header has %(width)d columns",
        got,
    ) % {"got": got, "width": width}


def _numbered(
    records: Iterator[list[str]], has_header: bool = True
) -> Iterator[tuple[int, list[str]]]:
    """Data rows with their line numbers (a header is line 1); blank rows are skipped."""
    if has_header:
        next(records, None)
    for line, values in enumerate(records, start=2 if has_header else 1):
        if _has_value(values):
            yield line, values


def _data_rows(
    path: str, table: Table, encoding: str | None = None
) -> Iterator[tuple[int, list[str]]]:
    """_numbered(_records()): for CSV in one generator, as a million rows go through it."""
    if table.format != "csv":
        yield from _numbered(_records(path, table, encoding), table.has_header)
        return
    with open(path, encoding=encoding or table.encoding, newline="") as stream:
        reader = csv.reader(stream, delimiter=table.delimiter)
        if table.has_header:
            next(reader, None)
        for line, values in enumerate(reader, start=2 if table.has_header else 1):
            if "".join(values).strip():  # _has_value(), inlined
                yield line, values


def rows(path: str, table: Table, skip: int = 0) -> Iterator[tuple[int, list[str]]]:
    """Data rows as (line, values cut to the header's width), after the first `skip` rows.

    Call scan() first: it is what guarantees every row has the header's shape.
    """
    width = len(table.header)
    numbered = _data_rows(path, table)
    for _skipped in zip(range(skip), numbered, strict=False):
        pass
    for line, values in numbered:
        yield line, values if len(values) == width else values[:width]
