from __future__ import annotations

from django.db import models
from django.db.models import Value
from django.db.models.functions import Concat, Lower, Trim
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contactcenter.models import ImportedRow, TenantModel, TenantQuerySet

NAME_MAX, PHONE_MAX, ADDRESS_MAX, OTHER_MAX, EMAIL_MAX = 100, 50, 100, 250, 50


def _search_expression():
    parts = []
    for field in (
        "name",
        "address",
        "phone",
        "phone_e164",
        "mobile",
        "mobile_e164",
        "other",
        "email",
    ):
        parts += [field, Value(" ")]
    return Lower(Concat(*parts[:-1], output_field=models.TextField()))


class NamedQuerySet(TenantQuerySet):
    def named(self, *names: str) -> NamedQuerySet:
        """Rows whose name is one of `names` as the unique constraints compare names.

        The rows' side is trimmed and lower-cased by the database, as the constraint does.
        """
        # Keys computed here, sent as one array: an expression per name cost more to build and
        # compile than the query itself (5,000 names a batch). SQLite's LOWER() is Python's
        # lower() in this project (contactcenter/apps.py), PostgreSQL's folds the same letters.
        keys = sorted({name.strip().lower() for name in names})
        return self.alias(name_key=Lower(Trim("name"))).filter(name_key__in=keys)


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
    # One lower-cased text of every column, so that a keyword search is one indexed LIKE
    # (a trigram index on PostgreSQL, see migration 0002) instead of an OR over six columns.
    search = models.GeneratedField(
        expression=_search_expression(), output_field=models.TextField(), db_persist=True
    )
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
        indexes = [
            models.Index(fields=["tenant", "name", "id"], name="addressbook_contact_name"),
            models.Index(fields=["tenant", "phone_e164"], name="addressbook_contact_phone"),
            models.Index(fields=["tenant", "mobile_e164"], name="addressbook_contact_mobile"),
        ]
        permissions = [
            ("import_externalcontact", _("Can import external contacts")),
            ("export_externalcontact", _("Can export external contacts")),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("addressbook:contact_edit", args=[self.pk])


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
