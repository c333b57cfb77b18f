"""Site error pages: under /api/ every failure Django itself answers (no route, a bad request, a crash) comes
in the API's error shape; elsewhere Django's own pages."""
from __future__ import annotations

from django.http import JsonResponse
from django.views import defaults

API_PREFIX = "/api/"


def _api_error(code: str, message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


def not_found(request, exception=None):
    if request.path.startswith(API_PREFIX):
        return _api_error("not_found", "Not found.", 404)
    return defaults.page_not_found(request, exception)


def bad_request(request, exception=None):
    if request.path.startswith(API_PREFIX):
        return _api_error("invalid", "The request is malformed.", 400)
    return defaults.bad_request(request, exception)


def permission_denied(request, exception=None):
    if request.path.startswith(API_PREFIX):
        return _api_error("permission_denied", "You may not do that.", 403)
    return defaults.permission_denied(request, exception)


def server_error(request):
    if request.path.startswith(API_PREFIX):
        return _api_error("internal", "Something went wrong on our side.", 500)
    return defaults.server_error(request)
