"""Trader's Room support URLs, mounted at /support/ (platform_core.urls_tenant)."""
from django.urls import path

from tenant_apps.support import portal_views as views

urlpatterns = [
    path("", views.tickets, name="support_portal_home"),
    path("new/", views.ticket_new, name="support_ticket_new"),
    path("<int:pk>/", views.ticket_detail, name="support_ticket"),
    path("<int:pk>/reply/", views.ticket_reply, name="support_ticket_reply"),
    path("<int:pk>/close/", views.ticket_close, name="support_ticket_close"),
    path("attachments/<int:pk>/", views.attachment, name="support_attachment"),
    path("help/", views.help_index, name="support_help"),
    path("help/<slug:slug>/", views.help_article, name="support_help_article"),
    path("inbound-email/", views.inbound_email, name="support_inbound_email"),
]
