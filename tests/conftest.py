"""The standing cast and the shared fixtures.

Tenant A has an administrator, a supervisor and an agent (read-mostly); tenant B has an
outsider (a supervisor there). Tasks run eagerly unless a test asks for `celery_worker`, which
starts a real `celery worker` process on the configured broker and the test database.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import translation

from contactcenter.celery import app as celery_app
from contactcenter.roles import ADMINISTRATOR, AGENT, SUPERVISOR
from tests.factories import TenantFactory, UserFactory

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def tenant_a(db):
    return TenantFactory(name="Tenant A", slug="tenant-a")


@pytest.fixture
def tenant_b(db):
    return TenantFactory(name="Tenant B", slug="tenant-b")


@pytest.fixture
def administrator(tenant_a):
    return UserFactory(username="alice-admin", tenant=tenant_a, role=ADMINISTRATOR)


@pytest.fixture
def supervisor(tenant_a):
    return UserFactory(username="sam-supervisor", tenant=tenant_a, role=SUPERVISOR)


@pytest.fixture
def agent(tenant_a):
    return UserFactory(username="andy-agent", tenant=tenant_a, role=AGENT)


@pytest.fixture
def outsider(tenant_b):
    return UserFactory(username="oscar-outsider", tenant=tenant_b, role=SUPERVISOR)


@pytest.fixture
def client_for(client):
    """client_for(user) → the test client logged in as that user."""

    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture
def english(settings):
    """Messages in English, so that assertions do not depend on the French catalogue's wording."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture(scope="session")
def media_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(autouse=True)
def _isolated_media_and_eager_tasks(settings, media_root):
    settings.MEDIA_ROOT = str(media_root)
    # Hashing is not what these tests are about; PBKDF2 would make each user cost 0.3 s.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Imports check and write by turns in-process, so that a test can patch clean_row with
    # database work; the check-ahead thread has tests of its own (and the real worker uses it).
    settings.JOBS_CHECK_AHEAD = False
    # A second writer has a connection of its own, which cannot see a test's transaction:
    # the tests of two writers are transactional (tests/campaigns/test_import_parallel.py).
    settings.JOBS_PARALLEL_WRITES = False
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager = False


def _database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    # Quoted: a password may hold "@", ":" or "/".
    user, password = quote(db["USER"] or "", safe=""), quote(db["PASSWORD"] or "", safe="")
    auth = user + (f":{password}" if password else "")
    return f"postgres://{auth}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


def _purge_broker() -> None:
    options = django_settings.CELERY_BROKER_TRANSPORT_OPTIONS
    if django_settings.CELERY_BROKER_URL.startswith("filesystem://"):
        for folder in ("data_folder_in", "processed_folder"):
            shutil.rmtree(options[folder], ignore_errors=True)
            Path(options[folder]).mkdir(parents=True, exist_ok=True)
    else:
        celery_app.control.purge()


def start_worker(
    log_path: Path, media_root: Path, *, queues: str | None = None, extra_env: dict | None = None
) -> subprocess.Popen:
    """Start a `celery worker` process on the configured broker and the test database and
    wait until it is ready. `queues` limits what it consumes; `extra_env` adds settings."""
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": django_settings.CELERY_BROKER_URL,
        "MEDIA_ROOT": str(media_root),
        "SECRET_KEY": "worker-in-tests",
        "DEBUG": "0",
        **(extra_env or {}),
    }
    if django_settings.CELERY_BROKER_URL.startswith("filesystem://"):
        env["CELERY_FILESYSTEM_DIR"] = str(
            Path(django_settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]).parent
        )
    command = [
        str(Path(sys.executable).parent / "celery"),
        "-A",
        "contactcenter",
        "worker",
        "--pool",
        "solo",
        "--loglevel",
        "INFO",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-n",
        f"test-{os.getpid()}-{log_path.stem}@%h",
        *(["--queues", queues] if queues else []),
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    process.log_path = log_path
    deadline = time.monotonic() + 60
    while b"ready." not in log_path.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"The Celery worker did not start:\n{log_path.read_text(errors='replace')}")
        time.sleep(0.2)
    return process


def stop_worker(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, media_root, tmp_path_factory):
    """A real `celery worker` process on the configured broker and the test database."""
    _purge_broker()
    process = start_worker(tmp_path_factory.mktemp("worker") / "worker.log", media_root)
    print(
        f"\n[celery worker up: broker={django_settings.CELERY_BROKER_URL.split('://')[0]}, "
        f"database={connection.vendor}, pid={process.pid}]"
    )
    yield process
    stop_worker(process)


@pytest.fixture
def celery_worker(transactional_db, celery_worker_process):
    """Use in a test to have its tasks sent to the real worker instead of run eagerly."""
    celery_app.conf.task_always_eager = False
    yield celery_worker_process
    # The test's database is flushed after this: a follow-up task still writing then (the
    # search rows of an import's contacts, say) deadlocks with the flush's TRUNCATE.
    wait_until_idle(celery_worker_process)


_RECEIVED = re.compile(rb"Task [\w.]+\[([\w-]+)\] received")
_ENDED = re.compile(rb"Task [\w.]+\[([\w-]+)\] (?:succeeded|failed|raised|retry)")


def wait_until_idle(process: subprocess.Popen, settle: float = 1.0, timeout: float = 60) -> None:
    """Until every task the worker received has ended and its log has been still for `settle`
    seconds (a task queued by the one that ended arrives meanwhile)."""
    deadline = time.monotonic() + timeout
    last, still_since = None, time.monotonic()
    while time.monotonic() < deadline:
        log = process.log_path.read_bytes()
        if log != last:
            last, still_since = log, time.monotonic()
        elif time.monotonic() - still_since >= settle and set(_RECEIVED.findall(log)) <= set(
            _ENDED.findall(log)
        ):
            return
        time.sleep(0.1)
    pytest.fail(f"The Celery worker was still busy after {timeout}s")


def wait_for(predicate, timeout: float = 60, interval: float = 0.2):
    """Poll until predicate() is truthy; fail the test with a clear message if it never is."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"Timed out after {timeout}s waiting for {predicate.__doc__ or predicate}")


def pytest_sessionfinish(session, exitstatus):
    """Remove this run's own file-system broker folder (see CELERY_FILESYSTEM_DIR in settings)."""
    options = django_settings.CELERY_BROKER_TRANSPORT_OPTIONS
    if django_settings.CELERY_BROKER_URL.startswith("filesystem://"):
        shutil.rmtree(Path(options["data_folder_in"]).parent, ignore_errors=True)
