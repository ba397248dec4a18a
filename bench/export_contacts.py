"""Export of 1M external contacts to CSV through a real Celery worker (the export engine's run_export).

    .venv/bin/python bench/export_contacts.py [--rows 1000000] [--profile]

The contacts are the valid rows of the generated 1M-row file (left by the import bench, or
loaded directly: see _common.ensure_contacts). The clock starts just before
services.job_start_export (what the bulk-export view calls for a large selection: every
contact, the list page's empty filter) and stops at the job's finished_at; the file the job
wrote is then checked: header, one line per contact. A second, filtered export (q=paris,
~17% of the rows) is timed the same way. The worker's memory is sampled as in the import
bench (VmRSS every 0.1 s, and VmHWM after a reset).
Targets (the issue): >= 100,000 rows/s, worker peak memory <= 150 MB.
"""

from __future__ import annotations

import argparse
import sys
import time

import _common as bench

ROWS_PER_S_TARGET = 100_000
MEMORY_TARGET_MB = 150.0
TARGET = "addressbook.externalcontact"


def timed_export(worker: bench.Worker, user, options: dict) -> dict:
    from contactcenter import services

    bench.checkpoint()
    hwm_reset = bench.reset_hwm(worker.pid)
    baseline = bench.rss_mb(worker.pid)
    meter = bench.RssSampler(
        worker.pid, database=bench.database_name(), exclude={bench.my_backend_pid()}
    )
    with meter as sampler:
        wall_start = time.time()
        job = services.job_start_export(user=user, target=TARGET, options=options)
        job = bench.wait_for_job(job.pk, timeout=900)
    seconds = job.finished_at.timestamp() - wall_start
    lines, size = _check_file(job)
    return {
        "job": job,
        "export_s": seconds,
        "run_s": (job.finished_at - job.started_at).total_seconds(),
        "rows_per_s": job.processed / seconds,
        "file_lines": lines,
        "file_mb": size / 2**20,
        "peak_rss_mb": sampler.peak,
        "hwm_mb": bench.hwm_mb(worker.pid) if hwm_reset else None,
        "baseline_rss_mb": baseline,
        "worker_cpu_s": sampler.cpu,
        "db_cpu_s": sampler.db_cpu,
        "cpu_stall_pct": sampler.stall.pct,
    }


def _check_file(job) -> tuple[int, int]:
    if job.status != "succeeded" or not job.result_file:
        sys.exit(f"export job ended {job.status}: {job.message}")
    lines = 0
    # A plain file: iterating a Django File re-reads from the start (File.chunks() seeks to 0).
    with open(job.result_file.path, "rb") as stream:
        header = stream.readline()
        for _line in stream:
            lines += 1
        size = stream.tell()
    if header.decode("utf-8-sig").strip() != "Name,Address,Phone,Mobile,Other,Email":
        sys.exit(f"unexpected header {header!r}")
    if lines != job.processed:
        sys.exit(f"the file has {lines:,} data lines, the job says {job.processed:,}")
    return lines, size


def report(label: str, run: dict) -> None:
    job = run["job"]
    hwm = f"{run['hwm_mb']:.0f} MB" if run["hwm_mb"] is not None else "n/a"
    speed = "ok" if run["rows_per_s"] >= ROWS_PER_S_TARGET else "MISS"
    memory = "ok" if run["peak_rss_mb"] <= MEMORY_TARGET_MB else "MISS"
    print(
        f"{label}: {job.processed:,} rows in {run['export_s']:.1f} s = {run['rows_per_s']:,.0f} rows/s "
        f"[worker {run['run_s']:.1f} s; CPU: worker {run['worker_cpu_s']:.1f} s, PostgreSQL backends {run['db_cpu_s']:.1f} s; CPU stall {run['cpu_stall_pct']:.0f}%] "
        f"[{speed}, target {ROWS_PER_S_TARGET:,} rows/s]\n"
        f"    file {run['file_mb']:.0f} MB, {run['file_lines']:,} data lines; worker memory: peak VmRSS {run['peak_rss_mb']:.0f} MB, "
        f"VmHWM since reset {hwm}, at start {run['baseline_rss_mb']:.0f} MB [{memory}, target {MEMORY_TARGET_MB:.0f} MB]"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rows", type=int, default=1_000_000, help="rows of the generated file to load"
    )
    parser.add_argument(
        "--reload", action="store_true", help="reload the contacts even if they are there"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="run the worker under py-spy (var/bench/export-profile.txt)",
    )
    args = parser.parse_args()

    env = bench.setup()
    from addressbook.models import ExternalContact

    tenant, user = bench.ensure_cast()
    bench.ensure_contacts(tenant, args.rows, reload=args.reload)
    total = ExternalContact.objects.for_tenant(tenant).count()
    print(f"contacts in the tenant: {total:,}; machine: {bench.machine_note()}")
    profile = bench.VAR / "export-profile.txt" if args.profile else None
    with bench.Worker(env, bench.VAR / "worker-export.log", profile=profile) as worker:
        print(f"worker pid {worker.pid}, RSS at rest {bench.rss_mb(worker.pid):.0f} MB")
        everything = timed_export(worker, user, {"filter": {}, "format": "csv", "delimiter": ","})
        if everything["job"].processed != total:
            sys.exit(f"exported {everything['job'].processed:,} rows of {total:,}")
        report("all contacts", everything)
        filtered = timed_export(
            worker, user, {"filter": {"q": "paris"}, "format": "csv", "delimiter": ","}
        )
        report("q=paris", filtered)
    for run in (everything, filtered):
        run["job"].result_file.delete(save=False)
    figures = {
        "rows": everything["job"].processed,
        "export_s": everything["export_s"],
        "rows_per_s": round(everything["rows_per_s"]),
        "peak_rss_mb": round(everything["peak_rss_mb"]),
        "worker_cpu_s": everything["worker_cpu_s"],
        "db_cpu_s": everything["db_cpu_s"],
        "cpu_stall_pct": round(everything["cpu_stall_pct"]),
        "filtered_rows": filtered["job"].processed,
        "filtered_export_s": filtered["export_s"],
        "filtered_rows_per_s": round(filtered["rows_per_s"]),
        "filtered_peak_rss_mb": round(filtered["peak_rss_mb"]),
    }
    print(bench.keyvalues(figures))


if __name__ == "__main__":
    main()
