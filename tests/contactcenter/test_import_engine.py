"""Good imports and the engine's guarantees: rejections, outcome, notification, re-delivery,
cancellation (contactcenter/jobs/importing.py with the address book's ExternalContactImporter)."""

from __future__ import annotations

import csv
import io
import itertools

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from addressbook.imports import WRITTEN, ExternalContactImporter
from addressbook.models import ExternalContact
from contactcenter import services
from contactcenter.jobs import importing
from contactcenter.jobs.importing import SeenBefore, run_import
from contactcenter.models import Job, JobRejection, Notification
from tests.factories import ExternalContactFactory

pytestmark = pytest.mark.usefixtures("english")

TARGET = "addressbook.externalcontact"
HEADER = "Name;Phone;Other\r\n"
# Nine rows, three per batch of two, with every kind of rejection spread over the batches.
MIXED = HEADER + (
    "Ada;0612345678;one\r\n"
    "Bob;not a phone;two\r\n"
    "Cyd;+44 20 7946 0958;three\r\n"
    "carol;;four\r\n"
    "Dee;;five\r\n"
    "ADA;;six\r\n"
    ";0612345678;seven\r\n"
    "Eve;;eight\r\n"
    "Fay;0612345679;nine\r\n"
)


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(ExternalContactImporter, "batch_size", 2)


def start(user, data: str | bytes, name: str = "people.csv") -> Job:
    raw = data.encode() if isinstance(data, str) else data
    upload = SimpleUploadedFile(name, raw)
    return services.job_start_import(user=user, target=TARGET, upload=upload)


def imported(user, data: str | bytes, name: str = "people.csv") -> Job:
    """The job of `data` uploaded by `user`, run to its end as the worker would."""
    job = start(user, data, name)
    run_import(str(job.pk))
    job.refresh_from_db()
    return job


def final_state(job: Job) -> dict:
    """Everything a job leaves behind, comparable between tenants (no ids, no dates)."""
    job.refresh_from_db()
    contacts = ExternalContact.objects.filter(import_job=job).order_by("name")
    return {
        "status": job.status,
        "counters": (job.total, job.processed, job.created, job.updated, job.rejected),
        "rejections": list(job.rejections.values_list("line", "values", "reason")),
        "contacts": list(contacts.values_list(*WRITTEN)),
        "notifications": Notification.objects.filter(link=job.get_absolute_url()).count(),
    }


def kill_worker_at(monkeypatch, owner, name: str, call: int, *, after: bool) -> None:
    """The worker dies (SystemExit) at the `call`-th call of owner.name, before or after it."""
    original, calls = getattr(owner, name), itertools.count(1)

    def dying(*args, **kwargs):
        dies = next(calls) == call
        if dies and not after:
            raise SystemExit("worker killed")
        result = original(*args, **kwargs)
        if dies:
            raise SystemExit("worker killed")
        return result

    monkeypatch.setattr(owner, name, dying)


# --- good files ------------------------------------------------------------------------------


def test_french_excel_csv_imports_with_its_accents(supervisor):
    data = (HEADER + "Élodie Dupré;06 12 34 56 78;Rendez-vous à 14h, café\r\n").encode("cp1252")
    job = imported(supervisor, data)
    assert (job.status, job.created) == (Job.Status.SUCCEEDED, 1)
    contact = ExternalContact.objects.get(tenant=supervisor.tenant)
    assert (contact.name, contact.phone_e164, contact.other) == (
        "Élodie Dupré",
        "+33612345678",
        "Rendez-vous à 14h, café",
    )


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (["other", "EMAIL", "nAmE", "Fax"], ({"Other": 0, "Email": 1, "Name": 2}, [], ["Fax"])),
        (["Phone", "Fax"], ({"Phone": 0}, ["Name"], ["Fax"])),
    ],
)
def test_header_maps_to_columns_in_any_order_and_case(header, expected):
    assert ExternalContactImporter.map_header(header) == expected


def test_headers_match_in_any_order_and_case(supervisor):
    imported(supervisor, "OTHER,phone,name\r\nhello,0612345678,Zoé\r\n")
    contact = ExternalContact.objects.get()
    assert (contact.name, contact.phone_e164, contact.other) == ("Zoé", "+33612345678", "hello")


def test_unknown_columns_are_listed_on_the_job_and_the_row_still_imports(supervisor):
    job = imported(supervisor, "Company;Name;Fax;Phone\r\nAcme;Zoé;0100000000;0612345678\r\n")
    assert job.options["ignored_columns"] == ["Company", "Fax"]
    assert job.status == Job.Status.SUCCEEDED
    assert ExternalContact.objects.values_list("name", "phone_e164").get() == (
        "Zoé",
        "+33612345678",
    )


def test_xlsx_workbook_imports_a_phone_stored_as_a_number(supervisor):
    workbook = openpyxl.Workbook()
    workbook.active.append(["Name", "Phone"])
    workbook.active.append(["Zoé", 612345678])
    out = io.BytesIO()
    workbook.save(out)
    job = imported(supervisor, out.getvalue(), "people.xlsx")
    assert job.status == Job.Status.SUCCEEDED
    assert ExternalContact.objects.values_list("name", "phone_e164").get() == (
        "Zoé",
        "+33612345678",
    )


def test_rows_created_by_a_job_record_it(supervisor):
    earlier = ExternalContactFactory(tenant=supervisor.tenant, name="Carol")
    job = imported(supervisor, HEADER + "Zoé;;\r\n")
    assert ExternalContact.objects.get(name="Zoé").import_job == job
    earlier.refresh_from_db()
    assert earlier.import_job is None


# --- rejected rows ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("Bob;not a phone;x", "Phone: “not a phone” is not a valid phone number"),
        ("N" * 101 + ";;", "Name: 101 characters, at most 100"),
        ("  ;0612345678;no name", "Name: a value is required"),
        ("ADA;;again", "Name: “ADA” appears earlier in the file"),
        ("carol;;", "Name: “carol” already exists"),
    ],
)
def test_invalid_row_is_rejected_with_its_line_values_and_reason(supervisor, row, reason):
    ExternalContactFactory(tenant=supervisor.tenant, name="Carol")
    job = imported(supervisor, f"{HEADER}Ada;0612345678;ok\r\n{row}\r\nZoé;;\r\n")
    rejection = job.rejections.get()
    assert (rejection.line, rejection.values, rejection.reason) == (3, row.split(";"), reason)
    assert (job.created, job.rejected) == (2, 1)
    assert set(ExternalContact.objects.values_list("name", flat=True)) == {"Ada", "Carol", "Zoé"}


def test_rejected_values_and_reasons_are_kept_as_written(supervisor):
    """Whatever a cell holds comes back in the error report: accents, quotes, backslashes,
    tabs and line breaks (each a character COPY's text format must escape)."""
    other = 'café "noir"\tC:\\dossier\\N\nfin'
    name = 'Zoé\t"\\N"'
    out = io.StringIO()
    rows = [["Name", "Phone", "Other"], ["Ada", "0612345678", "x"], [name, "12", other]]
    csv.writer(out, delimiter=";").writerows([*rows, ["ada", "", ""]])
    job = imported(supervisor, out.getvalue())
    rejections = list(job.rejections.values_list("line", "values", "reason"))
    assert rejections == [
        (3, [name, "12", other], "Phone: “12” is not a valid phone number"),
        (4, ["ada", "", ""], "Name: “ada” appears earlier in the file"),
    ]


def test_deleting_a_job_deletes_its_rejected_rows(supervisor):
    """No constraint in the database says so (models.JobRejection): Django's CASCADE does."""
    job = imported(supervisor, MIXED)
    other = imported(supervisor, MIXED)
    assert job.rejections.exists()
    job.delete()
    assert not JobRejection.objects.filter(job_id=job.pk).exists()
    assert other.rejections.count() == other.rejected


def test_error_report_lists_rejected_rows_with_the_files_separator(supervisor, client_for):
    job = imported(supervisor, HEADER + "Ada;0612345678;ok\r\nBob;not a phone;x, y\r\n")
    response = client_for(supervisor).get(f"/jobs/{job.pk}/rejected-rows.csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert text.startswith("line;Name;Phone;Other;reason\r\n")
    assert list(csv.reader(io.StringIO(text), delimiter=";"))[1:] == [
        ["3", "Bob", "not a phone", "x, y", "Phone: “not a phone” is not a valid phone number"],
    ]


@pytest.mark.parametrize(
    ("rows", "status"),
    [
        ("Ada;;\r\nBob;;\r\n", Job.Status.SUCCEEDED),
        ("Ada;;\r\nBob;12;\r\n", Job.Status.PARTIAL),
        ("Ada;12;\r\nBob;12;\r\n", Job.Status.FAILED),
    ],
)
def test_final_status_follows_the_counters(supervisor, rows, status):
    job = imported(supervisor, HEADER + rows)
    assert job.status == status
    assert job.total == job.processed == job.created + job.rejected == 2


def test_requester_is_told_the_counts_with_a_link_to_the_job(supervisor):
    job = imported(supervisor, HEADER + "Ada;;\r\nBob;12;\r\nCyd;;\r\n")
    notification = Notification.objects.get(user=supervisor)
    assert notification.text == (
        "Import of people.csv partially succeeded: 2 created, 0 updated, 1 rejected."
    )
    assert (notification.link, notification.level) == (f"/jobs/{job.pk}/", "warning")


def test_requester_is_told_why_a_file_failed(supervisor):
    imported(supervisor, HEADER + "Ada;;;extra\r\n")
    notification = Notification.objects.get(user=supervisor)
    assert notification.text.startswith(
        "Import of people.csv failed: 1 row does not have the header's 3 columns"
    )
    assert notification.level == "error"


# --- safe to run twice -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("owner", "name", "call", "after", "checkpoint"),
    [
        # The third batch is written (raw SQL), then the worker dies before it commits.
        pytest.param(ExternalContactImporter, "write_batch", 3, True, (4, 2), id="mid-batch"),
        # The job is done, and the worker dies before it tells the requester.
        pytest.param(importing, "notify_job_finished", 1, False, (9, 5), id="before-notifying"),
    ],
)
@pytest.mark.usefixtures("small_batches")
def test_redelivered_import_ends_as_one_clean_run(
    monkeypatch, supervisor, outsider, owner, name, call, after, checkpoint
):
    for user in (supervisor, outsider):
        ExternalContactFactory(tenant=user.tenant, name="Carol")
    kill_worker_at(monkeypatch, owner, name, call, after=after)
    job = start(supervisor, MIXED)
    with pytest.raises(SystemExit):
        run_import(str(job.pk))
    killed = Job.objects.get(pk=job.pk)
    assert (killed.status, killed.processed, killed.created) == (Job.Status.RUNNING, *checkpoint)
    # The dying batch's inserts went back with its transaction: rows match the checkpoint.
    assert ExternalContact.objects.filter(import_job=job).count() == killed.created

    run_import(str(job.pk))
    clean = imported(outsider, MIXED)
    assert final_state(job) == final_state(clean)
    assert final_state(job)["counters"] == (9, 9, 5, 0, 4)


@pytest.mark.usefixtures("small_batches")
def test_delivery_overtaken_by_another_leaves_the_job_to_it(monkeypatch, supervisor, outsider):
    original, calls = ExternalContactImporter.clean_row, itertools.count(1)

    def clean_row(self, values):
        # While this delivery validates its first batch, a second one runs the whole job.
        if next(calls) == 1:
            run_import(str(self.job.pk))
        return original(self, values)

    monkeypatch.setattr(ExternalContactImporter, "clean_row", clean_row)
    job = start(supervisor, MIXED)
    run_import(str(job.pk))
    assert final_state(job) == final_state(imported(outsider, MIXED))


def test_delivery_of_a_finished_job_changes_nothing(supervisor):
    job = imported(supervisor, HEADER + "Ada;;\r\nBob;12;\r\n")
    before = final_state(job)
    run_import(str(job.pk))
    assert final_state(job) == before
    job.refresh_from_db()
    assert job.attempts == 1


def test_job_cancelled_before_it_runs_writes_nothing(supervisor):
    job = start(supervisor, HEADER + "Ada;;\r\n")
    assert services.job_cancel(job=job)
    run_import(str(job.pk))
    job.refresh_from_db()
    assert (job.status, job.attempts, job.processed) == (Job.Status.CANCELLED, 0, 0)
    assert not ExternalContact.objects.exists()


@pytest.mark.usefixtures("small_batches")
def test_job_cancelled_between_batches_stops_and_keeps_rows_written(monkeypatch, supervisor):
    original = ExternalContactImporter.clean_row

    def clean_row(self, values):
        # The requester cancels while the worker reads the second batch.
        if values["Name"] == "Cyd":
            services.job_cancel(job=Job.objects.get(pk=self.job.pk))
        return original(self, values)

    monkeypatch.setattr(ExternalContactImporter, "clean_row", clean_row)
    job = imported(supervisor, HEADER + "Ada;;\r\nBob;;\r\nCyd;;\r\nDee;;\r\nEve;;\r\n")
    assert (job.status, job.processed, job.created) == (Job.Status.CANCELLED, 2, 2)
    assert list(ExternalContact.objects.values_list("name", flat=True)) == ["Ada", "Bob"]
    assert Notification.objects.get(user=supervisor).text.startswith(
        "Import of people.csv cancelled: 2 created"
    )


def test_seen_before_never_forgets_a_key_and_rarely_claims_a_new_one():
    seen = SeenBefore()
    keys = [f"contact {n}" for n in range(100_000)]
    assert sum(seen.add(key) for key in keys) < 100  # two bits of 16.8 million a key
    assert all(seen.add(key) for key in keys)
    assert sum(seen.add(f"someone else {n}") for n in range(100_000)) < 100
