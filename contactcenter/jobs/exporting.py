"""Exports: what an app declares (Exporter) and how rows are streamed out.

A small selection streams straight into the HTTP response (stream_csv); a large one runs as a
job that writes a file (run_export). Both go through the same rows and the same formula guard,
so what a user downloads is the same either way. Memory stays bounded: rows come from a
server-side cursor in chunks, and XLSX is written with openpyxl's write-only workbook.

On PostgreSQL, a CSV job of an exporter whose columns are all text is written by the database
itself (COPY … TO STDOUT, see copy_csv): the formula guard is the same condition in SQL
(guarded_rows), and the file the same bytes as the rows written by Python's csv module.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import BinaryIO, ClassVar

from django.core.files import File
from django.db import connection, transaction
from django.db.models import Case, F, Q, QuerySet, TextField, Value, When
from django.db.models.functions import Cast, Coalesce, Concat, NullIf, Ord
from django.db.models.lookups import In, Regex
from django.utils import timezone, translation

from contactcenter.jobs.ahead import produced_ahead
from contactcenter.jobs.importing import FORMULA_TRIGGERS, claim, fail_unexpectedly, finish
from contactcenter.models import Job

# Whole value, ASCII digits: the same test in Python (fullmatch) and in SQL (guarded_rows).
E164 = re.compile(r"\+[1-9][0-9]{1,14}")
PROGRESS_EVERY = 10_000
CHUNK = 2_000


def neutralise(value: object, *, phone: bool = False) -> str:
    """A cell a spreadsheet could run as a formula gets a leading quote (OWASP CSV injection).

    A phone number in E.164 form (+33123456789) is left as it is when the column holds phones.
    """
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_TRIGGERS) and not (phone and E164.fullmatch(text)):
        return "'" + text
    return text


class Exporter:
    """Subclass per exportable entity, in the app's imports.py, and register it."""

    # Templates receive the class itself: they must read its attributes, not call it.
    do_not_call_in_templates = True

    target: ClassVar[str]
    verbose_name: ClassVar[str]
    permission: ClassVar[str]
    # (header, field path for values_list); header names match the importer's columns.
    fields: ClassVar[tuple[tuple[str, str], ...]]
    phone_columns: ClassVar[frozenset[str]] = frozenset()
    filename: ClassVar[str] = "export"
    # Every column is text, written as the database holds it (no number or date that Python
    # would format): PostgreSQL can then write the CSV of an export job itself (copy_csv).
    text_columns: ClassVar[bool] = False

    def __init__(self, tenant, options: dict):
        self.tenant = tenant
        self.options = options

    def queryset(self) -> QuerySet:
        """The rows to export, inside self.tenant, narrowed by self.options."""
        raise NotImplementedError

    def header(self) -> list[str]:
        return [header for header, _path in self.fields]

    def rows(self, *, guard: bool = True, ahead: bool = False) -> Iterator[list[str]]:
        """The rows as text; `guard` quotes what a spreadsheet would run as a formula (CSV).

        XLSX needs no quote: its cells are typed as strings, which Excel never evaluates.
        `ahead`: fetch the next chunks on a connection of their own while these are written
        (see _fetched_ahead); for exports big enough to be jobs.
        """
        paths = [path for _header, path in self.fields]
        phones = [header in self.phone_columns for header, _path in self.fields]
        selection = self.queryset().values_list(*paths)
        fetched = _fetched_ahead(selection) if ahead else selection.iterator(chunk_size=CHUNK)
        for values in fetched:
            if guard:
                # neutralise(), inlined: it runs for every cell of a million rows.
                row = []
                for value, phone in zip(values, phones, strict=True):
                    text = "" if value is None else value if type(value) is str else str(value)
                    if text.startswith(FORMULA_TRIGGERS) and not (phone and E164.fullmatch(text)):
                        text = "'" + text
                    row.append(text)
                yield row
            else:
                yield ["" if v is None else str(v) for v in values]

    def guarded_rows(self) -> QuerySet:
        """rows() as one query, for COPY: each column as text with the formula guard in SQL.

        An empty value comes out as NULL: COPY writes NULL as an empty cell, as Python's csv
        module writes "", but an empty string as "" (quoted).
        """
        columns = {
            f"_out_{i}": _guarded(path, phone=header in self.phone_columns)
            for i, (header, path) in enumerate(self.fields)
        }
        return self.queryset().annotate(**columns).values_list(*columns)


def _guarded(path: str, *, phone: bool) -> NullIf:
    """neutralise() of the column `path`, as a SQL expression."""
    empty = Value("", output_field=TextField())
    text = Coalesce(Cast(F(path), TextField()), empty)
    # The first character's code (0 for ""): cheaper than comparing a substring, per cell.
    risky = Q(In(Ord(text), [ord(trigger) for trigger in FORMULA_TRIGGERS]))
    if phone:
        risky &= ~Q(Regex(text, f"^{E164.pattern}$"))
    quote = Value("'", output_field=TextField())
    quoted = Case(When(risky, then=Concat(quote, text)), default=text, output_field=TextField())
    return NullIf(quoted, empty)


def _fetched_ahead(selection: QuerySet, depth: int = 4) -> Iterator[tuple]:
    """The rows of `selection`, read by a thread on its own connection while these are used.

    The database walks the rows (an index in name order, say) while this thread formats and
    writes the previous chunks: on two cores the two overlap instead of taking turns. Another
    connection sees only committed rows, so inside a transaction (a test's, say) the rows
    are read here, on this one. At most `depth` chunks wait, so memory stays bounded.
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield from selection.iterator(chunk_size=CHUNK)
        return

    def fetched() -> Iterator[list[tuple]]:
        try:
            # In a transaction, the server-side cursor is a plain one; in autocommit Django
            # declares it WITH HOLD, which makes PostgreSQL compute the whole result first.
            with _whole_result_cursor(), transaction.atomic():
                chunk = []
                for values in selection.iterator(chunk_size=CHUNK):
                    chunk.append(values)
                    if len(chunk) >= CHUNK:
                        yield chunk
                        chunk = []
                if chunk:
                    yield chunk
        finally:
            connection.close()  # the thread's own connection

    for chunk in produced_ahead(fetched, name="export-fetch-ahead", depth=depth):
        yield from chunk


class _Echo:
    def write(self, value: str) -> str:
        return value


def stream_csv(exporter: Exporter, delimiter: str = ",") -> Iterator[str]:
    """CSV lines for a StreamingHttpResponse: a BOM (so Excel reads UTF-8), header, rows."""
    writer = csv.writer(_Echo(), delimiter=delimiter, lineterminator="\r\n")
    yield "\ufeff"
    yield writer.writerow(exporter.header())
    with _whole_result_cursor():
        for row in exporter.rows():
            yield writer.writerow(row)


@contextmanager
def _whole_result_cursor() -> Iterator[None]:
    """Plan server-side cursors for the whole result, not the first rows (PERFORMANCE.md).

    Session-wide rather than SET LOCAL: a transaction around the export would hide its
    progress updates from the job page until the very end.
    """
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET cursor_tuple_fraction = 1")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET cursor_tuple_fraction")


def write_csv(
    path: str, header: list[str], rows: Iterable[list[str]], delimiter: str, progress
) -> int:
    count = 0
    with open(path, "w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.writer(stream, delimiter=delimiter, lineterminator="\r\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            count += 1
            if count % PROGRESS_EVERY == 0:
                progress(count)
    return count


def copy_csv(exporter: Exporter, stream: BinaryIO, delimiter: str, progress) -> int:
    """The rows of a text-only exporter into `stream` by PostgreSQL's COPY; how many.

    The COPY runs on a connection of its own, in a thread (as _fetched_ahead): this one must
    stay free for the progress updates, which a connection busy with a COPY cannot send.
    Inside a transaction (a test's) its rows are only visible here, so the COPY runs here and
    the progress is left for the end.
    """
    sql, params = exporter.guarded_rows().query.sql_with_params()
    statement = f"COPY ({sql}) TO STDOUT (FORMAT csv, DELIMITER %s)"
    params = [*params, delimiter]
    here = connection.in_atomic_block

    def copied() -> Iterator[tuple[int, bytes]]:
        try:
            yield from _copied_blocks(statement, params)
        finally:
            connection.close()  # the thread's own connection

    blocks = (
        _copied_blocks(statement, params)
        if here
        else produced_ahead(copied, name="export-copy-ahead", depth=4)
    )
    count = 0
    for rows, data in blocks:
        stream.write(data)
        count += rows
        if not here:
            progress(count)
    return count


def _copied_blocks(statement: str, params: list) -> Iterator[tuple[int, bytes]]:
    """(rows, their CSV lines) by blocks of PROGRESS_EVERY rows, as COPY sends them.

    COPY sends one message a row, ending in "\n": Python's csv module ends rows "\r\n",
    which is put back here a block at a time (in the block's bytes when no cell holds a line
    break of its own, the common case; row by row otherwise).
    """
    with transaction.atomic(), connection.cursor() as cursor:
        # A COPY reads its whole selection: walking an index for its order costs a random
        # heap page a row (1M contacts by the name key: 7 s of the server's CPU, against 5 s
        # for a sequential read and a sort). Index-only and bitmap scans stay allowed.
        cursor.execute("SET LOCAL enable_indexscan = off")
        with cursor.cursor.copy(statement, params) as copy:
            block: list = []
            for row in copy:
                block.append(row)
                if len(block) == PROGRESS_EVERY:
                    yield len(block), _crlf(block)
                    block = []
            if block:
                yield len(block), _crlf(block)


def _crlf(rows: list) -> bytes:
    data = b"".join(rows)
    if data.count(b"\n") == len(rows):
        return data.replace(b"\n", b"\r\n")
    return b"".join(bytes(row)[:-1] + b"\r\n" for row in rows)


def _copied_csv(path: str, exporter: Exporter, delimiter: str, progress) -> int:
    """write_csv()'s file, its rows written by copy_csv: the same BOM and header first."""
    header = io.StringIO()
    csv.writer(header, delimiter=delimiter, lineterminator="\r\n").writerow(exporter.header())
    with open(path, "wb") as stream:
        stream.write(("\ufeff" + header.getvalue()).encode())
        return copy_csv(exporter, stream, delimiter, progress)


def write_xlsx(path: str, header: list[str], rows: Iterable[list[str]], progress) -> int:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(header)
    count = 0
    for row in rows:
        cells = []
        for value in row:
            # Strings stay strings: openpyxl would otherwise read "=…" as a formula.
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"
            cells.append(cell)
        sheet.append(cells)
        count += 1
        if count % PROGRESS_EVERY == 0:
            progress(count)
    workbook.save(path)
    return count


def xlsx_bytes(exporter: Exporter) -> bytes:
    """A small selection as an XLSX file in memory (large ones go through an export job)."""
    buffer = io.BytesIO()
    write_xlsx(buffer, exporter.header(), exporter.rows(guard=False), lambda _count: None)
    return buffer.getvalue()


class _Written(File):
    """The file an export wrote: a storage on the same file system moves it (Django's
    FileSystemStorage does so for files that have a temporary path) instead of copying it,
    which for 1M contacts was another 100 MB read and written."""

    def temporary_file_path(self) -> str:
        return self.file.name


def run_export(job_id: str) -> None:
    job = claim(job_id)
    if job is None:
        return
    with translation.override(job.options.get("language") or None):
        try:
            _export(job)
        except Exception as exc:
            fail_unexpectedly(job, exc)


def _export(job: Job) -> None:
    from contactcenter import registry

    exporter = registry.exporters[job.target](job.tenant, job.options)
    fmt = job.options.get("format", "csv")
    Job.objects.filter(pk=job.pk).update(total=exporter.queryset().count(), processed=0)

    def progress(count: int) -> None:
        Job.objects.filter(pk=job.pk).update(processed=count)

    # A re-delivered export starts again from nothing: the file is rewritten whole.
    fd, tmp = tempfile.mkstemp(suffix=f".{fmt}")
    os.close(fd)
    try:
        delimiter = job.options.get("delimiter", ",")
        with _whole_result_cursor():
            if fmt == "xlsx":
                rows = exporter.rows(guard=False, ahead=True)
                count = write_xlsx(tmp, exporter.header(), rows, progress)
            elif exporter.text_columns and connection.vendor == "postgresql":
                count = _copied_csv(tmp, exporter, delimiter, progress)
            else:
                rows = exporter.rows(ahead=True)
                count = write_csv(tmp, exporter.header(), rows, delimiter, progress)
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        name = f"{exporter.filename}-{stamp}.{fmt}"
        with open(tmp, "rb") as stream:
            job.result_file.save(name, _Written(stream), save=False)
    finally:
        # Moved into the storage, unless the storage copied it.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    Job.objects.filter(pk=job.pk).update(
        result_file=job.result_file.name, processed=count, total=count
    )
    job.original_name = job.original_name or name
    Job.objects.filter(pk=job.pk).update(original_name=job.original_name)
    finish(job, Job.Status.SUCCEEDED)
