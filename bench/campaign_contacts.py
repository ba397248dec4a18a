"""Outbound campaigns at 1M contacts on PostgreSQL: contacts page, reset, dialer, import.

    .venv/bin/python bench/campaign_contacts.py [--skip-import] [--requests 30] [--reload]

One bench campaign of 1,000,000 contacts (+ ~1.9M addresses) is loaded by COPY with the values
the product writes (see load_campaign), reused by later runs, then:

- page: the contacts page through Django's test client (DEBUG=0, HTTPS, logged in as the
  supervisor): first page in list and contact management, with a 3-clause advanced filter,
  sorted by next try; p50/p95 over --requests GETs after 3 untimed ones;
- reset: "reset all N matching" on the 100,000 contacts of one list, POSTed to the bulk view as
  the confirmation form does (the view calls services.contacts_reset); the selection is first
  given tried states again (untimed), so every run resets the same kind of rows;
- dialer: GET /api/dialer/campaigns/<pk>/next?limit=100 with a real bearer token; each call
  claims 100 contacts (Running), given back (Waiting) afterwards;
- import (unless --skip-import, ~3 min): a 1M-row campaign contact CSV imported through a real
  Celery worker as the upload view starts it, timed to the job's finished_at; compared with a
  psql \\copy of the same file (ratio). The campaign tables are emptied for it, so the bench
  campaign is loaded again afterwards.

Targets (issue 5): page p50 <= 50 ms; reset of 100,000 <= 5 s; dialer next-100 p50 <= 20 ms;
import in the address book's speed class (its target: <= 20 s for 1M rows, i.e. ratio <= ~3).
Defaults: database contactcenter_bench_campaigns, Redis db 12 (apart from the address-book
benches' contactcenter_bench and db 13).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import time
from datetime import timedelta
from urllib.parse import urlencode

os.environ.setdefault(
    "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/contactcenter_bench_campaigns"
)
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/12")

# The environment above comes first: _common only sets what is not set yet.
import _common as bench
import gen_contacts
import list_contacts

SEED = 20260505
CAMPAIGN = "Bench campaign"
IMPORT_CAMPAIGN = "Bench import"
# (name, state, share of the contacts, share in contact management)
LISTS = (
    ("Fichier A", "active", 0.45, 0.8),
    ("Fichier B", "active", 0.45, 0.8),
    ("Fichier C", "active", 0.10, 1.0),
)
RESET_LIST = "Fichier C"
# Three clauses: a state, a number, any of the addresses (an EXISTS on the addresses).
EXPRESSION = 'state = "waiting" and priority >= 50 and address ~ "+336"'
PAGE_TARGET_MS = 50.0
RESET_TARGET_S = 5.0
DIALER_TARGET_MS = 20.0
IMPORT_TARGET_S = 20.0
DIALER_LIMIT = 100
TABLES = "campaigns_callattempt, campaigns_contactaddress, campaigns_campaigncontact"


# --- the bench campaign ------------------------------------------------------------------------


def ensure_campaign(tenant, user, contacts: int, *, reload: bool = False):
    """The bench campaign with `contacts` contacts, loaded once (COPY), then VACUUM ANALYZE."""
    from campaigns.models import Campaign, CampaignContact

    campaign = Campaign.objects.filter(tenant=tenant, name=CAMPAIGN).first()
    have = CampaignContact.objects.filter(campaign=campaign).count() if campaign else 0
    if campaign and have == contacts and not reload:
        print(f"campaign: {have:,} contacts already loaded", file=sys.stderr)
        return campaign
    started = time.perf_counter()
    campaign, loaded, addresses = load_campaign(tenant, user, contacts)
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    bench.sql("VACUUM (ANALYZE) campaigns_campaigncontact")
    bench.sql("VACUUM (ANALYZE) campaigns_contactaddress")
    # Autovacuum would have analysed the do-not-call entries too, within a minute.
    bench.sql("ANALYZE campaigns_donotcallentry")
    print(
        f"campaign: {loaded:,} contacts and {addresses:,} addresses loaded by COPY in {load_s:.1f} s, "
        f"VACUUM ANALYZE {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    return campaign


def load_campaign(tenant, user, contacts: int):
    """Empty the campaign tables and COPY in the bench campaign's contacts and addresses.

    Values as the product writes them: addresses in E.164 (emails lower-case) with the states
    imports and the dialer leave (first callable one Scheduled or Rescheduled, the others
    Waiting; all Failed once the contact failed; Blocked when on the attached do-not-call
    list); contacts Waiting with no next try when never tried, Done with a final
    qualification, Failed, Paused or Shelved; list management rows never tried.
    """
    from django.db import connection, transaction
    from django.utils import timezone

    from campaigns.models import (
        Campaign,
        ContactList,
        DoNotCallEntry,
        DoNotCallList,
        QualificationCode,
    )

    bench.sql(f"TRUNCATE {TABLES} RESTART IDENTITY")
    Campaign.objects.filter(tenant=tenant).delete()
    DoNotCallList.objects.filter(tenant=tenant).delete()
    campaign = Campaign.objects.create(
        tenant=tenant, name=CAMPAIGN, state=Campaign.State.RUNNING, max_attempts=5
    )
    dnc = DoNotCallList.objects.create(tenant=tenant, name="Bench opposition")
    campaign.do_not_call_lists.add(dnc)
    codes = {
        code: QualificationCode.objects.create(
            tenant=tenant, campaign=campaign, code=code, label=code.title(), is_final=final
        ).pk
        for code, final in (("SALE", True), ("REFUSED", True), ("NO_ANSWER", False))
    }
    bounds, start = [], 0
    for name, state, share, processing in LISTS:
        contact_list = ContactList.objects.create(
            tenant=tenant, campaign=campaign, name=name, state=state
        )
        end = start + round(contacts * share)
        bounds.append((contact_list.pk, start, min(end, contacts), processing))
        start = end
    rng, now = random.Random(SEED), timezone.now()
    blocked: list[str] = []
    contact_columns = (
        "id, tenant_id, campaign_id, contact_list_id, external_id, in_processing, state, "
        "next_try_at, schedule_note, priority, top_priority, preferred_agent_id, time_zone, "
        "manual_reschedules, qualification_id, custom_fields, created_at, updated_at"
    )
    address_columns = "tenant_id, contact_id, position, value, kind, state, attempts"
    addresses = 0
    with transaction.atomic(), connection.cursor() as cursor:
        raw = cursor.cursor
        contact_rows: list[tuple] = []
        address_rows: list[tuple] = []
        for list_id, first, last, processing in bounds:
            for i in range(first, last):
                contact, its_addresses = _contact(rng, i, processing, now, codes, user.pk)
                contact_rows.append((i + 1, tenant.pk, campaign.pk, list_id, *contact))
                for position, (value, kind, state, attempts) in enumerate(its_addresses):
                    if state == "blocked":
                        blocked.append(value)
                    address_rows.append((tenant.pk, i + 1, position, value, kind, state, attempts))
                if len(contact_rows) >= 50_000:
                    addresses += _flush(
                        raw, contact_columns, address_columns, contact_rows, address_rows
                    )
        addresses += _flush(raw, contact_columns, address_columns, contact_rows, address_rows)
        raw.execute(
            "SELECT setval(pg_get_serial_sequence('campaigns_campaigncontact', 'id'), %s)",
            [contacts],
        )
    DoNotCallEntry.objects.bulk_create(
        [DoNotCallEntry(tenant=tenant, dnc_list=dnc, value=v) for v in sorted(set(blocked))],
        batch_size=5000,
    )
    return campaign, contacts, addresses


def _flush(raw, contact_columns, address_columns, contact_rows, address_rows) -> int:
    with raw.copy(f"COPY campaigns_campaigncontact ({contact_columns}) FROM STDIN") as copy:
        for row in contact_rows:
            copy.write_row(row)
    with raw.copy(f"COPY campaigns_contactaddress ({address_columns}) FROM STDIN") as copy:
        for row in address_rows:
            copy.write_row(row)
    written = len(address_rows)
    contact_rows.clear()
    address_rows.clear()
    return written


def _contact(rng: random.Random, i: int, processing: float, now, codes: dict, agent: int):
    """One contact's columns (after id, tenant, campaign, list) and its addresses."""
    in_processing = rng.random() < processing
    fate = rng.random() if in_processing else 0.0
    qualification, next_try, attempts = None, None, 0
    if fate < 0.55:
        state = "waiting"
        # Half the waiting contacts of contact management were tried: a next try around now.
        if in_processing and rng.random() < 0.5:
            attempts = rng.randint(1, 3)
            next_try = now + timedelta(minutes=rng.randint(-3 * 24 * 60, 5 * 24 * 60))
            qualification = codes["NO_ANSWER"]
    elif fate < 0.75:
        state, attempts = "done", rng.randint(1, 3)
        qualification = codes["SALE"] if rng.random() < 0.3 else codes["REFUSED"]
    elif fate < 0.85:
        state, attempts = "failed", 5
    else:
        state = rng.choice(("paused", "shelved"))
    mobile = "+33" + rng.choice(gen_contacts.MOBILE_PREFIXES) + gen_contacts._digits(rng, 7)
    values = [(mobile, "mobile")]
    if rng.random() < 0.6:
        first = rng.choice("12345")
        landline = (
            first + rng.choice(gen_contacts.LANDLINE_SECOND[first]) + gen_contacts._digits(rng, 7)
        )
        values.append(("+33" + landline, "home"))
    if rng.random() < 0.3:
        values.append((f"client{i}@example.fr", "email"))
    addresses, callable_seen = [], False
    for value, kind in values:
        if rng.random() < 0.005:
            addresses.append((value, kind, "blocked", 0))
        elif state == "failed":
            addresses.append((value, kind, "failed", 5))
        elif not callable_seen:
            callable_seen = True
            tried = "rescheduled" if attempts and rng.random() < 0.3 else "scheduled"
            addresses.append((value, kind, tried, attempts))
        else:
            addresses.append((value, kind, "waiting", 0))
    top = rng.random() < 0.01
    priority = 100 if rng.random() < 0.8 else rng.randint(0, 255)
    zone = (
        "Europe/Paris"
        if rng.random() < 0.95
        else rng.choice(("Indian/Reunion", "America/Martinique"))
    )
    custom = {"segment": rng.choice("ABC"), "source": "web"} if rng.random() < 0.5 else {}
    created = now - timedelta(minutes=rng.randint(60, 90 * 24 * 60))
    contact = (
        f"{(i * 7919) % 10_000_000 + 10_000_000:08d}",
        in_processing,
        state,
        next_try,
        "",
        priority,
        top,
        agent if rng.random() < 0.05 else None,
        zone,
        rng.randint(0, 2) if attempts else 0,
        qualification,
        json.dumps(custom),
        created,
        created + timedelta(minutes=rng.randint(0, 60 * 24)) if attempts else created,
    )
    return contact, addresses


# --- the contacts page -------------------------------------------------------------------------


def page_cases(campaign) -> list[tuple[str, dict]]:
    return [
        ("list_first", {}),
        ("contact_first", {"mode": "contact"}),
        ("list_filter_next_try", {"expr": EXPRESSION, "sort": "next_try_at"}),
        ("contact_filter_next_try", {"mode": "contact", "expr": EXPRESSION, "sort": "next_try_at"}),
        ("contact_next_try", {"mode": "contact", "sort": "next_try_at"}),
    ]


def run_pages(client, campaign, requests: int, explain_all: bool) -> dict:
    results = {}
    base = f"/outbound/{campaign.pk}/"
    for label, params in page_cases(campaign):
        url = base + ("?" + urlencode(params) if params else "")
        result = list_contacts.timed_gets(client, url, requests)
        shown = list_contacts.rows_on_page(result["response"])
        if shown != 25:
            sys.exit(f"page {label}: {shown} rows on the page, expected 25")
        counted = list_contacts.timed_gets(
            client,
            f"{base}count/" + ("?" + urlencode(params) if params else ""),
            max(5, requests // 3),
        )
        result["count"] = counted
        results[label] = result
        verdict = "ok" if result["p50"] <= PAGE_TARGET_MS else "MISS"
        print(
            f"page {label:24} p50 {result['p50']:6.1f} ms  p95 {result['p95']:6.1f} ms  "
            f"[CPU p50 {result['cpu_p50']:.1f} ms; SQL p50 {result['sql_p50']:.1f} ms in {result['queries']} queries; "
            f"CPU stall {result['stall_pct']:.0f}%] [{verdict}, target {PAGE_TARGET_MS:.0f} ms] "
            f"| count {list_contacts._count_of(counted['response']):,}: p50 {counted['p50']:.1f} ms"
        )
        if verdict == "MISS" or explain_all:
            seconds, sql, params_, runs = result["slowest"][0]
            print(
                f"--- costliest statement: {seconds * 1000:.1f} ms a request, run {runs:.0f}× ---\n"
                f"{sql}\n{list_contacts.explain(sql, params_)}"
            )
    return results


# --- reset ---------------------------------------------------------------------------------------


def dirty_selection(list_id: int) -> None:
    """Give the reset's selection tried states again (untimed), as a campaign leaves them."""
    bench.sql(
        "UPDATE campaigns_campaigncontact SET state = CASE WHEN id %% 20 < 4 THEN 'done' "
        "WHEN id %% 20 < 6 THEN 'failed' ELSE 'waiting' END, "
        "next_try_at = CASE WHEN id %% 20 >= 6 AND id %% 2 = 0 THEN now() + (id %% 1000 - 300) * interval '10 minutes' END, "
        "manual_reschedules = id %% 3, updated_at = now() WHERE contact_list_id = %s",
        [list_id],
    )
    bench.sql(
        "UPDATE campaigns_contactaddress a SET attempts = CASE WHEN a.state = 'blocked' THEN 0 ELSE 1 + a.id %% 4 END, "
        "state = CASE WHEN a.state = 'blocked' THEN 'blocked' WHEN c.id %% 20 BETWEEN 4 AND 5 THEN 'failed' "
        "WHEN a.position = 0 THEN 'rescheduled' ELSE 'waiting' END "
        "FROM campaigns_campaigncontact c WHERE c.id = a.contact_id AND c.contact_list_id = %s",
        [list_id],
    )
    bench.sql("VACUUM (ANALYZE) campaigns_campaigncontact")
    bench.sql("VACUUM (ANALYZE) campaigns_contactaddress")


def reset_state(list_id: int) -> dict:
    """What the reset must leave: every contact Waiting without next try; addresses without
    attempts; Blocked untouched; exactly one Scheduled address per contact with a callable one."""
    (row,) = bench.sql(
        "SELECT count(*), count(*) FILTER (WHERE state = 'waiting' AND next_try_at IS NULL) "
        "FROM campaigns_campaigncontact WHERE contact_list_id = %s",
        [list_id],
    )
    (addr,) = bench.sql(
        "SELECT count(*) FILTER (WHERE a.state = 'blocked'), "
        "count(*) FILTER (WHERE a.attempts <> 0 AND a.state <> 'blocked'), "
        "count(DISTINCT a.contact_id) FILTER (WHERE a.state = 'scheduled'), "
        "count(*) FILTER (WHERE a.state = 'scheduled'), "
        "count(DISTINCT a.contact_id) FILTER (WHERE a.state <> 'blocked') "
        "FROM campaigns_contactaddress a JOIN campaigns_campaigncontact c ON c.id = a.contact_id "
        "WHERE c.contact_list_id = %s",
        [list_id],
    )
    return {"contacts": row[0], "reset": row[1], "blocked": addr[0], "tried": addr[1],
            "with_scheduled": addr[2], "scheduled": addr[3], "callable": addr[4]}  # fmt: skip


def run_reset(client, campaign, runs: int) -> dict:
    from django.db import connection

    from campaigns.models import ContactList

    contact_list = ContactList.objects.get(campaign=campaign, name=RESET_LIST)
    selection = urlencode({"mode": "contact", "contact_list": contact_list.pk})
    url = f"/outbound/{campaign.pk}/contacts/bulk/"
    data = {"action": "reset", "select_all": "1", "filter": selection}
    times, stalls, sql_times, problems = [], [], [], []
    for run in range(runs):
        dirty_selection(contact_list.pk)
        blocked_before = reset_state(contact_list.pk)["blocked"]
        # The confirmation page (counts the selection), then the confirmed POST: the timed one.
        confirm = client.post(url, data, secure=True)
        if confirm.status_code != 200:
            sys.exit(f"reset confirmation answered {confirm.status_code}")
        bench.checkpoint()
        log = list_contacts.QueryLog()
        with bench.Stall() as stall, connection.execute_wrapper(log):
            started = time.perf_counter()
            response = client.post(url, {**data, "confirmed": "1"}, secure=True)
            elapsed = time.perf_counter() - started
        if response.status_code != 302:
            sys.exit(f"reset answered {response.status_code}")
        times.append(elapsed)
        stalls.append(stall.pct)
        sql_times.append(sum(d for d, _s, _p in log.queries))
        after = reset_state(contact_list.pk)
        expected = {"reset": after["contacts"], "blocked": blocked_before, "tried": 0,
                    "with_scheduled": after["callable"], "scheduled": after["callable"]}  # fmt: skip
        wrong = {k: (after[k], v) for k, v in expected.items() if after[k] != v}
        if wrong:
            problems.append(f"reset run {run + 1}: (found, expected) {wrong}")
        print(
            f"reset run {run + 1}: {after['contacts']:,} contacts in {elapsed:.2f} s "
            f"(SQL {sql_times[-1]:.2f} s in {len(log.queries)} statements; CPU stall {stall.pct:.0f}%) "
            f"{wrong or 'checks ok'} "
            f"[{'ok' if elapsed <= RESET_TARGET_S else 'MISS'}, target {RESET_TARGET_S:.0f} s]"
        )
    # Left as a campaign leaves it, for the next run's page and dialer.
    dirty_selection(contact_list.pk)
    return {"reset_s": bench.percentile(times, 0.5), "reset_max_s": max(times),
            "reset_sql_s": bench.percentile(sql_times, 0.5), "reset_stall_pct": max(stalls),
            "reset_contacts": after["contacts"], "problems": problems}  # fmt: skip


# --- dialer --------------------------------------------------------------------------------------


def run_dialer(campaign, tenant, requests: int) -> dict:
    from django.test import Client

    from campaigns.models import CampaignContact, DialerToken

    DialerToken.objects.filter(tenant=tenant, name="bench").delete()
    _token, clear = DialerToken.issue(tenant=tenant, name="bench")
    running = CampaignContact.objects.filter(campaign=campaign, state="running")
    running.update(state="waiting")
    client = Client(headers={"authorization": f"Bearer {clear}"})
    url = f"/api/dialer/campaigns/{campaign.pk}/next?limit={DIALER_LIMIT}"
    try:
        result = list_contacts.timed_gets(client, url, requests)
        got = len(json.loads(result["response"].content)["contacts"])
        claimed = running.count()
    finally:
        # Back in line: the next run (and the page) find the campaign as it was loaded.
        running.update(state="waiting")
    problems = []
    if got != DIALER_LIMIT or claimed != DIALER_LIMIT * (requests + 3):
        problems.append(f"dialer: last call gave {got}, {claimed:,} claimed in all")
    verdict = "ok" if result["p50"] <= DIALER_TARGET_MS else "MISS"
    print(
        f"dialer next-{DIALER_LIMIT}: p50 {result['p50']:.1f} ms p95 {result['p95']:.1f} ms "
        f"[CPU p50 {result['cpu_p50']:.1f} ms; SQL p50 {result['sql_p50']:.1f} ms in {result['queries']} queries; "
        f"CPU stall {result['stall_pct']:.0f}%; {claimed:,} claimed] [{verdict}, target {DIALER_TARGET_MS:.0f} ms]"
    )
    seconds, sql, _params, runs = result["slowest"][0]
    print(
        f"--- dialer's costliest statement: {seconds * 1000:.1f} ms a request, run {runs:.0f}× ---\n{sql[:400]}"
    )
    return {**result, "problems": problems}


# --- import --------------------------------------------------------------------------------------

IMPORT_HEADER = ["Contact ID", "Priority", "Top priority", "Time zone", "Agent", "Next try",
                 "Address 1", "Type 1", "Address 2", "Type 2", "Address 3", "Type 3", "Segment"]  # fmt: skip


def import_file(rows: int) -> tuple[object, int]:
    """A deterministic CSV of campaign contacts (numbers as people type them) and how many of
    its rows are valid (1 in 200 has a bad phone number)."""
    path = bench.VAR / f"campaign-contacts-{rows}.csv"
    summary = path.with_suffix(".json")
    if path.exists() and summary.exists():
        return path, json.loads(summary.read_text())["valid"]
    rng, valid = random.Random(SEED + 1), 0
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(IMPORT_HEADER)
        for i in range(rows):
            bad = i % 200 == 7
            valid += not bad
            landline = gen_contacts._landline(rng) if rng.random() < 0.5 else ""
            email = f"client.{i}@example.fr" if rng.random() < 0.2 else ""
            writer.writerow([
                f"I{i:08d}",
                "" if rng.random() < 0.7 else str(rng.randint(0, 255)),
                "1" if rng.random() < 0.01 else "",
                "" if rng.random() < 0.9 else "Europe/Paris",
                "",
                "" if rng.random() < 0.9 else f"{rng.randint(1, 28):02d}/06/2026 {rng.randint(9, 19):02d}:00",
                "12 34" if bad else gen_contacts._mobile(rng),
                "mobile",
                landline,
                "home" if landline else "",
                email,
                "",
                rng.choice("ABC"),
            ])  # fmt: skip
    summary.write_text(json.dumps({"rows": rows, "valid": valid}))
    return path, valid


def raw_copy(path) -> float:
    psql = ["psql", os.environ["DATABASE_URL"], "-q", "-v", "ON_ERROR_STOP=1"]
    columns = ", ".join(f"c{n} text" for n in range(len(IMPORT_HEADER)))
    subprocess.run([*psql, "-c", "DROP TABLE IF EXISTS bench_raw_copy", "-c",
                    f"CREATE TABLE bench_raw_copy ({columns})"], check=True)  # fmt: skip
    bench.checkpoint()
    started = time.perf_counter()
    subprocess.run(
        [*psql, "-c", f"\\copy bench_raw_copy FROM '{path}' WITH (FORMAT csv, HEADER true)"],
        check=True,
    )
    seconds = time.perf_counter() - started
    bench.sql("DROP TABLE bench_raw_copy")
    return seconds


def run_import(env, tenant, user, rows: int, profile=None, launch=False) -> dict:
    from django.core.files import File

    from campaigns.models import Campaign, CampaignContact, ContactAddress, ContactList
    from contactcenter import services
    from contactcenter.models import Job

    path, valid = import_file(rows)
    copy_s = raw_copy(path)
    print(f"import: raw COPY of {path.name} ({path.stat().st_size / 2**20:.0f} MB) {copy_s:.1f} s")
    bench.sql(f"TRUNCATE {TABLES} RESTART IDENTITY")
    for job in Job.objects.filter(tenant=tenant, target="campaigns.campaigncontact"):
        for stored in (job.input_file, job.result_file):
            if stored:
                stored.delete(save=False)
        job.delete()
    Campaign.objects.filter(tenant=tenant).delete()
    campaign = Campaign.objects.create(tenant=tenant, name=IMPORT_CAMPAIGN)
    target = ContactList.objects.create(tenant=tenant, campaign=campaign, name="Import")
    log = bench.VAR / "worker-campaign-import.log"
    with bench.Worker(env, log, profile=profile) as worker:
        bench.checkpoint()
        meter = bench.RssSampler(
            worker.pid, database=bench.database_name(), exclude={bench.my_backend_pid()}
        )
        with meter as sampler, open(path, "rb") as stream:
            wall_start = time.time()
            job = services.job_start_import(
                user=user,
                target="campaigns.campaigncontact",
                upload=File(stream, name=path.name),
                params={"contact_list": target.pk, "launch": launch},
            )
            job = bench.wait_for_job(
                job.pk,
                timeout=1800,
                progress=lambda j: print(f"  import: {j.status} {j.processed:,}/{j.total or 0:,}", file=sys.stderr),
            )  # fmt: skip
    import_s = job.finished_at.timestamp() - wall_start
    problems = []
    where = CampaignContact.objects.filter(import_job_id=job.pk, in_processing=launch).count()
    if where != job.created:
        view = "contact" if launch else "list"
        problems.append(f"import: {where:,} of {job.created:,} contacts in {view} management")
    if job.created != valid or job.created + job.rejected != rows:
        problems.append(
            f"import: created {job.created:,} rejected {job.rejected:,}, file: {valid:,} valid of {rows:,}"
        )
    print(
        f"import: {rows:,} rows in {import_s:.1f} s ({rows / import_s:,.0f} rows/s, {import_s / copy_s:.2f}× COPY) "
        f"created {job.created:,} rejected {job.rejected:,}; worker peak {sampler.peak:.0f} MB; "
        f"CPU worker {sampler.cpu:.1f} s, PostgreSQL {sampler.db_cpu:.1f} s; CPU stall {sampler.stall.pct:.0f}% "
        f"[{'ok' if import_s <= IMPORT_TARGET_S else 'MISS'}, address book's target {IMPORT_TARGET_S:.0f} s]"
    )
    # What the import left in the two tables' indexes (interleaved writers must not bloat them).
    sizes = bench.sql(
        "SELECT c.relname, pg_relation_size(c.oid) FROM pg_index i JOIN pg_class c "
        "ON c.oid = i.indexrelid WHERE i.indrelid IN (%s::regclass, %s::regclass) ORDER BY 1",
        [CampaignContact._meta.db_table, ContactAddress._meta.db_table],
    )
    index_mb = sum(size for _name, size in sizes) / 2**20
    print(f"import: indexes {index_mb:.0f} MB: " + ", ".join(
        f"{name} {size / 2**20:.0f}" for name, size in sizes if size > 2**20
    ))  # fmt: skip
    # The next phases load the bench campaign again.
    bench.sql(f"TRUNCATE {TABLES} RESTART IDENTITY")
    return {"import_s": import_s, "import_index_mb": round(index_mb), "copy_s": copy_s, "ratio": import_s / copy_s,
            "import_rows_per_s": round(rows / import_s), "import_peak_rss_mb": round(sampler.peak),
            "import_stall_pct": round(sampler.stall.pct), "problems": problems}  # fmt: skip


# --- main ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--import-rows", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--reset-runs", type=int, default=3)
    parser.add_argument(
        "--skip-import", action="store_true", help="leave out the 1M import (~3 min)"
    )
    parser.add_argument(
        "--phases",
        default="page,reset,dialer",
        help="of page,reset,dialer; import alone: the import only (no load of the bench campaign)",
    )
    parser.add_argument("--reload", action="store_true", help="load the bench campaign again")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN every page case")
    parser.add_argument(
        "--launch",
        action="store_true",
        help="import with 'Launch the imported contacts' ticked (into contact management)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="run the import's worker under py-spy (collapsed stacks in "
        "var/bench/campaign-import-profile.txt)",
    )
    args = parser.parse_args()
    phases = set(args.phases.split(",")) - {""}

    env = bench.setup()
    from django.core.management import call_command
    from django.test import Client, override_settings
    from django.utils import translation

    translation.activate("en")
    tenant, user = bench.ensure_cast()
    print(f"machine: {bench.machine_note()}")
    figures: dict = {}
    problems: list[str] = []
    if not args.skip_import:
        profile = bench.VAR / "campaign-import-profile.txt" if args.profile else None
        result = run_import(env, tenant, user, args.import_rows, profile, args.launch)
        problems += result.pop("problems")
        figures |= result
    if not phases & {"page", "reset", "dialer"}:
        _finish(figures, problems)
        return
    campaign = ensure_campaign(tenant, user, args.contacts, reload=args.reload)
    figures["contacts"] = campaign.contacts.count()
    static = override_settings(STATIC_ROOT=bench.VAR / "static")
    static.enable()
    call_command("collectstatic", interactive=False, verbosity=0)
    client = Client()
    client.force_login(user)
    if "page" in phases:
        pages = run_pages(client, campaign, args.requests, args.explain)
        for label, result in pages.items():
            figures[f"{label}_p50_ms"] = round(result["p50"], 1)
            figures[f"{label}_p95_ms"] = round(result["p95"], 1)
        figures["page_stall_pct"] = round(max(r["stall_pct"] for r in pages.values()))
    if "dialer" in phases:
        dialer = run_dialer(campaign, tenant, args.requests)
        problems += dialer["problems"]
        figures |= {"dialer_p50_ms": round(dialer["p50"], 1), "dialer_p95_ms": round(dialer["p95"], 1),
                    "dialer_stall_pct": round(dialer["stall_pct"])}  # fmt: skip
    if "reset" in phases:
        reset = run_reset(client, campaign, args.reset_runs)
        problems += reset.pop("problems")
        figures |= reset
    static.disable()
    _finish(figures, problems)


def _finish(figures: dict, problems: list[str]) -> None:
    for problem in problems:
        print(f"CHECK FAILED: {problem}")
    figures["checks"] = "ok" if not problems else f"{len(problems)}-failed"
    print(bench.keyvalues(figures))


if __name__ == "__main__":
    main()
