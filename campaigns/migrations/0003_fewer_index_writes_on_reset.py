import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

TABLES = ("campaigns_contactaddress", "campaigns_campaigncontact")


def set_fillfactor(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = 90)")


def reset_fillfactor(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(f"ALTER TABLE {table} RESET (fillfactor)")


class Migration(migrations.Migration):
    """Fewer index writes when a reset or the dialer rewrites contacts and addresses.

    Addresses: a reset changes their state and attempts, which no index holds. With free space
    on the row's page PostgreSQL writes the new version there without any index entry (a
    heap-only tuple); COPY otherwise fills the pages to the brim. Pages written from now on
    keep 10% free; existing ones get it when the table is rewritten (VACUUM FULL, a reload).

    Contacts: their state and next try are indexed, so their updates are never heap-only, but
    a new version on the same page halves the pages a reset of 100,000 contacts dirties (49k to
    21k buffers; the backend's own evictions from 30k to 2k). The agent and qualification are
    indexed only where set (most contacts have neither): one or two index entries less per
    rewritten contact.
    """

    dependencies = [
        ("campaigns", "0002_contact_indexes_for_dialer_and_bulk_writes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(set_fillfactor, reset_fillfactor, elidable=False),
        migrations.AlterField(
            model_name="campaigncontact",
            name="preferred_agent",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="agent",
            ),
        ),
        migrations.AlterField(
            model_name="campaigncontact",
            name="qualification",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="campaigns.qualificationcode",
                verbose_name="qualification",
            ),
        ),
        migrations.AddIndex(
            model_name="campaigncontact",
            index=models.Index(
                condition=models.Q(("preferred_agent__isnull", False)),
                fields=["preferred_agent"],
                name="campaigns_contact_agent",
            ),
        ),
        migrations.AddIndex(
            model_name="campaigncontact",
            index=models.Index(
                condition=models.Q(("qualification__isnull", False)),
                fields=["qualification"],
                name="campaigns_contact_qualif",
            ),
        ),
    ]
