"""ExternalContact's rules: the name constraint in the database, the create and edit forms."""

from __future__ import annotations

import re

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from addressbook.models import ExternalContact
from tests.addressbook.helpers import contact
from tests.factories import ExternalContactFactory, TenantFactory, UserFactory

pytestmark = pytest.mark.usefixtures("english")

CREATE = reverse("addressbook:contact_create")
LIMITS = {"name": 100, "phone": 50, "mobile": 50, "address": 100, "email": 50, "other": 250}


def edit_url(pk: int) -> str:
    return reverse("addressbook:contact_edit", args=[pk])


def field_block(html: str, name: str) -> str:
    """The rendered block of one form field: from its label to the next field's label."""
    start = html.index(f'for="id_{name}"')
    following = html.find("<label", start + 1)
    return html[start : following if following != -1 else None]


# --- the name constraint, in the database ----------------------------------------------------


@pytest.mark.parametrize("again", ["Alice Martin", "ALICE MARTIN", "alice martin"])
def test_database_refuses_a_name_taken_in_the_tenant_whatever_its_case(tenant_a, again):
    ExternalContactFactory(tenant=tenant_a, name="Alice Martin")
    with pytest.raises(IntegrityError), transaction.atomic():
        ExternalContactFactory(tenant=tenant_a, name=again)


@pytest.mark.parametrize("again", ["  Alice Martin", "Alice Martin  ", " alice martin "])
def test_database_refuses_a_name_taken_in_the_tenant_with_spaces_around_it(tenant_a, again):
    ExternalContactFactory(tenant=tenant_a, name="Alice Martin")
    with pytest.raises(IntegrityError), transaction.atomic():
        ExternalContactFactory(tenant=tenant_a, name=again)


def test_database_allows_the_same_name_in_another_tenant(tenant_a, tenant_b):
    ExternalContactFactory(tenant=tenant_a, name="Alice Martin")
    ExternalContactFactory(tenant=tenant_b, name="alice martin")
    assert ExternalContact.objects.filter(name__iexact="alice martin").count() == 2


# --- the forms show their limits ---------------------------------------------------------------


@pytest.mark.parametrize("page", ["create", "edit"])
def test_contact_forms_show_every_field_limit(client_for, supervisor, page):
    url = CREATE if page == "create" else edit_url(contact(supervisor.tenant, "Ada").pk)
    html = client_for(supervisor).get(url).content.decode()
    for name, limit in LIMITS.items():
        block = field_block(html, name)
        assert f'maxlength="{limit}"' in block, name
        assert re.search(rf"at most {limit} characters", block, re.IGNORECASE), name


def test_contact_form_marks_only_the_name_as_required(client_for, supervisor):
    html = client_for(supervisor).get(CREATE).content.decode()
    required = [name for name in LIMITS if 'class="text-danger"' in field_block(html, name)]
    assert required == ["name"]


# --- create and edit ---------------------------------------------------------------------------


def test_create_with_only_a_name_saves_the_contact_in_the_users_tenant(client_for, supervisor):
    response = client_for(supervisor).post(CREATE, {"name": "  Zoé Durand  "})
    assert response.status_code == 302
    created = ExternalContact.objects.get()
    assert (created.tenant, created.name, created.phone_e164) == (
        supervisor.tenant,
        "Zoé Durand",
        "",
    )


@pytest.mark.parametrize("field", ["phone", "mobile"])
@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("01 23 45 67 89", "+33123456789"),
        ("+33 1 23 45 67 89", "+33123456789"),
        ("06.12.34.56.78", "+33612345678"),
        ("+33 (0)6 12 34 56 78", "+33612345678"),
        ("0033 6 12 34 56 78", "+33612345678"),
    ],
)
def test_create_stores_the_number_as_typed_and_its_e164(client_for, supervisor, field, typed, e164):
    client_for(supervisor).post(CREATE, {"name": "Ada", field: typed})
    created = ExternalContact.objects.get(tenant=supervisor.tenant)
    assert (getattr(created, field), getattr(created, f"{field}_e164")) == (typed, e164)


def test_numbers_are_read_in_the_tenants_own_region(db, client_for):
    belgian = UserFactory(tenant=TenantFactory(default_phone_region="BE"), role="Supervisor")
    client_for(belgian).post(CREATE, {"name": "Ada", "phone": "02 555 12 12"})
    assert ExternalContact.objects.get().phone_e164 == "+3225551212"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("phone", "12", "“12” is not a valid phone number."),
        ("mobile", "06 12 34", "“06 12 34” is not a valid phone number."),
        ("phone", "not a number", "“not a number” is not a valid phone number."),
        ("email", "ada@", "Enter a valid email address."),
        ("name", "x" * 101, "Ensure this value has at most 100 characters (it has 101)."),
        ("other", "x" * 251, "Ensure this value has at most 250 characters (it has 251)."),
        ("name", "   ", "This field is required."),
    ],
)
def test_create_refuses_a_bad_value_with_its_reason(client_for, supervisor, field, value, message):
    data = {"name": "Ada", field: value}
    response = client_for(supervisor).post(CREATE, data)
    assert response.status_code == 400
    assert response.context["form"].errors[field] == [message]
    assert not ExternalContact.objects.exists()


def test_create_refuses_a_name_taken_whatever_its_case_and_spaces(client_for, supervisor):
    contact(supervisor.tenant, "Alice Martin")
    response = client_for(supervisor).post(CREATE, {"name": " ALICE martin "})
    assert response.status_code == 400
    assert response.context["form"].errors["name"] == [
        "A contact named “ALICE martin” already exists."
    ]
    assert ExternalContact.objects.count() == 1


def test_create_accepts_a_name_taken_in_another_tenant(client_for, supervisor, outsider):
    contact(outsider.tenant, "Alice Martin")
    client_for(supervisor).post(CREATE, {"name": "Alice Martin"})
    assert ExternalContact.objects.filter(tenant=supervisor.tenant).count() == 1


def test_create_refuses_a_taken_name_with_an_accented_capital(client_for, supervisor):
    contact(supervisor.tenant, "Émile Zola")
    response = client_for(supervisor).post(CREATE, {"name": "Émile Zola"})
    assert response.status_code == 400
    assert ExternalContact.objects.count() == 1


def test_agent_may_not_create_a_contact(client_for, agent):
    assert client_for(agent).get(CREATE).status_code == 403
    assert client_for(agent).post(CREATE, {"name": "Ada"}).status_code == 403
    assert not ExternalContact.objects.exists()


def test_edit_changes_the_contact_and_renormalises_its_number(client_for, supervisor):
    ada = contact(supervisor.tenant, "Ada", phone="01 23 45 67 89")
    data = {"name": "Ada Lovelace", "phone": "+33 6 12 34 56 78", "email": "ada@example.com"}
    assert client_for(supervisor).post(edit_url(ada.pk), data).status_code == 302
    ada.refresh_from_db()
    assert (ada.name, ada.phone, ada.phone_e164, ada.email) == (
        "Ada Lovelace",
        "+33 6 12 34 56 78",
        "+33612345678",
        "ada@example.com",
    )


def test_edit_keeps_the_contacts_own_name_but_refuses_anothers(client_for, supervisor):
    ada, _bob = contact(supervisor.tenant, "Ada"), contact(supervisor.tenant, "Bob")
    client = client_for(supervisor)
    assert client.post(edit_url(ada.pk), {"name": "ADA"}).status_code == 302
    assert client.post(edit_url(ada.pk), {"name": "bob"}).status_code == 400
    ada.refresh_from_db()
    assert ada.name == "ADA"


def test_edit_with_get_changes_nothing(client_for, supervisor):
    ada = contact(supervisor.tenant, "Ada")
    response = client_for(supervisor).get(edit_url(ada.pk), {"name": "Changed"})
    assert response.status_code == 200
    ada.refresh_from_db()
    assert ada.name == "Ada"


def test_outsider_cannot_see_or_edit_another_tenants_contact(client_for, supervisor, outsider):
    ada = contact(supervisor.tenant, "Ada")
    client = client_for(outsider)
    assert client.get(edit_url(ada.pk)).status_code == 404
    assert client.post(edit_url(ada.pk), {"name": "Mine"}).status_code == 404
    ada.refresh_from_db()
    assert ada.name == "Ada"


def test_agent_may_not_edit_a_contact(client_for, agent):
    ada = contact(agent.tenant, "Ada")
    assert client_for(agent).post(edit_url(ada.pk), {"name": "Changed"}).status_code == 403
    ada.refresh_from_db()
    assert ada.name == "Ada"


def test_a_name_taken_between_check_and_save_is_a_form_error_not_a_500(
    supervisor, client_for, monkeypatch
):
    from addressbook.forms import ExternalContactForm

    monkeypatch.setattr(
        ExternalContactForm, "clean_name", lambda form: form.cleaned_data["name"].strip()
    )
    ExternalContactFactory(tenant=supervisor.tenant, name="Taken")
    response = client_for(supervisor).post("/addressbook/new/", {"name": "taken"})
    assert (
        response.status_code == 400
        and "taken" in response.context["form"].errors["name"][0].lower()
    )
    assert ExternalContact.objects.count() == 1
