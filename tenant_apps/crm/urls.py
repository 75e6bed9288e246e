from django.urls import path

from tenant_apps.backoffice.views_client360 import Client360View
from tenant_apps.crm import views, views_work

urlpatterns = [
    path("", views.ClientListView.as_view(), name="backoffice_clients"),
    path("routing/", views.RoutingRulesView.as_view(), name="backoffice_routing_rules"),
    path("routing/<int:rule_id>/", views.RoutingRuleView.as_view(), name="backoffice_routing_rule"),
    # lead pipeline, tasks, notes, CSV lead import, working hours (issue 8, item 3)
    path("pipeline/", views_work.PipelineView.as_view(), name="backoffice_pipeline"),
    path("tasks/", views_work.MyTasksView.as_view(), name="backoffice_my_tasks"),
    path("tasks/<int:task_id>/complete/", views_work.TaskCompleteView.as_view(), name="backoffice_task_complete"),
    path("<int:client_id>/tasks/", views_work.ClientTaskCreateView.as_view(), name="backoffice_client_task_create"),
    path("<int:client_id>/notes/", views_work.ClientNoteCreateView.as_view(), name="backoffice_client_note_create"),
    path("leads/import/", views_work.LeadImportView.as_view(), name="backoffice_lead_imports"),
    path("leads/import/<int:import_id>/", views_work.LeadImportDetailView.as_view(), name="backoffice_lead_import"),
    path("leads/import/<int:import_id>/confirm/", views_work.LeadImportConfirmView.as_view(),
         name="backoffice_lead_import_confirm"),
    path("routing/hours/", views_work.WorkingHoursView.as_view(), name="backoffice_working_hours"),
    # Client 360 (tenant_apps.backoffice.selectors.client_360): the crm profile plus every block the reader may see.
    path("<int:client_id>/", Client360View.as_view(), name="backoffice_client"),
    path("<int:client_id>/finance/", views.ClientFinanceView.as_view(), name="backoffice_client_finance"),
]
