"""Yank/unyank and delete over the REST API: deploy permission yanks, delete permission
deletes, through a local repository or the virtual one that deploys to it."""

import pytest
import requests

from apps.pypi.models import PypiFile
from tests.factories import grant, make_user
from tests.factories.pypi import make_sdist, make_wheel
from tests.pypi.clients import post_upload

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def release(server, tmp_path):
    assert post_upload(f"{server.url}/api/pypi/pypi-local/", make_wheel(tmp_path, "rel", "1.0")).ok
    make_user("reader", "reader-pass-1")
    make_user("deployer", "deployer-pass-1")
    make_user("deleter", "deleter-pass-1")
    grant("pypi-roles", repositories=["pypi-local"], users={
        "reader": ["read"], "deployer": ["read", "deploy"], "deleter": ["read", "delete"]})
    return f"{server.url}/api/pypi"


def test_yank_needs_deploy_and_delete_needs_delete(release):
    local, virtual = f"{release}/pypi-local/pypi/rel/1.0", f"{release}/pypi/pypi/rel/1.0"
    yank = {"yanked": True, "yanked_reason": "bad"}
    assert requests.patch(local, json=yank, auth=("reader", "reader-pass-1")).status_code == 403
    assert requests.patch(local, json=yank, auth=("deleter", "deleter-pass-1")).status_code == 403
    response = requests.patch(virtual, json=yank, auth=("deployer", "deployer-pass-1"))
    assert response.status_code == 200 and response.json()["files"] == 1
    assert PypiFile.objects.get(filename="rel-1.0-py3-none-any.whl").yanked_reason == "bad"
    bad = requests.patch(local, json={"yanked": "yes"}, auth=("deployer", "deployer-pass-1"))
    assert bad.status_code == 400 and bad.json()["errors"][0]["status"] == 400

    assert requests.delete(local, auth=("deployer", "deployer-pass-1")).status_code == 403
    assert requests.delete(virtual, auth=("deleter", "deleter-pass-1")).status_code == 204
    assert not PypiFile.objects.exists()
    assert requests.get(f"{release}/pypi-local/simple/rel/").status_code == 404
    assert requests.patch(f"{release}/pypi-remote/pypi/rel/1.0", json=yank,
                          auth=("admin", "password")).status_code == 400


def test_yank_and_delete_of_a_release_honour_folder_patterns(server, tmp_path):
    """Permission patterns name a project's folder ('rel*/**', as uploads are authorized on
    '<project>/<file>'); a release's yank and delete are authorized on that folder."""
    assert post_upload(f"{server.url}/api/pypi/pypi-local/", make_wheel(tmp_path, "rel", "1.0")).ok
    make_user("patterned", "patterned-pass-1")
    grant("pypi-rel", repositories=["pypi-local"], include=["rel*/**"], exclude=["rel/secret/**"],
          users={"patterned": ["read", "deploy", "delete"]})
    release, auth = f"{server.url}/api/pypi/pypi-local/pypi/rel/1.0", ("patterned", "patterned-pass-1")
    assert requests.patch(release, json={"yanked": True}, auth=auth).status_code == 200
    assert requests.delete(release, auth=auth).status_code == 204
    assert not PypiFile.objects.exists()


def test_a_release_is_yanked_or_deleted_only_when_each_of_its_files_may_be(server, tmp_path):
    """A target that excludes the project's wheels: the release (a wheel and an sdist) can be
    neither yanked nor deleted as a whole (403, nothing changed), as its wheel alone cannot."""
    for dist in (make_wheel(tmp_path, "rel", "1.0"), make_sdist(tmp_path, "rel", "1.0")):
        assert post_upload(f"{server.url}/api/pypi/pypi-local/", dist).ok
    make_user("sdists", "sdists-pass-1")
    grant("pypi-sdists", repositories=["pypi-local"], exclude=["**/*.whl"],
          users={"sdists": ["read", "deploy", "delete"]})
    local, auth = f"{server.url}/api/pypi/pypi-local", ("sdists", "sdists-pass-1")
    assert requests.patch(f"{local}/pypi/rel/1.0", json={"yanked": True}, auth=auth).status_code == 403
    assert requests.delete(f"{local}/pypi/rel/1.0", auth=auth).status_code == 403
    assert requests.delete(f"{local}/packages/rel/rel-1.0-py3-none-any.whl", auth=auth).status_code == 403
    assert sorted(PypiFile.objects.filter(yanked=False).values_list("filename", flat=True)) == \
        ["rel-1.0-py3-none-any.whl", "rel-1.0.tar.gz"]
    assert requests.delete(f"{local}/packages/rel/rel-1.0.tar.gz", auth=auth).status_code == 204


def test_control_characters_in_urls_and_yank_reasons_are_refused(release):
    """No URL part or yank reason with a NUL reaches the database (which refuses NUL): a 404
    or a 400 in each API's own format, nothing changed."""
    admin, local = ("admin", "password"), f"{release}/pypi-local"
    for url in (f"{local}/pypi/%00/json", f"{local}/pypi/rel/1%000/json",
                f"{local}/packages/rel/rel-1.0%00.whl", f"{local}/packages/rel/rel-1.0%00.whl.metadata",
                f"{release}/pypi/packages/rel/a%00b.whl", f"{local}/packages/rel/a%01b.whl"):
        response = requests.get(url)
        assert response.status_code == 404 and response.headers["Content-Type"].startswith("text/plain"), url
    assert requests.delete(f"{local}/packages/rel/a%00b.whl", auth=admin).status_code == 404
    for version in ("1%000", "1.0%0a"):
        assert requests.patch(f"{local}/pypi/rel/{version}", json={"yanked": True}, auth=admin).status_code == 404
        assert requests.delete(f"{local}/pypi/rel/{version}", auth=admin).status_code == 404
    bad = requests.patch(f"{local}/pypi/rel/1.0", json={"yanked": True, "yanked_reason": "a\u0000b"}, auth=admin)
    assert bad.status_code == 400 and bad.json()["errors"][0]["status"] == 400
    assert not PypiFile.objects.filter(yanked=True).exists()


def test_a_release_is_every_spelling_of_its_version(release, tmp_path):
    """1.0 and 1.0.0 are one version to pip and uv (PEP 440): yanking or deleting the release
    under either spelling reaches the files of both."""
    assert post_upload(f"{release}/pypi-local/", make_sdist(tmp_path, "rel", "1.0.0")).ok
    admin, local = ("admin", "password"), f"{release}/pypi-local/pypi/rel"
    yanked = requests.patch(f"{local}/1.0", json={"yanked": True}, auth=admin)
    assert yanked.status_code == 200 and yanked.json()["files"] == 2
    assert PypiFile.objects.filter(yanked=True).count() == 2
    assert requests.patch(f"{local}/2.0", json={"yanked": True}, auth=admin).status_code == 404
    assert requests.delete(f"{local}/1.00", auth=admin).status_code == 204
    assert not PypiFile.objects.exists()
