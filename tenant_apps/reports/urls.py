"""Back-office report pages, mounted at /backoffice/reports/."""
from django.urls import path

from tenant_apps.reports import views

urlpatterns = [
    path("", views.ReportsIndexView.as_view(), name="reports_index"),
    path("money/", views.MoneyReportView.as_view(), name="reports_money"),
    path("trading/", views.TradingReportView.as_view(), name="reports_trading"),
    path("funnel/", views.FunnelReportView.as_view(), name="reports_funnel"),
    path("dormancy/", views.DormancyReportView.as_view(), name="reports_dormancy"),
    path("kyc-sla/", views.KycSlaReportView.as_view(), name="reports_kyc_sla"),
    path("builder/", views.BuilderView.as_view(), name="reports_builder"),
    path("saved/<int:pk>/delete/", views.SavedReportDeleteView.as_view(), name="reports_saved_delete"),
    path("jobs/<int:pk>/", views.JobView.as_view(), name="reports_job"),
    path("jobs/<int:pk>/progress/", views.JobProgressView.as_view(), name="reports_job_progress"),
    path("jobs/<int:pk>/download/", views.JobDownloadView.as_view(), name="reports_job_download"),
]
