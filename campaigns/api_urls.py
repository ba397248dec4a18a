"""The dialer hand-off API, mounted at /api/dialer/ (token auth, no session: see api.py)."""

from django.urls import path

from campaigns import api

urlpatterns = [
    path("campaigns/<int:pk>/next", api.next_contacts, name="dialer_next"),
    path("attempts", api.attempts, name="dialer_attempts"),
]
