"""PyPI: repomgr beside devpi-server, proxpi and pypiserver on one upstream, with nginx serving
the same files as the limit. One run, one machine, every server started fresh.

    .venv/bin/python bench/pypi_bench.py [--seconds 5] [--rounds 5] [--database-url URL]

Figures (each server answers from its warm cache unless the row says cold):
  * warm simple page of a project with 2,000 files, requests/s at concurrency 1 and 32, JSON
    (PEP 691) and HTML (ab -k, for --seconds each);
  * cached 50 MB wheel download, MB/s at concurrency 1 and 8 (curl processes, total bytes over
    wall time);
  * `uv pip install` of 30 packages, cold (the proxy's first sight of them) and warm, seconds:
    the median of --rounds installs each, the servers taking turns; every cold install meets
    an empty cache (a new remote repository, mirror index or proxpi process).
The upstream is a PEP 691 index (bench/pypi_upstream.py) in its own process. repomgr proxies it
through a remote repository, devpi through a mirror index, proxpi directly; pypiserver cannot
proxy, so it serves the same files from a folder (its cold and warm are the same thing). nginx
serves the files, repomgr's own HTML and JSON page, and a static copy of the upstream's index of
the 30 projects (pages, wheels, .metadata) as static files: the ceiling, for uv's warm install too.
"""

import argparse
import base64
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urljoin

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "repomgr.settings")
import django  # noqa: E402

django.setup()  # the wheel factory lives beside the tests' model factories

import generic_bench as gb  # noqa: E402
from tests.factories.pypi import make_wheel  # noqa: E402
from tests.livestack import free_port, stop_process, wait_for_http  # noqa: E402

MB = 1024 * 1024
PEERS_VENV = ROOT / "var" / "bench-pypi-venv"
JSON = "application/vnd.pypi.simple.v1+json"
HTML = "text/html"
DEPS = [f"dep-{i:02d}" for i in range(30)]
# nginx's static copies, beside the wheels: a dot-folder, which pypiserver does not list.
STATIC = ".static"


# --- set-up ---------------------------------------------------------------------------------

def peers_bin() -> Path:
    """The peers' own virtualenv, created and filled from bench/pypi_peers.txt when missing."""
    if not (PEERS_VENV / "bin" / "devpi-server").exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEERS_VENV)], check=True)
        subprocess.run([str(PEERS_VENV / "bin" / "pip"), "install", "--isolated", "--quiet",
                        "-r", str(ROOT / "bench" / "pypi_peers.txt")], check=True)
    return PEERS_VENV / "bin"


def build_files(folder: Path) -> None:
    folder.mkdir(exist_ok=True)
    for i in range(2000):
        make_wheel(folder, "big", f"1.{i}")
    make_wheel(folder, "huge", "1.0", filler=50 * MB)
    for i, name in enumerate(DEPS):
        needs = (DEPS[i + 1],) if i % 2 == 0 and i + 1 < len(DEPS) else ()
        make_wheel(folder, name, "1.0", requires_dist=needs, filler=200_000)


def start(args: list, env: dict | None = None, ready: str = "", cwd=None) -> subprocess.Popen:
    process = subprocess.Popen([str(a) for a in args], env={**os.environ, **(env or {})}, cwd=cwd,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if ready:
        wait_for_http(ready, timeout=90, process=process)
    return process


class Server:
    """A running peer: its process, the index uv and the figures use, and ``fresh(n)``, which
    points ``index`` at an empty cache for the n-th cold install (n >= 1; the first one meets
    the index the server started with). ``new_index(n)`` makes one (a remote repository, a
    mirror index); a server without it has one index for all."""

    def __init__(self, name: str, process: subprocess.Popen, index: str = "", new_index=None,
                 cold: bool = True):
        self.name, self.process, self._new_index = name, process, new_index
        self.index = index or new_index(0)
        self.cold = cold  # False for nginx: a static index has no cold install

    def fresh(self, n: int) -> None:
        if self._new_index is not None:
            self.index = self._new_index(n)

    def stop(self) -> None:
        stop_process(self.process)


class Proxpi(Server):
    """proxpi keeps its index cache in process memory: one process, threads for concurrency,
    and a new process (with a new cache folder) for each cold install."""

    def __init__(self, work: Path, bin_dir: Path, upstream: str):
        self.work, self.bin_dir, self.upstream = work, bin_dir, upstream
        super().__init__("proxpi", *self._run(0))

    def _run(self, n: int) -> tuple[subprocess.Popen, str]:
        port = free_port()
        process = start([self.bin_dir / "gunicorn", "-w", "1", "--threads", "16", "-k", "gthread", "-b",
                         f"127.0.0.1:{port}", "proxpi.server:app"],
                        env={"PROXPI_INDEX_URL": f"{self.upstream}/simple/",
                             "PROXPI_CACHE_DIR": str(self.work / f"proxpi-{n}"),
                             "PROXPI_INDEX_TTL": "3600", "PROXPI_DOWNLOAD_TIMEOUT": "60"},
                        ready=f"http://127.0.0.1:{port}/index/")
        return process, f"http://127.0.0.1:{port}/index/"

    def fresh(self, n: int) -> None:
        self.stop()
        self.process, self.index = self._run(n)


def start_repomgr(work: Path, upstream: str, database_url: str | None) -> Server:
    if database_url:
        gb.reset_database(database_url)
    env = gb.repomgr_env(work, database_url, free_port())
    gb.prepare_repomgr(env)
    process, url = gb.start_repomgr(env)

    def remote(n: int) -> str:
        key = f"bench-remote-{n}"
        created = requests.put(f"{url}/api/repositories/{key}", auth=tuple(gb.ADMIN.split(":", 1)), json={
            "key": key, "rclass": "remote", "packageType": "pypi", "url": upstream,
            "retrievalCachePeriodSecs": 3600})
        created.raise_for_status()
        return f"{url}/api/pypi/{key}/simple/"

    return Server("repomgr", process, new_index=remote)


def start_devpi(work: Path, bin_dir: Path, upstream: str) -> Server:
    serverdir, port = work / "devpi", free_port()
    subprocess.run([bin_dir / "devpi-init", "--serverdir", serverdir, "--no-root-pypi"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    process = start([bin_dir / "devpi-server", "--serverdir", serverdir, "--host", "127.0.0.1",
                     "--port", port, "--mirror-cache-expiry", "3600"], ready=f"http://127.0.0.1:{port}/+api")
    url = f"http://127.0.0.1:{port}"
    login = requests.post(f"{url}/+login", json={"user": "root", "password": ""},
                          headers={"Accept": "application/json"})
    login.raise_for_status()
    token = login.json()["result"]["password"]
    auth = base64.b64encode(f"root:{token}".encode()).decode()

    def mirror(n: int) -> str:
        created = requests.put(f"{url}/root/up{n}", headers={"X-Devpi-Auth": auth, "Accept": "application/json"},
                               json={"type": "mirror", "mirror_url": f"{upstream}/simple/"})
        created.raise_for_status()
        return f"{url}/root/up{n}/+simple/"

    return Server("devpi-server", process, new_index=mirror)


def start_pypiserver(bin_dir: Path, files: Path) -> Server:
    port = free_port()
    process = start([bin_dir / "pypi-server", "run", "-p", port, "-i", "127.0.0.1", "-a", ".", "-P", ".",
                     "--disable-fallback", str(files)], ready=f"http://127.0.0.1:{port}/simple/")
    return Server("pypiserver", process, f"http://127.0.0.1:{port}/simple/")


# --- measurements ---------------------------------------------------------------------------

def ab_rps(url: str, accept: str, concurrency: int, seconds: int) -> float | None:
    result = subprocess.run(["ab", "-k", "-q", "-t", str(seconds), "-n", "10000000", "-c", str(concurrency),
                             "-H", f"Accept: {accept}", url], capture_output=True, text=True)
    rps = re.search(r"Requests per second:\s+([\d.]+)", result.stdout)
    bad = re.search(r"Non-2xx responses:\s+(\d+)", result.stdout)
    failed = re.search(r"Failed requests:\s+(\d+)", result.stdout)
    if not rps or bad or (failed and int(failed.group(1)) > 0 and "Length" not in result.stdout):
        return None
    return float(rps.group(1))


def page_is(url: str, accept: str) -> bool:
    """Whether the server really answers this representation (pypiserver has no JSON)."""
    response = requests.get(url, headers={"Accept": accept})
    kind = response.headers.get("Content-Type", "")
    return response.ok and (("json" in kind) == ("json" in accept))


def file_url(index: str, project: str, filename: str) -> str:
    page = requests.get(f"{index}{project}/", headers={"Accept": HTML}).text
    href = re.search(rf'href="([^"]*{re.escape(filename)})(#[^"]*)?"', page).group(1)
    return urljoin(f"{index}{project}/", href.replace("&amp;", "&"))


def download_mb_s(url: str, concurrency: int) -> float:
    """MB/s of ``concurrency`` curl processes at once, over rounds that move 8 (c=1) or 16
    files in all: one 50 MB transfer is over in some 30 ms here, too short to time alone."""
    rounds, size = max(2, 8 // concurrency), 0
    begin = time.monotonic()
    for _ in range(rounds):
        procs = [subprocess.Popen(["curl", "-s", "--fail", "-o", "/dev/null", "-w", "%{size_download}", url],
                                  stdout=subprocess.PIPE, text=True) for _ in range(concurrency)]
        for proc in procs:
            out, _ = proc.communicate()
            size += int(float(out or 0))
    return size / MB / (time.monotonic() - begin)


def uv_seconds(index: str, target: Path) -> float:
    begin = time.monotonic()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    result = subprocess.run([str(ROOT / ".venv" / "bin" / "uv"), "pip", "install", "--no-config", "--no-cache",
                             "--python", sys.executable, "--target", str(target), "--index-url", index, *DEPS],
                            capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise RuntimeError(f"uv failed against {index}:\n{result.stderr}")
    return time.monotonic() - begin


def warm_up(index: str, process: subprocess.Popen) -> None:
    """Let every worker process load its code before anything is timed (the project list is
    the one page all servers have and none needs for the figures), then wait until the
    server's processes are idle: a worker still importing its code after the others answer
    would otherwise take CPU from the first (cold) figure."""
    subprocess.run(["ab", "-q", "-n", "100", "-c", "10", index], capture_output=True)
    gb.settle(process.pid)


def uv_rounds(servers: list[Server], rounds: int, work: Path) -> dict:
    """``rounds`` cold and warm installs per server, the servers taking turns so that the
    machine's slow and fast moments fall on all of them: {name: {"cold": [...], "warm": [...]}}."""
    times = {server.name: {"cold": [], "warm": []} for server in servers}
    for n in range(rounds):
        for server in servers:
            if n:
                server.fresh(n)
            warm_up(server.index, server.process)
            for kind in ("cold", "warm") if server.cold else ("warm",):
                times[server.name][kind].append(uv_seconds(server.index, work / f"uv-{server.name}-{n}-{kind}"))
    return times


def measure(server: Server, seconds: int, huge: str, uv: dict) -> dict:
    row = {"server": server.name, "uv": uv}
    index = server.index
    warm_up(index, server.process)
    page = f"{index}big/"
    for kind, accept in (("json", JSON), ("html", HTML)):
        available = page_is(page, accept)
        for concurrency in (1, 32):
            row[f"{kind}_c{concurrency}"] = ab_rps(page, accept, concurrency, seconds) if available else None
    url = file_url(index, "huge", huge)
    requests.get(url).raise_for_status()  # into the cache
    row["dl_c1"] = download_mb_s(url, 1)
    row["dl_c8"] = download_mb_s(url, 8)
    print(json.dumps(row), file=sys.stderr, flush=True)
    return row


def save_static_index(index: str, folder: Path) -> None:
    """A static copy of ``index``'s 30 `dep-*` projects in ``folder``: PEP 691 pages as
    simple/<project>/index.json, and the wheels and their .metadata files at the paths the
    pages' relative URLs name, for nginx to serve."""
    for project in DEPS:
        page = requests.get(f"{index}{project}/", headers={"Accept": JSON})
        page.raise_for_status()
        (folder / "simple" / project).mkdir(parents=True)
        (folder / "simple" / project / "index.json").write_bytes(page.content)
        for entry in page.json()["files"]:
            url = urljoin(f"{index}{project}/", entry["url"]).split("#")[0]
            for suffix in ("", ".metadata"):
                target = folder / (url[len(index) - len("simple/"):] + suffix)
                target.parent.mkdir(parents=True, exist_ok=True)
                content = requests.get(url + suffix)
                content.raise_for_status()
                target.write_bytes(content.content)


def save_pages(index: str, folder: Path) -> None:
    """repomgr's rendered `big` page, HTML and JSON, for nginx to serve."""
    for kind, accept in (("json", JSON), ("html", HTML)):
        (folder / f"big.{kind}").write_bytes(requests.get(f"{index}big/", headers={"Accept": accept}).content)


def nginx_row(url: str, seconds: int, huge: str, uv: dict) -> dict:
    row = {"server": "nginx (static files)", "uv": uv}
    for kind in ("json", "html"):
        for concurrency in (1, 32):
            row[f"{kind}_c{concurrency}"] = ab_rps(f"{url}/files/{STATIC}/big.{kind}", "*/*", concurrency, seconds)
    row["dl_c1"] = download_mb_s(f"{url}/files/{huge}", 1)
    row["dl_c8"] = download_mb_s(f"{url}/files/{huge}", 8)
    return row


def table(rows: list[dict]) -> str:
    def cell(value, fmt):
        return "n/a" if value is None else format(value, fmt)

    def middle(values):
        return statistics.median(values) if values else None

    lines = ["| server | JSON page req/s c=1 | c=32 | HTML page req/s c=1 | c=32 | 50 MB download MB/s c=1 | c=8 "
             "| uv install 30 pkgs cold (s) | warm (s) |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['server']} | {cell(r['json_c1'], '.0f')} | {cell(r['json_c32'], '.0f')} "
                     f"| {cell(r['html_c1'], '.0f')} | {cell(r['html_c32'], '.0f')} | {cell(r['dl_c1'], '.0f')} "
                     f"| {cell(r['dl_c8'], '.0f')} | {cell(middle(r['uv']['cold']), '.2f')} "
                     f"| {cell(middle(r['uv']['warm']), '.2f')} |")
    lines += ["", "uv installs, each round in turn (s; the table gives their median):", ""]
    for r in rows:
        for kind in ("cold", "warm"):
            if r["uv"][kind]:
                lines.append(f"- {r['server']} {kind}: " + ", ".join(f"{t:.2f}" for t in r["uv"][kind]))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5, help="cold and warm uv installs per server")
    parser.add_argument("--database-url", default=None, help="default: SQLite in the bench's data dir")
    parser.add_argument("--only", default="", help="comma-separated subset: repomgr,devpi,proxpi,pypiserver,nginx")
    args = parser.parse_args()
    subprocess.run(["sh", str(ROOT / "scripts" / "system-deps.sh"), "bench"], check=True)
    bin_dir = peers_bin()
    only = set(filter(None, args.only.split(",")))
    (ROOT / "var").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-pypi-", dir=ROOT / "var") as tmp:
        work = Path(tmp)
        files = work / "files"
        build_files(files)
        huge = next(p.name for p in files.iterdir() if p.name.startswith("huge-"))
        port = free_port()
        upstream_process = start([sys.executable, ROOT / "bench" / "pypi_upstream.py", files, port],
                                 ready=f"http://127.0.0.1:{port}/simple/")
        upstream = f"http://127.0.0.1:{port}"
        starters = {
            "repomgr": lambda: start_repomgr(work, upstream, args.database_url),
            "devpi-server": lambda: start_devpi(work, bin_dir, upstream),
            "proxpi": lambda: Proxpi(work, bin_dir, upstream),
            "pypiserver": lambda: start_pypiserver(bin_dir, files),
        }
        rows, servers, static = [], [], files / STATIC
        try:
            for name, starter in starters.items():
                if not only or name.split("-")[0] in only:
                    servers.append(starter())
            if not only or "nginx" in only:
                save_static_index(f"{upstream}/simple/", static)
                nginx, nginx_url = gb.start_nginx(work, files)
                servers.append(Server("nginx (static files)", nginx, f"{nginx_url}/files/{STATIC}/simple/", cold=False))
            uv = uv_rounds(servers, args.rounds, work)
            for server in servers:
                if server.cold:  # nginx comes last: it serves repomgr's pages, saved here
                    rows.append(measure(server, args.seconds, huge, uv[server.name]))
                    if server.name == "repomgr":
                        save_pages(server.index, static)
                    server.stop()
                else:
                    rows.append(nginx_row(nginx_url, args.seconds, huge, uv[server.name]))
        finally:
            for server in servers:
                server.stop()
            stop_process(upstream_process)
        print(table(rows))


if __name__ == "__main__":
    main()
