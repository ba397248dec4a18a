from __future__ import annotations

from django.db import connection, models, transaction
from django.db.models import Func
from django.db.models.functions import Lower, Trim
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contactcenter.models import (
    ImportedRow,
    Tenant,
    TenantModel,
    TenantQuerySet,
    import_job_without_constraint,
    tenant_without_constraint,
)

NAME_MAX, PHONE_MAX, ADDRESS_MAX, OTHER_MAX, EMAIL_MAX = 100, 50, 100, 250, 50


# The columns a keyword search looks in, in this order, lower-cased and joined by spaces.
SEARCHED = ("name", "address", "phone", "phone_e164", "mobile", "mobile_e164", "other", "email")


class _Joined(Func):
    """Columns joined by spaces and lower-cased, as one flat expression (Concat nests a pair
    per argument, deeper than SQLite's parser allows for eight columns)."""

    template = "LOWER(%(expressions)s)"
    arg_joiner = " || ' ' || "
    output_field = models.TextField()


def search_text():
    """The searched text of a contact, as an expression on the contacts' table."""
    return _Joined(*SEARCHED)


def name_key():
    """A name as the unique constraint compares it; sorting by it walks the constraint's index."""
    return Lower(Trim("name"))


class NamedQuerySet(TenantQuerySet):
    def named(self, *names: str) -> NamedQuerySet:
        """Rows whose name is one of `names` as the unique constraints compare names.

        The rows' side is trimmed and lower-cased by the database, as the constraint does.
        """
        # Keys computed here, sent as one array: an expression per name cost more to build and
        # compile than the query itself (5,000 names a batch). SQLite's LOWER() is Python's
        # lower() in this project (contactcenter/apps.py), PostgreSQL's folds the same letters.
        keys = sorted({name.strip().lower() for name in names})
        return self.alias(name_key=name_key()).filter(name_key__in=keys)


class ExternalContact(TenantModel, ImportedRow):
    """Someone outside the centre: a name and up to two numbers, an address, an email, notes."""

    name = models.CharField(_("name"), max_length=NAME_MAX)
    address = models.CharField(_("address"), max_length=ADDRESS_MAX, blank=True)
    phone = models.CharField(_("phone"), max_length=PHONE_MAX, blank=True)
    phone_e164 = models.CharField(_("phone (E.164)"), max_length=16, blank=True, editable=False)
    mobile = models.CharField(_("mobile"), max_length=PHONE_MAX, blank=True)
    mobile_e164 = models.CharField(_("mobile (E.164)"), max_length=16, blank=True, editable=False)
    other = models.CharField(_("other"), max_length=OTHER_MAX, blank=True)
    email = models.EmailField(_("email"), max_length=EMAIL_MAX, blank=True)
    # No foreign-key constraints in the database on this table: PostgreSQL checks one per
    # inserted row (4 µs each, 8 s of a million-row import for the two). The tenant and the
    # job are set by the server, never read from a file, and Django's on_delete still
    # cascades or clears them. Undo finds an import's rows by scanning: an index on the job
    # would cost every import ~5 s a million rows, for an action taken once in a while.
    tenant = tenant_without_constraint()
    import_job = import_job_without_constraint(db_index=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now, editable=False)

    objects = NamedQuerySet.as_manager()

    class Meta:
        verbose_name = _("external contact")
        verbose_name_plural = _("external contacts")
        ordering = ["name", "id"]
        constraints = [
            # Trimmed as well as lower-cased: " Ada " and "ada" are one name.
            models.UniqueConstraint(
                "tenant", Lower(Trim("name")), name="addressbook_contact_unique_name"
            ),
        ]
        permissions = [
            ("import_externalcontact", _("Can import external contacts")),
            ("export_externalcontact", _("Can export external contacts")),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("addressbook:contact_edit", args=[self.pk])

    def save(self, *args, **kwargs) -> None:
        """Saved with its search row, in the same transaction (imports index afterwards)."""
        with transaction.atomic():
            super().save(*args, **kwargs)
            ContactSearch.refresh(self.tenant_id, [self.pk])


class ContactSearch(models.Model):
    """What the keyword and number searches look in: one row per contact, in a table of its own.

    Its indexes (trigrams of the text, the E.164 numbers) are what makes a search fast at a
    million contacts, and also what makes writing slow: kept on the contacts' table they cost
    an import of a million rows well over a minute. So a contact saved alone gets its row at
    once, but an import's batches only record their range of ids (SearchBacklog) and
    addressbook.tasks.index_contacts fills those rows after the import. Until then searches
    also scan the recorded ranges (see search.matching), so they find every contact, only
    more slowly. Rows of deleted contacts are removed with them and could only ever match a
    contact that no longer exists.
    """

    # No foreign key constraint: the rows are written apart from the contacts' (see above),
    # and removed with them by services.contacts_delete. The relation lets a search join them.
    contact = models.OneToOneField(
        ExternalContact,
        primary_key=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="search_row",
    )
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_index=False)
    # search_text() of the contact: lower-cased columns joined by spaces.
    text = models.TextField()
    # name_key() of the contact: a page of matches sorted by name walks the index below.
    name_key = models.TextField(default="")
    phone_e164 = models.CharField(max_length=16, blank=True)
    mobile_e164 = models.CharField(max_length=16, blank=True)

    class Meta:
        indexes = [
            # A trigram index on text as well, on PostgreSQL (migration 0004). None of them
            # starts with the tenant: searches run as "contacts of the tenant whose id is in
            # (search rows that match)", the contacts' side keeps tenants apart, and an index
            # led by the tenant lures the planner into reading a whole tenant to intersect it.
            models.Index(fields=["phone_e164"], name="addressbook_search_phone"),
            models.Index(fields=["mobile_e164"], name="addressbook_search_mobile"),
            # The exception: a page of matches sorted by name walks the tenant's names in
            # order and tests each text in the index itself (PostgreSQL: an index-only scan),
            # rather than fetching every match to sort them (43k for "marie").
            models.Index(
                fields=["tenant", "name_key"],
                include=["contact", "text"],
                name="addressbook_search_name",
            ),
        ]

    def __str__(self) -> str:
        return f"search row of contact {self.contact_id}"

    @classmethod
    def refresh(cls, tenant_id: int, ids: list[int]) -> None:
        """Write the search rows of these contacts from what the contacts' table holds now."""
        _fill(f"tenant_id = %s AND id IN ({', '.join(['%s'] * len(ids))})", [tenant_id, *ids])

    @classmethod
    def fill_range(cls, tenant_id: int, first: int, last: int) -> None:
        """Add the missing search rows of the tenant's contacts with ids first..last.

        Rows already there are left alone: they were written when their contact was saved,
        which is at least as recent as what this statement reads.
        """
        _fill("tenant_id = %s AND id BETWEEN %s AND %s", [tenant_id, first, last], update=False)


def _fill(where: str, params: list, *, update: bool = True) -> None:
    columns = "contact_id, tenant_id, text, name_key, phone_e164, mobile_e164"
    text = " || ' ' || ".join(SEARCHED)
    conflict = (
        "DO UPDATE SET text = EXCLUDED.text, name_key = EXCLUDED.name_key, "
        "phone_e164 = EXCLUDED.phone_e164, mobile_e164 = EXCLUDED.mobile_e164"
        if update
        else "DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {ContactSearch._meta.db_table} ({columns}) "  # noqa: S608
            f"SELECT id, tenant_id, LOWER({text}), LOWER(TRIM(name)), phone_e164, mobile_e164 "
            f"FROM {ExternalContact._meta.db_table} WHERE {where} "
            f"ON CONFLICT (contact_id) {conflict}",
            params,
        )


class SearchBacklog(models.Model):
    """A range of contact ids an import wrote whose search rows are not all written yet."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    first_id = models.BigIntegerField()
    last_id = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"contacts {self.first_id}–{self.last_id} to index"


class AddressBook(TenantModel):
    """A named directory that merges sources: agents, supervisors, campaigns, external contacts.

    Sources are keys of contactcenter.registry.directory_sources, so that the address book
    never imports the apps that provide them.
    """

    name = models.CharField(_("name"), max_length=100)
    sources = models.JSONField(_("sources"), default=list)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    objects = NamedQuerySet.as_manager()

    class Meta:
        verbose_name = _("address book")
        verbose_name_plural = _("address books")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint("tenant", Lower("name"), name="addressbook_book_unique_name")
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("addressbook:book_detail", args=[self.pk])
