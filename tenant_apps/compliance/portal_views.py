"""Trader's Room verification pages (/verify/): profile, documents, progress and submit. Thin: services write."""
from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from tenant_apps.compliance import selectors, services
from tenant_apps.compliance.errors import ComplianceError
from tenant_apps.compliance.forms import DocumentUploadForm, ProfileForm
from tenant_apps.compliance.models import ClientProfile, KycDocument
from tenant_apps.identity.models import UserKind


def client_required(view):
    """A signed-in user of kind "client"; staff are refused (403), visitors sent to sign in."""
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if user.kind != UserKind.CLIENT:
            return render(request, "compliance/portal/not_a_client.html", status=403)
        return view(request, *args, **kwargs)
    return wrapped


@client_required
@require_http_methods(["GET"])
def overview(request):
    return render(request, "compliance/portal/overview.html", {"v": selectors.client_verification(request.user)})


@client_required
@require_http_methods(["GET", "POST"])
def profile(request):
    entity = selectors.client_legal_entity(request.user)
    with_questions = bool(entity and entity.rules.get("appropriateness_test"))
    instance = ClientProfile.objects.filter(client_id=request.user.pk).first() or ClientProfile(client=request.user)
    form = ProfileForm(request.POST or None, instance=instance, jurisdiction=entity.jurisdiction if entity else "",
                       with_questions=with_questions)
    if request.method == "POST":
        if form.is_valid():
            saved = services.client_profile_save(client=request.user, data=form.service_data(), request=request)
            if with_questions and saved.appropriateness_passed is False:
                messages.warning(request, _("Based on your answers, leveraged CFD trading may not be appropriate for "
                                            "you. You may continue, but please read the risk warning carefully."))
            else:
                messages.success(request, _("Your profile is saved."))
            return redirect("verify_overview")
        return render(request, "compliance/portal/profile.html", {"form": form}, status=400)
    return render(request, "compliance/portal/profile.html", {"form": form})


@client_required
@require_http_methods(["GET", "POST"])
def documents(request):
    form = DocumentUploadForm(request.POST or None, request.FILES or None,
                              initial={"doc_type": request.GET.get("type", "")})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.kyc_document_upload(client=request.user, doc_type=data["doc_type"], uploaded=data["file"],
                                             issue_date=data["issue_date"], expiry_date=data["expiry_date"],
                                             request=request)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, _("Document received. We will check it after you submit for review."))
                return redirect("verify_overview")
    return render(request, "compliance/portal/documents.html",
                  {"form": form, "v": selectors.client_verification(request.user)}, status=status)


@client_required
@require_POST
def submit(request):
    try:
        services.kyc_submit(client=request.user, request=request)
    except ComplianceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Submitted. We will let you know as soon as it is reviewed."))
    return redirect("verify_overview")


def document_response(document: KycDocument) -> FileResponse:
    """The stored file, inert (platform_core/files.py), named by its type and id."""
    from platform_core.files import inert_file_response

    extension = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}[document.content_type]
    return inert_file_response(document.file, content_type=document.content_type,
                               filename=f"{document.doc_type}-{document.pk}.{extension}")


@client_required
@require_http_methods(["GET"])
def document_file(request, document_id: int):
    # Only the owner: any other id is "not found", never "forbidden" (no confirmation that it exists).
    document = KycDocument.objects.filter(pk=document_id, client_id=request.user.pk).first()
    if document is None:
        raise Http404("No such document.")
    return document_response(document)
