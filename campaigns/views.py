from __future__ import annotations

from functools import cached_property, partial

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.db.models import Count, Prefetch, QuerySet, prefetch_related_objects
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.template.backends.utils import csrf_input
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST
from django_filters.views import FilterView
from django_tables2 import RequestConfig, SingleTableMixin, SingleTableView

from campaigns import donotcall, services
from campaigns.filter_views import advanced_filter_context
from campaigns.filters import (
    BASIC_FILTERS,
    CONTACT_MANAGEMENT,
    LIST_MANAGEMENT,
    WIDGET_RENDERER,
    CampaignContactFilter,
)
from campaigns.forms import (
    CampaignContactForm,
    CampaignForm,
    ColumnChoiceForm,
    ContactListForm,
    QualificationCodeForm,
)
from campaigns.models import MOVES, Campaign, CampaignContact, ContactList, QualificationCode
from campaigns.paging import keyset_page_blanks_last, serial_plans
from campaigns.services import CampaignContactExporter
from campaigns.tables import (
    CHOOSABLE_COLUMNS,
    SORTABLE_COLUMNS,
    CampaignContactTable,
    CampaignTable,
    ContactListTable,
    KeysetRows,
    RowMenu,
    zone_info,
)
from contactcenter.access import get_for_tenant, require_perm, tenant_of
from contactcenter.forms import ExportForm
from contactcenter.paging import keyset_page
from contactcenter.views import export_selection

PER_PAGE = 25
# Bulk action → the permission it needs.
BULK_PERMISSIONS = {
    "export": "campaigns.export_campaigncontact",
    "reset": "campaigns.reset_campaigncontact",
    "launch": "campaigns.launch_campaigncontact",
    "load": "campaigns.load_campaigncontact",
    "delete": "campaigns.delete_campaigncontact",
}


# --- campaigns ---------------------------------------------------------------------------------


class CampaignListView(PermissionRequiredMixin, SingleTableView):
    permission_required = "campaigns.view_campaign"
    table_class = CampaignTable
    template_name = "campaigns/campaign_list.html"

    def get_queryset(self):
        return Campaign.objects.for_tenant(tenant_of(self.request)).select_related("calling_rules")


def _campaign_form(request: HttpRequest, campaign: Campaign | None) -> HttpResponse:
    form = CampaignForm(request.POST or None, instance=campaign, tenant=tenant_of(request))
    if (
        request.method == "POST"
        and form.is_valid()
        and (saved := services.campaign_save(form=form))
    ):
        messages.success(request, _("Campaign “%(name)s” saved.") % {"name": saved.name})
        return redirect(saved)
    context = {"form": form, "campaign": campaign, "tab": "settings"}
    return render(
        request, "campaigns/campaign_form.html", context, status=400 if form.errors else 200
    )


@permission_required("campaigns.add_campaign", raise_exception=True)
def campaign_create(request: HttpRequest) -> HttpResponse:
    return _campaign_form(request, None)


def campaign_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _campaign_form(
        request, get_for_tenant(Campaign, request, pk, "campaigns.change_campaign")
    )


def campaign_delete(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_for_tenant(Campaign, request, pk, "campaigns.delete_campaign")
    if request.method == "POST":
        campaign.delete()
        messages.success(request, _("Campaign “%(name)s” deleted.") % {"name": campaign.name})
        return redirect("campaigns:campaign_list")
    context = {"campaign": campaign, "contacts": campaign.contacts.count()}
    return render(request, "campaigns/campaign_confirm_delete.html", context)


# --- contact lists -----------------------------------------------------------------------------


def list_index(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_for_tenant(Campaign, request, pk, "campaigns.view_contactlist")
    table = ContactListTable(
        campaign.lists.annotate(contact_count=Count("contacts")).order_by("name")
    )
    RequestConfig(request, paginate=False).configure(table)
    context = {"campaign": campaign, "table": table, "tab": "lists"}
    return render(request, "campaigns/list_index.html", context)


def _list_form(request: HttpRequest, campaign: Campaign, contact_list: ContactList | None):
    form = ContactListForm(request.POST or None, instance=contact_list, campaign=campaign)
    if (
        request.method == "POST"
        and form.is_valid()
        and (result := services.contact_list_save(form=form))
    ):
        saved, moved = result
        text = ngettext(
            "List “%(name)s” saved; %(count)d contact changed state.",
            "List “%(name)s” saved; %(count)d contacts changed state.",
            moved,
        )
        messages.success(request, text % {"name": saved.name, "count": moved})
        return redirect("campaigns:lists", campaign.pk)
    context = {"form": form, "campaign": campaign, "contact_list": contact_list, "tab": "lists"}
    return render(request, "campaigns/list_form.html", context, status=400 if form.errors else 200)


def list_create(request: HttpRequest, pk: int) -> HttpResponse:
    return _list_form(
        request, get_for_tenant(Campaign, request, pk, "campaigns.add_contactlist"), None
    )


def list_edit(request: HttpRequest, pk: int) -> HttpResponse:
    contact_list = get_for_tenant(ContactList, request, pk, "campaigns.change_contactlist")
    return _list_form(request, contact_list.campaign, contact_list)


def list_delete(request: HttpRequest, pk: int) -> HttpResponse:
    contact_list = get_for_tenant(ContactList, request, pk, "campaigns.delete_contactlist")
    if request.method == "POST":
        contact_list.delete()
        messages.success(request, _("List “%(name)s” deleted.") % {"name": contact_list.name})
        return redirect("campaigns:lists", contact_list.campaign_id)
    context = {
        "contact_list": contact_list,
        "campaign": contact_list.campaign,
        "contacts": contact_list.contacts.count(),
    }
    return render(request, "campaigns/list_confirm_delete.html", context)


# --- qualification codes -----------------------------------------------------------------------


def qualification_index(request: HttpRequest, pk: int) -> HttpResponse:
    """The campaign's codes (GET) and the form that adds one (POST)."""
    campaign = get_for_tenant(Campaign, request, pk, "campaigns.view_campaign")
    form = QualificationCodeForm(request.POST or None, campaign=campaign)
    if request.method == "POST":
        require_perm(request.user, "campaigns.add_qualificationcode")
        if form.is_valid():
            code = form.save(commit=False)
            code.tenant, code.campaign = campaign.tenant, campaign
            code.save()
            messages.success(request, _("Code “%(code)s” added.") % {"code": code.code})
            return redirect("campaigns:qualifications", campaign.pk)
    context = {
        "campaign": campaign,
        "form": form,
        "codes": campaign.qualifications.order_by("code"),
        "tab": "qualifications",
    }
    return render(
        request, "campaigns/qualification_index.html", context, status=400 if form.errors else 200
    )


@require_POST
def qualification_delete(request: HttpRequest, pk: int) -> HttpResponse:
    code = get_for_tenant(QualificationCode, request, pk, "campaigns.delete_qualificationcode")
    code.delete()
    messages.success(request, _("Code “%(code)s” removed.") % {"code": code.code})
    return redirect("campaigns:qualifications", code.campaign_id)


# --- the contacts tab --------------------------------------------------------------------------


class ContactsView(PermissionRequiredMixin, SingleTableMixin, FilterView):
    """A campaign's contacts in list or contact management, one keyset page at a time."""

    permission_required = "campaigns.view_campaigncontact"
    table_class = CampaignContactTable
    filterset_class = CampaignContactFilter
    template_name = "campaigns/contacts.html"
    table_pagination = False

    @cached_property
    def campaign(self) -> Campaign:
        campaign = get_for_tenant(Campaign, self.request, self.kwargs["pk"])
        # Found inside the user's tenant: that is its tenant, no need to read it again.
        campaign.tenant = tenant_of(self.request)
        return campaign

    def get(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        # No scheduler lifts the blocks of expired do-not-call entries: the page does, daily.
        donotcall.refresh_expired_if_due(tenant=self.campaign.tenant)
        return super().get(request, *args, **kwargs)

    @cached_property
    def order(self) -> str:
        sort = self.request.GET.get("sort", "external_id")
        return sort if sort.lstrip("-") in SORTABLE_COLUMNS else "external_id"

    def get_queryset(self):
        return CampaignContact.objects.for_tenant(self.campaign.tenant).filter(
            campaign=self.campaign
        )

    def get_filterset_kwargs(self, filterset_class):
        kwargs = super().get_filterset_kwargs(filterset_class)
        return {**kwargs, "data": self.request.GET, "campaign": self.campaign}

    @cached_property
    def columns(self) -> list[str]:
        """The columns the user chose: the table and the column chooser both need them."""
        return services.columns_for(user=self.request.user, campaign=self.campaign)

    @cached_property
    def menu(self) -> RowMenu:
        return _row_menu(self.request, self.campaign)

    def get_table_kwargs(self):
        hidden = [name for name in CHOOSABLE_COLUMNS if name not in self.columns]
        if not (self.menu.actions or self.menu.can_edit or self.menu.can_delete):
            hidden += ["selection", "actions"]
        return {"exclude": hidden, "order_by": (self.order,), "menu": self.menu}

    def get_table_data(self):
        paginate = keyset_page_blanks_last if self.order.endswith("next_try_at") else keyset_page
        # The page's rows come with what their cells show: one query, then their addresses.
        with serial_plans():
            self.page = paginate(
                self.object_list.select_related("contact_list", "preferred_agent", "qualification"),
                self.order,
                after=self.request.GET.get("after", ""),
                before=self.request.GET.get("before", ""),
                per_page=PER_PAGE,
            )
        # to_attr: a list on each row, not a queryset made per row (a third of the fetch).
        addresses = Prefetch("addresses", to_attr="address_list")
        prefetch_related_objects(self.page.rows, addresses)
        return KeysetRows(self.page.rows)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        extra = _contacts_context(self.request, self.campaign, self.filterset, self.columns)
        return {**context, **extra, "page": self.page}


def _contacts_context(
    request: HttpRequest, campaign: Campaign, filterset, columns: list[str]
) -> dict:
    query = _page_query(request)
    modes = query.copy()
    modes.pop("mode", None)
    used = {name for name in filterset.form.fields if request.GET.get(name)}
    user = request.user
    lists = filterset.lists
    return {
        "campaign": campaign,
        "tab": "contacts",
        "query": query.urlencode(),
        "modes_query": modes.urlencode(),
        "mode": filterset.mode,
        "list_management": LIST_MANAGEMENT,
        "contact_management": CONTACT_MANAGEMENT,
        "filtered": bool(used),
        "more_filters": bool(used - set(BASIC_FILTERS)),
        "export_form": ExportForm(renderer=WIDGET_RENDERER),
        "columns_form": ColumnChoiceForm(initial={"columns": columns}, renderer=WIDGET_RENDERER),
        **advanced_filter_context(request, campaign, filterset.expression_error),
        "has_lists": bool(lists),
        # The import page opens on this campaign's first active list (by name).
        "import_list": next(
            (item for item in lists if item.state == ContactList.State.ACTIVE), None
        ),
        "can_import": user.has_perm("campaigns.import_campaigncontact"),
        "bulk_actions": any(user.has_perm(perm) for perm in BULK_PERMISSIONS.values()),
    }


def _page_query(request: HttpRequest) -> QueryDict:
    """The page's parameters but its place: what a filter, a view or an action keeps."""
    query = request.GET.copy()
    for key in ("after", "before"):
        query.pop(key, None)
    return query


def _row_menu(request: HttpRequest, campaign: Campaign) -> RowMenu:
    user = request.user
    labels = {
        "export": _("Export (CSV)"),
        "reset": _("Reset"),
        "launch": _("Launch (contact management)"),
        "load": _("Load into list management"),
    }
    return RowMenu(
        bulk_url=reverse("campaigns:contact_bulk", args=[campaign.pk]),
        csrf_input=csrf_input(request),
        query=_page_query(request).urlencode(),
        actions=tuple(
            (action, label)
            for action, label in labels.items()
            if user.has_perm(BULK_PERMISSIONS[action])
        ),
        can_edit=user.has_perm("campaigns.change_campaigncontact"),
        can_delete=user.has_perm("campaigns.delete_campaigncontact"),
    )


def contact_count(request: HttpRequest, pk: int) -> HttpResponse:
    """How many contacts match; loaded after the page so that the page never waits for it."""
    campaign = get_for_tenant(Campaign, request, pk, "campaigns.view_campaigncontact")
    contacts = CampaignContact.objects.for_tenant(campaign.tenant).filter(campaign=campaign)
    total = CampaignContactFilter(request.GET, queryset=contacts, campaign=campaign).matches.count()
    bulk = any(request.user.has_perm(perm) for perm in BULK_PERMISSIONS.values())
    return render(request, "campaigns/_contact_count.html", {"total": total, "bulk": bulk})


@require_POST
def columns_save(request: HttpRequest, pk: int) -> HttpResponse:
    """Remember the columns this user wants for this campaign's contacts."""
    campaign = get_for_tenant(Campaign, request, pk, "campaigns.view_campaigncontact")
    form = ColumnChoiceForm(request.POST)
    if form.is_valid():
        services.columns_save(
            user=request.user, campaign=campaign, columns=form.cleaned_data["columns"]
        )
        messages.success(request, _("Columns saved."))
    return redirect(
        reverse("campaigns:contacts", args=[campaign.pk]) + "?" + request.POST.get("query", "")
    )


# --- one contact -------------------------------------------------------------------------------


def _contact_form(request: HttpRequest, campaign: Campaign, contact: CampaignContact | None):
    # A new contact is launched at once by default when created from contact management.
    from_processing = request.GET.get("mode") == CONTACT_MANAGEMENT
    form = CampaignContactForm(
        request.POST or None,
        instance=contact,
        campaign=campaign,
        can_launch=request.user.has_perm("campaigns.launch_campaigncontact"),
        initial={"launch": from_processing},
    )
    back = _contacts_page(campaign, request.GET.urlencode())
    if request.method == "POST" and form.is_valid() and (saved := services.contact_save(form=form)):
        values = {"id": saved.external_id}
        if contact is not None:
            messages.success(request, _("Contact “%(id)s” saved.") % values)
        elif saved.in_processing:
            messages.success(request, _("Contact “%(id)s” created and launched.") % values)
        else:
            text = _("Contact “%(id)s” created in list management: launch it to have it called.")
            messages.success(request, text % values)
        _tell_schedule(request, saved, form.next_try_at)
        if contact is None and saved.in_processing != from_processing:
            # Back to the view the new contact is in, with the page's other parameters.
            query = request.GET.copy()
            query["mode"] = CONTACT_MANAGEMENT if saved.in_processing else LIST_MANAGEMENT
            back = _contacts_page(campaign, query.urlencode())
        return redirect(back)
    context = {"form": form, "campaign": campaign, "contact": contact, "back": back}
    context["tab"] = "contacts"
    return render(
        request, "campaigns/contact_form.html", context, status=400 if form.errors else 200
    )


def _tell_schedule(request: HttpRequest, contact: CampaignContact, asked) -> None:
    """Say where the calling rules put the next try when it is not what was asked, and why."""
    if asked is None or contact.next_try_at == asked:
        return
    if contact.next_try_at is None:
        messages.warning(request, _("No next try: %(why)s.") % {"why": contact.schedule_note})
        return
    when = date_format(
        timezone.localtime(contact.next_try_at, zone_info(contact.time_zone)),
        "SHORT_DATETIME_FORMAT",
    )
    values = {"when": when, "zone": contact.time_zone, "why": contact.schedule_note}
    if contact.schedule_note:
        messages.info(request, _("Next try set to %(when)s (%(zone)s): %(why)s.") % values)
    else:
        messages.info(request, _("Next try set to %(when)s (%(zone)s).") % values)


def contact_create(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_for_tenant(Campaign, request, pk, "campaigns.add_campaigncontact")
    if not campaign.lists.exists():
        messages.warning(request, _("Create a contact list first: every contact belongs to one."))
        return redirect("campaigns:lists", campaign.pk)
    return _contact_form(request, campaign, None)


def contact_edit(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_for_tenant(CampaignContact, request, pk, "campaigns.change_campaigncontact")
    return _contact_form(request, contact.campaign, contact)


def contact_delete(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_for_tenant(CampaignContact, request, pk, "campaigns.delete_campaigncontact")
    back = _contacts_page(contact.campaign, request.GET.urlencode())
    if request.method == "POST":
        services.contacts_delete(contacts=CampaignContact.objects.filter(pk=contact.pk))
        messages.success(request, _("Contact “%(id)s” deleted.") % {"id": contact.external_id})
        return redirect(back)
    return render(
        request,
        "campaigns/contact_confirm_delete.html",
        {"contact": contact, "campaign": contact.campaign, "back": back},
    )


# --- bulk actions ------------------------------------------------------------------------------


@require_POST
def contact_bulk(request: HttpRequest, pk: int) -> HttpResponse:
    """Export, reset, launch, load or delete the selection: ticked rows or all that match."""
    campaign = get_for_tenant(Campaign, request, pk)
    action = request.POST.get("action")
    if action not in BULK_PERMISSIONS:
        messages.error(request, _("Choose an action."))
        return _back_to_contacts(request, campaign)
    require_perm(request.user, BULK_PERMISSIONS[action])
    contacts = services.contacts_selected(campaign=campaign, data=request.POST)
    if action == "export":
        return _bulk_export(request, campaign, contacts)
    # Each moves contacts of one view into the other: the count asked about is of those.
    if action in MOVES:
        contacts = contacts.filter(in_processing=not MOVES[action])
    if request.POST.get("confirmed") != "1":
        return _confirm_bulk(request, campaign, contacts, action)
    done = _BULK_RUN[action](campaign, contacts)
    messages.success(request, _bulk_message(action, done))
    return _back_to_contacts(request, campaign)


def _move(_campaign, contacts: QuerySet, *, into_processing: bool) -> int:
    return services.contacts_move(contacts=contacts, into_processing=into_processing)


_BULK_RUN = {
    "reset": lambda campaign, contacts: services.contacts_reset(
        campaign=campaign, contacts=contacts
    ),
    **{
        action: partial(_move, into_processing=into_processing)
        for action, into_processing in MOVES.items()
    },
    "delete": lambda _campaign, contacts: services.contacts_delete(contacts=contacts),
}


def _bulk_message(action: str, count: int) -> str:
    texts = {
        "reset": ngettext("%(count)d contact reset.", "%(count)d contacts reset.", count),
        "launch": ngettext(
            "%(count)d contact launched: the dialer can call it now.",
            "%(count)d contacts launched: the dialer can call them now.",
            count,
        ),
        "load": ngettext(
            "%(count)d contact loaded into list management.",
            "%(count)d contacts loaded into list management.",
            count,
        ),
        "delete": ngettext("%(count)d contact deleted.", "%(count)d contacts deleted.", count),
    }
    return texts[action] % {"count": count}


def _confirm_bulk(request: HttpRequest, campaign: Campaign, contacts: QuerySet, action: str):
    context = {
        "campaign": campaign,
        "action": action,
        "count": contacts.count(),
        "data": request.POST,
        "selection": request.POST.getlist("selection"),
    }
    return render(request, "campaigns/contact_confirm_bulk.html", context)


def _back_to_contacts(request: HttpRequest, campaign: Campaign) -> HttpResponse:
    return redirect(
        reverse("campaigns:contacts", args=[campaign.pk]) + "?" + request.POST.get("filter", "")
    )


def _contacts_page(campaign: Campaign, query: str) -> str:
    """The contacts page with the parameters (view, filters, sort) an action came from."""
    url = reverse("campaigns:contacts", args=[campaign.pk])
    return f"{url}?{query}" if query else url


def _bulk_export(request: HttpRequest, campaign: Campaign, contacts: QuerySet) -> HttpResponse:
    selection = services.selection_options(campaign, request.POST)
    return export_selection(
        request, exporter=CampaignContactExporter, selection=selection, count=contacts.count()
    )
