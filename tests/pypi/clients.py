"""Running the real Python clients against a live server, isolated from the machine's own
pip configuration (/etc/pip.conf, PIP_FIND_LINKS) so that nothing comes from elsewhere."""

import os
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def clean_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PIP_", "UV_", "TWINE_", "POETRY_", "HATCH_", "PDM_"))}
    env.update({"PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1",
                "PIP_NO_INPUT": "1", **extra})
    return env


def run(args: list, *, env: dict | None = None, check: bool = True, cwd=None,
        timeout: int = 300) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True,
                            env=env or clean_env(), cwd=cwd, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{args[0]} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def twine_upload(url: str, files: list, *, user="admin", password="password", check=True,
                 extra: tuple = ()) -> subprocess.CompletedProcess:
    return run([BIN / "twine", "upload", "--non-interactive", "--disable-progress-bar",
                "--repository-url", url, "-u", user, "-p", password, *extra, *files], check=check)


def pip_install(index_url: str, target: Path, *requirements, check=True,
                extra: tuple = ()) -> subprocess.CompletedProcess:
    return run([sys.executable, "-m", "pip", "install", "--isolated", "--no-cache-dir",
                "--disable-pip-version-check", "--index-url", index_url, "--target", target,
                *extra, *requirements], check=check)


def uv_pip_install(index_url: str, target: Path, *requirements, check=True, cache: Path | None = None,
                   extra: tuple = ()) -> subprocess.CompletedProcess:
    cache_args = ("--cache-dir", cache) if cache else ("--no-cache",)
    return run([BIN / "uv", "pip", "install", "--no-config", *cache_args, "--python", sys.executable,
                "--index-url", index_url, "--target", target, *extra, *requirements], check=check)


def installed_version(target: Path, package: str) -> str:
    text = (Path(target) / package / "__init__.py").read_text()
    return text.split('"')[1]


def post_upload(url: str, path: Path, *, auth=("admin", "password"), fields: dict | None = None,
                filename: str | None = None, content: bytes | None = None):
    """The legacy upload request twine sends (sha256 only), with overridable parts."""
    import hashlib

    import requests

    data = Path(path).read_bytes() if content is None else content
    form = {":action": "file_upload", "protocol_version": "1",
            "sha256_digest": hashlib.sha256(Path(path).read_bytes()).hexdigest(),
            "filetype": "bdist_wheel" if str(path).endswith(".whl") else "sdist",
            **(fields or {})}
    form = {k: v for k, v in form.items() if v is not None}
    return requests.post(url, auth=auth, data=form,
                         files={"content": (filename or Path(path).name, data, "application/octet-stream")})
