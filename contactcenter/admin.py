from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from contactcenter.models import Job, JobRejection, Notification, Tenant, User


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "default_phone_region", "default_time_zone", "created_at")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(User)
class TenantUserAdmin(UserAdmin):
    list_display = ("username", "email", "tenant", "roles", "is_active", "is_superuser")
    list_filter = ("tenant", "groups", "is_active", "is_superuser")
    list_select_related = ("tenant",)
    fieldsets = (
        *UserAdmin.fieldsets[:1],
        (_("Tenant"), {"fields": ("tenant",)}),
        *UserAdmin.fieldsets[1:],
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "tenant", "groups", "password1", "password2"),
            },
        ),
    )

    @admin.display(description=_("roles"))
    def roles(self, user: User) -> str:
        return ", ".join(user.role_labels)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")


class JobRejectionInline(admin.TabularInline):
    model = JobRejection
    extra = 0
    can_delete = False
    readonly_fields = ("line", "values", "reason")
    max_num = 0

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("line")


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "tenant",
        "requester",
        "kind",
        "target",
        "status",
        "processed",
        "created",
        "rejected",
    )
    list_filter = ("status", "kind", "target", "tenant")
    list_select_related = ("tenant", "requester")
    search_fields = ("original_name", "requester__username")
    readonly_fields = [f.name for f in Job._meta.fields]
    inlines = [JobRejectionInline]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "tenant", "user", "level", "text", "is_read")
    list_filter = ("level", "is_read", "tenant")
    list_select_related = ("tenant", "user")
    search_fields = ("text", "user__username")
