"""A real SAML 2.0 identity provider for the tests: Debian's SimpleSAMLphp served by
`php -S` on 127.0.0.1, configured in a temp dir, with users from exampleauth:UserPass."""

import json
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

import requests

from tests.livestack import free_port, wait_for_http

WWW = Path("/usr/share/simplesamlphp/www")
EMPTY_METADATA = '<EntitiesDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata"/>'


def self_signed(directory: Path, name: str) -> tuple[Path, Path]:
    key, cert = directory / f"{name}.key", directory / f"{name}.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", f"/CN={name}", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return key, cert


def _php(value) -> str:
    """A PHP literal for a JSON-able value."""
    if isinstance(value, dict):
        return "[" + ", ".join(f"{_php(k)} => {_php(v)}" for k, v in value.items()) + "]"
    if isinstance(value, list):
        return "[" + ", ".join(_php(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


class SimpleSamlIdp:
    def __init__(self, users: dict[str, dict]):
        """``users``: name -> {"password": ..., attribute: [values], ...}."""
        self.dir = Path(tempfile.mkdtemp(prefix="idp-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.metadata_url = f"{self.url}/saml2/idp/metadata.php"
        self.users = users
        self.sp_metadata = self.dir / "sp-metadata.xml"
        self.process: subprocess.Popen | None = None

    def start(self) -> "SimpleSamlIdp":
        for sub in ("config", "metadata", "cert", "data", "tmp", "log", "sessions"):
            (self.dir / sub).mkdir()
        self_signed(self.dir / "cert", "idp")
        self.sp_metadata.write_text(EMPTY_METADATA)
        self._write_config()
        env = {"PATH": "/usr/bin:/bin", "SIMPLESAMLPHP_CONFIG_DIR": str(self.dir / "config")}
        self.process = subprocess.Popen(
            ["php", "-d", f"session.save_path={self.dir / 'sessions'}", "-S", f"127.0.0.1:{self.port}",
             "-t", str(WWW)],
            env=env, stdout=subprocess.DEVNULL, stderr=open(self.dir / "log" / "php.log", "wb"))
        wait_for_http(self.metadata_url, process=self.process)
        return self

    def trust_sp_of(self, server) -> None:
        """Register a running repomgr as service provider, from the metadata it publishes at
        its stable URL (SimpleSAMLphp reads the file on every request)."""
        metadata = requests.get(f"{server.url}/ui/saml2/metadata/", timeout=30)
        metadata.raise_for_status()
        self.sp_metadata.write_text(metadata.text)

    def _write_config(self) -> None:
        d = self.dir
        overrides = {
            "baseurlpath": f"{self.url}/", "certdir": str(d / "cert") + "/",
            "loggingdir": str(d / "log") + "/", "logging.handler": "file",
            "datadir": str(d / "data") + "/", "tempdir": str(d / "tmp"),
            "metadatadir": str(d / "metadata") + "/",
            "metadata.sources": [{"type": "flatfile"}, {"type": "xml", "file": str(self.sp_metadata)}],
            "secretsalt": secrets.token_hex(16), "auth.adminpassword": secrets.token_hex(16),
            "enable.saml20-idp": True, "admin.checkforupdates": False,
            "module.enable": {"exampleauth": True, "core": True, "saml": True},
            "store.type": "phpsession", "session.cookie.secure": False,
        }
        lines = ["<?php", "require '/etc/simplesamlphp/config.php';"]
        lines += [f"$config[{_php(key)}] = {_php(value)};" for key, value in overrides.items()]
        (d / "config" / "config.php").write_text("\n".join(lines) + "\n")
        accounts = {f"{name}:{spec['password']}": {k: v for k, v in spec.items() if k != "password"}
                    for name, spec in self.users.items()}
        entries = ", ".join(f"{_php(k)} => {_php(v)}" for k, v in accounts.items())
        (d / "config" / "authsources.php").write_text(
            "<?php\n$config = ['admin' => ['core:AdminPassword'], "
            f"'example-userpass' => ['exampleauth:UserPass', {entries}]];\n")
        (d / "metadata" / "saml20-idp-hosted.php").write_text(
            "<?php\n$metadata['__DYNAMIC:1__'] = " + _php({
                "host": "__DEFAULT__", "privatekey": "idp.key", "certificate": "idp.crt",
                "auth": "example-userpass", "sign.logout": True}) + ";\n")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        shutil.rmtree(self.dir, ignore_errors=True)

    def log(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in (self.dir / "log").glob("*"))
