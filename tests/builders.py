"""Small file builders shared by the tests."""

import io

import openpyxl


def xlsx_bytes(*rows: list) -> bytes:
    """An .xlsx workbook whose first sheet holds `rows`."""
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
