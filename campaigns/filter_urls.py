"""The advanced filter's routes; `pk` is the campaign's, except for a saved filter's delete."""

from django.urls import path

from campaigns import filter_views

urlpatterns = [
    path("filters/campaign/<int:pk>/save/", filter_views.filter_save, name="filter_save"),
    path("filters/campaign/<int:pk>/clause/", filter_views.filter_clause, name="filter_clause"),
    path("filters/<int:pk>/delete/", filter_views.filter_delete, name="filter_delete"),
]
