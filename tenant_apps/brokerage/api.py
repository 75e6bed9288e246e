"""API: the brokerage's public profile (name, branding, account types) for its own portals and apps."""
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from tenancy.context import require_tenant
from tenant_apps.brokerage.models import AccountType
from themes.selectors import theme_current


class AccountTypeOut(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    is_demo = serializers.BooleanField()
    currency = serializers.CharField()
    default_leverage = serializers.IntegerField()
    instrument_class = serializers.CharField()
    min_first_deposit = serializers.DecimalField(max_digits=18, decimal_places=2)


class BrokerageProfileOut(serializers.Serializer):
    name = serializers.CharField()
    slug = serializers.CharField()
    timezone = serializers.CharField()
    default_language = serializers.CharField()
    portal_name = serializers.CharField()
    primary_colour = serializers.CharField()
    accent_colour = serializers.CharField()
    support_email = serializers.CharField()
    account_types = AccountTypeOut(many=True)


class BrokerageProfileApi(APIView):
    """Public by design: what any visitor of the portal sees anyway (no client data)."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(responses=BrokerageProfileOut)
    def get(self, request):
        brokerage = require_tenant()
        theme = theme_current()
        data = {
            "name": brokerage.name, "slug": brokerage.slug, "timezone": brokerage.timezone,
            "default_language": brokerage.default_language, "portal_name": theme.portal_name,
            "primary_colour": theme.primary, "accent_colour": theme.accent, "support_email": theme.support_email,
            "account_types": AccountType.objects.filter(is_active=True),
        }
        return Response(BrokerageProfileOut(data).data)
