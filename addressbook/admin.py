from django import forms
from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportMixin
from import_export.forms import ConfirmImportForm, ImportForm

from addressbook import services
from addressbook.models import AddressBook, ExternalContact
from addressbook.resources import ExternalContactResource
from contactcenter.admin import TenantScopedAdmin
from contactcenter.models import Tenant
from contactcenter.phones import InvalidPhone, to_e164


class TenantChoiceMixin(forms.Form):
    tenant = forms.ModelChoiceField(label=_("Tenant"), queryset=Tenant.objects.all())


class TenantImportForm(TenantChoiceMixin, ImportForm):
    pass


class TenantConfirmImportForm(TenantChoiceMixin, ConfirmImportForm):
    pass


class ExternalContactAdminForm(forms.ModelForm):
    """The admin's own edits normalise phones like the product's form does."""

    class Meta:
        model = ExternalContact
        fields = ["tenant", "name", "phone", "mobile", "address", "email", "other"]

    def clean(self):
        cleaned = super().clean()
        tenant = cleaned.get("tenant") or getattr(self.instance, "tenant", None)
        region = tenant.default_phone_region if tenant else "FR"
        for field in ("phone", "mobile"):
            raw = (cleaned.get(field) or "").strip()
            try:
                setattr(self.instance, f"{field}_e164", to_e164(raw, region) if raw else "")
            except InvalidPhone:
                self.add_error(
                    field, _("“%(value)s” is not a valid phone number.") % {"value": raw}
                )
        return cleaned


@admin.register(ExternalContact)
class ExternalContactAdmin(ImportExportMixin, TenantScopedAdmin):
    form = ExternalContactAdminForm
    resource_classes = [ExternalContactResource]
    import_form_class = TenantImportForm
    confirm_form_class = TenantConfirmImportForm
    list_display = ("name", "tenant", "phone", "mobile", "email", "updated_at")
    search_fields = ("name", "phone", "mobile", "email", "other")
    readonly_fields = ("phone_e164", "mobile_e164", "import_job", "created_at", "updated_at")
    ordering = ("tenant", "name")

    def _tenant_choices(self, request):
        tenant = self.staff_tenant(request)
        return Tenant.objects.filter(pk=tenant.pk) if tenant else Tenant.objects.all()

    def create_import_form(self, request):
        form = super().create_import_form(request)
        form.fields["tenant"].queryset = self._tenant_choices(request)
        return form

    def create_confirm_form(self, request, import_form=None):
        form = super().create_confirm_form(request, import_form)
        form.fields["tenant"].queryset = self._tenant_choices(request)
        return form

    def get_confirm_form_initial(self, request, import_form):
        initial = super().get_confirm_form_initial(request, import_form)
        if import_form:
            initial["tenant"] = import_form.cleaned_data["tenant"].pk
        return initial

    def get_import_resource_kwargs(self, request, **kwargs):
        form = kwargs.get("form")
        tenant = (
            form.cleaned_data.get("tenant")
            if form is not None and hasattr(form, "cleaned_data")
            else None
        )
        return {**super().get_import_resource_kwargs(request, **kwargs), "tenant": tenant}

    def save_model(self, request, obj, form, change):
        obj.updated_at = timezone.now()
        super().save_model(request, obj, form, change)

    def delete_model(self, request, obj):
        services.contacts_delete(contacts=ExternalContact.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset):
        services.contacts_delete(contacts=queryset)


@admin.register(AddressBook)
class AddressBookAdmin(TenantScopedAdmin):
    list_display = ("name", "tenant", "sources", "created_at")
    search_fields = ("name",)
