"""podman, buildah and the docker CLI against the live registry (login, push, pull; no
container is run: images are built from scratch with buildah)."""

import json
import shutil
import subprocess
import tempfile

import pytest
import requests

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow,
              pytest.mark.skipif(not shutil.which("podman") or not shutil.which("buildah"),
                                 reason="podman/buildah are not installed")]


@pytest.fixture
def storage(tmp_path):
    # podman refuses a run root path longer than 50 characters.
    runroot = tempfile.mkdtemp(prefix="podman-", dir="/tmp")
    yield ["--root", str(tmp_path / "root"), "--runroot", runroot, "--storage-driver", "vfs"]
    shutil.rmtree(runroot, ignore_errors=True)


@pytest.fixture
def env(tmp_path):
    (tmp_path / "auth.json").write_text('{"auths": {}}')
    return {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "HOME": str(tmp_path),
            "REGISTRY_AUTH_FILE": str(tmp_path / "auth.json"), "XDG_RUNTIME_DIR": str(tmp_path)}


def run(args: list[str], env: dict, ok: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=180)
    if ok:
        assert done.returncode == 0, done.stderr
    return done


def podman(storage, env, *args, ok=True):
    return run(["podman", *storage, "--cgroup-manager", "cgroupfs", "--events-backend", "file", *args], env, ok)


def build_image(storage, env, tmp_path, reference: str, content: bytes) -> None:
    buildah = ["buildah", *storage]
    container = run([*buildah, "from", "scratch"], env).stdout.strip().splitlines()[-1]
    (tmp_path / "payload.bin").write_bytes(content)
    run([*buildah, "copy", container, str(tmp_path / "payload.bin"), "/payload.bin"], env)
    run([*buildah, "commit", container, reference], env)


def test_podman_login_push_pull(server, storage, env, tmp_path):
    host = server.host
    wrong = podman(storage, env, "login", "--tls-verify=false", "-u", "admin", "-p", "nope", host, ok=False)
    assert wrong.returncode != 0
    podman(storage, env, "login", "--tls-verify=false", "-u", "admin", "-p", "password", host)
    assert host in json.loads((tmp_path / "auth.json").read_text())["auths"]

    build_image(storage, env, tmp_path, "localhost/team/app:1.4", b"podman payload" * 1000)
    podman(storage, env, "push", "--tls-verify=false", "localhost/team/app:1.4",
           f"docker://{host}/docker-local/team/app:1.4")
    tags = requests.get(f"{server.url}/v2/docker-local/team/app/tags/list", auth=("admin", "password"))
    assert tags.json()["tags"] == ["1.4"]

    podman(storage, env, "rmi", "localhost/team/app:1.4")
    podman(storage, env, "pull", "--tls-verify=false", f"{host}/docker/team/app:1.4")
    listed = podman(storage, env, "images", "--format", "{{.Repository}}:{{.Tag}}").stdout
    assert f"{host}/docker/team/app:1.4" in listed


def test_buildah_push_to_virtual_lands_in_default_deployment_repository(server, storage, env, tmp_path):
    build_image(storage, env, tmp_path, "localhost/team/built:2", b"buildah payload" * 500)
    run(["buildah", *storage, "push", "--tls-verify=false", "--creds", "admin:password",
         "localhost/team/built:2", f"docker://{server.host}/docker/team/built:2"], env)
    landed = requests.get(f"{server.url}/v2/docker-local/team/built/manifests/2",
                          auth=("admin", "password"),
                          headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
    assert landed.status_code == 200


@pytest.mark.skipif(not shutil.which("docker"), reason="the docker CLI is not installed")
def test_docker_cli_login(server, tmp_path):
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(tmp_path), "DOCKER_CONFIG": str(tmp_path / "docker")}
    good = subprocess.run(["docker", "login", server.host, "-u", "admin", "--password-stdin"],
                          input="password", capture_output=True, text=True, env=env, timeout=60)
    assert good.returncode == 0, good.stderr
    assert "Login Succeeded" in good.stdout
    assert server.host in json.loads((tmp_path / "docker" / "config.json").read_text())["auths"]
    bad = subprocess.run(["docker", "login", server.host, "-u", "admin", "--password-stdin"],
                         input="wrong", capture_output=True, text=True, env=env, timeout=60)
    assert bad.returncode != 0
