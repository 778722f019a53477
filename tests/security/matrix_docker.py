"""The permission matrix's Docker rows, each through the token dance a Docker client does:
Basic credentials (or none) -> GET /v2/token for the scope the request needs -> Bearer.

Image names are the zones' folders: 'team/app' (included), 'team/secret/app' (included but
excluded), 'other/app' (not included). A token grants only what authorize() allows, so every
refusal is the registry's 401 (UNAUTHORIZED), whoever asks, and whether or not the image exists.
The offline remote's cache holds its own images (put there as a pull through it would).
"""

import io
import json

import requests

from apps.docker import services
from apps.docker.references import parse_digest
from apps.repositories.models import Repository
from tests.factories.docker import OCI_MANIFEST, make_image, push_blob, push_image, sha256
from tests.security.matrix import Cell, Protocol, Role, World, add_repositories

IMAGES = {"granted": "team/app", "excluded": "team/secret/app", "outside": "other/app"}
UNSUPPORTED = 405  # pushes and deletes in a remote cache


def bearer(world: World, role: Role, *scopes: str) -> requests.Session:
    """A session holding the registry token ``role`` gets for ``scopes``."""
    answer = requests.get(f"{world.server.url}/v2/token", params={"service": "repomgr", "scope": list(scopes)},
                          auth=world.credentials[role.name])
    assert answer.status_code == 200, answer.text
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {answer.json()['token']}"
    return session


class Docker(Protocol):
    """/v2/... (and Artifactory's /api/docker/<repo>/v2/... with Basic credentials): catalogs,
    tags lists, manifests, blobs and referrers, pushes, tag overwrites and deletes."""

    name = "docker"
    actions = ("catalog", "repo-catalog", "tags", "rest-tags", "manifest", "blob", "referrers",
               "push", "overwrite", "delete-tag", "delete-manifest", "delete-blob")
    path_actions = actions[2:]

    def prepare(self, world: World) -> None:
        if "docker" in world.prepared:
            return
        world.docker = add_repositories(world, "docker", "mdocker", include="team/**", exclude="team/secret/**")
        world.images = {}
        for repo_class in ("local", "ungranted"):
            for image_name in IMAGES.values():
                world.images[(repo_class, image_name)] = self.seed(world, repo_class, image_name)
        for image_name in IMAGES.values():  # what the offline remote holds in its cache
            world.images[("remote", image_name)] = _cache(world.docker["remote"][1], image_name)
        world.prepared.add("docker")

    def seed(self, world: World, repo_class: str, image_name: str, tag: str = "1.0"):
        image = make_image(layer_sizes=(64,), seed=image_name)
        pushed = push_image(world.admin(), world.server.url, f"{world.docker[repo_class][1]}/{image_name}", image, tag)
        assert pushed.status_code == 201, pushed.text
        return image

    def perform(self, world: World, role: Role, cell: Cell):
        key = world.docker[cell.repo_class][0]
        url = world.server.url
        if cell.action == "catalog":
            answer = bearer(world, role, "registry:catalog:*").get(f"{url}/v2/_catalog")
            if answer.status_code != 200:
                return answer.status_code, None
            return 200, {name for name in answer.json()["repositories"] if name.startswith(key + "/")}
        if cell.action == "repo-catalog":  # Artifactory's REST form, with Basic credentials
            answer = world.session(role).get(f"{url}/api/docker/{key}/v2/_catalog")
            return answer.status_code, set(answer.json()["repositories"]) if answer.status_code == 200 else None
        image_name = IMAGES[cell.zone]
        full = f"{key}/{image_name}"
        if cell.action == "rest-tags":  # Artifactory's REST form, with Basic credentials
            answer = world.session(role).get(f"{url}/api/docker/{key}/v2/{image_name}/tags/list")
            return answer.status_code, answer.json().get("tags") if answer.status_code == 200 else None
        if cell.action in ("tags", "manifest", "blob", "referrers"):
            http = bearer(world, role, f"repository:{full}:pull")
            if cell.action == "tags":
                answer = http.get(f"{url}/v2/{full}/tags/list")
                return answer.status_code, answer.json().get("tags") if answer.status_code == 200 else None
            seeded = world.images[("local" if cell.repo_class == "virtual" else cell.repo_class, image_name)]
            if cell.action == "manifest":
                # The remote's cache holds manifests by digest (its tags are the upstream's word).
                reference = seeded.digest if cell.repo_class == "remote" else "1.0"
                answer = http.get(f"{url}/v2/{full}/manifests/{reference}", headers={"Accept": OCI_MANIFEST})
                return answer.status_code, answer.content == seeded.manifest if answer.status_code == 200 else None
            if cell.action == "referrers":
                answer = http.get(f"{url}/v2/{full}/referrers/{seeded.digest}")
                return answer.status_code, answer.json()["manifests"] if answer.status_code == 200 else None
            answer = http.get(f"{url}/v2/{full}/blobs/{sha256(seeded.layers[0])}")
            return answer.status_code, answer.content == seeded.layers[0] if answer.status_code == 200 else None
        if cell.action == "push":
            full = f"{full}-{world.number()}"
            http = bearer(world, role, f"repository:{full}:pull,push")
            return _push(http, url, full, make_image(layer_sizes=(64,), seed=full))
        # The rest act on an image seeded for the cell alone.
        own = f"{image_name}-{world.number()}"
        full = f"{key}/{own}"
        seeded = None
        if cell.repo_class != "remote":
            physical_class = "local" if cell.repo_class == "virtual" else cell.repo_class
            seeded = self.seed(world, physical_class, own)
        if cell.action == "overwrite":
            http = bearer(world, role, f"repository:{full}:pull,push")
            return _push(http, url, full, make_image(layer_sizes=(64,), seed=f"{own} again"))
        http = bearer(world, role, f"repository:{full}:delete")
        if cell.action == "delete-tag":
            return http.delete(f"{url}/v2/{full}/manifests/1.0").status_code
        digest = seeded.digest if seeded else sha256(b"nothing")
        if cell.action == "delete-manifest":
            return http.delete(f"{url}/v2/{full}/manifests/{digest}").status_code
        layer = sha256(seeded.layers[0]) if seeded else sha256(b"nothing")
        return http.delete(f"{url}/v2/{full}/blobs/{layer}").status_code

    def expected(self, role: Role, cell: Cell):
        may = lambda action: role.may(action, cell.repo_class, cell.zone)  # noqa: E731
        key = f"mdocker-{'hidden' if cell.repo_class == 'ungranted' else cell.repo_class}"
        readable = {name for zone, name in IMAGES.items() if role.may("read", cell.repo_class, zone)}
        if cell.action == "catalog":
            if role.read_only:
                return 401, None  # a scoped access token gets no catalog
            # The catalog names images where they are stored: never under a virtual repository.
            return 200, {f"{key}/{name}" for name in readable} if cell.repo_class != "virtual" else set()
        if cell.action == "repo-catalog":
            if role.anonymous and not readable:
                return 401, None
            return 200, readable
        if cell.action == "rest-tags":  # without a registry token: 401 asks to log in, 403 says no
            return (200, ["1.0"]) if may("read") else (self.denied(role), None)
        if cell.action in ("tags", "manifest", "blob", "referrers"):
            if not may("read"):
                return 401, None
            return 200, {"tags": ["1.0"], "referrers": []}.get(cell.action, True)
        if cell.action in ("push", "overwrite"):
            if not may("deploy"):
                return 401
            if cell.repo_class == "remote":
                return UNSUPPORTED
            # Moving an existing tag is an overwrite: it needs delete, as in Artifactory.
            return 403 if cell.action == "overwrite" and not may("delete") else 201
        if not may("delete"):
            return 401
        return UNSUPPORTED if cell.repo_class == "remote" else 202


def _cache(repo_key: str, image_name: str):
    """Put ``image_name``:1.0 in a remote repository's cache, as a pull through it would."""
    image = make_image(layer_sizes=(64,), seed=f"{image_name} upstream")
    repository = Repository.objects.get(key=repo_key)
    for blob in image.blobs:
        services.blob_push(repository=repository, name=image_name, digest=parse_digest(sha256(blob)),
                           stream=io.BytesIO(blob), length=len(blob))
    services.manifest_push(repository=repository, name=image_name, reference="1.0", body=image.manifest,
                           content_type=OCI_MANIFEST, may_move_tags=True)
    return image


def _push(http: requests.Session, url: str, full: str, image) -> int:
    """Blobs then manifest, as a client pushes; the status of the first step that fails."""
    for blob in image.blobs:
        answer = push_blob(http, url, full, blob)
        if answer.status_code != 201:
            return answer.status_code
    media_type = json.loads(image.manifest)["mediaType"]
    return http.put(f"{url}/v2/{full}/manifests/1.0", data=image.manifest,
                    headers={"Content-Type": media_type}).status_code
