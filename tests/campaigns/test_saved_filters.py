"""Saved advanced filters, "add a clause", and the advanced filter panel's context."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.messages import get_messages
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse

from campaigns.filter_views import advanced_filter_context
from campaigns.models import SavedFilter
from tests.campaigns.factories import CampaignFactory, SavedFilterFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.usefixtures("english")

NEXT = "/outbound/page/?mode=list&after=C000010&expr=old"


@pytest.fixture
def campaign(supervisor):
    return CampaignFactory(tenant=supervisor.tenant)


def save(client, campaign, **data):
    data = {"name": "Waiting", "expr": 'state = "waiting"', "next": NEXT, **data}
    return client.post(reverse("campaigns:filter_save", args=[campaign.pk]), data)


def params(response) -> dict:
    return parse_qs(urlsplit(response["Location"]).query)


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


# --- save -----------------------------------------------------------------------------------


def test_save_stores_the_filter_for_the_user_and_campaign(supervisor, campaign, client_for):
    response = save(client_for(supervisor), campaign)
    saved = SavedFilter.objects.get()
    assert (saved.user, saved.campaign, saved.tenant) == (supervisor, campaign, campaign.tenant)
    assert (saved.name, saved.expression) == ("Waiting", 'state = "waiting"')
    assert response.status_code == 302 and response["Location"].startswith("/outbound/page/?")
    # Back on the page, with the saved filter, from its first page, in the same mode.
    assert params(response) == {"mode": ["list"], "expr": ['state = "waiting"']}


def test_save_under_a_name_already_used_replaces_that_filter(supervisor, campaign, client_for):
    client = client_for(supervisor)
    save(client, campaign)
    response = save(client, campaign, name="WAITING", expr="priority > 10")
    saved = SavedFilter.objects.get()
    assert (saved.name, saved.expression) == ("WAITING", "priority > 10")
    assert messages_of(response)[-1] == "Filter “WAITING” replaced."


def test_the_same_name_is_free_for_a_colleague_and_another_campaign(
    supervisor, agent, campaign, client_for
):
    save(client_for(supervisor), campaign)
    save(client_for(supervisor), CampaignFactory(tenant=supervisor.tenant))
    save(client_for(agent), campaign)
    assert SavedFilter.objects.count() == 3


def test_save_refuses_an_invalid_expression_with_the_error(supervisor, campaign, client_for):
    response = save(client_for(supervisor), campaign, expr='stat = "waiting"')
    assert not SavedFilter.objects.exists()
    assert messages_of(response) == [
        "The filter was not saved: Unknown variable “stat” at column 1 — did you mean “state”?"
    ]
    # The bad expression comes back to the page, where the panel points at the error.
    assert params(response)["expr"] == ['stat = "waiting"']


def test_save_refuses_a_blank_name_or_expression(supervisor, campaign, client_for):
    client = client_for(supervisor)
    save(client, campaign, name="  ")
    response = save(client, campaign, expr="  ")
    assert not SavedFilter.objects.exists()
    assert messages_of(response)[-1] == "The filter was not saved: Write a filter before saving it."


def test_save_refuses_get(supervisor, campaign, client_for):
    url = reverse("campaigns:filter_save", args=[campaign.pk])
    assert client_for(supervisor).get(url, {"name": "x", "expr": "priority > 1"}).status_code == 405
    assert not SavedFilter.objects.exists()


def test_save_on_another_tenants_campaign_is_404(campaign, outsider, client_for):
    assert save(client_for(outsider), campaign).status_code == 404
    assert not SavedFilter.objects.exists()


def test_save_without_the_permission_is_403(campaign, tenant_a, client_for):
    roleless = UserFactory(tenant=tenant_a)
    assert save(client_for(roleless), campaign).status_code == 403
    assert not SavedFilter.objects.exists()


def test_save_ignores_a_next_off_the_site(supervisor, campaign, client_for):
    response = save(client_for(supervisor), campaign, next="https://evil.example/")
    assert response["Location"] == campaign.get_absolute_url() + "?expr=state+%3D+%22waiting%22"


# --- delete ---------------------------------------------------------------------------------


def delete(client, saved, method="post"):
    url = reverse("campaigns:filter_delete", args=[saved.pk])
    return getattr(client, method)(url, {"next": NEXT})


def test_delete_removes_my_filter_and_keeps_the_page(supervisor, campaign, client_for):
    saved = SavedFilterFactory(user=supervisor, campaign=campaign)
    response = delete(client_for(supervisor), saved)
    assert not SavedFilter.objects.filter(pk=saved.pk).exists()
    assert params(response) == {"mode": ["list"], "expr": ["old"]}
    assert messages_of(response) == [f"Filter “{saved.name}” deleted."]


def test_delete_refuses_get(supervisor, campaign, client_for):
    saved = SavedFilterFactory(user=supervisor, campaign=campaign)
    assert delete(client_for(supervisor), saved, "get").status_code == 405
    assert SavedFilter.objects.filter(pk=saved.pk).exists()


def test_delete_of_another_tenants_filter_is_404(supervisor, campaign, outsider, client_for):
    saved = SavedFilterFactory(user=supervisor, campaign=campaign)
    assert delete(client_for(outsider), saved).status_code == 404
    assert SavedFilter.objects.filter(pk=saved.pk).exists()


def test_delete_of_a_colleagues_filter_is_404(supervisor, administrator, campaign, client_for):
    saved = SavedFilterFactory(user=supervisor, campaign=campaign)
    assert delete(client_for(administrator), saved).status_code == 404
    assert SavedFilter.objects.filter(pk=saved.pk).exists()


def test_delete_without_the_permission_is_403(campaign, tenant_a, client_for):
    roleless = UserFactory(tenant=tenant_a)
    saved = SavedFilterFactory(user=roleless, campaign=campaign)
    assert delete(client_for(roleless), saved).status_code == 403
    assert SavedFilter.objects.filter(pk=saved.pk).exists()


# --- add a clause ---------------------------------------------------------------------------


def add(client, campaign, **data):
    data = {"join": "and", "field": "priority", "operator": ">=", "value": "10", **data}
    return client.get(
        reverse("campaigns:filter_clause", args=[campaign.pk]), {"next": NEXT, **data}
    )


def test_add_a_clause_appends_it_to_the_expression(agent, campaign, client_for):
    response = add(client_for(agent), campaign, expr='state = "done" or agent = "a"')
    assert params(response) == {
        "mode": ["list"],
        "expr": ['(state = "done" or agent = "a") and priority >= 10'],
    }


def test_add_a_clause_starts_an_empty_expression(agent, campaign, client_for):
    response = add(client_for(agent), campaign, field="agent", operator="=", value='j"d')
    assert params(response)["expr"] == ['agent = "j\\"d"']


def test_a_clause_that_does_not_fit_leaves_the_expression(agent, campaign, client_for):
    response = add(client_for(agent), campaign, value="high", expr="top_priority = True")
    assert params(response)["expr"] == ["top_priority = True"]
    assert messages_of(response) == ["The clause was not added: “high” is not a number (priority)"]


def test_add_a_clause_on_another_tenants_campaign_is_404(campaign, outsider, client_for):
    assert add(client_for(outsider), campaign).status_code == 404


def test_add_a_clause_without_the_permission_is_403(campaign, tenant_a, client_for):
    assert add(client_for(UserFactory(tenant=tenant_a)), campaign).status_code == 403


# --- the panel ------------------------------------------------------------------------------


def panel_context(user, campaign, **query):
    request = RequestFactory().get(campaign.get_absolute_url(), query)
    request.user = user
    return request, advanced_filter_context(request, campaign)


def test_the_panel_lists_only_my_filters_of_this_campaign(supervisor, agent, campaign):
    mine = SavedFilterFactory(user=supervisor, campaign=campaign, expression="priority > 1")
    SavedFilterFactory(user=agent, campaign=campaign)
    SavedFilterFactory(user=supervisor, campaign=CampaignFactory(tenant=supervisor.tenant))
    _request, context = panel_context(supervisor, campaign, mode="list", after="C1", expr="x")
    assert context["saved_filters"] == [mine]
    assert context["saved_filters"][0].link == "?mode=list&expr=priority+%3E+1"
    assert context["query_error"].position == 0 and context["filter_clear_link"] == "?mode=list"


def test_the_panel_marks_the_bad_token(supervisor, campaign):
    expression = 'state = "waiting" and priority = "high"'
    request, context = panel_context(supervisor, campaign, expr=expression)
    html = render_to_string("campaigns/_advanced_filter.html", context, request)
    assert "“high” is not a number (priority) at column 34" in html
    assert 'and priority = <mark class="bg-danger-subtle">&quot;high&quot;</mark>' in html
    assert "Save this filter" not in html


def test_the_panel_offers_to_save_a_good_filter_and_lists_the_variables(supervisor, campaign):
    SavedFilterFactory(user=supervisor, campaign=campaign, name="Mine")
    request, context = panel_context(supervisor, campaign, expr="priority >= 10")
    html = render_to_string("campaigns/_advanced_filter.html", context, request)
    assert context["query_error"] is None and "<mark" not in html
    assert reverse("campaigns:filter_save", args=[campaign.pk]) in html
    assert "Save this filter" in html and ">Mine</a>" in html
    assert "<code>address_state</code>" in html and "<code>custom.&lt;name&gt;</code>" in html
