from django.urls import path

from tenant_apps.automation import views

urlpatterns = [
    path("", views.RulesView.as_view(), name="automation_rules"),
    path("rules/<int:rule_id>/", views.RuleView.as_view(), name="automation_rule"),
    path("runs/", views.RunsView.as_view(), name="automation_runs"),
    path("runs/<int:pk>/", views.RunView.as_view(), name="automation_run"),
    path("segments/", views.SegmentsView.as_view(), name="automation_segments"),
    path("segments/<int:pk>/", views.SegmentView.as_view(), name="automation_segment"),
]
