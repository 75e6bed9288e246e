"""The Trader's Room referral area, mounted at /referrals/."""
from django.urls import path

from tenant_apps.partners import portal_views as views

urlpatterns = [
    path("", views.TraderReferralsView.as_view(), name="portal_referrals"),
]
