"""Bad import files: each one is refused with words the user can act on, and writes nothing.

A fault visible in the head of the file is refused by the upload form, before any job exists;
one that needs the whole file (decoding, row shapes, row count) fails the job in the worker,
before its first write.
"""

from __future__ import annotations

import html
import io
import zipfile
from collections.abc import Callable

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from addressbook.models import ExternalContact
from contactcenter.models import Job
from tests.builders import xlsx_bytes

pytestmark = pytest.mark.usefixtures("english")

URL = "/import/addressbook.externalcontact/"
HEADER = "Name;Phone;Other\r\n"
SHEET = "xl/worksheets/sheet1.xml"
BILLION_LAUGHS = (
    b'<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (n, (b"&lol%d;" % (n - 1) if n > 1 else b"&lol;") * 10)
        for n in range(1, 10)
    )
    + b"]>"
)
EXTERNAL_ENTITY = b'<!DOCTYPE workbook [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'


@pytest.fixture
def upload(client_for, supervisor, django_capture_on_commit_callbacks):
    """upload(data, name) → the response to the supervisor's upload; its job has run (eagerly)."""
    client = client_for(supervisor)

    def post(data: bytes, name: str = "people.csv"):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(URL, {"file": SimpleUploadedFile(name, data)})

    return post


def page_text(response) -> str:
    return html.unescape(response.content.decode())


def rewritten(data: bytes, part: str, change: Callable[[bytes], bytes]) -> bytes:
    """The workbook `data` with the XML of `part` replaced by change(old XML)."""
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name in source.namelist():
            xml = source.read(name)
            target.writestr(name, change(xml) if name == part else xml)
    return out.getvalue()


def with_dtd(part: str, dtd: bytes, old: bytes = b"", new: bytes = b"") -> bytes:
    """A real workbook whose `part` declares `dtd` (and has `old` text replaced by `new`)."""

    def change(xml: bytes) -> bytes:
        head, end, body = xml.partition(b"?>") if xml.startswith(b"<?xml") else (b"", b"", xml)
        return head + end + dtd + body.replace(old, new)

    return rewritten(xlsx_bytes(["Name", "Phone"], ["Zoe", "0612345678"]), part, change)


def zip_bomb(megabytes: int) -> bytes:
    """A workbook whose sheet is megabytes of whitespace: it deflates about 1000 to 1."""
    sheet = (
        b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/'
        b'spreadsheetml/2006/main"><sheetData>'
        + b" " * (megabytes * 1024 * 1024)
        + b"</sheetData></worksheet>"
    )
    return rewritten(xlsx_bytes(["Name"], ["Zoe"]), SHEET, lambda _xml: sheet)


# --- refused at upload: no job ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "name", "error"),
    [
        pytest.param(b"", "people.csv", "The submitted file is empty.", id="empty"),
        pytest.param(b"\xef\xbb\xbf\r\n\r\n", "people.csv", "The file is empty.", id="blank"),
        pytest.param(
            HEADER.encode(),
            "people.csv",
            "The file has a header row but no data rows.",
            id="csv-header-only",
        ),
        pytest.param(
            xlsx_bytes(["Name", "Phone", "Other"]),
            "people.xlsx",
            "The file has a header row but no data rows.",
            id="xlsx-header-only",
        ),
        pytest.param(
            "Name;Phone\r\nZoé;0612345678\r\n".encode("utf-16-le"),
            "people.csv",
            "The file is not readable text (it contains NUL bytes): save it as CSV UTF-8",
            id="utf-16-without-bom",
        ),
        pytest.param(
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504,
            "people.xls",
            "Old Excel .xls files are not supported: save the file as .xlsx or CSV.",
            id="old-xls",
        ),
        pytest.param(
            HEADER.encode() + b"Zoe;;\r\n",
            "people.xlsx",
            "The file is named .xlsx but is not an Excel workbook.",
            id="xlsx-not-a-zip",
        ),
        pytest.param(
            zip_bomb(8),
            "people.xlsx",
            "The workbook is compressed suspiciously well (",
            id="zip-bomb",
        ),
        pytest.param(
            with_dtd(SHEET, BILLION_LAUGHS, b">Zoe<", b">&lol9;<"),
            "people.xlsx",
            "The workbook contains an XML document type declaration (DTD): it is refused.",
            id="billion-laughs",
        ),
        pytest.param(
            with_dtd("xl/workbook.xml", EXTERNAL_ENTITY),
            "people.xlsx",
            "The workbook contains an XML document type declaration (DTD): it is refused.",
            id="external-entity",
        ),
    ],
)
def test_upload_refuses_a_bad_file_before_any_job(upload, data, name, error):
    response = upload(data, name)
    assert response.status_code == 400
    assert error in page_text(response)
    assert not Job.objects.exists()
    assert not ExternalContact.objects.exists()


def test_upload_refuses_a_file_without_a_required_column_before_any_job(upload):
    response = upload(b"Phone;Other;Email\r\n0612345678;x;zoe@example.com\r\n")
    assert response.status_code == 400
    assert (
        "The file has no “Name” column (columns found: “Phone”, “Other”, “Email”). "
        "Download the template to see the expected columns."
    ) in page_text(response)
    assert not Job.objects.exists()


def test_upload_refuses_a_file_over_the_size_limit(upload, settings):
    settings.MAX_IMPORT_FILE_BYTES = 100
    response = upload((HEADER + "Zoe;0612345678;" + "x" * 100 + "\r\n").encode())
    assert response.status_code == 400
    assert "The file is 135\xa0bytes; the limit is 100\xa0bytes." in page_text(response)
    assert not Job.objects.exists()


def test_upload_refuses_a_workbook_expanding_past_the_cap(upload, settings):
    settings.JOBS_XLSX_MAX_UNCOMPRESSED_BYTES = 1024 * 1024
    response = upload(zip_bomb(2), "people.xlsx")
    assert response.status_code == 400
    assert "The workbook expands to 2.0\xa0MB; at most 1.0\xa0MB are accepted." in page_text(
        response
    )
    assert not Job.objects.exists()


def test_upload_refuses_a_dtd_hidden_in_a_utf16_part(upload):
    def utf16(xml: bytes) -> bytes:
        body = xml.split(b"?>", 1)[-1].replace(b">Zoe<", b">&lol9;<")
        prolog = b'<?xml version="1.0" encoding="UTF-16"?>' + BILLION_LAUGHS
        return (prolog + body).decode().encode("utf-16")

    data = rewritten(xlsx_bytes(["Name"], ["Zoe"]), SHEET, utf16)
    response = upload(data, "people.xlsx")
    assert response.status_code == 400
    # The prolog check reads bytes, so here the XML parser (defusedxml) is what refuses it.
    assert "The Excel file is damaged: it cannot be opened as a workbook." in page_text(response)
    assert not Job.objects.exists()


# --- refused by the worker before its first write: a failed job ------------------------------


def test_ragged_rows_fail_the_job_and_each_is_reported(upload):
    upload((HEADER + "Ada;0612345678;ok\r\nBob;0612345679;x;extra\r\nCyd;0612345670\r\n").encode())
    job = Job.objects.get()
    assert job.status == Job.Status.FAILED
    assert job.message.startswith(
        "2 rows do not have the header's 3 columns (first: line 3); nothing was imported."
    )
    assert list(job.rejections.values_list("line", "values", "reason")) == [
        (
            3,
            ["Bob", "0612345679", "x", "extra"],
            "this row has 4 values where the header has 3 columns",
        ),
        (4, ["Cyd", "0612345670"], "this row has 2 values where the header has 3 columns"),
    ]
    assert not ExternalContact.objects.exists()


def test_byte_neither_utf8_nor_windows_1252_deep_in_the_file_fails_the_job(upload):
    rows = "".join(f"Zoe {n};0612345678;ok\r\n" for n in range(3000))
    data = (HEADER + rows).encode() + b"Bad \x81 byte;;\r\n"
    assert data.index(b"\x81") > 64 * 1024
    upload(data)
    job = Job.objects.get()
    assert job.status == Job.Status.FAILED
    assert job.message == (
        "Line 3002 cannot be read: byte 0x81 is neither UTF-8 nor Windows-1252. "
        "Save the file as “CSV UTF-8” and import it again."
    )
    assert not ExternalContact.objects.exists()


def test_utf8_accents_then_a_windows_1252_accent_is_refused_not_garbled(upload):
    rows = "".join(f"Zoé {n};0612345678;ok\r\n" for n in range(3000))
    upload((HEADER + rows).encode() + "Hélène;;\r\n".encode("cp1252"))
    job = Job.objects.get()
    assert job.status == Job.Status.FAILED
    assert job.message.startswith("Line 3002 is not UTF-8 although earlier lines are")
    assert not ExternalContact.objects.exists()


def test_file_over_the_row_cap_fails_the_job(upload, settings):
    settings.JOBS_MAX_ROWS = 5
    upload((HEADER + "".join(f"Person {n};;\r\n" for n in range(6))).encode())
    job = Job.objects.get()
    assert job.status == Job.Status.FAILED
    assert job.message == "The file has more than 5 rows; split it into files of at most 5 rows."
    assert not ExternalContact.objects.exists()


def test_file_at_the_row_cap_imports(upload, settings):
    settings.JOBS_MAX_ROWS = 5
    upload((HEADER + "".join(f"Person {n};;\r\n" for n in range(5))).encode())
    assert Job.objects.get().status == Job.Status.SUCCEEDED
    assert ExternalContact.objects.count() == 5
