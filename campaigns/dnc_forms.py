"""Forms of the do-not-call pages: a list's name, one entry."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from campaigns.donotcall import InvalidAddress, normalise
from campaigns.models import DoNotCallEntry, DoNotCallList
from contactcenter.phones import PhoneReader


class DoNotCallListForm(forms.ModelForm):
    class Meta:
        model = DoNotCallList
        fields = ["name", "description"]

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.tenant = tenant
        for name, field in self.fields.items():
            limit = DoNotCallList._meta.get_field(name).max_length
            field.help_text = _("At most %(max)d characters.") % {"max": limit}
            field.widget.attrs["maxlength"] = limit

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        taken = DoNotCallList.objects.for_tenant(self.tenant).filter(name__iexact=name)
        if taken.exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(
                _("A do-not-call list named “%(name)s” already exists."), params={"name": name}
            )
        return name


class DoNotCallEntryForm(forms.ModelForm):
    class Meta:
        model = DoNotCallEntry
        fields = ["value", "expires_on"]
        widgets = {"expires_on": forms.DateInput(attrs={"type": "date"})}

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.tenant = tenant
        self.fields["value"].help_text = _(
            "A phone number, e.g. 06 12 34 56 78 or +33 6 12 34 56 78, or an email."
        )
        self.fields["expires_on"].help_text = _("Optional: the entry stops blocking after it.")

    def clean_value(self) -> str:
        try:
            return normalise(
                self.cleaned_data["value"], PhoneReader(self.tenant.default_phone_region)
            )
        except InvalidAddress as exc:
            raise forms.ValidationError(str(exc)) from None
