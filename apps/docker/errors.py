"""The OCI distribution spec's errors: one class per error code, rendered in one place into
the spec's envelope ``{"errors": [{"code", "message", "detail"}]}``."""

import math

from django.http import JsonResponse
from rest_framework import exceptions as drf

from apps.core import errors as core


class RegistryError(Exception):
    code = "UNKNOWN"
    status = 400
    message = "unknown error"

    def __init__(self, message: str | None = None, *, detail=None, status: int | None = None,
                 headers: dict | None = None):
        super().__init__(message or self.message)
        self.message = message or self.message
        self.detail = detail
        self.status = status or self.status
        self.headers = headers or {}


class BlobUnknown(RegistryError):
    code, status, message = "BLOB_UNKNOWN", 404, "blob unknown to registry"


class BlobUploadInvalid(RegistryError):
    code, status, message = "BLOB_UPLOAD_INVALID", 400, "blob upload invalid"


class BlobUploadUnknown(RegistryError):
    code, status, message = "BLOB_UPLOAD_UNKNOWN", 404, "blob upload unknown to registry"


class DigestInvalid(RegistryError):
    code, status, message = "DIGEST_INVALID", 400, "provided digest did not match uploaded content"


class ManifestBlobUnknown(RegistryError):
    code, status, message = "MANIFEST_BLOB_UNKNOWN", 400, "manifest references a blob unknown to registry"


class ManifestInvalid(RegistryError):
    code, status, message = "MANIFEST_INVALID", 400, "manifest invalid"


class ManifestUnknown(RegistryError):
    code, status, message = "MANIFEST_UNKNOWN", 404, "manifest unknown"


class NameInvalid(RegistryError):
    code, status, message = "NAME_INVALID", 400, "invalid repository name"


class NameUnknown(RegistryError):
    code, status, message = "NAME_UNKNOWN", 404, "repository name not known to registry"


class SizeInvalid(RegistryError):
    code, status, message = "SIZE_INVALID", 400, "provided length did not match content length"


class TagInvalid(RegistryError):
    code, status, message = "TAG_INVALID", 400, "manifest tag did not match URI"


class Unauthorized(RegistryError):
    code, status, message = "UNAUTHORIZED", 401, "authentication required"


class Denied(RegistryError):
    code, status, message = "DENIED", 403, "requested access to the resource is denied"


class Unsupported(RegistryError):
    code, status, message = "UNSUPPORTED", 405, "the operation is unsupported"


class TooManyRequests(RegistryError):
    code, status, message = "TOOMANYREQUESTS", 429, "too many requests"


class PaginationNumberInvalid(RegistryError):
    code, status, message = "PAGINATION_NUMBER_INVALID", 400, "invalid number of results requested"


class RangeInvalid(BlobUploadInvalid):
    """A chunk that does not start where the upload ends (the spec's 416)."""

    status = 416


class ManifestTooLarge(ManifestInvalid):
    status = 413


class Unavailable(RegistryError):
    code, status, message = "UNAVAILABLE", 502, "upstream registry unavailable"


def _as_registry_error(exc) -> RegistryError | None:
    if isinstance(exc, RegistryError):
        return exc
    if isinstance(exc, (drf.NotAuthenticated, drf.AuthenticationFailed)):
        return Unauthorized(str(exc.detail))
    if isinstance(exc, drf.PermissionDenied):
        return Denied(str(exc.detail))
    if isinstance(exc, drf.MethodNotAllowed):
        return Unsupported(str(exc.detail))
    if isinstance(exc, drf.Throttled):  # the login lock-out
        retry = {"Retry-After": str(math.ceil(exc.wait))} if exc.wait else {}
        return TooManyRequests(str(exc.detail), headers=retry)
    if isinstance(exc, core.ApiError):
        mapped = {401: Unauthorized, 403: Denied, 404: NameUnknown, 416: RangeInvalid}
        kind = mapped.get(exc.status)
        if kind is not None:
            return kind(exc.message, headers=exc.headers)
        if exc.status >= 500:
            return Unavailable(exc.message, status=exc.status)
        return RegistryError(exc.message, status=exc.status, headers=exc.headers)
    if isinstance(exc, drf.APIException):
        return RegistryError(str(exc.detail), status=exc.status_code)
    return None


def error_response(exc, challenge=None) -> JsonResponse | None:
    """The spec's envelope for ``exc`` (None for exceptions that are not ours to render).
    ``challenge()`` gives the WWW-Authenticate value of a 401."""
    error = _as_registry_error(exc)
    if error is None:
        return None
    body = {"errors": [{"code": error.code, "message": error.message, "detail": error.detail}]}
    response = JsonResponse(body, status=error.status)
    for name, value in error.headers.items():
        response[name] = value
    if error.status == 401 and challenge is not None:
        response["WWW-Authenticate"] = challenge()
    return response
