"""Exports: the formula guard, export jobs to CSV and XLSX, and the round trip back in."""

from __future__ import annotations

import csv
import io
import zipfile

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import resolve

from addressbook.exports import ExternalContactExporter
from addressbook.models import ExternalContact
from contactcenter import services
from contactcenter.jobs.exporting import neutralise, stream_csv
from contactcenter.jobs.importing import run_import
from contactcenter.models import Job, Notification
from contactcenter.phones import to_e164
from tests.factories import ExternalContactFactory

pytestmark = pytest.mark.usefixtures("english")

URL = "/export/addressbook.externalcontact/"
HEADER = ["Name", "Address", "Phone", "Mobile", "Other", "Email"]


def contact(tenant, name: str, phone: str = "", mobile: str = "", **fields) -> None:
    """An external contact whose numbers are stored as the forms store them (with E.164)."""
    e164 = {
        f"{field}_e164": to_e164(number, "FR") if number else ""
        for field, number in (("phone", phone), ("mobile", mobile))
    }
    ExternalContactFactory(tenant=tenant, name=name, phone=phone, mobile=mobile, **e164, **fields)


@pytest.fixture
def contacts(supervisor, outsider) -> None:
    """Tenant A's rows, with formulas and phones; tenant B has one row of its own."""
    contact(supervisor.tenant, "=1+2", other="-5 apples")
    contact(
        supervisor.tenant,
        "Ada",
        "+33612345678",
        "+33 6 12 34 56 79",
        address="12 rue de la Paix",
        other="@home",
    )
    contact(supervisor.tenant, "Bob", "06 12 34 56 78", other="+1 for him", email="bob@example.com")
    contact(outsider.tenant, "Oscar's own row")


@pytest.fixture
def export(client_for, django_capture_on_commit_callbacks):
    """export(user, format, delimiter) → (job, downloaded file) through the pages, run eagerly."""

    def run(user, fmt: str = "csv", delimiter: str = ",") -> tuple[Job, bytes]:
        client = client_for(user)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(URL, {"format": fmt, "delimiter": delimiter})
        job = Job.objects.get(pk=resolve(response.url).kwargs["pk"])
        download = client.get(f"/jobs/{job.pk}/download/")
        return job, b"".join(download.streaming_content)

    return run


def csv_rows(content: bytes, delimiter: str = ",") -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=delimiter))


# --- the formula guard -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+2", "'=1+2"),
        ("+33 6 12", "'+33 6 12"),
        ("-5", "'-5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tindented", "'\tindented"),
        ("\rreturn", "'\rreturn"),
        ("Jean Dupont", "Jean Dupont"),
        ("a=b", "a=b"),
        ("", ""),
        (None, ""),
        (42, "42"),
    ],
)
def test_cell_that_a_spreadsheet_could_run_gets_a_leading_quote(value, expected):
    assert neutralise(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("+33612345678", "+33612345678"),
        ("+1+1", "'+1+1"),
        ("+33 6 12 34 56 78", "'+33 6 12 34 56 78"),
        (
            '=HYPERLINK("http://evil.example","+33612345678")',
            '\'=HYPERLINK("http://evil.example","+33612345678")',
        ),
        ("-33612345678", "'-33612345678"),
        ("+33612345678\n", "'+33612345678\n"),
        ("+٣٣٦١٢٣٤٥٦٧٨", "'+٣٣٦١٢٣٤٥٦٧٨"),
    ],
)
def test_only_an_e164_number_in_a_phone_column_is_left_alone(value, expected):
    assert neutralise(value, phone=True) == expected


# --- export jobs -----------------------------------------------------------------------------


@pytest.mark.usefixtures("contacts")
def test_csv_export_neutralises_formulas_but_not_e164_phones(export, supervisor):
    job, content = export(supervisor)
    assert job.status == Job.Status.SUCCEEDED
    assert content.startswith(b"\xef\xbb\xbfName,Address,Phone,Mobile,Other,Email\r\n")
    # A number typed with a leading "+" is written in its E.164 form, which needs no quote.
    assert csv_rows(content) == [
        HEADER,
        ["'=1+2", "", "", "", "'-5 apples", ""],
        ["Ada", "12 rue de la Paix", "+33612345678", "+33612345679", "'@home", ""],
        ["Bob", "", "06 12 34 56 78", "", "'+1 for him", "bob@example.com"],
    ]


@pytest.mark.usefixtures("contacts")
def test_csv_export_uses_the_chosen_separator(export, supervisor):
    _job, content = export(supervisor, delimiter=";")
    assert content.decode("utf-8-sig").startswith(
        "Name;Address;Phone;Mobile;Other;Email\r\n'=1+2;;;;'-5 apples;\r\n"
    )


@pytest.mark.usefixtures("contacts")
def test_xlsx_export_writes_strings_never_formulas(export, supervisor):
    job, content = export(supervisor, fmt="xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    assert [[cell.value for cell in row] for row in sheet.iter_rows(max_row=3)] == [
        HEADER,
        ["=1+2", None, None, None, "-5 apples", None],
        ["Ada", "12 rue de la Paix", "+33612345678", "+33612345679", "@home", None],
    ]
    assert (sheet["A2"].data_type, sheet["C3"].data_type, sheet["D3"].data_type) == ("s",) * 3
    sheet_xml = zipfile.ZipFile(io.BytesIO(content)).read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in sheet_xml
    assert job.result_file.name.endswith(".xlsx")


@pytest.mark.usefixtures("contacts")
@pytest.mark.parametrize(
    ("user", "names"),
    [("supervisor", ["'=1+2", "Ada", "Bob"]), ("outsider", ["Oscar's own row"])],
)
def test_export_holds_only_the_tenants_rows(export, request, user, names):
    _job, content = export(request.getfixturevalue(user))
    assert [row[0] for row in csv_rows(content)[1:]] == names


@pytest.mark.usefixtures("contacts")
def test_export_file_is_what_the_streamed_csv_gives(export, supervisor):
    _job, content = export(supervisor)
    streamed = "".join(stream_csv(ExternalContactExporter(supervisor.tenant, {})))
    assert streamed.encode() == content


TRICKY = [
    {"name": 'Quote "this"', "address": "1, rue; des Lilas", "other": "line\nbreak"},
    {"name": "Tab", "other": "\tindented", "email": "tab@example.com"},
    {"name": "\\.", "address": "\rreturn", "other": "carriage\r\nreturn"},
    {"name": "Émile Zoé", "address": " spaced ", "other": '"quoted"', "phone": "-12"},
    {"name": "@home", "phone": "+33 1 23 45 67 89", "phone_e164": "+33123456789", "mobile": "=1"},
    {"name": "Plus", "phone": "+1+1", "mobile": "+33612345678", "mobile_e164": "+33612345678"},
    {
        "name": "Odd",
        "phone": "+3",
        "phone_e164": "+33612345678\n",
        "mobile": "+3",
        "mobile_e164": "+٣٣",
    },
]


@pytest.mark.parametrize("delimiter", [",", ";"])
def test_export_file_is_the_streamed_csv_whatever_the_cells_hold(export, supervisor, delimiter):
    # Stored as they are, whatever a form would have said of them.
    for fields in TRICKY:
        ExternalContactFactory(tenant=supervisor.tenant, **fields)
    _job, content = export(supervisor, delimiter=delimiter)
    exporter = ExternalContactExporter(supervisor.tenant, {})
    assert "".join(stream_csv(exporter, delimiter)).encode() == content
    rows = {row[0]: row[1:] for row in csv_rows(content, delimiter)[1:]}
    assert rows["'@home"] == ["", "+33123456789", "'=1", "", ""]
    assert rows["Plus"] == ["", "", "+33612345678", "", ""]
    assert rows["Odd"] == ["", "'+33612345678\n", "'+٣٣", "", ""]
    assert rows["\\."] == ["'\rreturn", "", "", "carriage\r\nreturn", ""]
    assert rows['Quote "this"'][0::3] == ["1, rue; des Lilas", "line\nbreak"]
    assert len(rows) == len(TRICKY)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY: PostgreSQL only")
@pytest.mark.usefixtures("contacts")
def test_a_csv_export_job_is_written_by_the_database_on_postgresql(export, supervisor, monkeypatch):
    def in_python(*_args, **_kwargs):
        raise AssertionError("rows formatted in Python")

    monkeypatch.setattr(ExternalContactExporter, "rows", in_python)
    job, content = export(supervisor, delimiter=";")
    assert job.status == Job.Status.SUCCEEDED
    assert content.decode("utf-8-sig").splitlines()[1] == "'=1+2;;;;'-5 apples;"


@pytest.mark.usefixtures("contacts")
def test_requester_is_told_the_export_is_ready(export, supervisor):
    job, _content = export(supervisor)
    notification = Notification.objects.get(user=supervisor)
    assert notification.text == f"Export ready: 3 rows in {job.original_name}."
    assert notification.link == f"/jobs/{job.pk}/"


@pytest.mark.usefixtures("contacts")
def test_outsider_cannot_download_another_tenants_export(export, supervisor, client_for, outsider):
    job, _content = export(supervisor)
    assert client_for(outsider).get(f"/jobs/{job.pk}/download/").status_code == 404


# --- round trip ------------------------------------------------------------------------------


@pytest.mark.usefixtures("contacts")
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_reimports_as_it_was_into_another_tenant(export, supervisor, outsider, fmt):
    ExternalContact.objects.filter(tenant=outsider.tenant).delete()
    _job, content = export(supervisor, fmt=fmt)
    upload = SimpleUploadedFile(f"export.{fmt}", content)
    job = services.job_start_import(
        user=outsider, target=ExternalContactExporter.target, upload=upload
    )
    run_import(str(job.pk))

    def rows(tenant, *fields):
        contacts = ExternalContact.objects.for_tenant(tenant).order_by("name")
        return list(contacts.values_list("name", *fields))

    same = ("address", "phone_e164", "mobile_e164", "other", "email")
    assert rows(outsider.tenant, *same) == rows(supervisor.tenant, *same)
    # Numbers typed with a leading "+" come back in their E.164 form, the others as typed.
    assert rows(outsider.tenant, "phone", "mobile") == [
        ("=1+2", "", ""),
        ("Ada", "+33612345678", "+33612345679"),
        ("Bob", "06 12 34 56 78", ""),
    ]
    assert Job.objects.get(pk=job.pk).status == Job.Status.SUCCEEDED
