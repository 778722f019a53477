"""The dependency-confusion guard holds for every caller: a project a local member of a
virtual repository holds hides the remote members' files of that name, also from a caller who
may read the remote member but not (all of) the local one."""

import hashlib
import json

import pytest
from django.test import Client

from apps.pypi.negotiation import JSON_V1
from apps.security.models import SecuritySettings
from tests.factories import grant, make_repository, make_user
from tests.factories.pypi import make_wheel
from tests.packages.rawhttp import basic
from tests.pypi.upstream import StaticIndex

pytestmark = pytest.mark.django_db(transaction=True)

ADMIN = basic("admin", "password")
OURS = "corp_secret-1.0-py3-none-any.whl"
THEIRS = "corp_secret-99.0-py3-none-any.whl"


@pytest.fixture
def guarded(bootstrapped, tmp_path):
    """corp-secret 1.0 in a local member; an upstream offering corp-secret 99.0 behind the
    remote member. eve may read the remote member only; dave the remote member and, of the
    local one, only other/**."""
    SecuritySettings.objects.update_or_create(pk=1, defaults={"anonymous_access": False})
    upstream = StaticIndex()
    (tmp_path / "upstream").mkdir()
    upstream.add(make_wheel(tmp_path / "upstream", "corp-secret", "99.0"))
    upstream.add(make_wheel(tmp_path / "upstream", "ext-lib", "1.0"))
    upstream.start()
    make_repository("corp-local", "local", "pypi")
    make_repository("corp-remote", "remote", "pypi", url=upstream.url)
    make_repository("corp", "virtual", "pypi", members=["corp-local", "corp-remote"])
    wheel = make_wheel(tmp_path, "corp-secret", "1.0")
    with open(wheel, "rb") as handle:
        response = Client().post("/api/pypi/corp-local/", {
            ":action": "file_upload", "content": handle,
            "sha256_digest": hashlib.sha256(wheel.read_bytes()).hexdigest()}, HTTP_AUTHORIZATION=ADMIN)
    assert response.status_code == 200, response.content
    for name in ("eve", "dave"):
        make_user(name)
    grant("remote-readers", repositories=["corp-remote"], users={"eve": ["read"], "dave": ["read"]})
    grant("local-other", repositories=["corp-local"], include=["other/**"], users={"dave": ["read"]})
    yield upstream
    upstream.stop()


def files(client: Client, who: str, project: str) -> tuple[int, list[str]]:
    response = client.get(f"/api/pypi/corp/simple/{project}/", HTTP_ACCEPT=JSON_V1, HTTP_AUTHORIZATION=who)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    response.close()
    if response.status_code != 200:
        return response.status_code, []
    return 200, [f["filename"] for f in json.loads(body)["files"]]


@pytest.mark.parametrize("who", ["eve", "dave"])
def test_a_caller_who_cannot_read_the_local_project_gets_no_remote_files_of_it(guarded, who):
    client, auth = Client(), basic(who, "secret-pass")
    for _ in range(2):  # built, then answered from the stored page
        assert files(client, auth, "corp-secret") == (404, [])
    assert files(client, ADMIN, "corp-secret") == (200, [OURS])
    for path in (THEIRS, THEIRS + ".metadata"):
        response = client.get(f"/api/pypi/corp/packages/corp-secret/{path}", HTTP_AUTHORIZATION=auth)
        assert response.status_code == 404, path
    assert client.get("/api/pypi/corp/pypi/corp-secret/json", HTTP_AUTHORIZATION=auth).status_code == 404
    assert guarded.hits["/files/" + THEIRS] == 0
    # Projects no local member holds come through as before.
    assert files(client, auth, "ext-lib") == (200, ["ext_lib-1.0-py3-none-any.whl"])


def test_the_guard_follows_the_local_project_for_callers_who_cannot_read_it(guarded):
    client, eve = Client(), basic("eve", "secret-pass")
    assert files(client, eve, "corp-secret") == (404, [])
    # Once the local project is gone, the remote's files show again; the stored page follows.
    assert client.delete(f"/api/pypi/corp-local/packages/corp-secret/{OURS}",
                         HTTP_AUTHORIZATION=ADMIN).status_code == 204
    assert files(client, eve, "corp-secret") == (200, [THEIRS])
    assert files(client, ADMIN, "corp-secret") == (200, [THEIRS])
    # and so do its files, to the caller the guard refused them before.
    response = client.get(f"/api/pypi/corp/packages/corp-secret/{THEIRS}", HTTP_AUTHORIZATION=eve)
    assert response.status_code == 200 and b"".join(response.streaming_content) == guarded.blobs[THEIRS]
    response.close()
    assert guarded.hits["/files/" + THEIRS] == 1
