import django.db.models.deletion
from django.db import migrations, models


def fill_name_keys(apps, schema_editor):
    """The name key of every contact that has a search row (later rows get it when written)."""
    schema_editor.execute(
        "UPDATE addressbook_contactsearch SET name_key = LOWER(TRIM(c.name)) "
        "FROM addressbook_externalcontact c WHERE c.id = addressbook_contactsearch.contact_id"
    )


def finer_statistics(apps, schema_editor):
    # How common a word is, the planner guesses from a sample of texts: with the default
    # 100, "marie" (4% of the contacts) was found in none and planned as rare (99 rows), and
    # its page fetched all 43k matches to sort them. 1,000 gives steady guesses.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "ALTER TABLE addressbook_contactsearch ALTER COLUMN text SET STATISTICS 1000"
        )


def default_statistics(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "ALTER TABLE addressbook_contactsearch ALTER COLUMN text SET STATISTICS -1"
        )


class Migration(migrations.Migration):
    dependencies = [("addressbook", "0005_contacts_without_foreign_keys")]

    operations = [
        # The same column (contact_id, bigint, no constraint), now a relation Django can join.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RenameField("contactsearch", "contact_id", "contact"),
                migrations.AlterField(
                    model_name="contactsearch",
                    name="contact",
                    field=models.OneToOneField(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        primary_key=True,
                        related_name="search_row",
                        serialize=False,
                        to="addressbook.externalcontact",
                    ),
                ),
            ]
        ),
        migrations.AddField(
            model_name="contactsearch",
            name="name_key",
            field=models.TextField(default=""),
        ),
        migrations.RunPython(fill_name_keys, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="contactsearch",
            index=models.Index(
                fields=["tenant", "name_key"],
                include=["contact", "text"],
                name="addressbook_search_name",
            ),
        ),
        migrations.RunPython(finer_statistics, default_statistics),
    ]
