from __future__ import annotations

import zoneinfo
from datetime import datetime
from functools import cache

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns import scheduling
from campaigns.donotcall import InvalidAddress, normalise
from campaigns.models import (
    CallingRules,
    Campaign,
    CampaignContact,
    ContactAddress,
    ContactList,
    DoNotCallList,
    QualificationCode,
)
from campaigns.tables import CHOOSABLE_COLUMNS, CampaignContactTable, zone_info
from contactcenter.phones import PhoneReader

# The calling-rules choice: none, the French preset (made for the tenant when first chosen),
# or one of the tenant's own rule sets by id.
NO_RULES = ""
FRENCH_RULES = "french"
# Addresses the contact form edits; more may come from an import and are kept as they are.
ADDRESS_SLOTS = 3


@cache
def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


def _limit(form: forms.Form, model, names: tuple[str, ...]) -> None:
    """Show each text field's length limit, as the server enforces it."""
    for name in names:
        limit = model._meta.get_field(name).max_length
        form.fields[name].widget.attrs["maxlength"] = limit
        form.fields[name].help_text = _("At most %(max)d characters.") % {"max": limit}


class CampaignForm(forms.ModelForm):
    rules = forms.ChoiceField(label=_("Calling rules"), required=False)
    default_time_zone = forms.ChoiceField(
        label=_("Default time zone"),
        help_text=_("Given to new contacts that have none of their own."),
    )

    class Meta:
        model = Campaign
        fields = [
            "name",
            "state",
            "max_attempts",
            "rules",
            "default_time_zone",
            "do_not_call_lists",
        ]
        widgets = {"do_not_call_lists": forms.CheckboxSelectMultiple}

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.tenant = tenant
        _limit(self, Campaign, ("name",))
        self.fields["max_attempts"].widget.attrs.update(min=1, max=100)
        self.fields["max_attempts"].min_value = 1
        self.fields["default_time_zone"].choices = time_zone_choices()
        self.fields["do_not_call_lists"].queryset = DoNotCallList.objects.for_tenant(tenant)
        self.fields["do_not_call_lists"].help_text = _(
            "Addresses found in these lists are blocked: they are never called."
        )
        # The preset is offered once, as "French rules", whether or not it was made already.
        own = (
            CallingRules.objects.for_tenant(tenant)
            .exclude(name__iexact=scheduling.FRENCH_RULES_NAME)
            .order_by("name")
        )
        self.fields["rules"].choices = [
            (NO_RULES, _("None: any time of any day")),
            (
                FRENCH_RULES,
                _("French rules: weekdays 10:00–13:00 and 14:00–20:00, no public holidays"),
            ),
            *((str(rules.pk), rules.name) for rules in own),
        ]
        self.fields["rules"].help_text = _(
            "When contacts may be called, in each contact's own time zone."
        )
        rules = self.instance.calling_rules
        if rules is not None:
            preset = rules.name.casefold() == scheduling.FRENCH_RULES_NAME.casefold()
            self.initial["rules"] = FRENCH_RULES if preset else str(rules.pk)

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        taken = Campaign.objects.for_tenant(self.tenant).filter(name__iexact=name)
        if taken.exclude(pk=self.instance.pk).exists():
            raise ValidationError(
                _("A campaign named “%(name)s” already exists."), params={"name": name}
            )
        return name

    def clean_rules(self) -> str | CallingRules:
        """ "" (none), "french" (the preset, made on save) or one of the tenant's rule sets."""
        value = self.cleaned_data["rules"]
        if value in (NO_RULES, FRENCH_RULES):
            return value
        return CallingRules.objects.for_tenant(self.tenant).get(pk=value)


class ContactListForm(forms.ModelForm):
    class Meta:
        model = ContactList
        fields = ["name", "state"]
        help_texts = {
            "state": _(
                "Stopping or suspending a list moves its waiting contacts to “List stopped” or "
                "“List suspended”: they are not called. Making it active again moves them back "
                "to “Waiting”."
            )
        }

    def __init__(self, *args, campaign: Campaign, **kwargs):
        super().__init__(*args, **kwargs)
        self.campaign = campaign
        _limit(self, ContactList, ("name",))

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        taken = self.campaign.lists.filter(name__iexact=name).exclude(pk=self.instance.pk)
        if taken.exists():
            raise ValidationError(
                _("This campaign already has a list named “%(name)s”."), params={"name": name}
            )
        return name


class QualificationCodeForm(forms.ModelForm):
    class Meta:
        model = QualificationCode
        fields = ["code", "label", "is_final"]
        help_texts = {
            "is_final": _(
                "The contact is done once an attempt gets this code; else it is called again."
            )
        }

    def __init__(self, *args, campaign: Campaign, **kwargs):
        super().__init__(*args, **kwargs)
        self.campaign = campaign
        _limit(self, QualificationCode, ("code", "label"))

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip()
        if self.campaign.qualifications.filter(code=code).exists():
            raise ValidationError(
                _("This campaign already has the code “%(code)s”."), params={"code": code}
            )
        return code


class ColumnChoiceForm(forms.Form):
    columns = forms.MultipleChoiceField(
        label=_("Columns"), widget=forms.CheckboxSelectMultiple, required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        columns = CampaignContactTable.base_columns
        self.fields["columns"].choices = [
            (name, columns[name].verbose_name) for name in CHOOSABLE_COLUMNS
        ]


class CampaignContactForm(forms.ModelForm):
    """A contact and its first addresses; the service writes them and schedules the contact."""

    next_try_date = forms.DateField(
        label=_("Next try: date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Empty: the contact is launched by priority."),
    )
    next_try_time = forms.TimeField(
        label=_("Next try: time"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text=_(
            "In the contact's time zone. The calling rules may move it to the next allowed time."
        ),
    )
    priority = forms.IntegerField(
        label=_("Priority"),
        min_value=0,
        max_value=255,
        initial=100,
        help_text=_("From 0 to 255; 255 is called first."),
    )
    time_zone = forms.ChoiceField(label=_("Time zone"))
    # On a new contact, for those who may launch contacts: kept only then (__init__).
    launch = forms.BooleanField(
        label=_("Launch now"),
        required=False,
        help_text=_(
            "Ticked, the contact goes into contact management and the dialer may call it; "
            "otherwise it waits in list management until it is launched."
        ),
    )

    class Meta:
        model = CampaignContact
        fields = [
            "external_id",
            "contact_list",
            "state",
            "priority",
            "top_priority",
            "preferred_agent",
            "time_zone",
        ]
        help_texts = {"top_priority": _("Called before every contact without it.")}

    def __init__(self, *args, campaign: Campaign, can_launch: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.campaign = campaign
        if self.instance.pk or not can_launch:
            # An existing contact moves by Launch and Load; launching is its own permission.
            del self.fields["launch"]
        self.region = campaign.tenant.default_phone_region
        _limit(self, CampaignContact, ("external_id",))
        self.fields["external_id"].required = False
        self.fields["external_id"].help_text = _(
            "Unique in the campaign; generated when left empty. At most %(max)d characters."
        ) % {"max": 64}
        self.fields["contact_list"].queryset = campaign.lists.all()
        self.fields["contact_list"].empty_label = None
        self.fields["preferred_agent"].queryset = campaign.tenant.users.filter(
            is_active=True
        ).order_by("username")
        self.fields["time_zone"].choices = time_zone_choices()
        self._add_address_fields()
        if self.instance.pk:
            self._initial_from_instance()
        else:
            self.initial.setdefault("time_zone", campaign.default_time_zone)
            active = campaign.lists.filter(state=ContactList.State.ACTIVE).first()
            self.initial.setdefault("contact_list", active)

    def _add_address_fields(self) -> None:
        for slot in range(1, ADDRESS_SLOTS + 1):
            self.fields[f"address_{slot}"] = forms.CharField(
                label=_("Address %(n)d") % {"n": slot},
                required=slot == 1,
                max_length=254,
                help_text=_("A phone number (01 23 45 67 89, +33 1 23 45 67 89) or an email.")
                if slot == 1
                else "",
            )
            self.fields[f"address_{slot}"].widget.attrs["maxlength"] = 254
            self.fields[f"type_{slot}"] = forms.ChoiceField(
                label=_("Address %(n)d: type") % {"n": slot},
                choices=ContactAddress.Kind.choices,
                initial=ContactAddress.Kind.DEFAULT,
                required=False,
            )

    @property
    def address_pairs(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        """Each address slot's (value, type) fields, for the template to lay out side by side."""
        return [(self[f"address_{n}"], self[f"type_{n}"]) for n in range(1, ADDRESS_SLOTS + 1)]

    def _initial_from_instance(self) -> None:
        contact = self.instance
        if contact.next_try_at:
            local = timezone.localtime(contact.next_try_at, zone_info(contact.time_zone))
            self.initial.update(next_try_date=local.date(), next_try_time=local.time())
        for slot, address in enumerate(contact.addresses.all()[:ADDRESS_SLOTS], start=1):
            self.initial.update({f"address_{slot}": address.value, f"type_{slot}": address.kind})

    def clean_external_id(self) -> str:
        external_id = self.cleaned_data["external_id"].strip()
        taken = self.campaign.contacts.filter(external_id=external_id)
        if external_id and taken.exclude(pk=self.instance.pk).exists():
            raise ValidationError(
                _("This campaign already has a contact with the ID “%(id)s”."),
                params={"id": external_id},
            )
        return external_id

    def clean(self) -> dict:
        cleaned = super().clean()
        self.next_try_at = self._next_try(cleaned)
        self.addresses = []
        for slot in range(1, ADDRESS_SLOTS + 1):
            value = (cleaned.get(f"address_{slot}") or "").strip()
            kind = cleaned.get(f"type_{slot}") or ContactAddress.Kind.DEFAULT
            try:
                self.addresses.append(self._address(value, kind) if value else None)
            except ValidationError as error:
                self.add_error(f"address_{slot}", error)
        return cleaned

    def _next_try(self, cleaned: dict) -> datetime | None:
        day, time = cleaned.get("next_try_date"), cleaned.get("next_try_time")
        if day is None and time is None:
            return None
        if day is None or time is None:
            self.add_error(
                "next_try_date" if day is None else "next_try_time",
                _("Give both the date and the time of the next try, or neither."),
            )
            return None
        zone = zone_info(cleaned.get("time_zone") or self.campaign.default_time_zone)
        return timezone.make_aware(datetime.combine(day, time), zone)

    def _address(self, value: str, kind: str) -> tuple[str, str]:
        """(value, kind): as the import and the do-not-call lists write it (donotcall.normalise:
        a number in E.164, an email lower-cased), an email being of the type Email."""
        is_email = "@" in value
        if is_email and kind not in (ContactAddress.Kind.DEFAULT, ContactAddress.Kind.EMAIL):
            raise ValidationError(_("An email address takes the type Email."))
        if not is_email and kind == ContactAddress.Kind.EMAIL:
            raise ValidationError(_("The type Email takes an email address."))
        try:
            value = normalise(value, PhoneReader(self.region))
        except InvalidAddress:
            reason = (
                _("“%(value)s” is not a valid email address.")
                if is_email
                else _("“%(value)s” is neither a valid phone number nor an email address.")
            )
            raise ValidationError(reason, params={"value": value}) from None
        return value, ContactAddress.Kind.EMAIL if is_email else kind
