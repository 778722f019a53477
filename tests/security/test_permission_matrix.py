"""The permission matrix: every role x action x repository class x path zone over the generic
protocols, PyPI (tests/security/matrix_pypi.py) and Docker (tests/security/matrix_docker.py),
each a real HTTP request to a live server with LDAP and SAML logins on, asserting the exact
status (and, for listings, exactly what is listed). A protocol joins by adding a Protocol
adapter to PROTOCOLS (see tests/security/matrix.py)."""

import re

import pytest
import requests

from tests.identity.idp import SimpleSamlIdp
from tests.identity.slapd import Slapd, group, person
from tests.identity.sso import sso_env, sso_token
from tests.identity.servers import extra_server
from tests.factories.docker import sha256
from tests.security.matrix_docker import Docker, bearer
from tests.security.matrix_pypi import PROJECTS, Pypi, PypiUnderArtifactory, start_upstream
from tests.security.matrix import CLASSES, ROLES, SEED, ZONES, Cell, Protocol, Role, World, build_world, run_rows

pytestmark = pytest.mark.django_db(transaction=True)


def _physical(repo_class: str) -> str:
    return CLASSES[repo_class][1]


def _key(repo_class: str) -> str:
    return CLASSES[repo_class][0]


class GenericRaw(Protocol):
    """GET / PUT / DELETE /<repo>/<path>."""

    name = "generic"
    actions = ("list", "read", "deploy", "overwrite", "delete")  # list before writes add files
    path_actions = ("read", "deploy", "overwrite", "delete")
    prefix = ""

    def perform(self, world: World, role: Role, cell: Cell):
        http, base = world.session(role), f"{world.server.url}{self.prefix}/{_key(cell.repo_class)}"
        zone = ZONES.get(cell.zone)
        if cell.action == "read":
            return http.get(f"{base}/{zone}/seed.txt").status_code
        if cell.action == "deploy":
            return http.put(f"{base}/{zone}/{world.unique('new')}", data=b"new").status_code
        if cell.action in ("overwrite", "delete"):
            path = f"{zone}/{world.unique(cell.action)}"
            world.seed(_physical(cell.repo_class), path)
            if cell.action == "overwrite":
                return http.put(f"{base}/{path}", data=b"different").status_code
            return http.delete(f"{base}/{path}").status_code
        root = http.get(f"{base}/")
        if root.status_code != 200:
            return root.status_code, None
        team = http.get(f"{base}/team/")
        inside = {f"team/{name}" for name in _children(team.text)} if team.status_code == 200 else set()
        return 200, _children(root.text) | inside

    def expected(self, role: Role, cell: Cell):
        may = lambda action: role.may(action, cell.repo_class, cell.zone)  # noqa: E731
        if cell.action == "read":
            return 200 if may("read") else self.not_found(role, cell.repo_class)
        if cell.action in ("deploy", "overwrite") and cell.repo_class == "remote":
            return 400  # nobody deploys into a remote cache
        if cell.action == "deploy":
            return 201 if may("deploy") else self.denied(role)
        if cell.action == "overwrite":
            if not may("deploy"):
                return self.denied(role)
            return 201 if may("delete") else 409  # replacing content needs delete too
        if cell.action == "delete":
            return 204 if may("delete") else self.denied(role)
        # Folders show only what leads to something readable: never the excluded one.
        visible = set()
        for name, zone in ZONES.items():
            if role.may("read", cell.repo_class, name):
                visible.update({zone.split("/")[0], f"team/{zone.split('/')[1]}" if "/" in zone else "",
                                f"{zone}/seed.txt" if zone == "team" else ""})
        visible.discard("")
        return (200, visible) if visible else (self.denied(role), None)


def _children(index_html: str) -> set[str]:
    return {name.rstrip("/") for name in re.findall(r'<a href="([^"]+)"', index_html)}


class StorageApi(Protocol):
    """/api/storage: file info, properties (annotate), deep file lists."""

    name = "storage"
    actions = ("read", "annotate", "list")
    path_actions = ("read", "annotate")

    def perform(self, world: World, role: Role, cell: Cell):
        http, base = world.session(role), f"{world.server.url}/api/storage/{_key(cell.repo_class)}"
        if cell.action == "read":
            return http.get(f"{base}/{ZONES[cell.zone]}/seed.txt").status_code
        if cell.action == "annotate":
            return http.put(f"{base}/{ZONES[cell.zone]}/seed.txt", params={"properties": "qa=ok"}).status_code
        answer = http.get(f"{base}/?list&deep=1")
        if answer.status_code != 200:
            return answer.status_code, None
        return 200, {f["uri"] for f in answer.json()["files"]}

    def expected(self, role: Role, cell: Cell):
        if cell.action == "read":
            return 200 if role.may("read", cell.repo_class, cell.zone) else self.not_found(role, cell.repo_class)
        if cell.action == "annotate":
            if cell.repo_class == "virtual":
                return 400  # properties live on local and remote repositories
            return 204 if role.may("annotate", cell.repo_class, cell.zone) else self.denied(role)
        listed = {f"/{zone}/seed.txt" for name, zone in ZONES.items() if role.may("read", cell.repo_class, name)}
        return (200, listed) if listed else (self.denied(role), None)


class RepositoriesApi(Protocol):
    """/api/repositories: which repositories are listed, read, and configured."""

    name = "repositories"
    actions = ("list", "read", "manage")

    def perform(self, world: World, role: Role, cell: Cell):
        http, key = world.session(role), _key(cell.repo_class)
        if cell.action == "list":
            keys = {r["key"] for r in http.get(f"{world.server.url}/api/repositories").json()}
            return key in keys
        if cell.action == "read":
            return http.get(f"{world.server.url}/api/repositories/{key}").status_code
        return http.post(f"{world.server.url}/api/repositories/{key}", json={"description": "changed"}).status_code

    def expected(self, role: Role, cell: Cell):
        readable = role.reads_somewhere(cell.repo_class)
        if cell.action == "list":
            return readable
        if cell.action == "read":
            return 200 if readable else self.denied(role)
        return 200 if role.may("manage", cell.repo_class, None) else self.denied(role)


class GenericUnderArtifactory(GenericRaw):
    """The same routes under /artifactory/, for clients that hard-code Artifactory's path."""

    name = "generic /artifactory"
    prefix = "/artifactory"


PROTOCOLS = [GenericRaw(), GenericUnderArtifactory(), StorageApi(), RepositoriesApi(), Pypi(),
             PypiUnderArtifactory(), Docker()]


@pytest.fixture(scope="module")
def directory():
    slapd = Slapd([person("lena", "lena-pass", "lena@example.org"), group("ldap-deployers", ["lena"])]).start()
    yield slapd
    slapd.stop()


@pytest.fixture(scope="module")
def idp():
    provider = SimpleSamlIdp({"sven": {"password": "sven-pass", "uid": ["sven"], "groups": ["saml-deployers"]}}).start()
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
def matrix_server(live_server_process, directory, idp):
    """A live server with both directory and single sign-on logins on."""
    server = extra_server(directory.server_env(), log_name="matrix")
    server.env.update(sso_env(server, idp))
    server.start()
    idp.trust_sp_of(server)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def pypi_upstream():
    index = start_upstream()
    yield index
    index.stop()


@pytest.fixture
def world(matrix_server, bootstrapped, pypi_upstream) -> World:
    world = build_world(matrix_server, ldap_user=("lena", "lena-pass"),
                        saml_token=lambda server: ("sven", sso_token(server, "sven", "sven-pass")))
    world.pypi_upstream = pypi_upstream
    return world


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: p.name.replace(" /", "-"))
@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.name.replace(" ", "-"))
def test_matrix(world, role, protocol):
    wrong = run_rows(protocol, world, role)
    assert not wrong, "\n" + "\n".join(wrong)


def test_denials_never_name_what_exists(world):
    """A refused or missing read says the same whether or not the path exists."""
    reader = world.session(next(r for r in ROLES if r.name == "reader"))
    base = f"{world.server.url}/matrix-local"
    existing = reader.get(f"{base}/team/secret/seed.txt")
    missing = reader.get(f"{base}/team/secret/no-such.txt")
    assert (existing.status_code, missing.status_code) == (404, 404)
    assert existing.json()["errors"][0]["message"].replace("seed", "X") == \
        missing.json()["errors"][0]["message"].replace("no-such", "X")
    assert SEED not in existing.content
    hidden = requests.get(f"{world.server.url}/api/storage/matrix-hidden/team/seed.txt",
                          auth=world.credentials["reader"])
    assert hidden.status_code == 403 and "seed.txt" not in hidden.text


def test_protocol_refusals_never_name_what_exists(world):
    """PyPI and Docker answer a refused read of something that exists exactly as one of
    something that does not, and never show the content."""
    reader = next(r for r in ROLES if r.name == "reader")
    Pypi().prepare(world)
    Docker().prepare(world)
    http, url = world.session(reader), world.server.url
    for route in ("simple/{}/", "pypi/{}/json", "packages/{}/{}-1.0-py3-none-any.whl",
                  "packages/{}/{}-1.0-py3-none-any.whl.metadata"):
        existing = http.get(f"{url}/api/pypi/mpypi-virtual/" + route.format("team-secret-app", "team_secret_app"))
        missing = http.get(f"{url}/api/pypi/mpypi-virtual/" + route.format("team-secret-nope", "team_secret_nope"))
        assert existing.status_code == 404 and b"Metadata-Version" not in existing.content
        assert _neutral(existing, "team-secret-app", "team_secret_app") == _neutral(missing, "team-secret-nope",
                                                                                     "team_secret_nope")
    for path in ("tags/list", "manifests/1.0"):
        answers = []
        for name in ("team/secret/app", "team/secret/nope"):
            token = bearer(world, reader, f"repository:mdocker-local/{name}:pull")
            answers.append(token.get(f"{url}/v2/mdocker-local/{name}/{path}"))
            answers[-1] = (answers[-1].status_code, answers[-1].text.replace(name, "NAME"))
        assert answers[0] == answers[1] and answers[0][0] == 401
    hidden = http.get(f"{url}/api/pypi/mpypi-hidden/simple/")
    assert hidden.status_code == 403 and "app" not in hidden.text


def _neutral(response: requests.Response, *names: str) -> str:
    text = f"{response.status_code} {response.reason} {response.text}"
    for name in names:
        text = text.replace(name, "NAME")
    return text


def test_docker_mount_never_takes_a_blob_the_caller_may_not_read(world):
    """A cross-repository mount from an image the deployer may not read (another repository,
    or an excluded name) starts an ordinary upload instead: the blob is neither linked nor
    confirmed to exist; from a readable image it is mounted."""
    deployer = next(r for r in ROLES if r.name == "deployer")
    Docker().prepare(world)
    url, target = world.server.url, "mdocker-local/team/mounted"
    for source in ("mdocker-hidden/team/app", "mdocker-local/team/secret/app", "mdocker-local/team/app"):
        http = bearer(world, deployer, f"repository:{target}:pull,push", f"repository:{source}:pull")
        image = world.images[("ungranted" if "hidden" in source else "local", source.split("/", 1)[1])]
        layer = sha256(image.layers[0])
        answer = http.post(f"{url}/v2/{target}/blobs/uploads/", params={"mount": layer, "from": source})
        readable = source == "mdocker-local/team/app"
        assert answer.status_code == (201 if readable else 202), source
        assert http.head(f"{url}/v2/{target}/blobs/{layer}").status_code == (200 if readable else 404), source


def test_stored_pages_are_never_shared_across_permissions(world):
    """Simple pages are stored per permission variant: after the administrator's requests have
    filled the stores, a reader and an anonymous caller still see only what they may read, in
    HTML and JSON, and the administrator still sees everything."""
    Pypi().prepare(world)
    roles = {r.name: r for r in ROLES}
    order = [roles["admin"], roles["reader"], roles["anonymous"], roles["admin"]]
    for repo_class in ("local", "remote", "virtual"):
        base = f"{world.server.url}/api/pypi/{world.pypi[repo_class][0]}/simple/"
        for role in order:
            http = world.session(role)
            for accept in ("text/html", "application/vnd.pypi.simple.v1+json"):
                index = http.get(base, headers={"Accept": accept})
                assert index.status_code == 200
                for zone, project in PROJECTS.items():
                    shown = role.may("read", repo_class, zone)
                    assert (project in index.text) == shown, (role.name, repo_class, accept, project)
                    page = http.get(f"{base}{project}/", headers={"Accept": accept})
                    assert page.status_code == (200 if shown else 404), (role.name, repo_class, accept, project)
