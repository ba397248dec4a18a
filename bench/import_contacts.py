"""Import of 1M external contacts, end to end through a real Celery worker on PostgreSQL + Redis.

    .venv/bin/python bench/import_contacts.py [--rows 1000000] [--runs b,c] [--profile]

(a) raw COPY: `psql \\copy` of the same file into a bare table of six text columns;
(b) import into an empty table: the clock starts just before services.job_start_import (the
    upload has been received) and stops at the job's finished_at, written by the worker;
(c) the same file again once its first half is already in the table (a half file is imported
    first, untimed): half the names are refused as existing.
Each import reports the worker's peak memory: VmRSS of the worker (and any child) sampled
every 0.1 s during the import, and VmHWM after resetting it just before the import.
Counts are checked against what the generator says the file must give.
Targets (the issue): import <= 20 s for 1M rows, worker peak memory <= 150 MB.
Also printed: when the worker's follow-up task has written the new contacts' search rows
(searchable_s); the list page finds them before that, by scanning their id ranges.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import _common as bench
import gen_contacts

IMPORT_TARGET_S = 20.0
MEMORY_TARGET_MB = 150.0
TARGET = "addressbook.externalcontact"


def raw_copy(path) -> dict:
    """psql's \\copy of the file into a fresh bare table: the floor an import is compared with."""
    psql = [
        "psql",
        os.environ["DATABASE_URL"],
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        "-c",
        "SET client_min_messages = warning",
    ]
    subprocess.run(
        [*psql, "-c", "DROP TABLE IF EXISTS bench_raw_copy", "-c",
         "CREATE TABLE bench_raw_copy (name text, address text, phone text, mobile text, other text, email text)"],
        check=True,
    )  # fmt: skip
    bench.checkpoint()
    started = time.perf_counter()
    process = subprocess.Popen(
        [*psql, "-c", f"\\copy bench_raw_copy FROM '{path}' WITH (FORMAT csv, HEADER true)"]
    )
    with bench.RssSampler(process.pid) as sampler:
        if process.wait() != 0:
            sys.exit("psql \\copy failed")
    seconds = time.perf_counter() - started
    rows = bench.sql("SELECT count(*) FROM bench_raw_copy")[0][0]
    size = bench.sql("SELECT pg_total_relation_size('bench_raw_copy')")[0][0]
    bench.sql("DROP TABLE bench_raw_copy")
    return {
        "copy_s": seconds,
        "copy_rows": rows,
        "copy_table_mb": size / 2**20,
        "copy_client_peak_mb": sampler.peak,
    }


def timed_import(worker: bench.Worker, user, path, label: str) -> dict:
    """Start the import as the upload view does and wait for the worker to finish it."""
    from django.core.files import File

    from contactcenter import services

    bench.checkpoint()
    hwm_reset = bench.reset_hwm(worker.pid)
    baseline = bench.rss_mb(worker.pid)

    def progress(job) -> None:
        print(f"  {label}: {job.status} {job.processed:,}/{job.total or 0:,}", file=sys.stderr)

    meter = bench.RssSampler(
        worker.pid, database=bench.database_name(), exclude={bench.my_backend_pid()}
    )
    with meter as sampler, open(path, "rb") as stream:
        wall_start = time.time()
        started = time.perf_counter()
        job = services.job_start_import(
            user=user, target=TARGET, upload=File(stream, name=path.name)
        )
        start_s = time.perf_counter() - started
        job = bench.wait_for_job(job.pk, timeout=900, progress=progress)
        observed_s = time.perf_counter() - started
    # Then the worker writes the new contacts' search rows (addressbook.tasks.index_contacts);
    # searches find the contacts meanwhile, by scanning their id ranges.
    searchable_s = bench.wait_until_searchable(job.tenant, timeout=1800) + observed_s
    return {
        "searchable_s": searchable_s,
        "job": job,
        "import_s": job.finished_at.timestamp() - wall_start,
        "observed_s": observed_s,
        "start_s": start_s,
        "queued_s": job.started_at.timestamp() - wall_start - start_s,
        "run_s": (job.finished_at - job.started_at).total_seconds(),
        "peak_rss_mb": sampler.peak,
        "worker_cpu_s": sampler.cpu,
        "db_cpu_s": sampler.db_cpu,
        "cpu_stall_pct": sampler.stall.pct,
        "rss_samples": sampler.samples,
        "hwm_mb": bench.hwm_mb(worker.pid) if hwm_reset else None,
        "baseline_rss_mb": baseline,
    }


def untimed_import(user, path):
    from django.core.files import File

    from contactcenter import services

    with open(path, "rb") as stream:
        job = services.job_start_import(
            user=user, target=TARGET, upload=File(stream, name=path.name)
        )
    return bench.wait_for_job(job.pk, timeout=900)


def reasons(job) -> dict[str, int]:
    """Rejected rows by cause, from the job's rejection report (the job ran in English)."""
    counts: dict[str, int] = {}
    for reason in job.rejections.values_list("reason", flat=True).iterator(chunk_size=5000):
        if reason.startswith("Phone:"):
            key = "bad_phone"
        elif reason.startswith("Mobile:"):
            key = "bad_mobile"
        elif reason.startswith("Email:"):
            key = "bad_email"
        elif "characters, at most" in reason:
            key = "long_name"
        elif "a value is required" in reason:
            key = "no_name"
        elif "appears earlier in the file" in reason:
            key = "earlier_in_file"
        elif "already exists" in reason:
            key = "exists"
        else:
            key = "other:" + reason[:60]
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def check(job, summary: dict, expected_created: int, label: str) -> list[str]:
    """Differences between what the job did and what the file must give."""
    from addressbook.models import ExternalContact

    problems = []
    in_table = ExternalContact.objects.filter(import_job=job).count()
    if job.status != "partial":
        problems.append(f"{label}: status {job.status} ({job.message})")
    if (job.total, job.processed) != (summary["rows"], summary["rows"]):
        problems.append(
            f"{label}: total/processed {job.total}/{job.processed}, file has {summary['rows']}"
        )
    if job.created != expected_created or in_table != expected_created:
        problems.append(
            f"{label}: created {job.created} (in table {in_table}), expected {expected_created}"
        )
    if job.created + job.rejected != summary["rows"]:
        problems.append(
            f"{label}: created + rejected = {job.created + job.rejected}, file has {summary['rows']}"
        )
    found = reasons(job)
    for kind in ("bad_phone", "bad_mobile", "bad_email", "long_name", "no_name"):
        if found.get(kind, 0) != summary["kinds"].get(kind, 0):
            problems.append(
                f"{label}: {found.get(kind, 0)} rows rejected as {kind}, the file has {summary['kinds'].get(kind, 0)}"
            )
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--profile",
        action="store_true",
        help="run the worker under py-spy (collapsed stacks in var/bench/import-profile.txt)",
    )
    parser.add_argument(
        "--runs",
        default="b,c",
        help="which timed imports: b (empty table), c (half the names exist) or b,c",
    )
    args = parser.parse_args()
    runs = set(args.runs.split(","))
    if not runs or runs - {"b", "c"}:
        parser.error("--runs takes b, c or b,c")

    env = bench.setup()
    from django.utils import translation

    # The job records the requester's language for its messages; English ones are classified below.
    translation.activate("en")
    _tenant, user = bench.ensure_cast()
    full, full_summary, reused = gen_contacts.ensure(args.rows)
    half, half_summary, _ = gen_contacts.ensure(args.rows // 2)
    print(
        f"file: {full} ({full_summary['bytes'] / 2**20:.0f} MB, {args.rows:,} rows, {'reused' if reused else 'generated'}): {json.dumps(full_summary['kinds'])}"
    )
    print(f"machine: {bench.machine_note()}")

    copy = raw_copy(full)
    print(
        f"(a) raw COPY: {copy['copy_s']:.1f} s for {copy['copy_rows']:,} rows ({copy['copy_rows'] / copy['copy_s']:,.0f} rows/s), psql peak {copy['copy_client_peak_mb']:.0f} MB"
    )

    problems: list[str] = []
    first = second = None
    preloaded = False
    profile = bench.VAR / "import-profile.txt" if args.profile else None
    if profile:
        print(
            f"profiling the worker with py-spy: collapsed stacks in {profile} (memory figures include nothing of py-spy)"
        )
        if "b" not in runs:
            # The untimed preload on a worker of its own, so that the profile holds (c) alone.
            with bench.Worker(env, bench.VAR / "worker-preload.log"):
                problems += preload_half(user, half, half_summary)
            preloaded = True
    with bench.Worker(env, bench.VAR / "worker-import.log", profile=profile) as worker:
        print(f"worker pid {worker.pid}, RSS at rest {bench.rss_mb(worker.pid):.0f} MB")
        if "b" in runs:
            bench.empty_contacts()
            first = timed_import(worker, user, full, "(b)")
            problems += check(first["job"], full_summary, full_summary["expected_created"], "(b)")
            print_run("(b) empty table", first, copy["copy_s"], args.rows)
        if "c" in runs:
            if not preloaded:
                problems += preload_half(user, half, half_summary)
            second = timed_import(worker, user, full, "(c)")
            expected = full_summary["expected_created"] - half_summary["expected_created"]
            problems += check(second["job"], full_summary, expected, "(c)")
            print_run("(c) half the names exist", second, copy["copy_s"], args.rows)

    for problem in problems:
        print(f"CHECK FAILED: {problem}")
    print(bench.keyvalues(summary_figures(args.rows, copy, first, second, problems)))


def preload_half(user, half, half_summary: dict) -> list[str]:
    """Empty the table and import the first half of the names (untimed), for run (c)."""
    bench.empty_contacts()
    preload = untimed_import(user, half)
    bench.wait_until_searchable(preload.tenant, timeout=1800)
    # The worker's follow-up task then analyses the tables; (c) must not queue behind it.
    bench.wait_until_idle()
    # Autovacuum would have vacuumed the table after half a million inserts.
    bench.sql("VACUUM (ANALYZE) addressbook_externalcontact")
    return check(preload, half_summary, half_summary["expected_created"], "(c) preload")


def summary_figures(
    rows: int, copy: dict, first: dict | None, second: dict | None, problems: list[str]
) -> dict:
    figures = {"rows": rows, "copy_s": copy["copy_s"]}
    if first:
        figures |= {
            "import_s": first["import_s"],
            "ratio": first["import_s"] / copy["copy_s"],
            "rows_per_s": round(rows / first["import_s"]),
            "peak_rss_mb": round(first["peak_rss_mb"]),
            "worker_cpu_s": first["worker_cpu_s"],
            "db_cpu_s": first["db_cpu_s"],
            "cpu_stall_pct": round(first["cpu_stall_pct"]),
            "searchable_s": first["searchable_s"],
            "created": first["job"].created,
            "rejected": first["job"].rejected,
        }
    if second:
        figures |= {
            "import_half_exist_s": second["import_s"],
            "ratio_half_exist": second["import_s"] / copy["copy_s"],
            "rows_per_s_half_exist": round(rows / second["import_s"]),
            "peak_rss_half_exist_mb": round(second["peak_rss_mb"]),
            "worker_cpu_half_exist_s": second["worker_cpu_s"],
            "db_cpu_half_exist_s": second["db_cpu_s"],
            "cpu_stall_half_exist_pct": round(second["cpu_stall_pct"]),
            "searchable_half_exist_s": second["searchable_s"],
            "created_half_exist": second["job"].created,
            "rejected_half_exist": second["job"].rejected,
        }
    figures["checks"] = "ok" if not problems else f"{len(problems)}-failed"
    return figures


def print_run(label: str, run: dict, copy_s: float, rows: int) -> None:
    job = run["job"]
    hwm = f"{run['hwm_mb']:.0f} MB" if run["hwm_mb"] is not None else "n/a (clear_refs refused)"
    print(
        f"{label}: import {run['import_s']:.1f} s ({rows / run['import_s']:,.0f} rows/s, {run['import_s'] / copy_s:.2f}× COPY) "
        f"[job_start_import {run['start_s']:.2f} s, queued {run['queued_s']:.2f} s, worker {run['run_s']:.1f} s; polled {run['observed_s']:.1f} s] "
        f"[CPU: worker {run['worker_cpu_s']:.1f} s, PostgreSQL backends {run['db_cpu_s']:.1f} s; CPU stall {run['cpu_stall_pct']:.0f}%] "
        f"{verdict(run['import_s'] <= IMPORT_TARGET_S, f'target {IMPORT_TARGET_S:.0f} s')}"
    )
    print(
        f"    search rows of the new contacts all written {run['searchable_s']:.1f} s after the upload "
        f"(the worker's follow-up task; the list finds them meanwhile by scanning their ranges)\n"
        f"    created {job.created:,}, rejected {job.rejected:,} {reasons(job)}\n"
        f"    worker memory: peak VmRSS {run['peak_rss_mb']:.0f} MB ({run['rss_samples']} samples), VmHWM since reset {hwm}, "
        f"at start {run['baseline_rss_mb']:.0f} MB {verdict(run['peak_rss_mb'] <= MEMORY_TARGET_MB, f'target {MEMORY_TARGET_MB:.0f} MB')}"
    )


def verdict(ok: bool, target: str) -> str:
    return f"[ok, {target}]" if ok else f"[MISS, {target}]"


if __name__ == "__main__":
    main()
