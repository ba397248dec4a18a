"""The Django admin for platform staff: every platform model lists, opens and searches."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from contactcenter.models import User
from tests.factories import JobFactory, NotificationFactory

MODELS = ("tenant", "user", "job", "notification")


@pytest.fixture
def rows(supervisor):
    job = JobFactory(requester=supervisor)
    job.rejections.create(line=2, values=["x"], reason="Name: a value is required")
    return {
        "tenant": supervisor.tenant,
        "user": supervisor,
        "job": job,
        "notification": NotificationFactory(user=supervisor),
    }


@pytest.mark.parametrize("model", MODELS)
def test_admin_lists_searches_and_opens_each_platform_model(admin_client, rows, model):
    changelist = reverse(f"admin:contactcenter_{model}_changelist")
    assert admin_client.get(changelist).status_code == 200
    assert admin_client.get(changelist + "?q=sam").status_code == 200
    change = reverse(f"admin:contactcenter_{model}_change", args=[rows[model].pk])
    assert admin_client.get(change).status_code == 200


def test_admin_user_page_shows_tenant_and_translated_roles(admin_client, supervisor):
    response = admin_client.get(
        reverse("admin:contactcenter_user_changelist"), HTTP_ACCEPT_LANGUAGE="fr"
    )
    assert "Tenant A" in response.content.decode() and "Superviseur" in response.content.decode()


def test_admin_creates_a_user_in_a_tenant_with_a_role(admin_client, tenant_a):
    response = admin_client.post(
        reverse("admin:contactcenter_user_add"),
        {
            "username": "new-agent",
            "tenant": tenant_a.pk,
            "groups": [Group.objects.get(name="Agent").pk],
            "password1": "Long-enough-pass-2026",
            "password2": "Long-enough-pass-2026",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    user = User.objects.get(username="new-agent")
    assert user.tenant == tenant_a and user.role_names == ["Agent"]


def test_tenant_users_cannot_enter_the_admin(client_for, administrator):
    response = client_for(administrator).get(reverse("admin:index"))
    assert response.status_code == 302 and "login" in response["Location"]
