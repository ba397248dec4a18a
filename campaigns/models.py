from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contactcenter.models import (
    EqualityIndex,
    ImportedRow,
    TenantModel,
    import_job_without_constraint,
    tenant_without_constraint,
)


class CallingRules(TenantModel):
    """When contacts may be called: weekly windows in the contact's own time zone, holidays
    of a country that are never called, and a cap on attempts over a rolling period.

    Data, not code: the French rules are one row (seeded), a tenant can add its own.
    """

    name = models.CharField(_("name"), max_length=100)
    # {"mon": [["10:00", "13:00"], ["14:00", "20:00"]], …, "sun": []}
    windows = models.JSONField(_("calling windows"), default=dict)
    holidays_country = models.CharField(
        _("no calls on the public holidays of"),
        max_length=2,
        blank=True,
        help_text=_("ISO country code, e.g. FR."),
    )
    holidays_subdivision = models.CharField(_("region for holidays"), max_length=10, blank=True)
    max_attempts = models.PositiveSmallIntegerField(
        _("max attempts per period"), null=True, blank=True
    )
    period_days = models.PositiveSmallIntegerField(_("period (days)"), default=30)

    class Meta:
        verbose_name = _("calling rules")
        verbose_name_plural = _("calling rules")
        constraints = [
            models.UniqueConstraint("tenant", Lower("name"), name="campaigns_rules_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class DoNotCallList(TenantModel):
    name = models.CharField(_("name"), max_length=100)
    description = models.CharField(_("description"), max_length=250, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("do-not-call list")
        verbose_name_plural = _("do-not-call lists")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint("tenant", Lower("name"), name="campaigns_dnc_unique_name")
        ]
        permissions = [("import_donotcalllist", _("Can import do-not-call numbers"))]

    def __str__(self) -> str:
        return self.name


class DoNotCallEntry(TenantModel, ImportedRow):
    dnc_list = models.ForeignKey(DoNotCallList, on_delete=models.CASCADE, related_name="entries")
    value = models.CharField(
        _("number or address"), max_length=254, help_text=_("E.164 number or email")
    )
    expires_on = models.DateField(_("expires on"), null=True, blank=True)

    class Meta:
        verbose_name = _("do-not-call entry")
        verbose_name_plural = _("do-not-call entries")
        constraints = [
            models.UniqueConstraint("dnc_list", "value", name="campaigns_dnc_unique_value")
        ]
        indexes = [models.Index(fields=["tenant", "value"], name="campaigns_dnc_value")]

    def __str__(self) -> str:
        return self.value


class Campaign(TenantModel):
    class State(models.TextChoices):
        RUNNING = "running", _("Running")
        PAUSED = "paused", _("Paused")
        STOPPED = "stopped", _("Stopped")

    name = models.CharField(_("name"), max_length=100)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PAUSED)
    max_attempts = models.PositiveSmallIntegerField(_("max attempts per address"), default=5)
    calling_rules = models.ForeignKey(
        CallingRules,
        verbose_name=_("calling rules"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
    )
    do_not_call_lists = models.ManyToManyField(
        DoNotCallList, verbose_name=_("do-not-call lists"), blank=True
    )
    default_time_zone = models.CharField(
        _("default time zone"), max_length=64, default="Europe/Paris"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint("tenant", Lower("name"), name="campaigns_campaign_unique_name")
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("campaigns:contacts", args=[self.pk])


class QualificationCode(TenantModel):
    """An outcome an agent or the dialer records for an attempt (e.g. SALE, NO_ANSWER)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="qualifications")
    code = models.CharField(_("code"), max_length=30)
    label = models.CharField(_("label"), max_length=100)
    # A final outcome ends the contact (Done); otherwise it is called again.
    is_final = models.BooleanField(_("ends the contact"), default=False)

    class Meta:
        verbose_name = _("qualification code")
        verbose_name_plural = _("qualification codes")
        constraints = [
            models.UniqueConstraint("campaign", "code", name="campaigns_qualification_unique")
        ]

    def __str__(self) -> str:
        return f"{self.code} — {self.label}"


class ContactList(TenantModel):
    class State(models.TextChoices):
        ACTIVE = "active", _("Active")
        STOPPED = "stopped", _("Stopped")
        SUSPENDED = "suspended", _("Suspended")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="lists")
    name = models.CharField(_("name"), max_length=100)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.ACTIVE)

    class Meta:
        verbose_name = _("contact list")
        verbose_name_plural = _("contact lists")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint("campaign", Lower("name"), name="campaigns_list_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class CampaignContact(TenantModel, ImportedRow):
    class State(models.TextChoices):
        DONE = "done", _("Done")
        WAITING = "waiting", _("Waiting")
        RUNNING = "running", _("Running")
        FAILED = "failed", _("Failed")
        DELETED = "deleted", _("Deleted")
        PAUSED = "paused", _("Paused")
        LIST_STOPPED = "list_stopped", _("List stopped")
        LIST_SUSPENDED = "list_suspended", _("List suspended")
        SHELVED = "shelved", _("Shelved")

    # No foreign-key constraint in the database for the tenant and the import job: PostgreSQL
    # checks one per inserted row (~4 µs each: 8 s of a million-row import for the two). Both are
    # set by the server, never read from a file, and Django's on_delete still cascades or clears.
    tenant = tenant_without_constraint()
    import_job = import_job_without_constraint()
    # No index of its own: campaigns_contact_unique_id and the indexes below lead with it, and
    # one more index would only slow the bulk writes (import, reset). No constraint in the
    # database either: it is always the contact list's campaign, set by the server; its check
    # cost ~4 µs per imported contact.
    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.CASCADE,
        related_name="contacts",
        db_index=False,
        db_constraint=False,
    )
    # No constraint in the database either: the list is one of the tenant's, chosen on a form
    # or the import's upload page and looked up again by the server, and deleting a list
    # deletes its contacts through Django's CASCADE. The check, deferred to the commit, looked
    # the list up again for each contact: with the address's to its contact, 12.6 s of the
    # commits of a million-row import.
    contact_list = models.ForeignKey(
        ContactList,
        verbose_name=_("list"),
        on_delete=models.CASCADE,
        related_name="contacts",
        db_constraint=False,
    )
    external_id = models.CharField(_("contact ID"), max_length=64)
    # False: list management (loaded, waiting to be launched); True: contact management.
    in_processing = models.BooleanField(_("in processing"), default=False)
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.WAITING
    )
    # Whether the contact is in the dialer's line (Waiting) or out on a claim (Running), computed
    # by the database. The dialer's indexes are partial on it, not on the state: a claim (Waiting
    # to Running) then changes no indexed value, and PostgreSQL rewrites the row on its own page
    # (a heap-only update, the table keeps 15% of each page free for it) with no index entry,
    # where it wrote six. In no other index, and never in a partial index's condition: `state`
    # and `updated_at`, the two columns a claim writes (campaigns.api).
    queued = models.GeneratedField(
        expression=Q(state__in=(State.WAITING, State.RUNNING)),
        output_field=models.BooleanField(),
        db_persist=True,
    )
    next_try_at = models.DateTimeField(_("next try"), null=True, blank=True)
    # Why next_try_at is where it is (a calling window, a holiday, the attempt cap…).
    schedule_note = models.CharField(_("scheduling note"), max_length=200, blank=True)
    priority = models.SmallIntegerField(_("priority"), default=100)
    top_priority = models.BooleanField(_("top priority"), default=False)
    # Indexed only where set (campaigns_contact_agent): most contacts have none, and each
    # index entry is a write for every UPDATE of a contact that is not heap-only (reset, claim).
    preferred_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    time_zone = models.CharField(_("time zone"), max_length=64, default="Europe/Paris")
    manual_reschedules = models.PositiveIntegerField(_("manual reschedules"), default=0)
    # Indexed only where set (campaigns_contact_qualif), as preferred_agent.
    qualification = models.ForeignKey(
        QualificationCode,
        verbose_name=_("qualification"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    custom_fields = models.JSONField(_("custom fields"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("last update"), default=timezone.now)

    class Meta:
        verbose_name = _("campaign contact")
        verbose_name_plural = _("campaign contacts")
        constraints = [
            models.UniqueConstraint("campaign", "external_id", name="campaigns_contact_unique_id"),
            models.CheckConstraint(
                condition=Q(priority__gte=-32768) & Q(priority__lte=32767),
                name="campaigns_priority_range",
            ),
        ]
        indexes = [
            # The page in list management, by Contact ID. Contact management reads
            # campaigns_contact_unique_id instead: the contacts a claim or a reset rewrites
            # (in processing) then cost one index entry less each, and a random one.
            models.Index(
                fields=["tenant", "campaign", "external_id"],
                name="campaigns_contact_listed",
                condition=Q(in_processing=False),
            ),
            models.Index(
                fields=["campaign", "in_processing", "next_try_at", "id"],
                name="campaigns_contact_next",
            ),
            # The dialer's two questions, waiting contacts of a campaign by urgency: those due
            # (a next try) and those never tried (none). Apart, each is read from its first
            # row on; in one index the due ones of each priority sit before its untried ones.
            # They hold the contacts out on a claim too (`queued`): the dialer skips those.
            models.Index(
                "campaign",
                models.F("top_priority").desc(),
                models.F("priority").desc(),
                "next_try_at",
                "id",
                name="campaigns_contact_dialer",
                condition=Q(queued=True, in_processing=True, next_try_at__isnull=False),
            ),
            models.Index(
                "campaign",
                models.F("top_priority").desc(),
                models.F("priority").desc(),
                "next_try_at",
                "id",
                name="campaigns_contact_untried",
                condition=Q(queued=True, in_processing=True, next_try_at__isnull=True),
            ),
            # What deleting a user or a qualification code sets to NULL, and the page's filter
            # on the agent: `= value` implies NOT NULL, so these partial indexes serve them.
            models.Index(
                fields=["preferred_agent"],
                name="campaigns_contact_agent",
                condition=Q(preferred_agent__isnull=False),
            ),
            models.Index(
                fields=["qualification"],
                name="campaigns_contact_qualif",
                condition=Q(qualification__isnull=False),
            ),
        ]
        permissions = [
            ("import_campaigncontact", _("Can import campaign contacts")),
            ("export_campaigncontact", _("Can export campaign contacts")),
            ("reset_campaigncontact", _("Can reset campaign contacts")),
            ("load_campaigncontact", _("Can load contacts back into list management")),
            ("launch_campaigncontact", _("Can launch contacts: the dialer then calls them")),
        ]

    def __str__(self) -> str:
        return self.external_id


# The two moves between a campaign's views: action → where it puts contacts (in_processing).
# Launch hands contacts of list management to the dialer (it reads contact management only);
# Load puts contacts in processing back into list management.
MOVES = {"launch": True, "load": False}


class ContactAddress(TenantModel):
    class Kind(models.TextChoices):
        DEFAULT = "default", _("Default")
        HOME = "home", _("Home phone")
        MOBILE = "mobile", _("Mobile")
        WORK = "work", _("Work")
        EMAIL = "email", _("Email")

    class State(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        RESCHEDULED = "rescheduled", _("Rescheduled")
        WAITING = "waiting", _("Waiting")
        BLOCKED = "blocked", _("Blocked")
        FAILED = "failed", _("Failed")

    # Set by the server, as CampaignContact.tenant: no constraint in the database (one check per
    # inserted address otherwise, ~1.7 a contact on import).
    tenant = tenant_without_constraint()
    # No index of its own: campaigns_address_unique_position leads with it. No constraint in
    # the database (see CampaignContact.contact_list): an address is written with its contact
    # (by the same statement on import) or on the contact's own form, and Django's CASCADE
    # deletes it with its contact.
    contact = models.ForeignKey(
        CampaignContact,
        on_delete=models.CASCADE,
        related_name="addresses",
        db_index=False,
        db_constraint=False,
    )
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    value = models.CharField(
        _("address"), max_length=254, help_text=_("Phone number in E.164, or email")
    )
    kind = models.CharField(
        _("address type"), max_length=10, choices=Kind.choices, default=Kind.DEFAULT
    )
    state = models.CharField(
        _("state"), max_length=12, choices=State.choices, default=State.WAITING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)

    class Meta:
        verbose_name = _("contact address")
        verbose_name_plural = _("contact addresses")
        ordering = ["contact", "position"]
        constraints = [
            models.UniqueConstraint("contact", "position", name="campaigns_address_unique_position")
        ]
        # The addresses that have a value (a do-not-call list changed, the page's filter on a
        # number): a hash index, as imports write the values in no order (EqualityIndex). The
        # contacts' side keeps campaigns and tenants apart.
        indexes = [EqualityIndex(fields=["value"], name="campaigns_address_value")]

    def __str__(self) -> str:
        return self.value


class CallAttempt(TenantModel):
    """One attempt reported by the dialer; the attempt cap over a period counts these."""

    contact = models.ForeignKey(CampaignContact, on_delete=models.CASCADE, related_name="attempts")
    address = models.ForeignKey(
        ContactAddress, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    attempted_at = models.DateTimeField(_("attempted"), default=timezone.now)
    qualification = models.ForeignKey(
        QualificationCode, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("call attempt")
        verbose_name_plural = _("call attempts")
        indexes = [
            models.Index(fields=["contact", "attempted_at"], name="campaigns_attempt_contact")
        ]


class SavedFilter(TenantModel):
    """An advanced filter a user saved by name for a campaign's contacts."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=100)
    expression = models.TextField(_("expression"))

    class Meta:
        verbose_name = _("saved filter")
        verbose_name_plural = _("saved filters")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                "user", "campaign", Lower("name"), name="campaigns_filter_unique_name"
            )
        ]


class ColumnChoice(TenantModel):
    """The columns a user chose for a campaign's contacts table."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    columns = models.JSONField(default=list)

    class Meta:
        constraints = [models.UniqueConstraint("user", "campaign", name="campaigns_columns_unique")]


class DialerClaim(models.Model):
    """The contacts one call of the dialer claimed, and when: what finds the claims whose
    lease ran out (campaigns.api.claims_release_expired). A claim writes no index entry on
    the contacts (CampaignContact.queued), so no index of theirs can find the Running ones;
    this one row per call can. Rows are deleted once their lease has run out and their
    contacts have been released (or were reported on, or claimed again, since)."""

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    claimed_at = models.DateTimeField()
    contacts = models.JSONField(default=list)

    class Meta:
        indexes = [models.Index(fields=["campaign", "claimed_at"], name="campaigns_claim_time")]

    def __str__(self) -> str:
        return f"{len(self.contacts)} contact(s) claimed at {self.claimed_at:%Y-%m-%d %H:%M:%S}"


class DialerToken(TenantModel):
    """A tenant's credential for the dialer hand-off API; only a hash is stored."""

    name = models.CharField(_("name"), max_length=100)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        verbose_name = _("dialer token")
        verbose_name_plural = _("dialer tokens")

    def __str__(self) -> str:
        return self.name

    @staticmethod
    def hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @classmethod
    def issue(cls, *, tenant, name: str) -> tuple[DialerToken, str]:
        """Create a token; the clear value is returned once and never stored."""
        clear = secrets.token_urlsafe(32)
        return cls.objects.create(tenant=tenant, name=name, digest=cls.hash(clear)), clear
