from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import set_language

from contactcenter import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("areas/<slug:area>/", views.coming_soon, name="coming_soon"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"
    ),
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("jobs/", views.JobListView.as_view(), name="job_list"),
    path("jobs/<uuid:pk>/", views.job_detail, name="job_detail"),
    path("jobs/<uuid:pk>/cancel/", views.job_cancel, name="job_cancel"),
    path("jobs/<uuid:pk>/undo/", views.job_undo, name="job_undo"),
    path("jobs/<uuid:pk>/rejected-rows.csv", views.job_error_report, name="job_error_report"),
    path("jobs/<uuid:pk>/download/", views.job_download, name="job_download"),
    path("import/<str:target>/", views.import_start, name="import_start"),
    path("import/<str:target>/template.csv", views.import_template, name="import_template"),
    path("export/<str:target>/", views.export_start, name="export_start"),
    path("notifications/", views.notification_list, name="notification_list"),
    path("notifications/bell/", views.notification_bell, name="notification_bell"),
    path("notifications/<int:pk>/read/", views.notification_read, name="notification_read"),
    path("notifications/read-all/", views.notification_read_all, name="notification_read_all"),
    path("addressbook/", include("addressbook.urls")),
    path("outbound/", include("campaigns.urls")),
    path("api/dialer/", include("campaigns.api_urls")),
    path("admin/", admin.site.urls),
]
