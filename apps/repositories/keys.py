"""Repository keys: what they may look like and which would shadow a route."""

import re

from django.core.exceptions import ValidationError

KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# First path segments the URL map owns; a repository with one of these keys could never be reached.
RESERVED_KEYS = frozenset({
    "api", "ui", "admin", "v2", "v1", "static", "artifactory", "metrics", "media", "token",
    "health", "favicon.ico", "robots.txt", "list", "simple", "webapp", "router", "access",
    "login", "logout", "saml2", "accounts", "repo", "_any",
})


def validate_repository_key(key: str) -> None:
    if not KEY_PATTERN.fullmatch(key or ""):  # match's '$' also passes a final newline
        raise ValidationError(
            "A repository key is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit."
        )
    if key.lower() in RESERVED_KEYS:
        raise ValidationError(f"'{key}' is reserved: it would shadow one of the server's own routes.")
