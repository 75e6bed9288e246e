"""Client API: the same scoping and field-level rules as the back office (Sales never receives money figures)."""
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from tenant_apps.backoffice.api_access import MatrixAPIView
from tenant_apps.crm import selectors


class ClientOut(serializers.Serializer):
    id = serializers.IntegerField()
    full_name = serializers.CharField()
    country = serializers.CharField()
    language = serializers.CharField()
    is_active = serializers.BooleanField()
    date_joined = serializers.DateTimeField()
    owner = serializers.CharField(allow_null=True)
    team = serializers.CharField(allow_null=True)
    stage = serializers.CharField(help_text="Lifecycle stage, derived from facts: lead, registered, kyc_pending, "
                                            "kyc_approved, funded, active, dormant.")
    email = serializers.CharField(required=False, help_text="Only with clients.contact:view.")
    phone = serializers.CharField(required=False, help_text="Only with clients.contact:view.")


class BalanceOut(serializers.Serializer):
    label = serializers.CharField()
    currency = serializers.CharField()
    balance = serializers.CharField()
    available = serializers.CharField()


def client_payload(client, sections: dict) -> dict:
    record = getattr(client, "client_record", None)
    data = {
        "id": client.pk, "full_name": client.full_name, "country": getattr(record, "country", "") or "",
        "language": client.language, "is_active": client.is_active, "date_joined": client.date_joined,
        "owner": record.owner.email if record and record.owner else None,
        "team": record.team.name if record and record.team else None,
        "stage": record.stage if record else "lead",
    }
    if sections["contact"]:
        data["email"] = client.email
        data["phone"] = getattr(record, "phone", "") or ""
    return data


class ClientListApi(MatrixAPIView):
    required_permissions = {"GET": ("clients", "view")}

    @extend_schema(responses=ClientOut(many=True))
    def get(self, request):
        clients = selectors.clients_visible_to(request.user).order_by("-date_joined", "-id")
        paginator = PageNumberPagination()
        paginator.page_size = 50
        page = paginator.paginate_queryset(clients, request, view=self)
        sections = selectors.client_sections(request.user)
        return paginator.get_paginated_response([ClientOut(client_payload(c, sections)).data for c in page])


class ClientDetailApi(MatrixAPIView):
    required_permissions = {"GET": ("clients", "view")}

    @extend_schema(responses=ClientOut)
    def get(self, request, client_id: int):
        client = selectors.client_for(request.user, client_id)
        if client is None:
            return Response({"code": "not_found", "message": "No such client."}, status=404)
        return Response(ClientOut(client_payload(client, selectors.client_sections(request.user))).data)


class ClientFinanceApi(MatrixAPIView):
    required_permissions = {"GET": ("clients.finance", "view")}

    @extend_schema(responses=BalanceOut(many=True))
    def get(self, request, client_id: int):
        client = selectors.client_for(request.user, client_id)
        if client is None:
            return Response({"code": "not_found", "message": "No such client."}, status=404)
        return Response(BalanceOut(selectors.client_finance(client), many=True).data)


class LeadIn(serializers.Serializer):
    email = serializers.CharField(max_length=254)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    country = serializers.CharField(max_length=2, required=False, allow_blank=True, help_text="ISO code, e.g. MX.")
    language = serializers.CharField(max_length=8, required=False, allow_blank=True)
    source = serializers.CharField(max_length=100, required=False, allow_blank=True, help_text="Stored as utm_source.")
    campaign = serializers.CharField(max_length=100, required=False, allow_blank=True,
                                     help_text="Stored as utm_campaign.")


class LeadOut(serializers.Serializer):
    id = serializers.IntegerField(help_text="The client's id.")
    stage = serializers.CharField()
    team = serializers.CharField(allow_null=True)
    owner = serializers.CharField(allow_null=True)
    routing_reason = serializers.CharField()


class LeadCreateApi(MatrixAPIView):
    """Create a lead (crm.leads:create): routed like a registration. 400 invalid (field errors), 409 duplicate
    (normalised e-mail or phone already a client's; nothing is changed)."""

    required_permissions = {"POST": ("crm.leads", "create")}

    @extend_schema(request=LeadIn, responses={201: LeadOut})
    def post(self, request):
        from django.core.exceptions import ValidationError

        from tenant_apps.crm.leads import LeadDuplicateError, lead_create

        incoming = LeadIn(data=request.data)
        if not incoming.is_valid():
            return Response({"code": "invalid", "message": "Check the fields.", "errors": incoming.errors}, status=400)
        try:
            record = lead_create(data=incoming.validated_data, actor=request.user, source="api", request=request)
        except ValidationError as exc:
            return Response({"code": "invalid", "message": "Check the fields.", "errors": exc.message_dict},
                            status=400)
        except LeadDuplicateError as exc:
            return Response({"code": "duplicate", "field": exc.field, "message": str(exc)}, status=409)
        return Response(LeadOut({"id": record.user_id, "stage": record.stage,
                                 "team": record.team.name if record.team else None,
                                 "owner": record.owner.email if record.owner else None,
                                 "routing_reason": record.routing_reason}).data, status=201)


__all__ = ["ClientListApi", "ClientDetailApi", "ClientFinanceApi", "LeadCreateApi", "APIView"]
