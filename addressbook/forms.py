from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from addressbook.models import AddressBook, ExternalContact
from contactcenter import registry
from contactcenter.phones import InvalidPhone, to_e164


class ExternalContactForm(forms.ModelForm):
    class Meta:
        model = ExternalContact
        fields = ["name", "phone", "mobile", "address", "email", "other"]
        widgets = {"other": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.tenant = tenant
        for name, field in self.fields.items():
            limit = ExternalContact._meta.get_field(name).max_length
            field.help_text = _("At most %(max)d characters.") % {"max": limit}
            field.widget.attrs["maxlength"] = limit
        self.fields["phone"].help_text = _(
            "Landline, e.g. 01 23 45 67 89 or +33 1 23 45 67 89; at most %(max)d characters."
        ) % {"max": 50}
        self.fields["mobile"].help_text = _(
            "e.g. 06 12 34 56 78 or +33 6 12 34 56 78; at most %(max)d characters."
        ) % {"max": 50}

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        taken = ExternalContact.objects.for_tenant(self.tenant).named(name)
        if taken.exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(
                _("A contact named “%(name)s” already exists."), params={"name": name}
            )
        return name

    def _clean_number(self, field: str) -> str:
        raw = self.cleaned_data[field].strip()
        try:
            setattr(
                self.instance,
                f"{field}_e164",
                to_e164(raw, self.tenant.default_phone_region) if raw else "",
            )
        except InvalidPhone:
            raise forms.ValidationError(
                _("“%(value)s” is not a valid phone number."), params={"value": raw}
            ) from None
        return raw

    def clean_phone(self) -> str:
        return self._clean_number("phone")

    def clean_mobile(self) -> str:
        return self._clean_number("mobile")


class AddressBookForm(forms.ModelForm):
    sources = forms.MultipleChoiceField(
        label=_("Sources"),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Who the book lists. New contacts of a source appear in it at once."),
    )

    class Meta:
        model = AddressBook
        fields = ["name", "sources"]

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.tenant = tenant
        self.fields["sources"].choices = [
            (key, source.label) for key, source in registry.directory_sources.items()
        ]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        taken = AddressBook.objects.for_tenant(self.tenant).named(name)
        if taken.exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(
                _("An address book named “%(name)s” already exists."), params={"name": name}
            )
        return name
