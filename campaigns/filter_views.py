"""The advanced filter panel of a campaign's contacts: saved filters, "add a clause", and the
context of templates/campaigns/_advanced_filter.html, which the contacts page includes.

Every view answers with a redirect back to the page the panel is on (its `next`, checked to stay
on this site), with the filter in `expr`, which is the only thing the contacts page reads.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Value
from django.db.models.functions import Lower
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from campaigns import query
from campaigns.filters import WIDGET_RENDERER
from campaigns.models import Campaign, CampaignContact, SavedFilter
from contactcenter.access import get_for_tenant
from contactcenter.models import User

PERMISSION = "campaigns.view_campaigncontact"
# A new filter starts again from the first page, whatever the pager calls its place.
PAGING = ("after", "before", "page", "cursor")


class SaveFilterForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    expr = forms.CharField(
        label=gettext_lazy("Filter"),
        max_length=query.MAX_LENGTH,
        error_messages={"required": gettext_lazy("Write a filter before saving it.")},
    )

    def clean_expr(self) -> str:
        expression = self.cleaned_data["expr"]
        try:
            query.apply(CampaignContact.objects.none(), expression)
        except query.QueryError as error:
            raise ValidationError(error.message, code="invalid") from None
        return expression


class ClauseForm(forms.Form):
    # Its selects are rendered in Python, as the contacts page's filters (same HTML).
    default_renderer = WIDGET_RENDERER

    join = forms.ChoiceField(
        label=gettext_lazy("Join with"),
        choices=[("and", gettext_lazy("and")), ("or", gettext_lazy("or"))],
    )
    field = forms.ChoiceField(
        label=gettext_lazy("Variable"),
        choices=[(f.name, f.name) for f in query.FIELDS if not f.name.startswith("custom.")],
    )
    operator = forms.ChoiceField(label=gettext_lazy("Operator"), choices=query.OPERATORS)
    value = forms.CharField(label=gettext_lazy("Value"), required=False, max_length=500)


def saved_filter_save(
    *, user: User, campaign: Campaign, name: str, expression: str
) -> tuple[SavedFilter, bool]:
    """Save `expression` as the user's filter `name` for `campaign`: (filter, created).

    The user's filter already called `name` (in any case) is replaced; the unique constraint
    decides, so two saves at once cannot make two filters of one name.
    """
    try:
        with transaction.atomic():
            saved = SavedFilter.objects.create(
                tenant=campaign.tenant,
                user=user,
                campaign=campaign,
                name=name,
                expression=expression,
            )
        return saved, True
    except IntegrityError:
        saved = (
            SavedFilter.objects.for_tenant(campaign.tenant)
            .alias(key=Lower("name"))
            .get(user=user, campaign=campaign, key=Lower(Value(name)))
        )
        saved.name, saved.expression = name, expression
        saved.save(update_fields=["name", "expression"])
        return saved, False


@require_POST
def filter_save(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_for_tenant(Campaign, request, pk, PERMISSION)
    form = SaveFilterForm(request.POST)
    if not form.is_valid():
        errors = " ".join(error for errors in form.errors.values() for error in errors)
        messages.error(request, _("The filter was not saved: %(errors)s") % {"errors": errors})
        return redirect(_back(request, campaign, request.POST.get("expr", "")))
    saved, created = saved_filter_save(
        user=request.user,
        campaign=campaign,
        name=form.cleaned_data["name"],
        expression=form.cleaned_data["expr"],
    )
    done = _("Filter “%(name)s” saved.") if created else _("Filter “%(name)s” replaced.")
    messages.success(request, done % {"name": saved.name})
    return redirect(_back(request, campaign, saved.expression))


@require_POST
def filter_delete(request: HttpRequest, pk: int) -> HttpResponse:
    saved = get_for_tenant(SavedFilter, request, pk, PERMISSION)
    # A colleague's saved filters are theirs alone: they do not exist for anyone else.
    if saved.user_id != request.user.pk:
        raise Http404("Not your filter")
    saved.delete()
    messages.success(request, _("Filter “%(name)s” deleted.") % {"name": saved.name})
    return redirect(_back(request, saved.campaign, None))


@require_GET
def filter_clause(request: HttpRequest, pk: int) -> HttpResponse:
    """Append the clause built from the form to the filter, then go back to the contacts."""
    campaign = get_for_tenant(Campaign, request, pk, PERMISSION)
    expression = request.GET.get("expr", "")
    form = ClauseForm(request.GET)
    if not form.is_valid():
        messages.error(request, _("Choose a variable and an operator to add a clause."))
        return redirect(_back(request, campaign, expression))
    data = form.cleaned_data
    try:
        added = query.clause(data["field"], data["operator"], data["value"])
    except query.QueryError as error:
        messages.error(request, _("The clause was not added: %(error)s") % {"error": error.message})
        return redirect(_back(request, campaign, expression))
    return redirect(_back(request, campaign, query.append(expression, added, data["join"])))


def _back(request: HttpRequest, campaign: Campaign, expression: str | None) -> str:
    """The page to go back to, with `expression` as its filter (None: the filter it had)."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = campaign.get_absolute_url()
    path, _sep, query_string = target.partition("?")
    params = QueryDict(query_string, mutable=True)
    for key in PAGING if expression is None else ("expr", *PAGING):
        params.pop(key, None)
    if expression:
        params["expr"] = expression
    return f"{path}?{params.urlencode()}" if params else path


# advanced_filter_context() reads `?expr` itself unless told its verdict.
_READ = object()


def advanced_filter_context(
    request: HttpRequest, campaign: Campaign, query_error: query.QueryError | object | None = _READ
) -> dict:
    """The context of templates/campaigns/_advanced_filter.html for the contacts page.

    `query_error` is the verdict on `?expr` (None when it reads well): the contacts page passes
    its filterset's (CampaignContactFilter.expression_error), so the expression is read once.
    """
    expression = request.GET.get("expr", "")
    if query_error is _READ:
        try:
            query.condition(expression)
            query_error = None
        except query.QueryError as error:
            query_error = error
    # The page's other parameters (view, sort…) survive a change of filter.
    keep = [
        (key, value)
        for key, values in request.GET.lists()
        if key not in ("expr", *PAGING)
        for value in values
    ]
    saved_filters = list(
        SavedFilter.objects.for_tenant(campaign.tenant).filter(user=request.user, campaign=campaign)
    )
    for saved in saved_filters:
        saved.link = "?" + urlencode([*keep, ("expr", saved.expression)])
    return {
        "campaign": campaign,
        "expression": expression,
        "query_error": query_error,
        "query_error_parts": _highlight(expression, query_error),
        "saved_filters": saved_filters,
        # Ids of its own: the contacts page has other forms with fields called "field"…
        "clause_form": ClauseForm(auto_id="advanced-filter-%s", initial={"join": "and"}),
        "filter_fields": query.FIELDS,
        "filter_keep": keep,
        "filter_clear_link": "?" + urlencode(keep),
        "filter_next": request.get_full_path(),
    }


def _highlight(expression: str, error: query.QueryError | None) -> dict | None:
    """The expression cut around the bad part, for the template to <mark> it."""
    if error is None or error.position > len(expression):
        return None
    end = error.position + error.length
    return {
        "before": expression[: error.position],
        "bad": expression[error.position : end],
        "after": expression[end:],
    }
