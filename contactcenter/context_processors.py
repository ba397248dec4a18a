from django.http import HttpRequest

from contactcenter.models import Notification


def navigation(request: HttpRequest) -> dict:
    """The navbar's unread-notification count, for tenant users only."""
    user = getattr(request, "user", None)
    if not (user and user.is_authenticated and user.tenant_id):
        return {}
    # Once per request: django-tables2 runs the context processors again for every cell it
    # renders with a template, which made this COUNT run 25 times on a list page.
    if not hasattr(request, "_unread_notifications"):
        request._unread_notifications = Notification.objects.filter(
            tenant_id=user.tenant_id, user=user, is_read=False
        ).count()
    return {"unread_notifications": request._unread_notifications}
