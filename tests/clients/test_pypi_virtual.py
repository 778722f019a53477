"""The virtual repository `pypi` (= pypi-local + pypi-remote): one merged index, local first,
per-member patterns, the dependency-confusion guard and its allow list, uploads to the
virtual landing in its default deployment repository; pip, uv and `uv lock` against it."""

import sys

import pytest
import requests

from apps.pypi.models import PypiFile
from apps.pypi.negotiation import JSON_V1
from apps.repositories.models import Repository
from tests.conftest import ADMIN
from tests.factories.pypi import make_wheel
from tests.pypi.clients import BIN, clean_env, installed_version, pip_install, run, twine_upload, uv_pip_install
from tests.pypi.upstream import StaticIndex

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def upstream(tmp_path):
    index = StaticIndex()
    index.add(make_wheel(tmp_path, "ext-lib", "1.0"))
    index.add(make_wheel(tmp_path, "ext-tool", "3.0", requires_dist=("ext-lib",)))
    # Someone published our internal project's name upstream, with a higher version.
    (tmp_path / "evil").mkdir()
    index.add(make_wheel(tmp_path / "evil", "corp-secret", "99.0"))
    index.start()
    yield index
    index.stop()


@pytest.fixture
def virtual(server, upstream, tmp_path):
    """pypi-remote pointed at the test's upstream; corp-secret 1.0 uploaded through `pypi`."""
    Repository.objects.filter(key="pypi-remote").update(url=upstream.url)
    wheel = make_wheel(tmp_path, "corp-secret", "1.0", requires_dist=("ext-lib",))
    twine_upload(f"{server.url}/api/pypi/pypi/", [wheel])
    return f"{server.url}/api/pypi/pypi"


def files_of(virtual, project):
    response = requests.get(f"{virtual}/simple/{project}/", headers={"Accept": JSON_V1})
    return response.status_code, [f["filename"] for f in response.json()["files"]] if response.ok else []


def test_upload_to_virtual_lands_in_local_and_local_project_hides_remote(server, upstream, virtual, tmp_path):
    assert PypiFile.objects.get(filename="corp_secret-1.0-py3-none-any.whl").artifact.repository.key == "pypi-local"
    assert files_of(virtual, "corp-secret") == (200, ["corp_secret-1.0-py3-none-any.whl"])
    assert files_of(virtual, "ext-lib") == (200, ["ext_lib-1.0-py3-none-any.whl"])
    hidden = requests.get(f"{virtual}/packages/corp-secret/corp_secret-99.0-py3-none-any.whl")
    assert hidden.status_code == 404
    assert upstream.hits["/files/corp_secret-99.0-py3-none-any.whl"] == 0

    pip_install(f"{virtual}/simple/", tmp_path / "pip", "corp-secret")
    assert installed_version(tmp_path / "pip", "corp_secret") == "1.0"
    assert installed_version(tmp_path / "pip", "ext_lib") == "1.0"
    uv_pip_install(f"{virtual}/simple/", tmp_path / "uv", "corp-secret")
    assert installed_version(tmp_path / "uv", "corp_secret") == "1.0"

    listing = requests.get(f"{virtual}/simple/", headers={"Accept": JSON_V1}).json()["projects"]
    assert {p["name"] for p in listing} == {"corp-secret", "ext-lib", "ext-tool"}
    merged = requests.get(f"{virtual}/pypi/corp-secret/json").json()
    assert merged["info"]["version"] == "1.0" and list(merged["releases"]) == ["1.0"]
    assert merged["info"]["requires_dist"] == ["ext-lib"]
    assert requests.get(f"{virtual}/pypi/ext-lib/json").json()["urls"][0]["url"] == \
        f"{virtual}/packages/ext-lib/ext_lib-1.0-py3-none-any.whl"


def test_allow_list_lets_remote_files_of_a_local_project_through(server, virtual):
    assert requests.put(f"{virtual}/allowlist", json={"projects": ["Corp_Secret"]}).status_code == 401
    # A refusal answers alike whether or not the repository exists.
    assert requests.get(virtual.rsplit("/", 1)[0] + "/no-such-repo/allowlist").status_code == 401
    response = requests.put(f"{virtual}/allowlist", json={"projects": ["Corp_Secret"]}, auth=ADMIN)
    assert response.status_code == 200 and response.json() == {"projects": ["corp-secret"]}
    assert files_of(virtual, "corp-secret")[1] == ["corp_secret-1.0-py3-none-any.whl",
                                                   "corp_secret-99.0-py3-none-any.whl"]
    assert requests.get(f"{virtual}/packages/corp-secret/corp_secret-99.0-py3-none-any.whl").status_code == 200
    assert requests.put(f"{virtual}/allowlist", json={"projects": []}, auth=ADMIN).status_code == 200
    assert files_of(virtual, "corp-secret")[1] == ["corp_secret-1.0-py3-none-any.whl"]
    # Once no local member holds a file of it, the project is nobody's to guard.
    assert requests.delete(f"{virtual}/pypi/corp-secret/1.0", auth=ADMIN).status_code == 204
    assert files_of(virtual, "corp-secret")[1] == ["corp_secret-99.0-py3-none-any.whl"]


def test_member_patterns_filter_the_merged_index(server, virtual):
    Repository.objects.filter(key="pypi-remote").update(excludes_pattern="ext-tool/**")
    assert files_of(virtual, "ext-tool") == (404, [])
    assert requests.get(f"{virtual}/packages/ext-tool/ext_tool-3.0-py3-none-any.whl").status_code == 404
    assert files_of(virtual, "ext-lib")[0] == 200


def test_uv_lock_against_the_virtual_index(server, virtual, tmp_path):
    project = tmp_path / "app"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "0.1"\nrequires-python = ">=3.11"\n'
        'dependencies = ["corp-secret", "ext-tool"]\n')
    run([BIN / "uv", "lock", "--no-config", "--no-cache", "--python", sys.executable,
         "--default-index", f"{virtual}/simple/"], cwd=project, env=clean_env())
    lock = (project / "uv.lock").read_text()
    assert 'name = "corp-secret"\nversion = "1.0"' in lock
    assert 'name = "ext-tool"\nversion = "3.0"' in lock
    assert f"{virtual}/packages/corp-secret/corp_secret-1.0-py3-none-any.whl" in lock
