from django.urls import path

from platform_core.console import api

urlpatterns = [
    path("brokerages/", api.BrokerageListApi.as_view(), name="platform_api_brokerages"),
    path("brokerages/<slug:slug>/", api.BrokerageDetailApi.as_view(), name="platform_api_brokerage"),
    path("brokerages/<slug:slug>/suspend/", api.BrokerageStatusApi.as_view(action_name="suspend"), name="platform_api_suspend"),
    path("brokerages/<slug:slug>/resume/", api.BrokerageStatusApi.as_view(action_name="resume"), name="platform_api_resume"),
    path("brokerages/<slug:slug>/archive/", api.BrokerageStatusApi.as_view(action_name="archive"), name="platform_api_archive"),
    path("jobs/<uuid:job_id>/", api.JobDetailApi.as_view(), name="platform_api_job"),
]
