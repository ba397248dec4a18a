"""The worker's task: after every job, the memory its batches took is given back."""

from __future__ import annotations

import pytest

from contactcenter import tasks
from tests.contactcenter.test_import_engine import HEADER, start


def test_run_job_gives_memory_back_even_when_the_job_fails(monkeypatch, supervisor):
    job = start(supervisor, HEADER + "Ada;;\r\n")
    calls = []
    monkeypatch.setattr(tasks, "release_memory", lambda: calls.append(True))

    def fails(job_id):
        raise RuntimeError("a job that fails")

    monkeypatch.setattr(tasks, "run_import", fails)
    with pytest.raises(RuntimeError):
        tasks.run_job(str(job.pk))
    assert calls == [True]


def test_release_memory_runs_here():
    tasks.release_memory()  # glibc's malloc_trim where there is one, nothing otherwise
