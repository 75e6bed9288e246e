"""Back-office support URLs, mounted at /backoffice/support/ by tenant_apps.backoffice.urls."""
from django.urls import path

from tenant_apps.support import backoffice_views as views

urlpatterns = [
    path("", views.TicketListView.as_view(), name="backoffice_support"),
    path("<int:pk>/", views.TicketDetailView.as_view(), name="backoffice_support_ticket"),
    path("attachments/<int:pk>/", views.AttachmentView.as_view(), name="backoffice_support_attachment"),
    path("articles/", views.ArticleListView.as_view(), name="backoffice_support_articles"),
    path("articles/new/", views.ArticleEditView.as_view(), name="backoffice_support_article_new"),
    path("articles/<int:pk>/", views.ArticleEditView.as_view(), name="backoffice_support_article"),
]
