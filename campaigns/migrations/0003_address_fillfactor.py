from django.db import migrations

TABLE = "campaigns_contactaddress"


def set_fillfactor(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {TABLE} SET (fillfactor = 90)")


def reset_fillfactor(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {TABLE} RESET (fillfactor)")


class Migration(migrations.Migration):
    """Room on each page of the addresses for the new versions of their rows.

    A reset (or the dialer) changes an address's state and attempts, which no index holds: with
    free space on the row's page, PostgreSQL writes the new version there without any index
    entry (a heap-only tuple). COPY otherwise fills the pages to the brim. Pages written from
    now on keep 10% free; existing ones get it when the table is rewritten (VACUUM FULL, or a
    reload of the data).
    """

    dependencies = [("campaigns", "0002_contact_indexes_for_dialer_and_bulk_writes")]

    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor, elidable=False)]
