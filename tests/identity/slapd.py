"""A real OpenLDAP server for the tests: configured from a slapd.conf written into a temp
dir, listening on 127.0.0.1 only, seeded with people and groups by ldapadd."""

import shutil
import signal
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from tests.livestack import free_port

SUFFIX = "dc=example,dc=org"
ROOT_DN = f"cn=admin,{SUFFIX}"
ROOT_PASSWORD = "directory-secret"
PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"

_CONF = """\
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
pidfile {dir}/slapd.pid
argsfile {dir}/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
maxsize 10485760
suffix "{suffix}"
rootdn "{root_dn}"
rootpw {root_password}
directory {dir}/db
access to attrs=userPassword by anonymous auth by self read by * none
access to * by users read by * none
"""


def person(uid: str, password: str, mail: str) -> str:
    return (f"dn: uid={uid},{PEOPLE}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {uid.title()}\n"
            f"sn: {uid.title()}\ngivenName: {uid.title()}\nmail: {mail}\nuserPassword: {password}\n")


def group(name: str, members: list[str]) -> str:
    lines = "".join(f"member: uid={m},{PEOPLE}\n" for m in members)
    return f"dn: cn={name},{GROUPS}\nobjectClass: groupOfNames\ncn: {name}\n{lines}"


class Slapd:
    def __init__(self, entries: list[str]):
        self.dir = Path(tempfile.mkdtemp(prefix="slapd-"))
        self.port = free_port()
        self.uri = f"ldap://127.0.0.1:{self.port}"
        self.entries = entries
        self.process: subprocess.Popen | None = None

    def start(self) -> "Slapd":
        (self.dir / "db").mkdir()
        conf = self.dir / "slapd.conf"
        conf.write_text(_CONF.format(dir=self.dir, suffix=SUFFIX, root_dn=ROOT_DN,
                                     root_password=ROOT_PASSWORD))
        # -d keeps slapd in the foreground, so the test owns the process.
        self.process = subprocess.Popen(
            ["slapd", "-d", "0", "-h", f"ldap://127.0.0.1:{self.port}/", "-f", str(conf)],
            stdout=subprocess.DEVNULL, stderr=open(self.dir / "slapd.log", "wb"))
        self._wait()
        base = (f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n"
                f"dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people\n\n"
                f"dn: {GROUPS}\nobjectClass: organizationalUnit\nou: groups\n")
        self.add(base, *self.entries)
        return self

    def add(self, *entries: str) -> None:
        self._ldap("ldapadd", input="\n".join(entries))

    def delete(self, *dns: str) -> None:
        self._ldap("ldapdelete", *dns)

    def _ldap(self, tool: str, *args: str, input: str = "") -> None:
        subprocess.run([tool, "-x", "-H", self.uri, "-D", ROOT_DN, "-w", ROOT_PASSWORD, *args],
                       input=input.encode(), check=True, capture_output=True)

    def _wait(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("slapd exited: " + (self.dir / "slapd.log").read_text())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("slapd did not start")

    @contextmanager
    def frozen(self):
        """The directory hangs (SIGSTOP: connections are accepted, nothing answers) inside the block."""
        self.process.send_signal(signal.SIGSTOP)
        try:
            yield
        finally:
            self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        shutil.rmtree(self.dir, ignore_errors=True)

    def server_env(self, **extra: str) -> dict[str, str]:
        """The REPOMGR_LDAP_* settings that point repomgr at this directory."""
        return {
            "REPOMGR_LDAP_SERVER_URI": self.uri,
            "REPOMGR_LDAP_BIND_DN": ROOT_DN,
            "REPOMGR_LDAP_BIND_PASSWORD": ROOT_PASSWORD,
            "REPOMGR_LDAP_USER_SEARCH_BASE": PEOPLE,
            "REPOMGR_LDAP_GROUP_SEARCH_BASE": GROUPS,
            "REPOMGR_LDAP_ADMIN_GROUP": f"cn=repomgr-admins,{GROUPS}",
            "REPOMGR_LDAP_TIMEOUT": "3",
            **extra,
        }
