"""Exports: what an app declares (Exporter) and how rows are streamed out.

A small selection streams straight into the HTTP response (stream_csv); a large one runs as a
job that writes a file (run_export). Both go through the same rows and the same formula guard,
so what a user downloads is the same either way. Memory stays bounded: rows come from a
server-side cursor in chunks, and XLSX is written with openpyxl's write-only workbook.
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import ClassVar

from django.core.files import File
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone, translation

from contactcenter.jobs.ahead import produced_ahead
from contactcenter.jobs.importing import FORMULA_TRIGGERS, claim, fail_unexpectedly, finish
from contactcenter.models import Job

E164 = re.compile(r"^\+[1-9]\d{1,14}$")
PROGRESS_EVERY = 10_000
CHUNK = 2_000


def neutralise(value: object, *, phone: bool = False) -> str:
    """A cell a spreadsheet could run as a formula gets a leading quote (OWASP CSV injection).

    A phone number in E.164 form (+33123456789) is left as it is when the column holds phones.
    """
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_TRIGGERS) and not (phone and E164.match(text)):
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
                    if text.startswith(FORMULA_TRIGGERS) and not (phone and E164.match(text)):
                        text = "'" + text
                    row.append(text)
                yield row
            else:
                yield ["" if v is None else str(v) for v in values]


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
        with _whole_result_cursor():
            if fmt == "xlsx":
                rows = exporter.rows(guard=False, ahead=True)
                count = write_xlsx(tmp, exporter.header(), rows, progress)
            else:
                count = write_csv(
                    tmp,
                    exporter.header(),
                    exporter.rows(ahead=True),
                    job.options.get("delimiter", ","),
                    progress,
                )
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        name = f"{exporter.filename}-{stamp}.{fmt}"
        with open(tmp, "rb") as stream:
            job.result_file.save(name, File(stream), save=False)
    finally:
        os.unlink(tmp)
    Job.objects.filter(pk=job.pk).update(
        result_file=job.result_file.name, processed=count, total=count
    )
    job.original_name = job.original_name or name
    Job.objects.filter(pk=job.pk).update(original_name=job.original_name)
    finish(job, Job.Status.SUCCEEDED)
