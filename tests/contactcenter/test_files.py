"""Reading import files (contactcenter/jobs/files.py): formats, encodings, separators, shapes."""

from __future__ import annotations

import codecs
import csv
import datetime
import io
import re
import zipfile

import pytest

from contactcenter.jobs import files
from tests.builders import xlsx_bytes

pytestmark = pytest.mark.usefixtures("english")

TEXT = "Name;Phone;Note\r\nÉlodie Dupré;0612345678;œuvre à côté\r\n"


def without_dimension(data: bytes) -> bytes:
    """The workbook minus its sheet's <dimension>, as some generators write it."""
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name in source.namelist():
            part = source.read(name)
            target.writestr(name, re.sub(rb"<dimension [^>]*/>", b"", part))
    return out.getvalue()


def csv_bytes(rows: list[list[str]], delimiter: str) -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode()


def inspect(data: bytes, name: str = "people.csv") -> files.Table:
    return files.inspect(io.BytesIO(data), name, len(data))


def stored(tmp_path, data: bytes, name: str = "people.csv") -> tuple[str, files.Table]:
    """The file as the worker finds it: on disk, with the table inspect() and scan() made of it."""
    path = tmp_path / name
    path.write_bytes(data)
    table = inspect(data, name)
    table.encoding = files.scan(str(path), table).encoding
    return str(path), table


def read(tmp_path, data: bytes, name: str = "people.csv") -> list[tuple[int, list[str]]]:
    return list(files.rows(*stored(tmp_path, data, name)))


# --- format and encoding ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "name", "expected"),
    [
        (b"Name\r\nZoe\r\n", "people.csv", "csv"),
        (b"Name\r\nZoe\r\n", "people.txt", "csv"),
        (xlsx_bytes(["Name"], ["Zoe"]), "people.xlsx", "xlsx"),
        # The content decides, not the name a browser or a user gave it.
        (xlsx_bytes(["Name"], ["Zoe"]), "people.csv", "xlsx"),
    ],
)
def test_format_is_detected_from_the_content(data, name, expected):
    assert inspect(data, name).format == expected


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        pytest.param(TEXT.encode("utf-8"), "utf-8", id="utf-8"),
        pytest.param(codecs.BOM_UTF8 + TEXT.encode("utf-8"), "utf-8-sig", id="utf-8-bom"),
        pytest.param(TEXT.encode("cp1252"), "cp1252", id="windows-1252"),
        pytest.param(codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"), "utf-16", id="utf-16-le"),
        pytest.param(codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), "utf-16", id="utf-16-be"),
    ],
)
def test_encoding_is_detected_and_accents_survive(tmp_path, data, encoding):
    path, table = stored(tmp_path, data)
    assert (table.encoding, table.header) == (encoding, ["Name", "Phone", "Note"])
    assert list(files.rows(path, table)) == [(2, ["Élodie Dupré", "0612345678", "œuvre à côté"])]


def test_windows_1252_accent_past_the_inspected_head_is_read_as_windows_1252(tmp_path):
    head = "Name;Phone;Note\r\n" + "".join(f"Person {i};;\r\n" for i in range(5000))
    data = head.encode() + "Zoé;;\r\n".encode("cp1252")
    assert len(head) > files.HEAD_BYTES and inspect(data).encoding == "utf-8"

    path, table = stored(tmp_path, data)
    assert table.encoding == "cp1252"
    assert list(files.rows(path, table))[-1] == (5002, ["Zoé", "", ""])


# --- separators and header -------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_separator_is_sniffed_from_the_header(tmp_path, delimiter):
    # The value holds the two other separators, quoted where they matter.
    data = csv_bytes([["Name", "Phone", "Note"], ["Dupont, Jean; Jr", "", "a\tb"]], delimiter)
    path, table = stored(tmp_path, data)
    assert table.delimiter == delimiter
    assert list(files.rows(path, table)) == [(2, ["Dupont, Jean; Jr", "", "a\tb"])]


def test_separator_inside_a_quoted_header_cell_does_not_count():
    data = b'"Surname; first name",Phone\r\n"Dupont; Jean",0612345678\r\n'
    table = inspect(data)
    assert (table.delimiter, table.header) == (",", ["Surname; first name", "Phone"])


def test_header_cells_are_trimmed_and_trailing_empty_ones_dropped():
    data = codecs.BOM_UTF8 + b" Name ; phone ;NOTE;;;\r\nJean;0612345678;x;;;\r\n"
    assert inspect(data).header == ["Name", "phone", "NOTE"]


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"Name;NAME\r\nJean;Jean\r\n", "The column “NAME” appears twice."),
        (b"Name;;Note\r\nJean;x;y\r\n", "Column 2 has no name in the header row."),
        (b";;;\r\nJean;x;y\r\n", "The first row of the file is empty"),
    ],
)
def test_unusable_header_is_refused(data, error):
    with pytest.raises(files.FileRejected, match=re.escape(error)):
        inspect(data)


# --- rows and line numbers -------------------------------------------------------------------


def test_blank_rows_and_trailing_empty_cells_are_skipped_but_keep_line_numbers(tmp_path):
    data = b"Name;Phone;Note;;;\r\nAlice;0612345678;x;;;\r\n\r\n;;;\r\nBob;;;;;\r\n"
    path, table = stored(tmp_path, data)
    assert files.scan(path, table).rows == 2
    assert list(files.rows(path, table)) == [
        (2, ["Alice", "0612345678", "x"]),
        (5, ["Bob", "", ""]),
    ]


def test_quoted_separators_quotes_and_newlines_stay_in_their_cell(tmp_path):
    data = (
        b'Name,Phone,Note\r\n"Dupont, Jean",,"first line\r\nsecond line"\r\n'
        b'"Martin ""Max""",,\r\nZoe,,\r\n'
    )
    # Line numbers are the spreadsheet's rows: a cell on two lines is still one row.
    assert read(tmp_path, data) == [
        (2, ["Dupont, Jean", "", "first line\r\nsecond line"]),
        (3, ['Martin "Max"', "", ""]),
        (4, ["Zoe", "", ""]),
    ]


def test_rows_resume_after_the_data_rows_already_processed(tmp_path):
    path, table = stored(tmp_path, b"Name\r\nAda\r\n\r\nBob\r\nCyd\r\n")
    assert list(files.rows(path, table, skip=1)) == [(4, ["Bob"]), (5, ["Cyd"])]


# --- XLSX ------------------------------------------------------------------------------------


def test_xlsx_cells_read_as_the_text_the_spreadsheet_shows(tmp_path):
    data = xlsx_bytes(
        ["Name", "Phone", "Note"],
        ["Élodie", 33612345678, datetime.date(2024, 3, 1)],
        ["Bob", 612345678.0, datetime.datetime(2024, 3, 1, 14, 30)],
        [None, None, None],
        ["Chloé", "+33 6 12 34 56 78", 12.5],
    )
    assert read(tmp_path, data, "people.xlsx") == [
        (2, ["Élodie", "33612345678", "2024-03-01"]),
        (3, ["Bob", "612345678", "2024-03-01 14:30:00"]),
        (5, ["Chloé", "+33 6 12 34 56 78", "12.5"]),
    ]


def test_xlsx_row_without_its_trailing_empty_cells_is_not_ragged(tmp_path):
    data = without_dimension(xlsx_bytes(["Name", "Phone", "Note"], ["Ada"], ["Bob", "", "x"]))
    assert read(tmp_path, data, "people.xlsx") == [(2, ["Ada", "", ""]), (3, ["Bob", "", "x"])]
