"""Importing external contacts through the jobs engine (SQLite path; CI runs it on PostgreSQL)."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse

from addressbook.imports import ExternalContactImporter
from addressbook.models import ContactSearch, ExternalContact
from contactcenter.jobs.importing import copy_text
from contactcenter.models import Job, Notification
from tests.addressbook.helpers import IMPORT_URL, TARGET, contact
from tests.builders import xlsx_bytes
from tests.statements import inserts_into

pytestmark = pytest.mark.usefixtures("english")

TEMPLATE_URL = reverse("import_template", args=[TARGET])
BULK = reverse("addressbook:contact_bulk")
SAME = ("name", "address", "phone_e164", "mobile_e164", "other", "email")


def rejections(job: Job) -> list[tuple[int, str]]:
    return list(job.rejections.order_by("line").values_list("line", "reason"))


def rows_of(tenant) -> list[tuple]:
    return list(ExternalContact.objects.for_tenant(tenant).order_by("name").values_list(*SAME))


def export(client, fmt: str = "csv") -> bytes:
    data = {"action": "export", "format": fmt, "select_all": "1", "filter": ""}
    response = client.post(BULK, data)
    return b"".join(response.streaming_content) if fmt == "csv" else response.content


@pytest.fixture
def variety(supervisor):
    """Tenant A's contacts with every kind of value an export must carry back."""
    tenant = supervisor.tenant
    contact(
        tenant, "Élodie Dupré", "01 23 45 67 89", "+33 6 12 34 56 78", address="1 rue de l'Église"
    )
    contact(tenant, "=cmd()", other="@SUM(A1)", address="-1 impasse", email="x@example.com")
    contact(tenant, "Zoé", "+33 9 87 65 43 21", other='+ fixe, café; "quoted"\nsecond line')


# --- the template and the upload's checks ------------------------------------------------------


def test_template_is_a_csv_with_the_expected_header(client_for, supervisor):
    response = client_for(supervisor).get(TEMPLATE_URL)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.content.decode("utf-8") == "\ufeffName,Address,Phone,Mobile,Other,Email\r\n"


def test_agent_may_not_import_nor_download_the_template(client_for, agent):
    client = client_for(agent)
    assert client.get(TEMPLATE_URL).status_code == 403
    upload = SimpleUploadedFile("contacts.csv", b"Name\r\nAda\r\n")
    assert client.post(IMPORT_URL, {"file": upload}).status_code == 403
    assert not Job.objects.exists()


def test_file_without_a_name_column_is_refused_before_any_job(client_for, supervisor):
    upload = SimpleUploadedFile("contacts.csv", b"Nom,Phone\r\nAda,0612345678\r\n")
    response = client_for(supervisor).post(IMPORT_URL, {"file": upload})
    assert response.status_code == 400
    assert "The file has no “Name” column" in response.context["form"].errors["file"][0]
    assert not Job.objects.exists()


def test_unknown_columns_are_reported_and_ignored(client_for, supervisor, upload):
    job = upload(supervisor, "Name,Fax,Company\r\nAda,0123,ACME\r\n")
    assert (job.options["ignored_columns"], job.created) == (["Fax", "Company"], 1)
    text = client_for(supervisor).get(job.get_absolute_url()).content.decode()
    assert "not known and were ignored: Fax, Company" in text


# --- files as people make them -----------------------------------------------------------------

FRENCH = (
    "Name;Address;Phone;Mobile;Other;Email\r\n"
    "Élodie Dupré;12 rue de l'Église;01 23 45 67 89;06 12 34 56 78;RDV à 14h — 5 €;e@exemple.fr\r\n"
)


@pytest.mark.parametrize(
    "data",
    [FRENCH.encode("cp1252"), FRENCH.encode("utf-8-sig")],
    ids=["windows-1252", "utf-8-with-bom"],
)
def test_french_excel_csv_imports_with_its_accents(supervisor, upload, data):
    job = upload(supervisor, data)
    assert (job.status, job.created, job.rejected) == ("succeeded", 1, 0)
    assert rows_of(supervisor.tenant) == [
        (
            "Élodie Dupré",
            "12 rue de l'Église",
            "+33123456789",
            "+33612345678",
            "RDV à 14h — 5 €",
            "e@exemple.fr",
        )
    ]


def test_xlsx_imports_with_numbers_excel_stored_as_numbers(supervisor, upload):
    data = xlsx_bytes(
        ["Name", "Mobile", "Other"], ["Ada", 612345678, 42], ["Bob", "06 12 34 56 79", None]
    )
    job = upload(supervisor, data, "contacts.xlsx")
    assert (job.status, job.created) == ("succeeded", 2)
    assert [row[3:5] for row in rows_of(supervisor.tenant)] == [
        ("+33612345678", "42"),
        ("+33612345679", ""),
    ]


def test_headers_match_in_any_order_and_case(supervisor, upload):
    job = upload(
        supervisor, "eMail;OTHER;mobile;NAME\r\nada@example.com;notes;06 12 34 56 78;Ada\r\n"
    )
    assert job.created == 1
    assert rows_of(supervisor.tenant) == [
        ("Ada", "", "", "+33612345678", "notes", "ada@example.com")
    ]


def test_both_ways_of_writing_a_number_store_one_e164(supervisor, upload):
    upload(supervisor, "Name,Phone\r\nAda,01 23 45 67 89\r\nBob,+33 1 23 45 67 89\r\n")
    contacts = ExternalContact.objects.order_by("name")
    assert [(c.phone, c.phone_e164) for c in contacts] == [
        ("01 23 45 67 89", "+33123456789"),
        ("+33 1 23 45 67 89", "+33123456789"),
    ]


# --- rejections ---------------------------------------------------------------------------------


def test_names_taken_in_the_tenant_or_earlier_in_the_file_are_rejected_with_their_reason(
    supervisor, outsider, upload
):
    contact(supervisor.tenant, "Dupont")
    contact(outsider.tenant, "Durand")
    job = upload(supervisor, "Name\r\ndupont\r\nMartin\r\n MARTIN \r\nDurand\r\nmartin\r\n")
    assert rejections(job) == [
        (2, "Name: “dupont” already exists"),
        (4, "Name: “MARTIN” appears earlier in the file"),
        (6, "Name: “martin” appears earlier in the file"),
    ]
    assert [row[0] for row in rows_of(supervisor.tenant)] == ["Dupont", "Durand", "Martin"]


def test_a_name_earlier_in_the_file_is_recognised_across_batches(supervisor, upload, monkeypatch):
    monkeypatch.setattr(ExternalContactImporter, "batch_size", 2)
    job = upload(supervisor, "Name\r\nMartin\r\nDurand\r\nMARTIN\r\nDurand\r\n")
    assert rejections(job) == [
        (4, "Name: “MARTIN” appears earlier in the file"),
        (5, "Name: “Durand” appears earlier in the file"),
    ]
    assert job.created == 2


@pytest.fixture
def batch_statements():
    """[(statement, succeeded)] of each batch write on PostgreSQL, in order."""
    with inserts_into("addressbook_externalcontact") as seen:
        yield seen


POSTGRES_ONLY = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the COPY path is PostgreSQL's"
)


@POSTGRES_ONLY
def test_batches_are_written_plainly_while_names_are_new_and_probed_while_some_are_taken(
    supervisor, upload, monkeypatch, batch_statements
):
    monkeypatch.setattr(ExternalContactImporter, "batch_size", 2)
    contact(supervisor.tenant, "Dupont")
    job = upload(supervisor, "Name\r\nA\r\nB\r\nC\r\nDUPONT\r\nD\r\nE\r\nF\r\nG\r\n")
    assert batch_statements == [
        ("plain", True),  # A, B
        ("plain", False),  # C, DUPONT: stopped at DUPONT, nothing left behind…
        ("probed", True),  # … and written behind a look-up, which refuses DUPONT
        ("rejecting", True),  # D, E: after a batch with a taken name; none here…
        ("plain", True),  # … so F, G plainly again
    ]
    assert rejections(job) == [(5, "Name: “DUPONT” already exists")]
    assert job.created == 7
    names = ExternalContact.objects.for_tenant(supervisor.tenant).filter(import_job=job)
    assert sorted(names.values_list("name", flat=True)) == list("ABCDEFG")
    # Every batch recorded its range of ids, so the search task indexed them all.
    assert ContactSearch.objects.filter(contact__in=names).count() == 7


@POSTGRES_ONLY
def test_a_name_of_an_earlier_batch_is_looked_up_alone_and_the_next_batch_goes_plainly(
    supervisor, upload, monkeypatch, batch_statements
):
    monkeypatch.setattr(ExternalContactImporter, "batch_size", 2)
    job = upload(supervisor, "Name\r\nA\r\nB\r\nC\r\nb\r\nD\r\nE\r\n")
    assert batch_statements == [
        ("plain", True),  # A, B
        ("probed some", True),  # C, b: b may be B (the filter says so), looked up alone
        ("plain", True),  # D, E: b was foreseen, so nothing says names are being found taken
    ]
    assert rejections(job) == [(5, "Name: “b” appears earlier in the file")]
    assert job.created == 5


@POSTGRES_ONLY
def test_a_taken_name_the_filter_did_not_foresee_stops_the_batch_and_it_is_looked_up_whole(
    supervisor, upload, monkeypatch, batch_statements
):
    monkeypatch.setattr(ExternalContactImporter, "batch_size", 2)
    contact(supervisor.tenant, "Dupont")
    job = upload(supervisor, "Name\r\nA\r\nB\r\nDUPONT\r\na\r\nC\r\nD\r\n")
    assert batch_statements == [
        ("plain", True),  # A, B
        ("probed some", False),  # DUPONT, a: only a was looked up, DUPONT stopped it…
        ("probed", True),  # … so every name is, and both are refused
        ("rejecting", True),  # C, D: after a batch that met a name the file did not hold
    ]
    assert rejections(job) == [
        (4, "Name: “DUPONT” already exists"),
        (5, "Name: “a” appears earlier in the file"),
    ]
    assert ExternalContact.objects.for_tenant(supervisor.tenant).filter(import_job=job).count() == 4


@POSTGRES_ONLY
def test_while_names_are_taken_the_database_writes_their_rejections_from_the_files_values(
    supervisor, upload, monkeypatch, batch_statements
):
    monkeypatch.setattr(ExternalContactImporter, "batch_size", 2)
    contact(supervisor.tenant, "Dupont")
    contact(supervisor.tenant, "Durand")
    other = '«3» "\\N"\tC:\\x\nfin'
    out = io.StringIO()
    rows = [["Name", "Other"], ["A", "1"], ["DUPONT", "2"], ["  durand  ", other], ["B", ""]]
    csv.writer(out, delimiter=";").writerows([*rows, ["C", "5"], ["D", "6"]])
    job = upload(supervisor, out.getvalue())
    assert batch_statements == [
        ("plain", False),  # A, DUPONT: stopped at DUPONT…
        ("probed", True),  # … and DUPONT's rejection written by Python
        ("rejecting", True),  # durand, B: prepared with the file's values, durand's by SQL
        ("rejecting", True),  # C, D: none taken
    ]
    assert list(job.rejections.values_list("line", "values", "reason")) == [
        (3, ["DUPONT", "2"], "Name: “DUPONT” already exists"),
        (4, ["  durand  ", other], "Name: “durand” already exists"),
    ]
    assert (job.created, job.rejected) == (4, 2)


@POSTGRES_ONLY
def test_a_batch_whose_values_hold_the_separator_leaves_its_rejections_to_python(
    supervisor, upload, monkeypatch, batch_statements
):
    monkeypatch.setattr(ExternalContactImporter, "batch_size", 2)
    contact(supervisor.tenant, "Dupont")
    contact(supervisor.tenant, "Durand")
    data = "Name;Other\r\nA;1\r\nDUPONT;2\r\nDURAND;a\x1fb\r\nB;4\r\n"
    job = upload(supervisor, data)
    assert batch_statements == [("plain", False), ("probed", True), ("probed", True)]
    assert list(job.rejections.values_list("line", "values", "reason")) == [
        (3, ["DUPONT", "2"], "Name: “DUPONT” already exists"),
        (4, ["DURAND", "a\x1fb"], "Name: “DURAND” already exists"),
    ]


@POSTGRES_ONLY
def test_names_the_database_folds_alike_and_python_not_fall_back_to_on_conflict(
    supervisor, upload, batch_statements
):
    with connection.cursor() as cursor:
        cursor.execute("SELECT lower('İ') = 'i'")
        if not cursor.fetchone()[0]:
            pytest.skip("this database's collation keeps İ apart from i")
    # Python lowers "İ" to "i̇" (two characters): both rows reach the database as new.
    job = upload(supervisor, "Name\r\nİstanbul\r\nistanbul\r\nAnkara\r\n")
    assert batch_statements == [("plain", False), ("probed", False), ("conflict", True)]
    assert rejections(job) == [(3, "Name: “istanbul” appears earlier in the file")]
    assert job.created == 2


def test_values_with_tabs_line_breaks_and_backslashes_are_stored_as_written(supervisor, upload):
    other = ("a\tb", "first line\nsecond line", "C:\\dossier\\N", "x\r\ny", "\\N")
    data = "Name,Other\r\n" + "".join(f'N{i},"{value}"\r\n' for i, value in enumerate(other))
    job = upload(supervisor, data)
    assert (job.created, job.rejected) == (5, 0)
    stored = ExternalContact.objects.for_tenant(supervisor.tenant).order_by("name")
    assert list(stored.values_list("other", flat=True)) == list(other)


def test_copy_text_escapes_a_batch_only_when_a_value_needs_it():
    plain = [(2, ("Martin", "")), (3, ("Dupré", "1 rue de l'Église"))]
    assert copy_text(plain) == "2\tMartin\t\n3\tDupré\t1 rue de l'Église\n"
    odd = [(2, ("a\tb", "")), (3, ("C:\\N", "l1\nl2\r"))]
    assert copy_text(odd) == "2\ta\\tb\t\n3\tC:\\\\N\tl1\\nl2\\r\n"
    assert copy_text([]) == ""


def test_invalid_values_are_rejected_with_their_column_and_reason(supervisor, upload):
    data = (
        "Name,Phone,Mobile,Email,Other\r\n"
        "Bad phone,12,,,\r\n"
        "Bad mobile,,06 12 34,,\r\n"
        "Bad email,,,ada@,\r\n"
        "Both,not a number,,no-at-sign,\r\n"
        f"{'N' * 101},,,,\r\n"
        f"Long note,,,,{'x' * 251}\r\n"
        ",06 12 34 56 78,,,no name\r\n"
        f"{'M' * 100},+33 6 12 34 56 78,,{'e' * 38}@example.com,{'x' * 250}\r\n"
    )
    job = upload(supervisor, data)
    assert rejections(job) == [
        (2, "Phone: “12” is not a valid phone number"),
        (3, "Mobile: “06 12 34” is not a valid phone number"),
        (4, "Email: “ada@” is not a valid email address"),
        (
            5,
            "Phone: “not a number” is not a valid phone number; Email: “no-at-sign” is not a valid email address",
        ),
        (6, "Name: 101 characters, at most 100"),
        (7, "Other: 251 characters, at most 250"),
        (8, "Name: a value is required"),
    ]
    assert [len(row[0]) for row in rows_of(supervisor.tenant)] == [100]


def test_notification_gives_the_counts_and_leads_to_the_error_report(
    client_for, supervisor, upload
):
    job = upload(supervisor, "Name,Phone\r\nAda,\r\nBob,12\r\nChloé,\r\n", "people.csv")
    notification = Notification.objects.get(user=supervisor)
    assert notification.text == (
        "Import of people.csv partially succeeded: 2 created, 0 updated, 1 rejected."
    )
    assert notification.link == job.get_absolute_url()
    client = client_for(supervisor)
    report_url = reverse("job_error_report", args=[job.pk])
    assert report_url in client.get(notification.link).content.decode()
    report = b"".join(client.get(report_url).streaming_content).decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(report))) == [
        ["line", "Name", "Phone", "reason"],
        ["3", "Bob", "12", "Phone: “12” is not a valid phone number"],
    ]


# --- round trips and formulas -------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_then_import_into_the_same_tenant_creates_nothing(
    client_for, supervisor, variety, upload, fmt
):
    before = rows_of(supervisor.tenant)
    job = upload(supervisor, export(client_for(supervisor), fmt), f"export.{fmt}")
    assert (job.created, job.rejected, job.options["ignored_columns"]) == (0, 3, [])
    assert {reason for _line, reason in rejections(job)} == {
        f"Name: “{name}” already exists" for name in ("Élodie Dupré", "=cmd()", "Zoé")
    }
    assert rows_of(supervisor.tenant) == before


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_then_import_into_another_tenant_recreates_the_same_rows(
    client_for, supervisor, outsider, variety, upload, fmt
):
    data = export(client_for(supervisor), fmt)
    job = upload(outsider, data, f"export.{fmt}")
    assert (job.created, job.rejected) == (3, 0)
    assert rows_of(outsider.tenant) == rows_of(supervisor.tenant)


def test_csv_export_quotes_what_a_spreadsheet_would_run_and_import_unquotes_it(
    client_for, supervisor, outsider, variety, upload
):
    data = export(client_for(supervisor))
    rows = {row[0]: row[1:] for row in csv.reader(io.StringIO(data.decode("utf-8-sig")))}
    assert rows["'=cmd()"] == ["'-1 impasse", "", "", "'@SUM(A1)", "x@example.com"]
    assert rows["Zoé"][1:4] == ["+33987654321", "", '\'+ fixe, café; "quoted"\nsecond line']
    upload(outsider, data)
    imported = ExternalContact.objects.for_tenant(outsider.tenant).get(name="=cmd()")
    assert (imported.address, imported.other) == ("-1 impasse", "@SUM(A1)")


def test_xlsx_export_writes_formulas_as_plain_text(client_for, supervisor, variety):
    sheet = openpyxl.load_workbook(io.BytesIO(export(client_for(supervisor), "xlsx"))).active
    cell = sheet["A2"]
    assert (cell.value, cell.data_type) == ("=cmd()", "s")
