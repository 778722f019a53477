"""The permission matrix's PyPI rows: the simple index and project pages, files and their
PEP 658 metadata, the JSON API, legacy uploads (new and existing files), yank and delete.

PyPI paths are '<project>/<filename>', so the zones are projects: 'team-app' (included),
'team-secret-app' (included but excluded) and 'other-app' (not included). The remote proxies
an index the test runs (``UPSTREAM``) holding version 0.9 of each; local ones hold 1.0.
"""

import tempfile
from pathlib import Path

from tests.factories.pypi import make_wheel
from tests.pypi.clients import post_upload
from tests.pypi.upstream import StaticIndex
from tests.security.matrix import Cell, Protocol, Role, World, add_repositories

PROJECTS = {"granted": "team-app", "excluded": "team-secret-app", "outside": "other-app"}
WHEELS = Path(tempfile.mkdtemp(prefix="matrix-wheels-"))


def wheel(project: str, version: str) -> Path:
    path = WHEELS / f"{project.replace('-', '_')}-{version}-py3-none-any.whl"
    return path if path.exists() else make_wheel(WHEELS, project, version)


def start_upstream() -> StaticIndex:
    """The remote's upstream index (the caller stops it)."""
    index = StaticIndex()
    for project in PROJECTS.values():
        index.add(wheel(project, "0.9"))
    return index.start()


def _version(repo_class: str) -> str:
    """The version seeded in (or, for the remote, proxied into) a repository class."""
    return "0.9" if repo_class == "remote" else "1.0"


class Pypi(Protocol):
    """/api/pypi/<repo>/...: reads first (listings see only the seeded files), then writes."""

    name = "pypi"
    prefix = ""
    actions = ("list", "read", "download", "metadata", "json", "annotate", "deploy", "overwrite",
               "raw-overwrite", "yank", "delete")
    path_actions = actions[1:]

    def prepare(self, world: World) -> None:
        if "pypi" in world.prepared:
            return
        world.pypi = add_repositories(world, "pypi", "mpypi", include="team-*/**", exclude="team-secret-*/**",
                                      upstream=world.pypi_upstream.url)
        for repo_class in ("local", "ungranted"):
            for project in PROJECTS.values():
                self.seed(world, repo_class, project, "1.0")
        world.prepared.add("pypi")

    def seed(self, world: World, repo_class: str, project: str, version: str) -> str:
        """Upload ``project`` ``version`` as the administrator; returns the file name."""
        path = wheel(project, version)
        answer = post_upload(f"{world.server.url}/api/pypi/{world.pypi[repo_class][1]}/", path,
                             auth=world.credentials["admin"])
        assert answer.status_code == 200, answer.text
        return path.name

    def perform(self, world: World, role: Role, cell: Cell):
        http = world.session(role)
        base = f"{world.server.url}{self.prefix}/api/pypi/{world.pypi[cell.repo_class][0]}"
        project = PROJECTS.get(cell.zone)
        seeded = wheel(project, _version(cell.repo_class)) if project else None
        if cell.action == "list":
            answer = http.get(f"{base}/simple/", headers={"Accept": "application/vnd.pypi.simple.v1+json"})
            if answer.status_code != 200:
                return answer.status_code, None
            return 200, {p["name"] for p in answer.json()["projects"]}
        if cell.action == "read":
            answer = http.get(f"{base}/simple/{project}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"})
            return answer.status_code, ({f["filename"] for f in answer.json()["files"]}
                                        if answer.status_code == 200 else None)
        if cell.action == "download":
            answer = http.get(f"{base}/packages/{project}/{seeded.name}")
            return answer.status_code, answer.content == seeded.read_bytes() if answer.status_code == 200 else None
        if cell.action == "metadata":
            answer = http.get(f"{base}/packages/{project}/{seeded.name}.metadata")
            return answer.status_code, answer.content.startswith(b"Metadata-Version") if answer.ok else None
        if cell.action == "json":
            answer = http.get(f"{base}/pypi/{project}/json")
            if answer.status_code != 200:
                return answer.status_code, None
            document = answer.json()
            return 200, (document["info"]["name"], set(document["releases"]),
                         {f["filename"] for f in document["urls"]})
        if cell.action == "annotate":  # properties on a distribution file, by the storage API
            key = world.pypi[cell.repo_class][0]
            if cell.repo_class == "remote":  # cached first, by a download through the remote
                assert world.admin().get(f"{base}/packages/{project}/{seeded.name}").status_code == 200
            return http.put(f"{world.server.url}{self.prefix}/api/storage/{key}/{project}/{seeded.name}",
                            params={"properties": "qa=ok"}).status_code
        if cell.action == "deploy":
            path = wheel(project, f"2.{world.number()}")
            return post_upload(f"{base}/", path, auth=http.auth).status_code
        version = f"3.{world.number()}"
        physical_class = "local" if cell.repo_class == "virtual" else cell.repo_class
        filename = (self.seed(world, physical_class, project, version) if cell.repo_class != "remote"
                    else wheel(project, version).name)
        if cell.action == "overwrite":
            return post_upload(f"{base}/", wheel(project, version), auth=http.auth).status_code
        if cell.action == "raw-overwrite":  # the same file name through the raw API
            key = world.pypi[cell.repo_class][0]
            return http.put(f"{world.server.url}{self.prefix}/{key}/{project}/{filename}", data=b"other").status_code
        if cell.action == "yank":
            yank = {"yanked": True, "yanked_reason": "matrix"}
            return http.patch(f"{base}/pypi/{project}/{version}", json=yank).status_code
        return http.delete(f"{base}/packages/{project}/{filename}").status_code

    def expected(self, role: Role, cell: Cell):
        may = lambda action: role.may(action, cell.repo_class, cell.zone)  # noqa: E731
        if cell.action == "list":
            if not role.reads_somewhere(cell.repo_class):
                return self.denied(role), None
            return 200, {project for zone, project in PROJECTS.items() if role.may("read", cell.repo_class, zone)}
        if cell.action in ("read", "download", "metadata", "json"):
            if not may("read"):
                return self.not_found(role, cell.repo_class), None
            # A virtual repository shows a project its local member holds from there alone.
            version = _version(cell.repo_class)
            seeded = wheel(PROJECTS[cell.zone], version).name
            return 200, {"read": {seeded}, "download": True, "metadata": True,
                         "json": (PROJECTS[cell.zone], {version}, {seeded})}[cell.action]
        if cell.action == "annotate":
            if cell.repo_class == "virtual":
                return 400  # properties live on local and remote repositories
            return 204 if may("annotate") else self.denied(role)
        if cell.repo_class == "remote":
            return 400  # nothing is uploaded to, yanked in or deleted from a remote cache
        if cell.action == "deploy":
            return 200 if may("deploy") else self.denied(role)
        if cell.action in ("overwrite", "raw-overwrite"):
            return 409 if may("deploy") else self.denied(role)  # a file name is never reused
        if cell.action == "yank":
            return 200 if may("deploy") else self.denied(role)  # yanking is the uploader's call
        return 204 if may("delete") else self.denied(role)


class PypiUnderArtifactory(Pypi):
    name = "pypi /artifactory"
    prefix = "/artifactory"
