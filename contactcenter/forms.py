from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.xlsx,text/csv"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = _(
            "CSV (comma, semicolon or tab; UTF-8 or Windows-1252) or Excel .xlsx, up to %(max)s."
        ) % {"max": filesizeformat(settings.MAX_IMPORT_FILE_BYTES)}


class ExportForm(forms.Form):
    format = forms.ChoiceField(
        label=_("Format"), choices=[("csv", "CSV"), ("xlsx", "Excel (.xlsx)")], initial="csv"
    )
    delimiter = forms.ChoiceField(
        label=_("Separator"),
        choices=[(",", _("comma")), (";", _("semicolon"))],
        initial=",",
        required=False,
    )

    def clean_delimiter(self) -> str:
        return self.cleaned_data.get("delimiter") or ","
