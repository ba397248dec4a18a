"""The campaigns' pages: campaigns, their contact lists, qualification codes and contacts."""

from django.urls import path

from campaigns import views

urlpatterns = [
    path("", views.CampaignListView.as_view(), name="campaign_list"),
    path("new/", views.campaign_create, name="campaign_create"),
    path("<int:pk>/edit/", views.campaign_edit, name="campaign_edit"),
    path("<int:pk>/delete/", views.campaign_delete, name="campaign_delete"),
    path("<int:pk>/lists/", views.list_index, name="lists"),
    path("<int:pk>/lists/new/", views.list_create, name="list_create"),
    path("lists/<int:pk>/", views.list_edit, name="list_edit"),
    path("lists/<int:pk>/delete/", views.list_delete, name="list_delete"),
    path("<int:pk>/qualifications/", views.qualification_index, name="qualifications"),
    path(
        "qualifications/<int:pk>/delete/",
        views.qualification_delete,
        name="qualification_delete",
    ),
    path("<int:pk>/", views.ContactsView.as_view(), name="contacts"),
    path("<int:pk>/count/", views.contact_count, name="contact_count"),
    path("<int:pk>/columns/", views.columns_save, name="columns_save"),
    path("<int:pk>/contacts/new/", views.contact_create, name="contact_create"),
    path("<int:pk>/contacts/bulk/", views.contact_bulk, name="contact_bulk"),
    path("contacts/<int:pk>/", views.contact_edit, name="contact_edit"),
    path("contacts/<int:pk>/delete/", views.contact_delete, name="contact_delete"),
]
