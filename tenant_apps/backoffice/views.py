"""Back office pages (staff of the brokerage). Thin: reads via selectors, writes via services."""
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View

from tenant_apps.backoffice.access import StaffPermissionMixin
from tenant_apps.brokerage.selectors import brokerage_configuration
from tenant_apps.identity.models import Role, User, UserKind
from themes.images import ACCEPT_ATTRIBUTE, ACCEPTED_LABEL, IMAGE_KINDS, MAX_UPLOAD_BYTES
from themes.models import HEX_COLOUR, Theme
from themes.presets import FONT_STACKS, preset_choices
from themes.selectors import MIN_CONTRAST, branding_can_edit, colour_contrast_checks
from themes.services import (
    COLOUR_LABELS,
    theme_clear_image,
    theme_reset_to_preset,
    theme_set_image,
    theme_update,
)


class StaffRequiredMixin(StaffPermissionMixin):
    """Any back-office page: staff with the matrix's backoffice:view (subclasses name stricter permissions)."""

    permission = ("backoffice", "view")


class OverviewView(StaffRequiredMixin, View):
    def get(self, request):
        context = brokerage_configuration()
        context["staff"] = list(User.objects.filter(kind=UserKind.STAFF)
                                .prefetch_related(Prefetch("roles", queryset=Role.objects.order_by("name"))))
        context["roles"] = list(Role.objects.all())
        context["client_count"] = User.objects.filter(kind=UserKind.CLIENT).count()
        return render(request, "backoffice/overview.html", context)


def _error_lists(exc: ValidationError) -> dict[str, list[str]]:
    return exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}


def _contrast_for(values: dict) -> list:
    checks = []
    for field in COLOUR_LABELS:
        colour = (values.get(field) or "").lower()
        if HEX_COLOUR.match(colour):
            checks.extend(colour_contrast_checks(field=field, colour=colour))
    return checks


def branding_page(request, *, errors: dict | None = None, submitted: dict | None = None, status: int = 200):
    """The branding page; after a refused change it shows what was submitted next to the reasons."""
    row = Theme.objects.order_by("id").first()
    values = {f: getattr(row, f) for f in BrandingView.fields + ("dark_header", "preset")} if row else {}
    for field, value in (submitted or {}).items():
        if field in COLOUR_LABELS and not HEX_COLOUR.match(value or ""):
            continue  # a colour input can't show it; the error message quotes it
        values[field] = value
    images = [{"kind": k.code, "label": k.label, "present": bool(row and getattr(row, k.code)),
               "max_side": k.max_side} for k in IMAGE_KINDS.values()]
    return render(request, "backoffice/branding.html", {
        "row": row, "values": values, "fonts": FONT_STACKS, "presets": preset_choices(),
        "can_edit": branding_can_edit(request.user), "errors": errors or {}, "contrast": _contrast_for(values),
        "min_contrast": MIN_CONTRAST, "images": images, "image_accept": ACCEPT_ATTRIBUTE,
        "image_formats": ACCEPTED_LABEL, "image_max_mb": MAX_UPLOAD_BYTES // (1024 * 1024),
    }, status=status)


class BrandingEditMixin(StaffRequiredMixin):
    """Branding pages: every staff member sees them; writes need branding:edit here and in the services."""

    permission = ("branding", "view")
    write_permission = ("branding", "edit")

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        except PermissionDenied:
            return render(request, "backoffice/forbidden.html", status=403)


class BrandingView(BrandingEditMixin, View):
    fields = ("portal_name", "primary_colour", "accent_colour", "font", "support_email", "support_phone", "legal_footer")

    def get(self, request):
        return branding_page(request)

    def post(self, request):
        changes = {f: request.POST.get(f, "").strip() for f in self.fields if f in request.POST}
        if "dark_header_shown" in request.POST:  # an unticked box sends nothing: only the full form may clear it
            changes["dark_header"] = request.POST.get("dark_header") == "on"
        try:
            theme_update(actor=request.user, **changes)
        except ValidationError as exc:
            return branding_page(request, errors=_error_lists(exc), submitted=changes, status=400)
        messages.success(request, _("Branding saved. Every portal page shows it now."))
        return redirect("backoffice_branding")


class BrandingImageView(BrandingEditMixin, View):
    """Upload (action=upload, file in `image`) or remove (action=remove) the logo or favicon."""

    def post(self, request, kind: str):
        if kind not in IMAGE_KINDS:
            raise Http404("No such branding image.")
        try:
            if request.POST.get("action") == "remove":
                theme_clear_image(actor=request.user, kind=kind)
                messages.success(request, _("The %(kind)s was removed.") % {"kind": IMAGE_KINDS[kind].label})
            else:
                uploaded = request.FILES.get("image")
                if uploaded is None:
                    raise ValidationError({kind: _("Choose an image file to upload.")})
                theme_set_image(actor=request.user, kind=kind, uploaded=uploaded)
                messages.success(request, _("The new %(kind)s is live on every portal page.") % {"kind": IMAGE_KINDS[kind].label})
        except ValidationError as exc:
            return branding_page(request, errors=_error_lists(exc), status=400)
        return redirect("backoffice_branding")


class BrandingResetView(BrandingEditMixin, View):
    def post(self, request):
        try:
            theme = theme_reset_to_preset(actor=request.user, preset=request.POST.get("preset", ""))
        except ValidationError as exc:
            return branding_page(request, errors=_error_lists(exc), status=400)
        messages.success(request, _("Colours, font and header are back to the %(preset)s preset.")
                         % {"preset": theme.get_preset_display()})
        return redirect("backoffice_branding")


class BrandingContrastView(StaffRequiredMixin, View):
    """The live contrast readout (htmx swaps it in while a colour is being picked); reads only."""

    permission = ("branding", "view")

    def get(self, request):
        values = {f: request.GET.get(f, "") for f in COLOUR_LABELS}
        return render(request, "backoffice/_contrast_readout.html", {
            "contrast": _contrast_for(values), "min_contrast": MIN_CONTRAST,
        })


class PermissionsView(StaffPermissionMixin, View):
    """The permission matrix, rendered from the same table every check reads."""

    permission = ("roles", "view")

    def get(self, request):
        from tenant_apps.identity.models import Role
        from tenant_apps.identity.permissions import SYSTEM_ROLES, matrix_rows
        from tenant_apps.identity.selectors import custom_roles, role_permission_keys

        names = dict(Role.objects.filter(code__in=SYSTEM_ROLES).values_list("code", "name"))
        # The brokerage's own roles as further columns, from their stored subsets of the same keys.
        custom = list(custom_roles())
        held = [set(role_permission_keys(role)) for role in custom]
        rows = matrix_rows()
        for row in rows:
            key = f"{row['capability'].code}:{row['action']}"
            row["custom_grants"] = [key in keys for keys in held]
        return render(request, "backoffice/permissions.html", {
            "rows": rows, "roles": [names.get(code, code) for code in SYSTEM_ROLES], "custom_roles": custom,
            "system_roles": list(Role.objects.filter(code__in=SYSTEM_ROLES, is_staff_role=True)),
        })
