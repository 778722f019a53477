"""The permission matrix's frame: one world of repositories, paths, roles and grants, and
protocol adapters that each turn (role, action, repository class, zone) into one real HTTP
request and name the exact status the cell must give.

A protocol joins the matrix by subclassing Protocol (see test_permission_matrix.py for the
generic ones); the PyPI and Docker adapters add their rows the same way, reusing the world.
"""

import io
from dataclasses import dataclass, field

import requests

from apps.packages import services as artifact_services
from apps.packages.storage import spool_stream
from apps.repositories.models import Repository
from apps.security.models import ACTIONS, PermissionTarget
from apps.security.tokens import token_create
from tests.factories import grant, make_group, make_repository, make_user

# Repository classes: the matrix repository each one is, and the non-virtual repository that
# holds its files (what a deploy to a virtual repository lands in).
CLASSES = {
    "local": ("matrix-local", "matrix-local"),
    "remote": ("matrix-remote", "matrix-remote"),
    "virtual": ("matrix-virtual", "matrix-local"),
    "ungranted": ("matrix-hidden", "matrix-hidden"),
}
# Zones of the permission target: included, included but excluded, not included.
INCLUDE, EXCLUDE = "team/**", "team/secret/**"
ZONES = {"granted": "team", "excluded": "team/secret", "outside": "other"}
SEED = b"seeded content\n"


@dataclass(frozen=True)
class Role:
    """Who acts: ``grants`` are the actions the permission target gives them (to the user, or
    to their directory/SSO group); ``read_only`` for a read-only token of such a user."""

    name: str
    grants: frozenset[str] = frozenset()
    admin: bool = False
    anonymous: bool = False
    read_only: bool = False
    realm: str = "internal"  # internal | ldap | saml

    def may(self, action: str, repo_class: str, zone: str) -> bool:
        """The oracle: may this role do ``action`` (read/annotate/deploy/delete/manage) there?"""
        if self.read_only and action != "read":
            return False
        if self.admin:
            return True
        if repo_class == "ungranted" or zone not in ("granted", None):
            return False
        held = set(ACTIONS) if "manage" in self.grants else self.grants
        if repo_class == "virtual" and action == "manage":
            return False  # a virtual repository is configured by administrators only
        return action in held

    def reads_somewhere(self, repo_class: str) -> bool:
        return self.may("read", repo_class, "granted")


ROLES = [
    Role("anonymous", frozenset({"read"}), anonymous=True),
    Role("reader", frozenset({"read"})),
    Role("deployer", frozenset({"read", "deploy"})),
    Role("deleter", frozenset({"read", "deploy", "delete"})),
    Role("manager", frozenset({"manage"})),
    Role("admin", admin=True),
    Role("read-only token", frozenset({"manage"}), read_only=True),
    Role("ldap group", frozenset({"read", "deploy"}), realm="ldap"),
    Role("saml group", frozenset({"read", "deploy"}), realm="saml"),
]


@dataclass
class World:
    """The repositories, seeded files and credentials every cell runs against."""

    server: object
    credentials: dict[str, tuple[str, str] | None] = field(default_factory=dict)
    user_grants: dict[str, list[str]] = field(default_factory=dict)  # username -> actions
    group_grants: dict[str, list[str]] = field(default_factory=dict)  # group name -> actions
    prepared: set[str] = field(default_factory=set)  # protocols whose own data is in place
    _counter: int = 0

    def number(self) -> int:
        self._counter += 1
        return self._counter

    def unique(self, stem: str) -> str:
        return f"{stem}-{self.number()}.txt"

    def seed(self, repo_key: str, path: str, data: bytes = SEED) -> None:
        """Put a file straight into a repository (remote caches too) through the services."""
        with spool_stream(io.BytesIO(data), len(data)) as spool:
            blob = artifact_services.blob_ingest(spool)
        artifact_services.artifact_deploy(repository=Repository.objects.get(key=repo_key), path=path,
                                          blob=blob, username="seed", allow_overwrite=True)

    def session(self, role: Role) -> requests.Session:
        session = requests.Session()
        session.auth = self.credentials[role.name]
        return session

    def admin(self) -> requests.Session:
        """The administrator's session, for seeding through the protocols themselves."""
        session = requests.Session()
        session.auth = self.credentials["admin"]
        return session


def build_world(server, *, ldap_user: tuple[str, str] | None = None,
                saml_token: callable = None) -> World:
    """Create the matrix repositories, seed one file per zone, and the roles' users, groups,
    grants and credentials. ``saml_token(server)`` returns (user, token) for the SSO role."""
    PermissionTarget.objects.filter(name="Anything").delete()  # no blanket anonymous read
    make_repository("matrix-local")
    make_repository("matrix-hidden")
    make_repository("matrix-remote", "remote", url="http://127.0.0.1:9/", offline=True)
    make_repository("matrix-virtual", "virtual", members=["matrix-local", "matrix-remote"],
                    deploy_to="matrix-local")
    world = World(server)
    for repo_key in ("matrix-local", "matrix-remote", "matrix-hidden"):
        for zone in ZONES.values():
            world.seed(repo_key, f"{zone}/seed.txt")
    users = {"anonymous": ["read"]}
    for role in ROLES:
        if role.realm == "internal" and not role.anonymous and not role.read_only:
            make_user(role.name, f"{role.name}-pass", admin=role.admin)
            world.credentials[role.name] = (role.name, f"{role.name}-pass")
            if role.grants:
                users[role.name] = sorted(role.grants)
    world.credentials["anonymous"] = None
    _, secret = token_create(user=make_user("token-owner", "owner-pass"), read_only=True)
    users["token-owner"] = ["manage"]
    world.credentials["read-only token"] = ("token-owner", secret)
    groups = {"ldap-deployers": ["read", "deploy"], "saml-deployers": ["read", "deploy"]}
    for name in groups:
        make_group(name)
    grant("matrix", repositories=["matrix-local", "matrix-remote"], include=[INCLUDE], exclude=[EXCLUDE],
          users=users, groups=groups)
    world.user_grants, world.group_grants = users, groups
    if ldap_user:
        world.credentials["ldap group"] = ldap_user
    if saml_token:
        world.credentials["saml group"] = saml_token(server)
    return world


@dataclass(frozen=True)
class Cell:
    action: str
    repo_class: str
    zone: str | None  # None: the cell is about the repository, not a path in it


class Protocol:
    """One protocol's rows: the actions it has, how to perform one, and what it must answer."""

    name = ""
    actions: tuple[str, ...] = ()
    classes: tuple[str, ...] = tuple(CLASSES)
    path_actions: tuple[str, ...] = ()  # the others are per repository

    def cells(self):
        for action in self.actions:
            for repo_class in self.classes:
                zones = ZONES if action in self.path_actions else [None]
                for zone in zones:
                    yield Cell(action, repo_class, zone)

    def prepare(self, world: World) -> None:
        """Create the protocol's own repositories and data in ``world`` (once per world)."""

    def perform(self, world: World, role: Role, cell: Cell):
        raise NotImplementedError

    def expected(self, role: Role, cell: Cell):
        raise NotImplementedError

    @staticmethod
    def denied(role: Role) -> int:
        """Refusal of an action: 401 asks an anonymous caller to log in, 403 tells a known one no."""
        return 401 if role.anonymous else 403

    @classmethod
    def not_found(cls, role: Role, repo_class: str) -> int:
        """A read that finds nothing readable: 404, which never tells what exists, unless the
        caller may read nothing at all in the repository."""
        return 404 if role.reads_somewhere(repo_class) else cls.denied(role)


def run_rows(protocol: Protocol, world: World, role: Role) -> list[str]:
    """Every cell of ``protocol`` for ``role``; returns the cells that answered otherwise."""
    wrong = []
    protocol.prepare(world)
    for cell in protocol.cells():
        got, want = protocol.perform(world, role, cell), protocol.expected(role, cell)
        if got != want:
            wrong.append(f"{protocol.name} {role.name:>16} {cell.action:>9} {cell.repo_class:>9} "
                         f"{cell.zone or '-':>8}: got {got}, must be {want}")
    return wrong


def add_repositories(world: World, package_type: str, stem: str, *, include: str, exclude: str,
                     upstream: str = "") -> dict:
    """The four repository classes for one package type (``<stem>-local`` ... ``<stem>-hidden``)
    with the roles' grants under ``include``/``exclude``; returns {class: (key, physical key)}
    like CLASSES. The remote proxies ``upstream``, or is offline without one."""
    classes = {"local": (f"{stem}-local", f"{stem}-local"), "remote": (f"{stem}-remote", f"{stem}-remote"),
               "virtual": (f"{stem}-virtual", f"{stem}-local"), "ungranted": (f"{stem}-hidden", f"{stem}-hidden")}
    make_repository(f"{stem}-local", package_type=package_type)
    make_repository(f"{stem}-hidden", package_type=package_type)
    make_repository(f"{stem}-remote", "remote", package_type=package_type, url=upstream or "http://127.0.0.1:9/",
                    offline=not upstream)
    make_repository(f"{stem}-virtual", "virtual", package_type=package_type,
                    members=[f"{stem}-local", f"{stem}-remote"], deploy_to=f"{stem}-local")
    grant(stem, repositories=[f"{stem}-local", f"{stem}-remote"], include=[include], exclude=[exclude],
          users=world.user_grants, groups=world.group_grants)
    return classes
