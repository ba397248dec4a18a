from django.db import migrations

INDEX = "addressbook_contact_search_trgm"


def create(apps, schema_editor):
    # PostgreSQL only: a trigram index makes "search LIKE '%term%'" an index scan. SQLite has
    # no such index; the same query runs there as a scan, which is fine at its sizes.
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON addressbook_externalcontact USING gin (search gin_trgm_ops)"
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("addressbook", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
