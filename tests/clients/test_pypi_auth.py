"""Who may read a PyPI repository: anonymous reads when enabled, and pip and uv with
credentials in the index URL or in a netrc when they are not."""

import sys

import pytest
import requests

from apps.packages.models import Artifact
from apps.security.models import SecuritySettings
from tests.factories import grant, make_user
from apps.pypi.negotiation import JSON_V1
from tests.conftest import ADMIN
from tests.factories.pypi import make_sdist, make_wheel
from tests.pypi.clients import BIN, clean_env, installed_version, pip_install, post_upload, run, uv_pip_install

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def private(server, tmp_path):
    """A package in pypi-local, anonymous access off, 'dev' may read pypi-local."""
    assert post_upload(f"{server.url}/api/pypi/pypi-local/", make_wheel(tmp_path, "private-pkg", "1.0")).ok
    SecuritySettings.objects.update(anonymous_access=False)
    make_user("dev", "dev-secret-1")
    grant("dev-reads", repositories=["pypi-local"], users={"dev": ["read"]})
    return f"{server.url}/api/pypi/pypi-local/simple/"


def test_anonymous_read_when_enabled(server, tmp_path):
    assert post_upload(f"{server.url}/api/pypi/pypi-local/", make_wheel(tmp_path, "open-pkg", "1.0")).ok
    pip_install(f"{server.url}/api/pypi/pypi-local/simple/", tmp_path / "t", "open-pkg")
    assert installed_version(tmp_path / "t", "open_pkg") == "1.0"


def test_anonymous_refused_with_a_challenge(private):
    for url in (private, private + "private-pkg/",
                private.replace("/simple/", "/packages/private-pkg/private_pkg-1.0-py3-none-any.whl")):
        response = requests.get(url)
        assert response.status_code == 401 and "Basic" in response.headers["WWW-Authenticate"]
    assert requests.get(private + "private-pkg/", auth=("dev", "wrong")).status_code == 401


def test_pip_and_uv_with_credentials_in_the_url(private, tmp_path):
    with_credentials = private.replace("http://", "http://dev:dev-secret-1@")
    pip_install(with_credentials, tmp_path / "pip", "private-pkg")
    uv_pip_install(with_credentials, tmp_path / "uv", "private-pkg")
    assert installed_version(tmp_path / "uv", "private_pkg") == "1.0"
    assert Artifact.objects.get(path__endswith="private_pkg-1.0-py3-none-any.whl").download_count == 2


def test_pip_and_uv_with_a_netrc(server, private, tmp_path):
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1\nlogin dev\npassword dev-secret-1\n")
    netrc.chmod(0o600)
    env = clean_env(NETRC=str(netrc))
    run([sys.executable, "-m", "pip", "install", "--isolated", "--no-cache-dir",
         "--index-url", private, "--target", tmp_path / "pip", "private-pkg"], env=env)
    run([BIN / "uv", "pip", "install", "--no-config", "--no-cache", "--python", sys.executable,
         "--index-url", private, "--target", tmp_path / "uv", "private-pkg"], env=env)
    assert installed_version(tmp_path / "pip", "private_pkg") == "1.0"
    assert installed_version(tmp_path / "uv", "private_pkg") == "1.0"


def test_path_patterns_of_permissions_apply_to_projects(server, tmp_path):
    url = f"{server.url}/api/pypi/pypi-local/"
    for name in ("team-tools", "other-lib"):
        assert post_upload(url, make_wheel(tmp_path, name, "1.0")).ok
    SecuritySettings.objects.update(anonymous_access=False)
    make_user("team", "team-secret-1")
    grant("team-projects", repositories=["pypi-local"], users={"team": ["read"]}, include=["team-*/**"])
    auth = ("team", "team-secret-1")
    assert requests.get(f"{url}simple/team-tools/", auth=auth).status_code == 200
    assert requests.get(f"{url}packages/team-tools/team_tools-1.0-py3-none-any.whl", auth=auth).status_code == 200
    assert requests.get(f"{url}simple/other-lib/", auth=auth).status_code == 404
    assert requests.get(f"{url}packages/other-lib/other_lib-1.0-py3-none-any.whl", auth=auth).status_code == 404
    pip_install(url.replace("http://", "http://team:team-secret-1@") + "simple/", tmp_path / "t", "team-tools")
    listing = requests.get(f"{url}simple/", auth=auth, headers={"Accept": JSON_V1}).json()["projects"]
    assert listing == [{"name": "team-tools"}]
    everything = requests.get(f"{url}simple/", auth=ADMIN, headers={"Accept": JSON_V1}).json()["projects"]
    assert everything == [{"name": "other-lib"}, {"name": "team-tools"}]


def test_a_page_shows_only_the_files_the_caller_may_read(server, tmp_path):
    url = f"{server.url}/api/pypi/pypi-local/"
    for path in (make_wheel(tmp_path, "mixed", "1.0"), make_sdist(tmp_path, "mixed", "1.0")):
        assert post_upload(url, path).ok
    make_user("wheels", "wheels-only-1")
    grant("wheels-only", repositories=["pypi-local"], users={"wheels": ["read"]}, include=["**/*.whl"])

    def files(auth):
        page = requests.get(f"{url}simple/mixed/", auth=auth, headers={"Accept": JSON_V1})
        return [f["filename"] for f in page.json()["files"]]

    assert files(("wheels", "wheels-only-1")) == ["mixed-1.0-py3-none-any.whl"]
    assert files(None) == ["mixed-1.0-py3-none-any.whl", "mixed-1.0.tar.gz"]  # anonymous reads all
    assert files(("wheels", "wheels-only-1")) == ["mixed-1.0-py3-none-any.whl"]
    assert requests.get(f"{url}packages/mixed/mixed-1.0.tar.gz", auth=("wheels", "wheels-only-1")).status_code == 404
