"""Imports: what an app declares (Importer) and how the worker runs it (run_import).

Exactly-once by checkpoint: every batch is written in one transaction together with the job's
counters, its rejected rows and `processed`, the number of data rows consumed. A task handed out
again after its worker died resumes after the last committed batch, so a re-delivered job ends
in the same state as one clean run. The job row is locked for each commit, so two deliveries
running at once cannot both write a batch.

Two batches at once, committed in file order: on PostgreSQL an importer that declares
writes_in_parallel has two batches written at a time, each in its own transaction on its own
connection (the database's work then uses both cores while the check-ahead thread waits for
room). A batch's transaction takes its turn to lock the job and commit only once the batch
before it has committed, so `processed` still only ever grows by whole batches in file order.
"""

from __future__ import annotations

import csv
import gc
import io
import json
import logging
import math
import threading
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from json.encoder import encode_basestring
from typing import TYPE_CHECKING, ClassVar

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from psycopg.errors import DeadlockDetected, LockNotAvailable, UniqueViolation

from contactcenter.jobs import files
from contactcenter.jobs.ahead import produced_ahead
from contactcenter.models import Job, JobRejection
from contactcenter.notifications import notify_job_finished

if TYPE_CHECKING:
    from django import forms

log = logging.getLogger(__name__)

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    """One column of an import file, its template and its export."""

    name: str
    required: bool = False
    max_length: int | None = None
    help_text: str = ""
    # Other header names read as this column, whatever their case (e.g. Bloctel's "numero").
    aliases: tuple[str, ...] = ()


class RowInvalid(Exception):
    """Raised by Importer.clean_row with (column, message) pairs."""

    def __init__(self, errors: list[tuple[str, str]]):
        super().__init__(errors)
        self.errors = errors


@dataclass
class BatchResult:
    created: int = 0
    updated: int = 0
    # (line, reason) of rows the database turned down (a name that already exists, say).
    rejected: list[tuple[int, str]] = field(default_factory=list)
    # Rows turned down whose JobRejection rows write_batch wrote itself, in its own statement.
    rejected_written: int = 0


class Importer:
    """Subclass per importable entity, in the app's imports.py, and register it."""

    # Templates receive the class itself: they must read its attributes, not call it.
    do_not_call_in_templates = True

    target: ClassVar[str]
    verbose_name: ClassVar[str]
    permission: ClassVar[str]
    columns: ClassVar[tuple[Column, ...]]
    batch_size: ClassVar[int] = 5000
    # Who may remove what an import created ("undo this import"); None: not undoable.
    undo_permission: ClassVar[str | None] = None
    # Choices the upload page asks for beside the file (the list to import into, say): a Form
    # class taking `tenant` and `user` (who uploads: what they may choose) keywords. Its
    # cleaned_data must be JSON (ids, not objects); the job keeps it as options["params"]. The
    # importer must look ids up in its tenant again, and check again what the user may do.
    options_form: ClassVar[type[forms.Form] | None] = None
    # What the upload page says about the file, when the engine's general words do not fit.
    help_text: ClassVar[str] = ""
    # Set (to what they become, e.g. "custom fields") to keep the file's other columns: they
    # reach clean_row under their own header names instead of being ignored.
    other_columns_kept_as: ClassVar[str | None] = None
    # True when clean_row never touches the database (nor anything shared): the engine then
    # checks the next batches in a thread while it writes this one (settings.JOBS_CHECK_AHEAD).
    checks_ahead: ClassVar[bool] = False
    # True when two batches may be written at once, on two connections (PostgreSQL,
    # settings.JOBS_PARALLEL_WRITES): write_batch then runs in two threads, stage_batch one
    # batch at a time in file order. The prepared batches must have a `keys` attribute, the
    # set of what the importer's unique constraint compares (the Contact IDs, say): a batch
    # that shares a key with the one before it is written only once that one has committed.
    writes_in_parallel: ClassVar[bool] = False

    def __init__(self, job: Job | None, tenant=None):
        """An import job's importer; or, with job None, the same rules for one tenant (admin)."""
        self.job = job
        self.tenant = tenant or job.tenant

    @classmethod
    def column_names(cls) -> list[str]:
        return [c.name for c in cls.columns]

    @classmethod
    def template_csv(cls) -> str:
        out = io.StringIO()
        csv.writer(out, lineterminator="\r\n").writerow(cls.column_names())
        return out.getvalue()

    @classmethod
    def map_header(cls, header: list[str]) -> tuple[dict[str, int], list[str], list[str]]:
        """Match file columns to ours (or their aliases), case-insensitively and in any order.

        Returns (our column name → position in the file, missing required columns, unknown
        file columns). An importer that keeps other columns finds them in the positions too,
        under their own names.
        """
        ours = {c.name.casefold(): c.name for c in cls.columns}
        aliases = {alias.casefold(): c.name for c in cls.columns for alias in c.aliases}
        positions: dict[str, int] = {}
        unknown = []
        for i, name in enumerate(header):
            key = name.casefold()
            if key in ours:
                positions[ours[key]] = i
            elif key in aliases:
                # A column under its own name wins over one under an alias.
                positions.setdefault(aliases[key], i)
            else:
                unknown.append(name)
                if cls.other_columns_kept_as:
                    positions[name] = i
        missing = [c.name for c in cls.columns if c.required and c.name not in positions]
        return positions, missing, unknown

    @classmethod
    def header_for_bare_file(cls, first_row: list[str]) -> list[str] | None:
        """The header to read a file that has none with, judged from its first row.

        None (the default): the first row is the header. An importer whose files often come
        without one (a list of numbers, say) returns its column names when the row holds values.
        """
        return None

    def clean_row(self, values: dict[str, str]) -> object:
        """Validate and normalise one row; raise RowInvalid. Lengths and blanks are checked first."""
        raise NotImplementedError

    def prepare_batch(
        self, rows: list[tuple[int, object]], cells: dict[int, list[str]] | None = None
    ) -> object:
        """What write_batch receives for a batch's valid rows; by default the rows themselves.

        `cells`: line → the file's values, which an importer that writes the rejections of
        its refused rows itself needs (BatchResult.rejected_written).

        Runs where the rows are checked: in the check-ahead thread for importers that check
        ahead, so it must not touch the database either. Work done here (formatting the rows
        for COPY, say) is off the thread that waits on the database.
        """
        return rows

    def stage_batch(self, rows: object) -> None:
        """Called in the batch's transaction just before write_batch, for one batch at a time
        in file order even when two are written at once: where a batch takes what must follow
        the file's order (ids from a sequence, say). `rows` is what prepare_batch made."""

    def write_batch(self, rows: list[tuple[int, object]]) -> BatchResult:
        """Write valid rows with set-based SQL, marking each created row with self.job.

        `rows` is what prepare_batch made of them.
        """
        raise NotImplementedError

    def after_run(self) -> None:
        """Called once a delivery of the job has stopped, whatever its outcome (the rows of
        finished batches are committed): follow-up work, such as indexing what was written."""

    def undo_count(self) -> int:
        """How many rows undo() would remove: those this job created that still exist."""
        raise NotImplementedError

    def undo(self) -> int:
        """Remove the rows this job created, and only those; return how many."""
        raise NotImplementedError


def _cell(raw: str) -> str:
    value = raw.strip()
    # Undo our own export's formula guard, so that an export re-imports as it was.
    if value.startswith("'") and value[1:2] in FORMULA_TRIGGERS:
        return value[1:]
    return value


class RowChecker:
    """check_row() for one file: the column plan is worked out once, not for every row.

    An import of a million rows calls it a million times; the generic checks must cost little
    beside the app's own clean_row.
    """

    def __init__(self, importer: Importer, positions: dict[str, int]):
        self.clean_row = importer.clean_row
        ours = {c.name for c in importer.columns}
        self.plan = [
            (c.name, positions.get(c.name), c.required, c.max_length) for c in importer.columns
        ]
        # The file's other columns, when the importer keeps them (Importer.other_columns_kept_as).
        self.others = [(name, i) for name, i in positions.items() if name not in ours]

    def __call__(self, values: list[str]) -> object:
        row: dict[str, str] = {}
        errors: list[tuple[str, str]] = []
        for name, i, required, max_length in self.plan:
            if i is None:
                value = ""
            else:
                # _cell(), inlined: this line runs for every cell of the file.
                value = values[i].strip()
                if value[:1] == "'" and value[1:2] in FORMULA_TRIGGERS:
                    value = value[1:]
            row[name] = value
            if not value:
                if required:
                    errors.append((name, _("a value is required")))
            elif max_length and len(value) > max_length:
                errors.append(
                    (
                        name,
                        _("%(length)d characters, at most %(max)d")
                        % {"length": len(value), "max": max_length},
                    )
                )
        for name, i in self.others:
            row[name] = _cell(values[i])
        try:
            cleaned = self.clean_row(row)
        except RowInvalid as exc:
            # Report every fault of the row at once, not the length faults alone.
            seen = {column for column, _m in errors}
            errors += [error for error in exc.errors if error[0] not in seen]
        if errors:
            raise RowInvalid(errors)
        return cleaned


def check_row(importer: Importer, positions: dict[str, int], values: list[str]) -> object:
    """The engine's generic checks (required, length), then the app's clean_row."""
    return RowChecker(importer, positions)(values)


def format_errors(errors: list[tuple[str, str]]) -> str:
    return "; ".join(_("%(column)s: %(message)s") % {"column": c, "message": m} for c, m in errors)


# --- the worker side -------------------------------------------------------------------------


def claim(job_id: str) -> Job | None:
    """Mark the job running for this delivery; None when there is nothing (left) to do."""
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.is_final:
            return None
        job.status = Job.Status.RUNNING
        job.attempts += 1
        job.started_at = job.started_at or timezone.now()
        job.save(update_fields=["status", "attempts", "started_at"])
        return job


def finish(job: Job, status: str, message: str = "") -> None:
    """Close the job (unless it was cancelled meanwhile) and tell the requester.

    One transaction for both: a worker that dies in between leaves the job running, and the
    re-delivered task closes it and tells the requester, once.
    """
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job.pk)
        if locked.status != Job.Status.CANCELLED:
            locked.status = status
        locked.message = message or locked.message
        locked.finished_at = timezone.now()
        locked.save(update_fields=["status", "message", "finished_at"])
        job.refresh_from_db()
        notify_job_finished(job)


def fail_unexpectedly(job: Job, exc: BaseException) -> None:
    if isinstance(exc, SoftTimeLimitExceeded):
        message = _("The job took too long and was stopped. Rows saved so far are kept.")
    else:
        log.exception("Job %s failed", job.pk)
        message = _("An unexpected error stopped the job. Rows saved so far are kept.")
    finish(job, Job.Status.FAILED, message)


def run_import(job_id: str) -> None:
    job = claim(job_id)
    if job is None:
        return
    # Rejection reasons and messages in the language the requester used when uploading.
    with translation.override(job.options.get("language") or None):
        _run_import(job)


def _run_import(job: Job) -> None:
    from contactcenter import registry

    importer = None
    try:
        importer = registry.importers[job.target](job)
        _import(job, importer)
    except files.FileRejected as exc:
        _reject_file(job, exc)
    except Exception as exc:
        # SystemExit and friends are left alone: the job stays running and a re-delivery resumes.
        fail_unexpectedly(job, exc)
    if importer is not None:
        importer.after_run()


@contextmanager
def _fewer_collections(first_generation: int = 20_000) -> Iterator[None]:
    """The cyclic garbage collector run every `first_generation` new objects, not every 700.

    An import allocates and frees millions of lists and tuples, and keeps some batches alive
    across collections, so at Python's default pace full collections come often and walk
    every batch waiting in the queue and everything Django holds. Measured on a 1M-row file,
    reading and checking took 15.5–17.9 s at the default pace, 12.9 s at this one, 12.2 s with
    no collection at all. The rows make no reference cycles; what one makes is collected a
    little later. A worker process runs one task at a time (solo and prefork pools alike).
    """
    threshold = gc.get_threshold()
    gc.set_threshold(max(first_generation, threshold[0]), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)


def _import(job: Job, importer: Importer) -> None:
    with _fewer_collections():
        _import_rows(job, importer)


def _import_rows(job: Job, importer: Importer) -> None:
    table = files.Table(**job.options["table"])
    path = job.input_file.path
    if job.total is None:
        result = files.scan(path, table)
        table.encoding = result.encoding
        job.options["table"] = table.to_dict()
        job.total = result.rows
        job.save(update_fields=["options", "total"])
    positions, _missing, _unknown = importer.map_header(table.header)
    parallel = (
        importer.writes_in_parallel
        and settings.JOBS_PARALLEL_WRITES
        and connection.vendor == "postgresql"
    )
    while True:
        rows = files.rows(path, table, skip=job.processed)
        batches = _checked_batches(
            rows, RowChecker(importer, positions), importer.prepare_batch, importer.batch_size
        )
        if importer.checks_ahead and settings.JOBS_CHECK_AHEAD:
            batches = _ahead(batches)
        try:
            written = (_write_two_at_once if parallel else _write_in_turn)(job, importer, batches)
        except _Contended as exc:
            # Another transaction held a row one of ours waited for, maybe waiting itself
            # for ours (another import of the same keys): what committed stays, and the rest
            # of the file is written one batch at a time, where waiting cannot go round.
            log.warning("Import %s: %s; going on one batch at a time", job.pk, exc)
            job.refresh_from_db(fields=["status", "processed", "created", "updated", "rejected"])
            parallel = False
            continue
        finally:
            batches.close()
        break
    if not written:
        return _stop(job)
    finish(job, _outcome(job))


def _write_in_turn(job: Job, importer: Importer, batches: Iterator[CheckedBatch]) -> bool:
    """Each batch written and committed before the next; False when the job must stop."""
    return all(_commit_batch(job, importer, batch) for batch in batches)


@dataclass
class CheckedBatch:
    """A batch of the file's rows, read and checked, not yet written."""

    size: int
    values: dict[int, list[str]]  # line → the file's values, for the error report
    valid: list[tuple[int, object]]  # (line, what clean_row made of it)
    invalid: list[tuple[int, str]]  # (line, reason)
    prepared: object = None  # Importer.prepare_batch(valid), what write_batch receives


def _checked_batches(
    rows: Iterator[tuple[int, list[str]]],
    check: RowChecker,
    prepare: Callable[[list[tuple[int, object]]], object],
    size: int,
) -> Iterator[CheckedBatch]:
    batch = CheckedBatch(0, {}, [], [])
    for line, values in rows:
        batch.size += 1
        batch.values[line] = values
        try:
            batch.valid.append((line, check(values)))
        except RowInvalid as exc:
            batch.invalid.append((line, format_errors(exc.errors)))
        if batch.size >= size:
            yield _prepared(batch, prepare)
            batch = CheckedBatch(0, {}, [], [])
    if batch.size:
        yield _prepared(batch, prepare)


def _prepared(batch: CheckedBatch, prepare: Callable) -> CheckedBatch:
    if batch.valid:
        batch.prepared = prepare(batch.valid, batch.values)
    return batch


def _ahead(batches: Iterator[CheckedBatch], depth: int = 2) -> Generator[CheckedBatch]:
    """The next batches read and checked in a thread while this one is written.

    Reading and checking is Python's work, writing is the database's: on two cores they run at
    once instead of by turns. The thread never touches the database (importers opt in with
    Importer.checks_ahead) and speaks the job's language. At most `depth` batches wait, so
    memory stays bounded; closing the generator (a cancelled job) stops the thread.
    """
    language = translation.get_language()

    def checked() -> Iterator[CheckedBatch]:
        if language:
            translation.activate(language)
        try:
            yield from batches
        finally:
            translation.deactivate()

    return produced_ahead(checked, name="import-check-ahead", depth=depth)


def _stop(job: Job) -> None:
    """A cancelled job is closed here; one that another delivery overtook is left to it."""
    if job.status == Job.Status.CANCELLED:
        finish(job, Job.Status.CANCELLED)


def _outcome(job: Job) -> str:
    if not job.rejected:
        return Job.Status.SUCCEEDED
    if job.created or job.updated:
        return Job.Status.PARTIAL
    return Job.Status.FAILED


def _commit_batch(
    job: Job, importer: Importer, batch: CheckedBatch, turn: _Turn | None = None
) -> bool:
    """Write one checked batch; False when the job must stop (cancelled, or overtaken).

    Alone, the job is locked first. With a turn (two writers), the batch is staged in file
    order, written beside the other writer's, and the job locked once every batch before it
    has committed; a batch written for a job that must stop is rolled back.
    """
    with transaction.atomic():
        if turn is None and not _may_go_on(job):
            return False
        if turn is not None:
            turn.begin()
        if batch.valid:
            importer.stage_batch(batch.prepared)
        if turn is not None:
            turn.staged()
        result = importer.write_batch(batch.prepared) if batch.valid else BatchResult()
        rejected = sorted(batch.invalid + result.rejected)
        if rejected:
            _write_rejections(
                job, [(line, batch.values[line], reason) for line, reason in rejected]
            )
        if turn is not None:
            turn.wait_for_earlier_commits()
            if not _may_go_on(job):
                transaction.set_rollback(True)
                return False
        job.processed += batch.size
        job.created += result.created
        job.updated += result.updated
        job.rejected += len(batch.invalid) + len(result.rejected) + result.rejected_written
        job.save(update_fields=["processed", "created", "updated", "rejected"])
    return True


def _may_go_on(job: Job) -> bool:
    """Lock the job's row: False (and the job's status read) when it must not take a batch
    more, cancelled or overtaken by another delivery."""
    status, processed = _lock(job)
    if status != Job.Status.RUNNING or processed != job.processed:
        job.status = status
        return False
    return True


class _Contended(Exception):
    """A batch waited too long for a row lock (or in a deadlock) while two were written."""


# How long a batch written beside another may wait for a lock. Waiting is normal for a moment
# (a taken key's holder committing); longer, it may be a circle PostgreSQL cannot see, as
# a writer that waits for its turn waits in Python: two imports of the same keys, each with
# a batch waiting on the other's.
LOCK_TIMEOUT = "5s"


class _FileOrder:
    """Where two writers are in the file: how many batches have been staged, how many have
    committed, and from which batch on nothing more is written (an error, a stopped job)."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.staged = 0
        self.committed = 0
        self.end = math.inf

    def wait(self, index: int, until: Callable[[], bool]) -> None:
        """Wait until `until()` holds; raise _Ended if batch `index` is no longer written."""
        with self._changed:
            self._changed.wait_for(lambda: index >= self.end or until())
            if index >= self.end:
                raise _Ended

    def update(self, *, staged: int = 0, committed: int = 0, end: float = math.inf) -> None:
        with self._changed:
            self.staged = max(self.staged, staged)
            self.committed = max(self.committed, committed)
            self.end = min(self.end, end)
            self._changed.notify_all()


@dataclass
class _Turn:
    """One batch's place in the file: its index, and whether it shares a key with the batch
    before it (it is then written only once that one has committed)."""

    order: _FileOrder
    index: int
    after_previous: bool

    def begin(self) -> None:
        """In the batch's transaction, before it is staged: its turn to stage."""
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        self.order.wait(self.index, lambda: self.order.staged == self.index)
        if self.after_previous:
            self.wait_for_earlier_commits()

    def staged(self) -> None:
        self.order.update(staged=self.index + 1)

    def wait_for_earlier_commits(self) -> None:
        self.order.wait(self.index, lambda: self.order.committed == self.index)


class _Ended(Exception):
    """A batch before this one failed, or the job must stop: this one is not written."""


def _write_two_at_once(job: Job, importer: Importer, batches: Iterator[CheckedBatch]) -> bool:
    """Two writers (this thread and one more, each with its own connection) take the next
    batch in turn and commit in file order; False when the job must stop.

    An error ends the writing at its batch: the batch before it, if still in hand, commits;
    the one after it is rolled back; the error is raised here (waiting too long for a lock
    as _Contended). One raised outside any batch (a time limit, say) ends every batch not
    yet committed.
    """
    log.info("Import %s: writing two batches at a time", job.pk)
    order = _FileOrder()
    taking = threading.Lock()
    state = {"next": 0, "keys": None, "stopped": False}
    errors: list[BaseException] = []
    language = translation.get_language()

    def take() -> tuple[CheckedBatch, _Turn] | None:
        with taking:
            index = state["next"]
            try:
                batch = next(batches, None) if index < order.end else None
                if batch is None:
                    return None
                keys = getattr(batch.prepared, "keys", None) if batch.valid else frozenset()
                previous, state["keys"] = state["keys"], keys
                overlaps = keys is None or previous is None or not keys.isdisjoint(previous)
                state["next"] = index + 1
                return batch, _Turn(order, index, after_previous=overlaps)
            except BaseException:
                order.update(end=index)
                raise

    def write() -> None:
        turn = None
        try:
            while (taken := take()) is not None:
                batch, turn = taken
                if not _commit_batch(job, importer, batch, turn):
                    state["stopped"] = True
                    order.update(end=turn.index)
                    return
                order.update(committed=turn.index + 1)
                turn = None
        except _Ended:
            pass
        except BaseException as exc:
            errors.append(exc)
            order.update(end=turn.index if turn is not None else order.committed)

    def write_beside() -> None:
        if language:
            translation.activate(language)
        try:
            connection.ensure_connection()
        except OperationalError as exc:  # no second connection (max_connections): one writer
            log.warning("Import %s: no second connection (%s); one writer", job.pk, exc)
        else:
            write()
        finally:
            translation.deactivate()
            connection.close()

    other = threading.Thread(target=write_beside, name="import-writer", daemon=True)
    other.start()
    try:
        write()
    finally:
        try:
            other.join()
        except BaseException:  # interrupted (a time limit): the other writer stops too
            order.update(end=order.committed)
            other.join()
            raise
    # A time limit or a shutdown first, then a real error; contention only if it is all.
    for error in errors:
        if not isinstance(error, Exception) or isinstance(error, SoftTimeLimitExceeded):
            raise error
    for error in errors:
        if not _is_contention(error):
            raise error
    if errors:
        raise _Contended(str(errors[0].__cause__).strip()) from errors[0]
    return not state["stopped"]


def _is_contention(error: BaseException) -> bool:
    return isinstance(error, OperationalError) and isinstance(
        error.__cause__, LockNotAvailable | DeadlockDetected
    )


_LOCK = (
    "SET LOCAL synchronous_commit = off; "  # noqa: S608
    f"SELECT status, processed FROM {Job._meta.db_table} WHERE id = %s FOR UPDATE"
)


def _lock(job: Job) -> tuple[str, int]:
    """Lock the job's row for this batch's transaction; its status and processed rows."""
    if connection.vendor != "postgresql":
        locked = Job.objects.select_for_update().get(pk=job.pk)
        return locked.status, locked.processed
    # Each batch is a checkpoint the job can resume from: if the server crashes before this
    # commit reaches the disk, the batch and its checkpoint are lost together and the
    # re-delivered job writes them again. Not waiting for the flush is safe. Sent with the
    # lock, in one round trip: a batch waits for each reply behind the check-ahead thread.
    with connection.cursor() as cursor:
        cursor.execute(_LOCK, [job.pk])
        cursor.nextset()
        return cursor.fetchone()


def first_that_fits(cursor, params: dict, *statements: str) -> list[tuple]:
    """The rows of the first of `statements` that writes a staged batch without a unique
    violation (PostgreSQL); the last one must not meet any (ON CONFLICT DO NOTHING).

    ON CONFLICT makes every row it inserts a speculative insertion: 1M address-book rows in
    batches of 5,000 took 15.1 s so, against 9.8 s by a plain INSERT. So an importer tries
    plainer statements first. Each try runs in a savepoint: one that meets a taken key stops
    there, usually early, and leaves nothing behind.
    """
    *tries, last = statements
    for statement in tries:
        try:
            with transaction.atomic():
                cursor.execute(statement, params)
                return cursor.fetchall()
        except IntegrityError as exc:
            if not isinstance(exc.__cause__, UniqueViolation):
                raise
    cursor.execute(last, params)
    return cursor.fetchall()


class SeenBefore:
    """Whether a key may have been seen before in this file, in constant memory.

    A Bloom filter: each key sets two bits of 2**24 (a 2 MB bytearray), drawn from its hash.
    "No" is certain; "maybe" is wrong for about 1% of new keys after a million (4.5% after two
    million), which then cost a look-up they did not need. A name repeated from an earlier
    batch needs that look-up; every other row of the batch can be inserted plainly.
    Keys are hashed with Python's per-process seed: one filter serves one run of one file.
    """

    _BITS = 24
    _MASK = (1 << _BITS) - 1

    def __init__(self) -> None:
        self._bits = bytearray(1 << (self._BITS - 3))

    def add(self, key: str) -> bool:
        """Record `key`; whether it may have been recorded before."""
        h = hash(key)
        first, second = h & self._MASK, (h >> self._BITS) & self._MASK
        bits = self._bits
        i, j = first >> 3, second >> 3
        a, b = 1 << (first & 7), 1 << (second & 7)
        maybe = bits[i] & a and bits[j] & b
        bits[i] |= a
        bits[j] |= b
        return bool(maybe)


def _copy_escaped(value: str) -> str:
    """A value as COPY's text format reads it back: backslash, tab and line breaks escaped.

    (A NULL is \\N, which no value of ours is.) Four str.replace scans: str.translate with a
    table costs ten times more, 5 µs for a 150-character value with accents.
    """
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


def copy_text(rows: list[tuple[int, tuple[str, ...]]]) -> str:
    """(line, values) as the lines of a COPY in text format: tab between fields, and nothing
    quoted, so no field can be NULL.

    Joined as they are (five times csv.writer's speed), then the batch is checked once; when
    a value holds a tab, a line break or a backslash, each line is checked and the values of
    those that need it escaped.
    """
    if not rows:
        return ""
    tab = "\t"
    lines = [f"{line}{tab}{tab.join(row)}\n" for line, row in rows]
    text = "".join(lines)
    width = len(rows[0][1])
    if (
        text.count(tab) == len(rows) * width
        and text.count("\n") == len(rows)
        and "\\" not in text
        and "\r" not in text
    ):
        return text
    for i, joined in enumerate(lines):
        if (
            joined.count(tab) != width
            or joined.count("\n") != 1
            or "\\" in joined
            or "\r" in joined
        ):
            line, row = rows[i]
            lines[i] = f"{line}{tab}{tab.join(map(_copy_escaped, row))}\n"
    return "".join(lines)


def copy_data(rows: list[tuple[int, tuple[str, ...]]]) -> bytes:
    """copy_text() encoded as the connection sends it (UTF-8), for a batch that waits its turn.

    A str holding one character beyond Latin-1 (’, œ, €: one note in a batch will do) takes
    two bytes a character, UTF-8 little more than one; and psycopg would encode the str
    anyway, in the thread that waits on the database.
    """
    return copy_text(rows).encode()


# Between a row's file values when they are staged for the database (cells_text): a control
# character no spreadsheet cell holds (checked, see cells_text).
CELLS_SEPARATOR = "\x1f"


def cells_text(values: list) -> str | None:
    """A row's file values joined by CELLS_SEPARATOR, which the database makes a JSON array of
    strings again (`to_jsonb(string_to_array(cells, E'\\x1f'))`); None when it cannot
    (a value that is not text, or that holds the separator). Several times cheaper than
    JSON, and nothing to escape twice."""
    try:
        text = CELLS_SEPARATOR.join(values)
    except TypeError:
        return None
    return text if text.count(CELLS_SEPARATOR) == len(values) - 1 else None


def cells_json(values: list) -> str:
    """json.dumps(values) for a row's cells, a third of its cost when they are all text (they
    are, but for a spreadsheet's): the encoder's own C function for each string, joined."""
    if all(type(value) is str for value in values):
        return "[" + ", ".join(map(encode_basestring, values)) + "]"
    return json.dumps(values, ensure_ascii=False)


def _write_rejections(job: Job, rejections: list[tuple[int, list[str], str]]) -> None:
    """(line, the file's values, reason) as JobRejection rows.

    On PostgreSQL by COPY: an import where half the names exist rejects 500,000 rows, and
    model instances through bulk_create cost several times more than the batch's own insert.
    """
    if connection.vendor != "postgresql":
        JobRejection.objects.bulk_create(
            JobRejection(job=job, line=line, values=values, reason=reason)
            for line, values, reason in rejections
        )
        return
    job_id = str(job.pk)
    text = copy_text(
        [(line, (job_id, cells_json(values), reason)) for line, values, reason in rejections]
    )
    table = JobRejection._meta.db_table
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f'COPY {table} (line, job_id, "values", reason) FROM STDIN') as copy,
    ):
        copy.write(text)


def _reject_file(job: Job, exc: files.FileRejected) -> None:
    with transaction.atomic():
        JobRejection.objects.filter(job=job).delete()
        JobRejection.objects.bulk_create(
            JobRejection(job=job, line=p.line, values=p.values, reason=p.reason)
            for p in exc.problems
        )
        Job.objects.filter(pk=job.pk).update(rejected=len(exc.problems))
    finish(job, Job.Status.FAILED, exc.message)


def error_report_rows(job: Job):
    """The error report: the file's own header plus "line" and "reason", row by row."""
    header = job.options.get("table", {}).get("header", [])
    yield [_("line"), *header, _("reason")]
    for rejection in job.rejections.order_by("line").iterator(chunk_size=2000):
        yield [rejection.line, *rejection.values, rejection.reason]
