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


class TenantScopedAdmin(admin.ModelAdmin):
    """Admin for tenant rows: platform staff see every tenant; staff of a tenant see theirs.

    get_queryset() is the one scoping hook (lists, change pages, actions and exports all go
    through it), so another tenant's id is a 404 for staff of a tenant.
    """

    list_select_related = ("tenant",)

    def staff_tenant(self, request):
        return request.user.tenant if request.user.tenant_id else None

    def get_queryset(self, request):
        rows = super().get_queryset(request)
        tenant = self.staff_tenant(request)
        return rows.filter(tenant=tenant) if tenant else rows

    def get_list_filter(self, request):
        filters = super().get_list_filter(request)
        return filters if self.staff_tenant(request) else ("tenant", *filters)

    def get_exclude(self, request, obj=None):
        excluded = super().get_exclude(request, obj) or ()
        return (*excluded, "tenant") if self.staff_tenant(request) else excluded

    def save_model(self, request, obj, form, change):
        if self.staff_tenant(request):
            obj.tenant = self.staff_tenant(request)
        super().save_model(request, obj, form, change)
