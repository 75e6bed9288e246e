"""Error pages: API paths get typed JSON, pages get the themed page. Never a bare HTML 404/500 for the API."""
from django.http import JsonResponse
from django.shortcuts import render


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def not_found(request, exception=None):
    if _is_api(request):
        return JsonResponse({"code": "not_found", "message": "No such endpoint or object."}, status=404)
    return render(request, "errors/404.html", status=404)


def server_error(request):
    if _is_api(request):
        return JsonResponse({"code": "server_error", "message": "Something went wrong on our side; it has been logged."},
                            status=500)
    return render(request, "errors/500.html", status=500)
