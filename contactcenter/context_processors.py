from django.http import HttpRequest

from contactcenter.models import Notification


def navigation(request: HttpRequest) -> dict:
    """The navbar's unread-notification count, for tenant users only."""
    user = getattr(request, "user", None)
    if not (user and user.is_authenticated and user.tenant_id):
        return {}
    unread = Notification.objects.filter(tenant_id=user.tenant_id, user=user, is_read=False).count()
    return {"unread_notifications": unread}
