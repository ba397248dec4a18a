"""The Django admin for the address book: same columns and rules as uploads, scoped per tenant."""

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from addressbook.models import ExternalContact
from tests.factories import ExternalContactFactory, UserFactory

IMPORT = reverse("admin:addressbook_externalcontact_import")
PROCESS = reverse("admin:addressbook_externalcontact_process_import")
EXPORT = reverse("admin:addressbook_externalcontact_export")
HEADER = b"Name,Address,Phone,Mobile,Other,Email\r\n"


def _upload(client, tenant, body: bytes):
    upload = SimpleUploadedFile("contacts.csv", HEADER + body)
    return client.post(IMPORT, {"import_file": upload, "format": 0, "tenant": tenant.pk})


def _confirm(client, response):
    form = response.context["confirm_form"]
    return client.post(PROCESS, {field.name: field.value() or "" for field in form})


@pytest.fixture
def tenant_staff(tenant_a):
    user = UserFactory(tenant=tenant_a, is_staff=True, username="staff-a")
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="addressbook"))
    return user


def test_admin_import_refuses_rows_the_product_would_refuse(admin_client, tenant_a):
    ExternalContactFactory(tenant=tenant_a, name="Existing")
    response = _upload(
        admin_client,
        tenant_a,
        b"existing,,,,,\r\nBad,,12,,,\r\nDup,,,,,\r\ndup,,,,,\r\nOk,,,,,\r\n",
    )
    errors = {
        row.number: [str(e) for e in row.error.messages]
        for row in response.context["result"].invalid_rows
    }
    assert errors == {
        1: ["Name\u202f: «\u202fexisting\u202f» existe déjà"],
        2: ["Phone\u202f: «\u202f12\u202f» n’est pas un numéro de téléphone valide"],
        4: ["Name\u202f: «\u202fdup\u202f» figure déjà plus haut dans le fichier"],
    }
    assert ExternalContact.objects.count() == 1


def test_admin_import_creates_in_the_chosen_tenant_with_normalised_phones(
    admin_client, tenant_a, tenant_b
):
    ExternalContactFactory(tenant=tenant_b, name="Dupont")
    _confirm(
        admin_client,
        _upload(admin_client, tenant_a, b"Dupont,,+33 1 23 45 67 89,06 12 34 56 78,,\r\n"),
    )
    created = ExternalContact.objects.get(tenant=tenant_a)
    assert (created.name, created.phone_e164, created.mobile_e164) == (
        "Dupont",
        "+33123456789",
        "+33612345678",
    )
    assert ExternalContact.objects.filter(tenant=tenant_b).count() == 1


def test_admin_export_uses_the_template_columns_and_guards_formulas(
    admin_client, tenant_a, tenant_b
):
    ExternalContactFactory(tenant=tenant_a, name="=HYPERLINK(1)", phone_e164="+33123456789")
    ExternalContactFactory(tenant=tenant_b, name="Other tenant")
    fields = {
        f"externalcontactresource_{name}": True
        for name in ("name", "address", "phone", "mobile", "other", "email")
    }
    response = admin_client.post(
        f"{EXPORT}?tenant__id__exact={tenant_a.pk}", {"format": 0, "resource": 0, **fields}
    )
    assert response.content.decode().splitlines() == [
        "Name,Address,Phone,Mobile,Other,Email",
        "'=HYPERLINK(1),,,,,",
    ]


def test_tenant_staff_see_and_reach_only_their_tenant(client, tenant_staff, tenant_b):
    mine = ExternalContactFactory(tenant=tenant_staff.tenant, name="Mine")
    theirs = ExternalContactFactory(tenant=tenant_b, name="Theirs")
    client.force_login(tenant_staff)
    listed = (
        client.get(reverse("admin:addressbook_externalcontact_changelist")).context["cl"].queryset
    )
    assert list(listed) == [mine]
    assert (
        client.get(
            reverse("admin:addressbook_externalcontact_change", args=[theirs.pk])
        ).status_code
        == 302
    )
    assert (
        client.post(
            reverse("admin:addressbook_externalcontact_delete", args=[theirs.pk]), {"post": "yes"}
        ).status_code
        == 302
    )
    assert ExternalContact.objects.filter(pk=theirs.pk).exists()


def test_tenant_staff_can_import_only_into_their_tenant(client, tenant_staff, tenant_b):
    client.force_login(tenant_staff)
    response = _upload(client, tenant_b, b"Sneaky,,,,,\r\n")
    assert "tenant" in response.context["form"].errors
    assert not ExternalContact.objects.exists()
