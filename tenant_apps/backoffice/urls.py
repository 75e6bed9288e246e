from django.urls import include, path

from tenant_apps.backoffice import views, views_client360
from tenant_apps.trading import urls as trading_urls

urlpatterns = [
    path("", views.OverviewView.as_view(), name="backoffice_overview"),
    path("branding/", views.BrandingView.as_view(), name="backoffice_branding"),
    path("permissions/", views.PermissionsView.as_view(), name="backoffice_permissions"),
    path("branding/image/<str:kind>/", views.BrandingImageView.as_view(), name="backoffice_branding_image"),
    path("branding/reset/", views.BrandingResetView.as_view(), name="backoffice_branding_reset"),
    path("branding/contrast/", views.BrandingContrastView.as_view(), name="backoffice_branding_contrast"),
    path("search/", views_client360.SearchView.as_view(), name="backoffice_search"),
    path("audit/", include("tenant_apps.audit.urls")),
    path("money/", include("tenant_apps.payments.backoffice_urls")),
    # Staff, invitations, teams, custom roles, personal API tokens (/staff/…, /roles/…, /account/…, /join/…).
    path("", include("tenant_apps.identity.urls")),
    path("clients/", include("tenant_apps.crm.urls")),
    path("trading/", include(trading_urls.backoffice_urlpatterns)),
    path("kyc/", include("tenant_apps.compliance.backoffice_urls")),
    path("screening/", include("tenant_apps.kyc_checks.urls")),
    path("partners/", include("tenant_apps.partners.backoffice_urls")),
    path("commissions/", include("tenant_apps.commissions.backoffice_urls")),
    path("notifications/", include("tenant_apps.notifications.backoffice_urls")),
    path("support/", include("tenant_apps.support.backoffice_urls")),  # tickets and help articles
    path("automation/", include("tenant_apps.automation.urls")),  # segments and automation rules
    path("queues/", include("tenant_apps.queues.urls")),  # work queues (tenant_apps/queues)
    path("reports/", include("tenant_apps.reports.urls")),  # reports and the report builder (tenant_apps/reports)
]
