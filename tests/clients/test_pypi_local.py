"""A local PyPI repository driven by the real clients: twine uploads, pip and uv install."""

import hashlib

import pytest
import requests
from twine import package as package_file
from twine.commands.upload import skip_upload

from apps.packages.models import Artifact
from apps.pypi.models import PypiFile
from tests.conftest import ADMIN
from tests.factories.pypi import make_sdist, make_wheel
from tests.pypi.clients import installed_version, pip_install, twine_upload, uv_pip_install

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_twine_upload_then_pip_and_uv_install_with_dependencies(server, tmp_path):
    dist = tmp_path / "dist"
    dist.mkdir()
    files = [
        make_wheel(dist, "acme-core", "1.0", requires_python=">=3.8"),
        make_wheel(dist, "acme-core", "1.1", requires_python=">=3.8"),
        make_sdist(dist, "acme-core", "1.1"),
        make_wheel(dist, "acme-app", "2.0", requires_dist=("acme-core>=1.1",)),
    ]
    twine_upload(f"{server.url}/api/pypi/pypi-local/", files)
    assert PypiFile.objects.count() == 4

    index = f"{server.url}/api/pypi/pypi-local/simple/"
    pip_target = tmp_path / "pip"
    pip_install(index, pip_target, "acme-app")
    assert installed_version(pip_target, "acme_app") == "2.0"
    assert installed_version(pip_target, "acme_core") == "1.1"

    uv_target = tmp_path / "uv"
    uv_pip_install(index, uv_target, "acme-app")
    assert installed_version(uv_target, "acme_core") == "1.1"

    # Both installs really came from this server.
    downloads = dict(Artifact.objects.values_list("path", "download_count"))
    assert downloads["acme-app/acme_app-2.0-py3-none-any.whl"] == 2
    assert downloads["acme-core/acme_core-1.1-py3-none-any.whl"] == 2


def test_reupload_is_409_which_twine_skip_existing_accepts(server, tmp_path):
    wheel = make_wheel(tmp_path, "dupe", "1.0")
    url = f"{server.url}/api/pypi/pypi-local/"
    twine_upload(url, [wheel])
    again = twine_upload(url, [wheel], check=False)
    assert again.returncode != 0 and "409" in again.stdout + again.stderr
    assert "File already exists" in again.stdout + again.stderr
    # twine 7 only allows --skip-existing towards pypi.org; its decision function is what any
    # uploader built on it applies to our answer.
    response = requests.post(url, auth=ADMIN, data={":action": "file_upload", "sha256_digest":
                             hashlib.sha256(wheel.read_bytes()).hexdigest()},
                             files={"content": (wheel.name, wheel.read_bytes())})
    assert response.status_code == 409
    assert skip_upload(response, True, package_file.PackageFile.from_filename(str(wheel), None))
    assert PypiFile.objects.filter(filename=wheel.name).count() == 1
