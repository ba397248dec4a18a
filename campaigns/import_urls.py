"""Do-not-call lists and their entries (imports go through the platform's /import/ pages)."""

from django.urls import path

from campaigns import dnc_views

urlpatterns = [
    path("do-not-call/", dnc_views.dnc_list, name="dnc_list"),
    path("do-not-call/new/", dnc_views.dnc_create, name="dnc_create"),
    path("do-not-call/<int:pk>/", dnc_views.dnc_detail, name="dnc_detail"),
    path("do-not-call/<int:pk>/edit/", dnc_views.dnc_edit, name="dnc_edit"),
    path("do-not-call/<int:pk>/delete/", dnc_views.dnc_delete, name="dnc_delete"),
    path("do-not-call/<int:pk>/entries/", dnc_views.dnc_entry_add, name="dnc_entry_add"),
    path(
        "do-not-call/entries/<int:pk>/delete/",
        dnc_views.dnc_entry_delete,
        name="dnc_entry_delete",
    ),
]
