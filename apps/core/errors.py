"""Errors of the REST and raw artifact APIs, and the one place that renders them.

Every error leaves as ``{"errors": [{"status": N, "message": "..."}]}`` (Artifactory's shape).
Protocol apps with their own envelope (Docker) install their own handler on their views.
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf
from rest_framework.response import Response


class ApiError(Exception):
    status = 400

    def __init__(self, message: str, *, status: int | None = None, headers: dict | None = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.headers = headers or {}


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class MethodNotAllowed(ApiError):
    status = 405


class Conflict(ApiError):
    status = 409


class PayloadTooLarge(ApiError):
    status = 413


class RangeNotSatisfiable(ApiError):
    status = 416


def error_body(status: int, message: str) -> dict:
    return {"errors": [{"status": status, "message": message}]}


def _drf_message(detail) -> str:
    if isinstance(detail, dict):
        return "; ".join(f"{key}: {_drf_message(value)}" for key, value in detail.items())
    if isinstance(detail, list):
        return "; ".join(_drf_message(item) for item in detail)
    return str(detail)


def exception_handler(exc, context):
    """DRF exception handler: every known error becomes the JSON error envelope."""
    if isinstance(exc, Http404):
        exc = NotFound(str(exc) or "Not found")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = Forbidden(str(exc) or "Forbidden")
    if isinstance(exc, ApiError):
        return Response(error_body(exc.status, exc.message), status=exc.status, headers=exc.headers)
    if isinstance(exc, drf.APIException):
        headers = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
        status = exc.status_code
        return Response(error_body(status, _drf_message(exc.detail)), status=status, headers=headers)
    return None


def json_error(status: int, message: str) -> JsonResponse:
    return JsonResponse(error_body(status, message), status=status)


def handler404(request, exception=None):
    return json_error(404, "Not found")


def handler500(request):
    return json_error(500, "Internal server error")
