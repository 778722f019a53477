"""Docker bearer tokens: the token endpoint's scopes, the JWTs it signs, and the checks a
registry request makes against them.

A token grants the intersection of what was asked for and what authorize() allows
(pull = read, push = deploy, delete = delete); every request is authorized again, so a token
never outlives a permission taken away.
"""

import hashlib
import hmac
import time
import uuid
from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime, timezone

import jwt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from rest_framework import authentication
from rest_framework.exceptions import AuthenticationFailed

from apps.core.config_cache import cached_rows
from apps.core.db import model_row
from apps.repositories.models import Repository
from apps.security.authentication import authorization_header
from apps.security.authorization import authorize
from apps.security.tokens import token_scope

from .references import image_folder

SERVICE = "repomgr"
ISSUER = "repomgr"
TOKEN_TTL_SECS = 900
ACTIONS = {"pull": "read", "push": "deploy", "delete": "delete"}
_ALGORITHM = "HS256"


def _signing_key() -> bytes:
    return _derived_key(settings.SECRET_KEY)


@lru_cache(maxsize=4)
def _derived_key(secret: str) -> bytes:
    # A key of its own, derived from the secret key, so a token can never pass as anything else.
    return hmac.new(secret.encode(), b"repomgr docker tokens", hashlib.sha256).digest()


@dataclass(frozen=True)
class Scope:
    type: str
    name: str
    actions: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.type}:{self.name}:{','.join(self.actions)}"


def parse_scope(text: str) -> Scope | None:
    """'repository:docker-local/team/app:pull,push' -> Scope; None when malformed."""
    kind, _, rest = text.partition(":")
    name, _, actions = rest.rpartition(":")
    if not kind or not name or not actions:
        return None
    return Scope(kind, name, tuple(a for a in actions.split(",") if a))


def split_repository_name(full_name: str) -> tuple[str, str]:
    """'docker-local/team/app' -> ('docker-local', 'team/app')."""
    key, _, name = full_name.partition("/")
    return key, name


def granted_actions(user, scope: Scope) -> list[str]:
    """The requested actions of ``scope`` that ``user`` holds."""
    if scope.type == "registry" and scope.name == "catalog":
        # The catalog is listed by the user's own permissions, which a scoped access token
        # would widen: such tokens get no catalog.
        return ["*"] if "*" in scope.actions and token_scope(user) is None else []
    if scope.type != "repository":
        return []
    key, name = split_repository_name(scope.name)
    repository = Repository.objects.filter(key=key, package_type="docker").first()
    if repository is None or not name:
        return []
    wanted = ACTIONS.keys() if "*" in scope.actions else scope.actions
    return [action for action in wanted
            if action in ACTIONS and authorize(user, ACTIONS[action], repository, image_folder(name))]


def token_issue(*, user, scopes: list[Scope], service: str) -> dict:
    """The token endpoint's answer: a signed JWT for what ``user`` may do of ``scopes``."""
    now = int(datetime.now(timezone.utc).timestamp())
    access = []
    for scope in scopes:
        actions = granted_actions(user, scope)
        if actions:
            access.append({"type": scope.type, "name": scope.name, "actions": actions})
    claims = {
        "iss": ISSUER, "sub": user.get_username() if user.is_authenticated else "",
        "aud": service, "iat": now, "nbf": now - 5, "exp": now + TOKEN_TTL_SECS,
        "jti": uuid.uuid4().hex, "access": access,
    }
    token = jwt.encode(claims, _signing_key(), algorithm=_ALGORITHM)
    issued = datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"token": token, "access_token": token, "expires_in": TOKEN_TTL_SECS, "issued_at": issued}


def token_allows_catalog(claims: dict) -> bool:
    return any(entry.get("type") == "registry" and entry.get("name") == "catalog"
               for entry in claims.get("access") or [])


def token_allows(claims: dict, full_name: str, action: str) -> bool:
    """Whether the token's access list holds ``action`` on repository ``full_name``."""
    for entry in claims.get("access") or []:
        if entry.get("type") == "repository" and entry.get("name") == full_name:
            actions = entry.get("actions") or []
            if action in actions or "*" in actions:
                return True
    return False


def _active_user(username: str):
    # Every registry request with a token asks this (cached per process until users change).
    return cached_rows(("active user", username), lambda: model_row(
        get_user_model(), "username = %s AND is_active = %s", [username, True]))


# Clients send the same token with every request of a pull or push: its signature and claims
# are checked once, and again only after it expires (the user behind it is looked up again
# whenever users change). The check depends on nothing but the token, the key and the clock.
_VERIFIED_MAX = 1024
_verified: dict[tuple[bytes, str], dict] = {}


def _verified_claims(token: str) -> dict:
    """The claims of a valid token. Raises jwt.PyJWTError."""
    key = _signing_key()
    claims = _verified.get((key, token))
    if claims is not None and claims["exp"] > time.time():
        return claims
    claims = jwt.decode(token, key, algorithms=[_ALGORITHM], audience=SERVICE, issuer=ISSUER,
                        options={"require": ["exp", "sub", "aud"]})
    if len(_verified) >= _VERIFIED_MAX:
        _verified.clear()
    _verified[(key, token)] = claims
    return claims


class RegistryTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <jwt>`` signed by our token endpoint; ``request.auth`` becomes
    its claims. Access tokens (rmt_...) are left to the general Bearer authentication."""

    def authenticate(self, request):
        header = authorization_header(request)
        if len(header) != 2 or header[0].lower() != b"bearer" or header[1].startswith(b"rmt_"):
            return None
        try:
            claims = _verified_claims(header[1].decode("latin-1"))
        except jwt.PyJWTError:
            raise AuthenticationFailed("invalid or expired token") from None
        if not claims["sub"]:
            return AnonymousUser(), claims
        user = _active_user(claims["sub"])
        if user is None:
            raise AuthenticationFailed("the token's user no longer exists")
        return user, claims

    def authenticate_header(self, request):
        return "Bearer"
