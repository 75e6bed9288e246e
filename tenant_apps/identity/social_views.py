"""Back-office page to switch Google / Apple sign-in on or off for this brokerage."""
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views import View

from tenant_apps.backoffice.access import StaffPermissionMixin
from tenant_apps.identity import social


class SocialLoginSettingsView(StaffPermissionMixin, View):
    permission = ("settings", "view")
    write_permission = ("settings", "edit")

    def get(self, request, errors=None, provider=None, status=200):
        return render(request, "identity/social_login.html", {
            "providers": social.social_providers_status(), "errors": errors or {}, "failed": provider,
        }, status=status)

    def post(self, request):
        provider = request.POST.get("provider", "")
        try:
            if request.POST.get("action") == "disable":
                social.social_provider_disable(provider=provider, actor=request.user)
                messages.success(request, f"{social.PROVIDERS.get(provider, provider)} sign-in is off.")
            else:
                social.social_provider_configure(
                    provider=provider, client_id=request.POST.get("client_id", ""),
                    secret=request.POST.get("secret", ""), key_id=request.POST.get("key_id", ""),
                    team_id=request.POST.get("team_id", ""), private_key=request.POST.get("private_key", ""),
                    actor=request.user)
                messages.success(request, f"{social.PROVIDERS[provider]} sign-in is on.")
        except ValidationError as exc:
            return self.get(request, errors=exc.message_dict, provider=provider, status=400)
        return redirect("backoffice_social_login")
