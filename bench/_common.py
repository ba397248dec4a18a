"""What the benches share: environment, the bench database, the cast, a real worker, memory.

Every bench runs Django with DEBUG=0 against a dedicated PostgreSQL database (default
`contactcenter_bench`; its name must contain "bench", since the benches truncate tables) and a
dedicated Redis database for Celery (default db 13), never the developers' ones.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "bench"
PYTHON = ROOT / ".venv" / "bin" / "python"
CELERY = ROOT / ".venv" / "bin" / "celery"
TENANT_SLUG = "bench"
SUPERVISOR = "bench-supervisor"

DEFAULTS = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/contactcenter_bench",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/13",
    "MEDIA_ROOT": str(VAR / "media"),
    # The test client's host; the settings refuse unknown hosts when DEBUG is off.
    "ALLOWED_HOSTS": "testserver,localhost,127.0.0.1",
    "LOG_LEVEL": "WARNING",
}


def configure_env() -> dict[str, str]:
    """Set the bench environment (before Django is imported) and return it for subprocesses."""
    for key, value in DEFAULTS.items():
        os.environ.setdefault(key, value)
    if os.environ.get("DEBUG", "0").strip().lower() not in ("", "0", "false", "no", "off"):
        print(
            "DEBUG is on in the environment: forcing DEBUG=0 (never benchmark with DEBUG on)",
            file=sys.stderr,
        )
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", "bench-" + secrets.token_urlsafe(32))
    os.environ["DJANGO_SETTINGS_MODULE"] = "contactcenter.settings"
    name = urlparse(os.environ["DATABASE_URL"]).path.lstrip("/")
    if "bench" not in name:
        sys.exit(
            f"DATABASE_URL names {name!r}: the benches truncate tables, use a database whose name contains 'bench'"
        )
    VAR.mkdir(parents=True, exist_ok=True)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return dict(os.environ)


def ensure_database() -> None:
    """Create the bench database if missing and migrate it (a no-op when up to date)."""
    import psycopg

    url = urlparse(os.environ["DATABASE_URL"])
    name = url.path.lstrip("/")
    admin = url._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}", file=sys.stderr)
    subprocess.run(
        [str(PYTHON), "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, check=True
    )


def django_setup() -> None:
    import django
    from django.conf import settings

    django.setup()
    if settings.DEBUG:
        sys.exit("DEBUG is on: refusing to benchmark")
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        sys.exit("the benches run on PostgreSQL: set DATABASE_URL")


def setup() -> dict[str, str]:
    """Environment, database, Django; returns the environment for subprocesses."""
    env = configure_env()
    ensure_database()
    django_setup()
    return env


def ensure_cast():
    """The bench tenant and its supervisor (the built-in Supervisor role)."""
    from django.contrib.auth.models import Group

    from contactcenter.models import Tenant, User
    from contactcenter.roles import SUPERVISOR as ROLE

    tenant, _created = Tenant.objects.get_or_create(
        slug=TENANT_SLUG, defaults={"name": "Bench", "default_phone_region": "FR"}
    )
    user, created = User.objects.get_or_create(username=SUPERVISOR, defaults={"tenant": tenant})
    if created:
        user.set_unusable_password()
        user.save()
    user.groups.set([Group.objects.get(name=ROLE)])
    return tenant, User.objects.get(pk=user.pk)


def sql(statement: str, params: list | None = None) -> list[tuple]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def checkpoint() -> None:
    """Flush dirty buffers, so that a timed phase does not pay for the previous one's writes."""
    sql("CHECKPOINT")


def empty_contacts() -> None:
    """Empty the contacts table and the bench's old jobs (TRUNCATE: no dead rows left behind)."""
    wait_until_idle()
    sql(
        "TRUNCATE addressbook_externalcontact, addressbook_contactsearch, "
        "addressbook_searchbacklog, contactcenter_jobrejection"
    )
    from contactcenter.models import Job, Notification

    Notification.objects.filter(tenant__slug=TENANT_SLUG).delete()
    jobs = Job.objects.filter(tenant__slug=TENANT_SLUG)
    # Each import keeps a copy of its upload under MEDIA_ROOT: 100+ MB a run.
    for job in jobs:
        for stored in (job.input_file, job.result_file):
            if stored:
                stored.delete(save=False)
    jobs.delete()


def cpu_stall_us() -> int:
    """Linux PSI: microseconds during which some runnable task waited for a CPU (0 if absent)."""
    try:
        first = Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except (OSError, IndexError):
        return 0
    return int(first.rsplit("total=", 1)[1])


class Stall:
    """Share of a phase's wall time during which some task waited for a CPU: the noise meter.

    Near 0: the machine was ours. Tens of percent: something else competed for the cores
    and every time measured meanwhile is inflated.
    """

    def __enter__(self) -> Stall:
        self.started, self.stall_started = time.monotonic(), cpu_stall_us()
        return self

    def __exit__(self, *exc) -> None:
        wall = time.monotonic() - self.started
        self.pct = 100 * (cpu_stall_us() - self.stall_started) / 1e6 / wall if wall else 0.0


def machine_note() -> str:
    """Load average and other busy processes: a noisy neighbour skews every figure."""
    load = os.getloadavg()
    busy = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            cmd = (
                (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:100]
            )
        except OSError:
            continue
        if fields[0] == "R" and cmd:
            busy.append(cmd)
    note = f"loadavg={load[0]:.2f},{load[1]:.2f},{load[2]:.2f} cpus={os.cpu_count()}"
    with contextlib.suppress(OSError, IndexError):
        note += (
            " cpu-pressure("
            + Path("/proc/pressure/cpu").read_text().splitlines()[0].rsplit(" total", 1)[0]
            + ")"
        )
    if busy:
        note += f" running-now={busy}"
    return note


# --- memory ------------------------------------------------------------------------------------


def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def database_name() -> str:
    return urlparse(os.environ["DATABASE_URL"]).path.lstrip("/")


def my_backend_pid() -> int:
    return sql("SELECT pg_backend_pid()")[0][0]


def descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                found.append(child)
                todo.append(child)
    return found


def rss_mb(pid: int) -> float:
    """Resident memory of pid and its descendants, in MB."""
    return sum(_status_kb(p, "VmRSS") for p in [pid, *descendants(pid)]) / 1024


def hwm_mb(pid: int) -> float:
    return sum(_status_kb(p, "VmHWM") for p in [pid, *descendants(pid)]) / 1024


def reset_hwm(pid: int) -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) of pid and its children; False if refused."""
    ok = True
    for p in [pid, *descendants(pid)]:
        try:
            Path(f"/proc/{p}/clear_refs").write_text("5")
        except OSError:
            ok = False
    return ok


def cpu_s(pid: int) -> float:
    """User + system CPU time of one process, in seconds (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_s(pid: int) -> float:
    return sum(cpu_s(p) for p in [pid, *descendants(pid)])


def backends(database: str, exclude: set[int]) -> list[int]:
    """PostgreSQL server processes serving `database` (their title names it), on this machine."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) in exclude:
            continue
        try:
            title = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if title.startswith(b"postgres: ") and f" {database} ".encode() in title:
            found.append(int(proc.name))
    return found


class RssSampler:
    """VmRSS of a process tree every `interval` seconds, in a thread; `.peak` is the maximum.

    With `database`, it also adds up the CPU time that PostgreSQL backends serving that
    database spent meanwhile (all but `exclude`, e.g. the bench's own connection).
    """

    def __init__(
        self,
        pid: int,
        interval: float = 0.1,
        database: str | None = None,
        exclude: set[int] = frozenset(),
    ):
        self.pid, self.interval = pid, interval
        self.database, self.exclude = database, set(exclude)
        self.peak = 0.0
        self.samples = 0
        self._backend_start: dict[int, float] = {}
        self._backend_last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self.stall = Stall().__enter__()
        self.cpu_start = tree_cpu_s(self.pid)
        self._track_backends(initial=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.stall.__exit__()
        self._track_backends()
        self.cpu = tree_cpu_s(self.pid) - self.cpu_start
        self.db_cpu = sum(
            self._backend_last[p] - self._backend_start.get(p, 0.0) for p in self._backend_last
        )

    def _track_backends(self, initial: bool = False) -> None:
        if not self.database:
            return
        for pid in backends(self.database, self.exclude):
            used = cpu_s(pid)
            if initial:
                self._backend_start[pid] = used
            if used:
                self._backend_last[pid] = max(used, self._backend_last.get(pid, 0.0))

    def _run(self) -> None:
        ticks = 0
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mb(self.pid))
            self.samples += 1
            ticks += 1
            if ticks % 10 == 0:
                self._track_backends()
            self._stop.wait(self.interval)


# --- a real worker -----------------------------------------------------------------------------


class Worker:
    """`celery -A contactcenter worker --pool solo` in a subprocess, with the bench's environment."""

    def __init__(self, env: dict[str, str], log_path: Path, profile: Path | None = None):
        """With `profile`, the worker runs under `py-spy record` (collapsed stacks written there
        when it stops): py-spy cannot attach to a running process on this machine."""
        self.env, self.log_path, self.profile = env, log_path, profile
        self.process: subprocess.Popen | None = None
        self._pid: int | None = None

    def __enter__(self) -> Worker:
        from contactcenter.celery import app

        # Nothing left over from an interrupted run may reach this worker.
        purged = app.control.purge()
        if purged:
            print(f"purged {purged} stale message(s) from the bench queue", file=sys.stderr)
        command = [
            str(CELERY), "-A", "contactcenter", "worker", "--pool", "solo", "--loglevel", "INFO",
            "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"bench-{os.getpid()}@%h",
        ]  # fmt: skip
        if self.profile:
            spy = ROOT / ".venv" / "bin" / "py-spy"
            if not spy.exists():
                sys.exit(
                    "--profile needs py-spy: .venv/bin/pip install py-spy (not a project requirement)"
                )
            command = [
                str(spy),
                "record",
                "--rate",
                "100",
                "--idle",
                "--format",
                "raw",
                "--output",
                str(self.profile),
                "--",
                *command,
            ]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 60
        while b"ready." not in self.log_path.read_bytes():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.process.kill()
                sys.exit(f"the worker did not start:\n{self.log_path.read_text(errors='replace')}")
            time.sleep(0.1)
        self._pid = self.process.pid
        if self.profile:
            self._pid = next(
                p
                for p in descendants(self.process.pid)
                if b"celery" in Path(f"/proc/{p}/cmdline").read_bytes()
            )
        return self

    @property
    def pid(self) -> int:
        """The worker process itself (not py-spy when profiling)."""
        assert self._pid is not None
        return self._pid

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            # The worker first: under py-spy, py-spy writes its samples once its child is gone.
            os.kill(self.pid, 15)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def wait_for_job(job_id, *, timeout: float, poll: float = 0.1, progress: Callable | None = None):
    """Poll the job until its status is final; returns it. Exits on timeout."""
    from contactcenter.models import Job

    deadline = time.monotonic() + timeout
    last_report = time.monotonic()
    while True:
        job = Job.objects.get(pk=job_id)
        if job.is_final:
            return job
        if time.monotonic() > deadline:
            sys.exit(
                f"job {job_id} not final after {timeout:.0f} s: {job.status} {job.processed}/{job.total}"
            )
        if progress and time.monotonic() - last_report > 5:
            progress(job)
            last_report = time.monotonic()
        time.sleep(poll)


# --- 1M contacts loaded once, for the list and export benches ----------------------------------


def ensure_contacts(tenant, rows: int, *, reload: bool = False) -> dict:
    """The tenant holds the valid rows of the generated file of `rows` rows, loaded once.

    They come from a previous import (the import bench leaves them) or, when the count is off,
    from a direct load: every row goes through the importer's own checks (so phone_e164 and
    mobile_e164 are what an import writes), then COPY. VACUUM ANALYZE afterwards, as
    autovacuum would do after a million inserts.
    """
    import gen_contacts

    from addressbook.models import ExternalContact

    path, summary, _reused = gen_contacts.ensure(rows)
    expected = summary["expected_created"]
    have = ExternalContact.objects.for_tenant(tenant).count()
    if have == expected and not reload:
        print(f"contacts: {have:,} already loaded", file=sys.stderr)
        wait_until_searchable(tenant, timeout=900)
        return summary
    started = time.perf_counter()
    empty_contacts()
    loaded = _load_by_copy(tenant, path)
    if loaded != expected:
        sys.exit(f"direct load wrote {loaded:,} contacts, the generator expected {expected:,}")
    # Their search rows, as the import's follow-up task writes them (one statement here).
    from addressbook.models import ContactSearch

    ContactSearch.fill_range(tenant.pk, 0, 2**62)
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    sql("VACUUM (ANALYZE) addressbook_externalcontact")
    sql("VACUUM (ANALYZE) addressbook_contactsearch")
    print(
        f"contacts: {loaded:,} loaded by COPY in {load_s:.1f} s, VACUUM ANALYZE {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    return summary


def wait_until_searchable(tenant, *, timeout: float) -> float:
    """Wait until the worker has written the search rows imports left; seconds waited."""
    from addressbook.models import SearchBacklog

    started = time.perf_counter()
    while SearchBacklog.objects.filter(tenant=tenant).exists():
        if time.perf_counter() - started > timeout:
            sys.exit(f"search rows still not written after {timeout:.0f} s")
        time.sleep(0.1)
    return time.perf_counter() - started


def wait_until_idle(*, timeout: float = 600) -> float:
    """Wait until no other session of the bench database runs a statement (a worker's task
    finishing: the ANALYZE that follows an index_contacts, say); seconds waited.

    A timed import must not start behind the last task's tail, nor a TRUNCATE race it.
    """
    started = time.perf_counter()
    busy = (
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND state <> 'idle'"
    )
    while sql(busy)[0][0]:
        if time.perf_counter() - started > timeout:
            sys.exit(f"the database is still busy after {timeout:.0f} s")
        time.sleep(0.1)
    return time.perf_counter() - started


def _load_by_copy(tenant, path: Path) -> int:
    from django.db import connection, transaction
    from django.utils import timezone

    from addressbook.imports import ExternalContactImporter
    from contactcenter.jobs import files
    from contactcenter.jobs.importing import RowChecker, RowInvalid
    from contactcenter.models import Job

    importer = ExternalContactImporter(Job(tenant=tenant))
    with open(path, "rb") as stream:
        table = files.inspect(stream, path.name, path.stat().st_size)
    positions, _missing, _unknown = importer.map_header(table.header)
    check_row = RowChecker(importer, positions)
    columns = "tenant_id, created_at, updated_at, name, address, phone, phone_e164, mobile, mobile_e164, other, email"
    now, seen, loaded = timezone.now(), set(), 0
    copy_sql = f"COPY addressbook_externalcontact ({columns}) FROM STDIN"
    with transaction.atomic(), connection.cursor() as cursor, cursor.cursor.copy(copy_sql) as copy:
        for _line, values in files.rows(str(path), table):
            try:
                row = check_row(values)
            except RowInvalid:
                continue
            if row[0].lower() in seen:
                continue
            seen.add(row[0].lower())
            copy.write_row((tenant.pk, now, now, *row))
            loaded += 1
    return loaded


# --- figures -----------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[round(fraction * 100) - 1]


def keyvalues(figures: dict) -> str:
    def fmt(value) -> str:
        if isinstance(value, float):
            return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
        return str(value)

    return " ".join(f"{key}={fmt(value)}" for key, value in figures.items())
