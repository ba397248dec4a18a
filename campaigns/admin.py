"""The campaigns' rows in the Django admin, for back-office staff.

Every admin is tenant-scoped (contactcenter.admin.TenantScopedAdmin). On top of that, the
choices of a row's relations are the rows of its own tenant for staff of a tenant, and a form
refuses a relation to another tenant's row whoever saves it.
"""

from __future__ import annotations

import secrets

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from campaigns import scheduling, services
from campaigns.models import (
    CallAttempt,
    CallingRules,
    Campaign,
    CampaignContact,
    ColumnChoice,
    ContactAddress,
    ContactList,
    DialerToken,
    DoNotCallEntry,
    DoNotCallList,
    QualificationCode,
    SavedFilter,
)
from contactcenter.admin import TenantScopedAdmin
from contactcenter.models import User


class SameTenantForm(forms.ModelForm):
    """Refuses a relation (campaign, list, agent…) to a row of another tenant than this one's."""

    def clean(self):
        cleaned = super().clean()
        tenant = cleaned.get("tenant") or getattr(self.instance, "tenant", None)
        if tenant is None:
            return cleaned
        for name, value in list(cleaned.items()):
            related = list(value) if isinstance(value, QuerySet) else [value]
            if any(getattr(row, "tenant_id", tenant.pk) != tenant.pk for row in related if row):
                self.add_error(name, _("This belongs to another tenant."))
        return cleaned


class CampaignsAdmin(TenantScopedAdmin):
    form = SameTenantForm

    def _scoped(self, request, queryset):
        tenant = self.staff_tenant(request)
        if tenant is None or queryset is None:
            return queryset
        if queryset.model is User or hasattr(queryset.model, "tenant"):
            return queryset.filter(tenant=tenant)
        return queryset

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if field is not None and db_field.name != "tenant":
            field.queryset = self._scoped(request, field.queryset)
        return field

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if field is not None:
            field.queryset = self._scoped(request, field.queryset)
        return field

    def save_formset(self, request, form, formset, change):
        # Rows of an inline belong to the tenant of the row they are part of.
        for row in formset.save(commit=False):
            row.tenant = form.instance.tenant
            row.save()
        for row in formset.deleted_objects:
            row.delete()
        formset.save_m2m()


class CampaignsInline(admin.TabularInline):
    extra = 0
    exclude = ("tenant",)


class CallingRulesForm(SameTenantForm):
    """Rules the scheduler could not read (a malformed window, an unknown country) are refused."""

    def clean(self):
        cleaned = super().clean()
        rules = CallingRules(
            windows=cleaned.get("windows") or {},
            holidays_country=cleaned.get("holidays_country") or "",
            holidays_subdivision=cleaned.get("holidays_subdivision") or "",
        )
        try:
            scheduling.validate_calling_rules(rules)
        except ValidationError as error:
            self.add_error("windows", error)
        return cleaned


@admin.register(CallingRules)
class CallingRulesAdmin(CampaignsAdmin):
    form = CallingRulesForm
    list_display = ("name", "tenant", "holidays_country", "max_attempts", "period_days")
    search_fields = ("name",)


@admin.register(DoNotCallList)
class DoNotCallListAdmin(CampaignsAdmin):
    list_display = ("name", "tenant", "description", "created_at")
    search_fields = ("name", "description")


@admin.register(DoNotCallEntry)
class DoNotCallEntryAdmin(CampaignsAdmin):
    list_display = ("value", "dnc_list", "tenant", "expires_on")
    list_select_related = ("tenant", "dnc_list")
    search_fields = ("value",)
    raw_id_fields = ("dnc_list", "import_job")
    show_full_result_count = False


class QualificationCodeInline(CampaignsInline):
    model = QualificationCode


class ContactListInline(CampaignsInline):
    model = ContactList
    show_change_link = True


@admin.register(Campaign)
class CampaignAdmin(CampaignsAdmin):
    list_display = ("name", "tenant", "state", "max_attempts", "calling_rules", "created_at")
    list_filter = ("state",)
    list_select_related = ("tenant", "calling_rules")
    search_fields = ("name",)
    filter_horizontal = ("do_not_call_lists",)
    inlines = [ContactListInline, QualificationCodeInline]


@admin.register(QualificationCode)
class QualificationCodeAdmin(CampaignsAdmin):
    list_display = ("code", "label", "is_final", "campaign", "tenant")
    list_select_related = ("tenant", "campaign")
    search_fields = ("code", "label")


@admin.register(ContactList)
class ContactListAdmin(CampaignsAdmin):
    list_display = ("name", "campaign", "tenant", "state")
    list_filter = ("state",)
    list_select_related = ("tenant", "campaign")
    search_fields = ("name", "campaign__name")


class ContactAddressInline(CampaignsInline):
    model = ContactAddress
    fields = ("position", "value", "kind", "state", "attempts")


@admin.register(CampaignContact)
class CampaignContactAdmin(CampaignsAdmin):
    list_display = (
        "external_id",
        "campaign",
        "contact_list",
        "state",
        "in_processing",
        "next_try_at",
        "priority",
        "top_priority",
        "updated_at",
    )
    list_filter = ("state", "in_processing", "top_priority")
    list_select_related = ("tenant", "campaign", "contact_list")
    search_fields = ("external_id", "addresses__value")
    raw_id_fields = ("campaign", "contact_list", "preferred_agent", "qualification", "import_job")
    readonly_fields = ("created_at",)
    inlines = [ContactAddressInline]
    # A campaign may hold a million contacts: no second COUNT(*) for the "show all" link.
    show_full_result_count = False

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        services.claim_if_set_running(obj, form.changed_data)


@admin.register(ContactAddress)
class ContactAddressAdmin(CampaignsAdmin):
    list_display = ("value", "kind", "state", "attempts", "contact", "tenant")
    list_filter = ("state", "kind")
    list_select_related = ("tenant", "contact")
    search_fields = ("value", "contact__external_id")
    raw_id_fields = ("contact",)
    show_full_result_count = False


@admin.register(CallAttempt)
class CallAttemptAdmin(CampaignsAdmin):
    list_display = ("attempted_at", "contact", "address", "qualification", "tenant")
    list_select_related = ("tenant", "contact", "address", "qualification")
    search_fields = ("contact__external_id", "address__value")
    raw_id_fields = ("contact", "address", "qualification")
    show_full_result_count = False


@admin.register(SavedFilter)
class SavedFilterAdmin(CampaignsAdmin):
    list_display = ("name", "user", "campaign", "tenant")
    list_select_related = ("tenant", "user", "campaign")
    search_fields = ("name", "expression")


@admin.register(ColumnChoice)
class ColumnChoiceAdmin(CampaignsAdmin):
    list_display = ("user", "campaign", "tenant", "columns")
    list_select_related = ("tenant", "user", "campaign")
    search_fields = ("user__username", "campaign__name")


@admin.register(DialerToken)
class DialerTokenAdmin(CampaignsAdmin):
    """A token is made here; its clear value is shown once, on saving, and never again."""

    list_display = ("name", "tenant", "created_at", "last_used_at")
    search_fields = ("name",)
    readonly_fields = ("created_at", "last_used_at")

    def save_model(self, request, obj, form, change):
        clear = None
        if not change:
            clear = secrets.token_urlsafe(32)
            obj.digest = DialerToken.hash(clear)
        super().save_model(request, obj, form, change)
        if clear:
            messages.warning(
                request,
                _(
                    "The token is %(token)s — copy it now: it is not stored and will not be shown again."
                )
                % {"token": clear},
            )
