"""Platform API for operators: list/provision brokerages, change their status, follow provisioning jobs."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from provisioning.models import ProvisioningJob
from provisioning.services import provision_brokerage
from tenancy.models import Brokerage, BrokerageKind
from tenancy.services import brokerage_change_status


class IsPlatformOperator(BasePermission):
    message = "Only platform operators may use the platform API."

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and getattr(request.user, "is_platform_operator", False))


class DomainOut(serializers.Serializer):
    domain = serializers.CharField()
    is_primary = serializers.BooleanField()
    is_custom = serializers.BooleanField()


class BrokerageOut(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    status = serializers.CharField()
    schema_name = serializers.CharField()
    timezone = serializers.CharField()
    default_language = serializers.CharField()
    created_at = serializers.DateTimeField()
    last_activity_at = serializers.DateTimeField()
    portal_url = serializers.SerializerMethodField()
    domains = DomainOut(many=True)

    def get_portal_url(self, obj) -> str:
        return obj.portal_url("/")


class StepOut(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    status = serializers.CharField()
    detail = serializers.CharField()
    error = serializers.CharField()
    duration_ms = serializers.IntegerField(allow_null=True)


class JobOut(serializers.Serializer):
    id = serializers.UUIDField()
    slug = serializers.CharField()
    status = serializers.CharField()
    method = serializers.CharField()
    error = serializers.CharField()
    duration_ms = serializers.IntegerField(allow_null=True)
    result = serializers.JSONField()
    steps = StepOut(many=True)


class ProvisionIn(serializers.Serializer):
    name = serializers.CharField(max_length=500, allow_blank=True)
    slug = serializers.CharField(max_length=500, allow_blank=True)
    admin_email = serializers.CharField(max_length=500, allow_blank=True)
    jurisdiction = serializers.CharField(default="fsa_sc")
    theme_preset = serializers.CharField(default="ocean")
    timezone = serializers.CharField(default="UTC")
    language = serializers.CharField(default="en")
    custom_domains = serializers.ListField(child=serializers.CharField(max_length=500), default=list, max_length=20)
    legal_entity_name = serializers.CharField(default="", allow_blank=True, max_length=500)


class StatusIn(serializers.Serializer):
    reason = serializers.CharField(default="", allow_blank=True, max_length=300)


def _brokerages():
    return Brokerage.objects.filter(kind=BrokerageKind.BROKERAGE).prefetch_related("domains")


class BrokerageListApi(APIView):
    permission_classes = [IsPlatformOperator]

    @extend_schema(responses=BrokerageOut(many=True))
    def get(self, request):
        return Response(BrokerageOut(_brokerages().order_by("name"), many=True).data)

    @extend_schema(request=ProvisionIn, responses={201: JobOut, 400: None})
    def post(self, request):
        data = ProvisionIn(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        job = provision_brokerage(
            name=d["name"], slug=d["slug"], admin_email=d["admin_email"], jurisdiction=d["jurisdiction"],
            theme_preset=d["theme_preset"], timezone_name=d["timezone"], language=d["language"],
            custom_domains=d["custom_domains"], legal_entity_name=d["legal_entity_name"],
            source=ProvisioningJob.Source.API, requested_by=request.user,
        )
        # A failed step is recorded on the job and can be resumed; the caller gets the job, never a 500.
        code = status.HTTP_201_CREATED if job.status == "succeeded" else status.HTTP_409_CONFLICT
        body = JobOut(job).data
        if job.status != "succeeded":
            body["code"] = "provisioning_failed"
            body["message"] = job.error
        body["steps"] = StepOut(job.steps.all(), many=True).data
        if job.brokerage_id:
            body["brokerage"] = BrokerageOut(_brokerages().get(pk=job.brokerage_id)).data
        return Response(body, status=code)


class BrokerageDetailApi(APIView):
    permission_classes = [IsPlatformOperator]

    @extend_schema(responses=BrokerageOut)
    def get(self, request, slug):
        brokerage = _brokerages().filter(slug=slug).first()
        if brokerage is None:
            return Response({"code": "not_found", "message": f"No brokerage '{slug}'."}, status=404)
        return Response(BrokerageOut(brokerage).data)


class BrokerageStatusApi(APIView):
    permission_classes = [IsPlatformOperator]
    action_name = ""

    @extend_schema(request=StatusIn, responses=BrokerageOut)
    def post(self, request, slug):
        brokerage = _brokerages().filter(slug=slug).first()
        if brokerage is None:
            return Response({"code": "not_found", "message": f"No brokerage '{slug}'."}, status=404)
        data = StatusIn(data=request.data)
        data.is_valid(raise_exception=True)
        brokerage_change_status(brokerage_id=brokerage.pk, action=self.action_name, actor=request.user,
                                reason=data.validated_data["reason"], source_ip=request.META.get("REMOTE_ADDR"))
        return Response(BrokerageOut(_brokerages().get(pk=brokerage.pk)).data)


class JobDetailApi(APIView):
    permission_classes = [IsPlatformOperator]

    @extend_schema(responses=JobOut)
    def get(self, request, job_id):
        job = ProvisioningJob.objects.filter(pk=job_id).first()
        if job is None:
            return Response({"code": "not_found", "message": "No such provisioning job."}, status=404)
        body = JobOut(job).data
        body["steps"] = StepOut(job.steps.all(), many=True).data
        return Response(body)
