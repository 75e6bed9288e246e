from django.urls import path

from platform_core.console import views

urlpatterns = [
    path("", views.DashboardView.as_view(), name="console_dashboard"),
    path("login/", views.LoginView.as_view(), name="console_login"),
    path("logout/", views.LogoutView.as_view(), name="console_logout"),
    path("brokerages/new/", views.BrokerageCreateView.as_view(), name="console_brokerage_new"),
    path("brokerages/<slug:slug>/", views.BrokerageDetailView.as_view(), name="console_brokerage"),
    path("brokerages/<slug:slug>/dead-letters/", views.DeadLettersView.as_view(), name="console_dead_letters"),
    path("brokerages/<slug:slug>/<str:action>/", views.BrokerageActionView.as_view(), name="console_brokerage_action"),
    path("jobs/<uuid:job_id>/", views.JobView.as_view(), name="console_job"),
    path("migrations/", views.MigrationsView.as_view(), name="console_migrations"),
]
