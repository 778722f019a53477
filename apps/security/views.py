"""/api/security/users|groups, /api/v2/security/permissions and /api/security/token."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.http import HttpResponse
from django.utils import timezone
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.errors import BadRequest, Forbidden, NotFound
from apps.core.formats import base_url, iso8601

from . import services, tokens
from .authorization import deny
from .models import AccessToken, PermissionTarget


def require_admin(request) -> None:
    user = request.user
    if not (user.is_authenticated and user.is_active and user.is_superuser):
        deny(user, "manage", "security")


def _body(request) -> dict:
    if not isinstance(request.data, dict):
        raise BadRequest("The request body must be a JSON object")
    return request.data


def _text(message: str, status: int = 200) -> HttpResponse:
    return HttpResponse(message, status=status, content_type="text/plain")


# --- users and groups -----------------------------------------------------------------------

def _realm(user) -> str:
    """internal, ldap or saml: where the account comes from."""
    identity = getattr(user, "external_identity", None)
    return identity.realm if identity is not None else "internal"


def _user_json(user) -> dict:
    return {
        "name": user.username, "email": user.email, "admin": user.is_superuser,
        "profileUpdatable": True, "disableUIAccess": False,
        "internalPasswordDisabled": not user.has_usable_password(),
        "lastLoggedIn": iso8601(user.last_login), "realm": _realm(user),
        "groups": sorted(user.groups.values_list("name", flat=True)),
    }


class UserListView(APIView):
    def get(self, request):
        require_admin(request)
        base = base_url(request)
        return Response([{"name": u.username, "uri": f"{base}/api/security/users/{u.username}",
                          "realm": _realm(u)}
                         for u in get_user_model().objects.select_related("external_identity")
                         .order_by("username")])


class UserDetailView(APIView):
    parser_classes = [JSONParser]

    def get(self, request, name: str):
        require_admin(request)
        return Response(_user_json(_user_or_404(name)))

    def put(self, request, name: str):
        require_admin(request)
        data = _body(request)
        if not data.get("password") and not get_user_model().objects.filter(username=name).exists():
            raise BadRequest("A new user needs a password")
        created = not get_user_model().objects.filter(username=name).exists()
        services.user_save(name=name, **self._fields(data))
        return _text(f"User '{name}' {'created' if created else 'updated'}", 201 if created else 200)

    def post(self, request, name: str):
        require_admin(request)
        _user_or_404(name)
        services.user_save(name=name, **self._fields(_body(request)))
        return _text(f"User '{name}' updated")

    def delete(self, request, name: str):
        require_admin(request)
        _user_or_404(name).delete()
        return _text(f"User '{name}' has been removed successfully.")

    @staticmethod
    def _fields(data: dict) -> dict:
        fields = {"email": data.get("email"), "password": data.get("password"),
                  "admin": data.get("admin"), "groups": data.get("groups")}
        if fields["groups"] is not None and not isinstance(fields["groups"], list):
            raise BadRequest("groups must be a list of group names")
        return {k: v for k, v in fields.items() if v is not None}


def _user_or_404(name: str):
    user = get_user_model().objects.filter(username=name).first()
    if user is None:
        raise NotFound(f"User '{name}' not found")
    return user


class GroupListView(APIView):
    def get(self, request):
        require_admin(request)
        base = base_url(request)
        return Response([{"name": g.name, "uri": f"{base}/api/security/groups/{g.name}"}
                         for g in Group.objects.order_by("name")])


class GroupDetailView(APIView):
    parser_classes = [JSONParser]

    def get(self, request, name: str):
        require_admin(request)
        group = Group.objects.filter(name=name).first()
        if group is None:
            raise NotFound(f"Group '{name}' not found")
        return Response({"name": group.name, "description": "", "autoJoin": False,
                         "adminPrivileges": False, "realm": "internal",
                         "userNames": sorted(group.user_set.values_list("username", flat=True))})

    def put(self, request, name: str):
        require_admin(request)
        created = not Group.objects.filter(name=name).exists()
        self._save(name, _body(request))
        return _text(f"Group '{name}' {'created' if created else 'updated'}", 201 if created else 200)

    post = put

    def delete(self, request, name: str):
        require_admin(request)
        if not Group.objects.filter(name=name).delete()[0]:
            raise NotFound(f"Group '{name}' not found")
        return _text(f"Group '{name}' has been removed successfully.")

    @staticmethod
    def _save(name: str, data: dict) -> None:
        users = data.get("userNames")
        if users is not None and not isinstance(users, list):
            raise BadRequest("userNames must be a list of user names")
        try:
            services.group_save(name=name, users=users)
        except ValueError as exc:
            raise BadRequest(str(exc)) from None


# --- permission targets (v2 JSON; deploy is spelled "write") ----------------------------------

_TO_V2 = {"read": "read", "annotate": "annotate", "deploy": "write", "delete": "delete", "manage": "manage"}
_FROM_V2 = {v2: action for action, v2 in _TO_V2.items()}


def _target_json(target: PermissionTarget) -> dict:
    repositories = sorted(target.repositories.values_list("key", flat=True))
    if target.any_local and target.any_remote:
        repositories.append(services.ANY)
    elif target.any_local:
        repositories.append(services.ANY_LOCAL)
    elif target.any_remote:
        repositories.append(services.ANY_REMOTE)
    users, groups = {}, {}
    for grant in target.grants.select_related("user", "group"):
        actions = sorted(_TO_V2[a] for a in (grant.actions if not grant.manage else {"manage"} | grant.actions))
        if grant.user_id:
            users[grant.user.username] = actions
        else:
            groups[grant.group.name] = actions
    split = lambda text: [p for p in text.replace("\n", ",").split(",") if p.strip()]  # noqa: E731
    return {"name": target.name, "repo": {
        "include-patterns": split(target.include_patterns) or ["**"],
        "exclude-patterns": split(target.exclude_patterns),
        "repositories": repositories,
        "actions": {"users": users, "groups": groups},
    }}


class PermissionListView(APIView):
    def get(self, request):
        require_admin(request)
        base = base_url(request)
        return Response([{"name": t.name, "uri": f"{base}/api/v2/security/permissions/{t.name}"}
                         for t in PermissionTarget.objects.all()])


class PermissionDetailView(APIView):
    parser_classes = [JSONParser]

    def get(self, request, name: str):
        require_admin(request)
        return Response(_target_json(self._target(name)))

    def put(self, request, name: str):
        require_admin(request)
        created = not PermissionTarget.objects.filter(name=name).exists()
        self._save(name, _body(request))
        return _text(f"Permission target '{name}' {'created' if created else 'replaced'}",
                     201 if created else 200)

    def post(self, request, name: str):
        require_admin(request)
        self._target(name)
        self._save(name, _body(request))
        return _text(f"Permission target '{name}' replaced")

    def delete(self, request, name: str):
        require_admin(request)
        self._target(name).delete()
        return _text(f"Permission target '{name}' has been removed successfully.")

    @staticmethod
    def _target(name: str) -> PermissionTarget:
        target = PermissionTarget.objects.filter(name=name).first()
        if target is None:
            raise NotFound(f"Permission target '{name}' not found")
        return target

    @staticmethod
    def _save(name: str, data: dict) -> None:
        repo = data.get("repo") or {}
        actions = repo.get("actions") or {}
        try:
            services.permission_target_save(
                name=name,
                repositories=list(repo.get("repositories") or []),
                include_patterns=[p for p in repo.get("include-patterns") or ["**"] if p],
                exclude_patterns=[p for p in repo.get("exclude-patterns") or [] if p],
                users={u: _actions(a) for u, a in (actions.get("users") or {}).items()},
                groups={g: _actions(a) for g, a in (actions.get("groups") or {}).items()})
        except (ValueError, TypeError, AttributeError) as exc:
            raise BadRequest(f"Invalid permission target: {exc}") from None


def _actions(names) -> list[str]:
    if not isinstance(names, list):
        raise ValueError("actions must be lists")
    unknown = [n for n in names if n not in _FROM_V2]
    if unknown:
        raise ValueError(f"unknown actions: {', '.join(map(str, unknown))}")
    return [_FROM_V2[n] for n in names]


# --- access tokens --------------------------------------------------------------------------

def _scope_json(token: AccessToken) -> dict:
    scope = token.scope_or_none()
    return {"read_only": bool(scope and scope.read_only),
            "repositories": list(scope.repositories) if scope else []}


class TokenView(APIView):
    """List (own; admins: all) and create access tokens. Creating accepts ``description``,
    ``expires_in`` (seconds), ``read_only`` and ``repositories`` (keys, list or comma separated)."""

    parser_classes = [FormParser, MultiPartParser, JSONParser]

    def get(self, request):
        if not request.user.is_authenticated:
            deny(request.user, "read", "tokens")
        listed = tokens.tokens_visible(user=request.user)
        return Response({"tokens": [{
            "token_id": t.token_id, "issuer": "repomgr", "subject": t.user.username,
            "description": t.description, "issued_at": int(t.created.timestamp()),
            "expiry": int(t.expires.timestamp()) if t.expires else None, "refreshable": False,
            "last_used": int(t.last_used.timestamp()) if t.last_used else None, **_scope_json(t),
        } for t in listed]})

    def post(self, request):
        if not request.user.is_authenticated:
            deny(request.user, "create", "tokens")
        if tokens.token_scope(request.user) is not None:
            raise Forbidden("A scoped token cannot create tokens")
        data = request.data
        owner = request.user
        username = data.get("username") or owner.username
        if username != owner.username:
            require_admin(request)
            owner = _user_or_404(username)
        try:
            expires_in = int(data.get("expires_in", 0) or 0)
        except ValueError:
            raise BadRequest("expires_in must be a number of seconds") from None
        expires = timezone.now() + timedelta(seconds=expires_in) if expires_in > 0 else None
        try:
            token, secret = tokens.token_create(
                user=owner, description=str(data.get("description", ""))[:256], expires=expires,
                read_only=_flag(data.get("read_only")), repositories=_keys(data.get("repositories")))
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        scope = "applied-permissions/user"
        if token.scope_or_none():
            scope += " " + " ".join(
                (["read-only"] if token.scope.read_only else [])
                + [f"repository:{key}" for key in token.scope.repositories])
        return Response({"token_id": token.token_id, "access_token": secret, "token_type": "Bearer",
                         "expires_in": expires_in, "scope": scope})


def _flag(value) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def _keys(value) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        return [key.strip() for key in value.split(",") if key.strip()]
    if isinstance(value, list) and all(isinstance(key, str) for key in value):
        return value
    raise BadRequest("repositories must be a list of repository keys")


class TokenRevokeView(APIView):
    parser_classes = [FormParser, MultiPartParser, JSONParser]

    def post(self, request, token_id: str | None = None):
        if not request.user.is_authenticated:
            deny(request.user, "revoke", "tokens")
        if tokens.token_scope(request.user) is not None:
            raise Forbidden("A scoped token cannot revoke tokens")
        token_id = token_id or request.data.get("token_id")
        secret = request.data.get("token")
        if secret:
            match = AccessToken.objects.filter(digest=tokens.token_digest(secret)).first()
            token_id = match.token_id if match else None
        owner = None if request.user.is_superuser else request.user
        if not token_id or not tokens.token_revoke(token_id=token_id, user=owner):
            raise NotFound("Token not found")
        return _text("Token revoked")

    delete = post
