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


__all__ = ["ClientListApi", "ClientDetailApi", "ClientFinanceApi", "APIView"]
