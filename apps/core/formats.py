"""Small renderers shared by the REST API: dates, sizes, base URLs."""

from datetime import datetime, timezone


def iso8601(value: datetime | None) -> str | None:
    """Artifactory's timestamp form: 2026-11-24T17:46:03.123Z."""
    if value is None:
        return None
    value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def human_size(size: int) -> str:
    """3650722201 -> '3.40 GB', as /api/storageinfo writes sizes."""
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{int(value)} bytes" if unit == "bytes" else f"{value:.2f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def base_url(request) -> str:
    """The server's absolute base URL as this client sees it, keeping an /artifactory prefix
    when the client used one."""
    root = request.build_absolute_uri("/").rstrip("/")
    return root + "/artifactory" if request.path.startswith("/artifactory/") else root
