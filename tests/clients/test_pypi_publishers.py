"""Every common publisher speaks the legacy upload API to a local repository: uv publish
(and its --check-url skip of existing files), poetry, hatch and pdm."""

import hashlib

import pytest

from apps.pypi.models import PypiFile
from tests.factories.pypi import make_sdist, make_wheel
from tests.pypi.clients import BIN, clean_env, run

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def built(tmp_path, name: str, version: str):
    """A project folder with pyproject.toml and its wheel and sdist in dist/."""
    project = tmp_path / name
    (project / "dist").mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        f'[project]\nname = "{name}"\nversion = "{version}"\ndescription = "test"\n')
    files = [make_wheel(project / "dist", name, version), make_sdist(project / "dist", name, version)]
    return project, files


def assert_stored(files) -> None:
    for path in files:
        stored = PypiFile.objects.select_related("artifact__blob").get(filename=path.name)
        assert stored.artifact.blob.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        assert stored.artifact.repository.key == "pypi-local"


def test_uv_publish_and_check_url_skips_existing(server, tmp_path):
    _, files = built(tmp_path, "uv-pub", "1.0")
    url = f"{server.url}/api/pypi/pypi-local/"
    publish = [BIN / "uv", "publish", "--no-config", "--publish-url", url, "-u", "admin", "-p", "password"]
    run([*publish, *files])
    assert_stored(files)
    again = run([*publish, *files], check=False)
    assert again.returncode != 0 and "409" in again.stderr
    skipped = run([*publish, "--check-url", f"{server.url}/api/pypi/pypi-local/simple/", *files])
    assert "already exists" in skipped.stderr


def test_poetry_publish(server, tmp_path):
    project, files = built(tmp_path, "poetry-pub", "1.0")
    env = clean_env(POETRY_REPOSITORIES_REPOMGR_URL=f"{server.url}/api/pypi/pypi-local/",
                    POETRY_HTTP_BASIC_REPOMGR_USERNAME="admin", POETRY_HTTP_BASIC_REPOMGR_PASSWORD="password",
                    POETRY_CACHE_DIR=str(tmp_path / "poetry-cache"),
                    POETRY_CONFIG_DIR=str(tmp_path / "poetry-config"), POETRY_VIRTUALENVS_CREATE="false")
    run([BIN / "poetry", "publish", "-r", "repomgr", "--no-interaction"], cwd=project, env=env)
    assert_stored(files)


def test_hatch_publish(server, tmp_path):
    project, files = built(tmp_path, "hatch-pub", "1.0")
    env = clean_env(HATCH_DATA_DIR=str(tmp_path / "hatch-data"), HATCH_CACHE_DIR=str(tmp_path / "hatch-cache"))
    run([BIN / "hatch", "publish", "-r", f"{server.url}/api/pypi/pypi-local/", "-u", "admin",
         "-a", "password", "--no-prompt", *files], cwd=project, env=env)
    assert_stored(files)


def test_pdm_publish(server, tmp_path):
    project, files = built(tmp_path, "pdm-pub", "1.0")
    env = clean_env(PDM_CACHE_DIR=str(tmp_path / "pdm-cache"), PDM_HOME=str(tmp_path / "pdm-home"))
    run([BIN / "pdm", "publish", "--no-build", "-r", f"{server.url}/api/pypi/pypi-local/",
         "-u", "admin", "-P", "password"], cwd=project, env=env)
    assert_stored(files)
