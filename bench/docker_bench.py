"""Docker registry throughput: repomgr against the CNCF distribution registry (Debian's
docker-registry), side by side in one run on this machine.

    .venv/bin/python bench/docker_bench.py [--size-mb 200] [--database-url postgres://...] [--celery-worker]

Figures: push and pull MB/s of a --size-mb layer at concurrency 1 and 8 (curl clients, each
transfer a distinct blob; a push is POST + one PATCH + closing PUT as docker and skopeo do it;
each pull figure moves all eight layers, one after another at c=1: a single 200 MB pull is
over in some 80 ms here, too short to time alone),
and manifest GET requests/s (ab, keep-alive, concurrency 16). Both registries keep their
data on the same disk; repomgr runs as `make run` runs it (gunicorn, default workers/threads)
and is asked with a bearer token from its token endpoint, as clients do; --celery-worker
also runs its worker, which computes md5 and sha1 of each pushed layer after the push.
"""

import argparse
import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
import generic_bench as gb  # noqa: E402
from tests.livestack import free_port, wait_for_http  # noqa: E402

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


class Registry:
    """One peer: a base URL, the image path prefix, request headers, and its process."""

    def __init__(self, label, url, prefix, headers, process, helpers=(), log: Path | None = None):
        self.label, self.url, self.prefix, self.headers, self.process = label, url, prefix, headers, process
        self.helpers = list(helpers)  # processes that serve it too (repomgr's Celery worker)
        self.log = log  # where the helpers write their errors

    def check_alive(self):
        """Fail the run when a process of this peer (repomgr's Celery worker, say) has died."""
        dead = [p for p in [self.process, *self.helpers] if p.poll() is not None]
        if dead:
            log = f"\n{self.log}:\n{self.log.read_text()[-2000:]}" if self.log and self.log.exists() else ""
            raise RuntimeError(f"{self.label}: {', '.join(str(p.args[0]) for p in dead)} exited during"
                               f" the run (status {', '.join(str(p.returncode) for p in dead)}){log}")

    def settle(self):
        """Wait until every process of this peer is idle (a worker still hashing the last
        pushes would otherwise load the next figure, of whichever peer it is)."""
        for process in [self.process, *self.helpers]:
            gb.settle(process.pid)

    def helper_seconds(self) -> float:
        return sum(gb.cpu_ticks(process.pid) for process in self.helpers) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        for process in [self.process, *self.helpers]:
            process.terminate()
            process.wait(timeout=30)


def start_distribution(work: Path) -> Registry:
    port = free_port()
    (work / "distribution.yml").write_text(f"""version: 0.1
log: {{level: error, accesslog: {{disabled: true}}}}
storage: {{filesystem: {{rootdirectory: {work / 'distribution'}}}, delete: {{enabled: true}}}}
http: {{addr: 127.0.0.1:{port}}}
""")
    process = subprocess.Popen(["docker-registry", "serve", str(work / "distribution.yml")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_for_http(url + "/v2/", process=process)
    return Registry("distribution 2.8 (docker-registry)", url, "bench", {}, process)


def start_repomgr(work: Path, database_url: str | None, celery_worker: bool) -> Registry:
    port = free_port()
    env = {**os.environ, "REPOMGR_DATA_DIR": str(work / "repomgr"), "REPOMGR_BIND": f"127.0.0.1:{port}",
           "REPOMGR_ACCESS_LOG": "", "DJANGO_SETTINGS_MODULE": "repomgr.settings"}
    if database_url:
        gb.reset_database(database_url)
        env["DATABASE_URL"] = database_url
    gb.prepare_repomgr(env)
    process, url = gb.start_repomgr(env)
    # The Procfile's worker: it computes md5 and sha1 of pushed layers after each push.
    helpers = [subprocess.Popen([str(ROOT / ".venv" / "bin" / "celery"), "--app", "repomgr", "worker",
                                 "--pool", "threads", "--concurrency", "4"], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=open(work / "celery.log", "wb"))
               ] if celery_worker else []
    token = requests.get(url + "/v2/token", auth=("admin", os.environ.get("REPOMGR_ADMIN_PASSWORD", "password")),
                         params={"scope": "repository:docker-local/bench:pull,push"}).json()["token"]
    return Registry("repomgr", url, "docker-local/bench", {"Authorization": f"Bearer {token}"}, process, helpers,
                    work / "celery.log")


def make_layers(work: Path, base: bytes, count: int, run: int) -> list[tuple[Path, str]]:
    """``count`` distinct files the size of ``base``, new for each run, with their digests."""
    layers = []
    for i in range(count):
        path = work / f"layer{i}"
        data = run.to_bytes(4, "big") + i.to_bytes(4, "big") + base[8:]
        path.write_bytes(data)
        layers.append((path, "sha256:" + hashlib.sha256(data).hexdigest()))
    return layers


def curl(*args: str) -> str:
    done = subprocess.run(["curl", "-sS", "--fail-with-body", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"curl {' '.join(args)}: {done.stdout} {done.stderr}")
    return done.stdout


def header_args(registry: Registry) -> list[str]:
    return [arg for name, value in registry.headers.items() for arg in ("-H", f"{name}: {value}")]


def push(registry: Registry, path: Path, digest: str) -> None:
    started = curl("-D", "-", "-o", "/dev/null", "-X", "POST", *header_args(registry),
                   f"{registry.url}/v2/{registry.prefix}/blobs/uploads/")
    location = re.search(r"(?im)^location: *(\S+)", started).group(1)
    if location.startswith("/"):
        location = registry.url + location
    patched = curl("-D", "-", "-o", "/dev/null", "-X", "PATCH", *header_args(registry),
                   "-H", "Content-Type: application/octet-stream", "--data-binary", f"@{path}", location)
    location = re.search(r"(?im)^location: *(\S+)", patched).group(1)
    if location.startswith("/"):
        location = registry.url + location
    separator = "&" if "?" in location else "?"
    curl("-o", "/dev/null", "-X", "PUT", *header_args(registry), f"{location}{separator}digest={digest}")


def pull(registry: Registry, digest: str, size: int) -> None:
    written = curl("-o", "/dev/null", "-w", "%{size_download}", *header_args(registry),
                   f"{registry.url}/v2/{registry.prefix}/blobs/{digest}")
    assert int(written) == size, (written, size)


def throughput(action, registry, layers, concurrency: int, size: int, transfers: int = 0) -> float:
    """MB/s of ``transfers`` actions (default: ``concurrency``), ``concurrency`` at a time."""
    chosen = layers[:transfers or concurrency]
    began = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(lambda layer: action(registry, *layer), chosen))
    return len(chosen) * size / (1024 * 1024) / (time.monotonic() - began)


def push_manifest(registry: Registry, layers) -> str:
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    session = requests.Session()
    session.headers.update(registry.headers)
    started = session.post(f"{registry.url}/v2/{registry.prefix}/blobs/uploads/")
    location = requests.compat.urljoin(registry.url, started.headers["Location"])
    digest = "sha256:" + hashlib.sha256(config).hexdigest()
    session.put(location, params={"digest": digest}, data=config).raise_for_status()
    path, layer_digest = layers[0]
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest, "size": len(config)},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer_digest,
                            "size": path.stat().st_size}]}
    session.put(f"{registry.url}/v2/{registry.prefix}/manifests/latest", data=json.dumps(manifest),
                headers={"Content-Type": OCI_MANIFEST}).raise_for_status()
    return f"{registry.url}/v2/{registry.prefix}/manifests/latest"


def manifest_rps(registry: Registry, url: str, requests_count: int = 5000, concurrency: int = 16) -> float:
    args = ["ab", "-q", "-k", "-n", str(requests_count), "-c", str(concurrency), "-H", f"Accept: {OCI_MANIFEST}"]
    for name, value in registry.headers.items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    failed = int(re.search(r"Failed requests:\s+(\d+)", out).group(1))
    non2xx = re.search(r"Non-2xx responses:\s+(\d+)", out)
    assert failed == 0 and non2xx is None, out
    return float(re.search(r"Requests per second:\s+([\d.]+)", out).group(1))


def warm_up(registry: Registry, work: Path) -> None:
    """Push and pull a small blob 20 times (80 new connections), so that every gunicorn worker has
    imported its views before anything is measured (done for both peers alike)."""
    path = work / "warm-up"
    path.write_bytes(os.urandom(64 * 1024))
    digest = "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    for _ in range(20):
        push(registry, path, digest)
        pull(registry, digest, 64 * 1024)


def measure(registry: Registry, layers, size: int) -> tuple[dict, float]:
    """The figures, each taken with the peer idle, and the CPU seconds its helper processes
    spent per GiB pushed (repomgr's worker: md5 and sha1 of each layer after its push)."""
    figures = {}
    registry.settle()
    helper_before = registry.helper_seconds()
    for concurrency in (1, 8):
        figures[f"push c={concurrency}"] = throughput(push, registry, layers, concurrency, size)
        registry.settle()
    pushed_gib = len(layers) * size / 1024 ** 3  # distinct layers (the first is pushed twice)
    helper_per_gib = (registry.helper_seconds() - helper_before) / pushed_gib
    for concurrency in (1, 8):
        figures[f"pull c={concurrency}"] = throughput(lambda r, p, d: pull(r, d, size), registry, layers,
                                                      concurrency, size, transfers=len(layers))
        registry.settle()
    figures["manifest GET req/s"] = manifest_rps(registry, push_manifest(registry, layers))
    return figures, helper_per_gib


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3, help="figures are the median of the runs")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"),
                        help="a PostgreSQL database of the bench's own, dropped and created afresh (default: SQLite)")
    parser.add_argument("--celery-worker", action="store_true",
                        help="run repomgr's Celery worker too (as `make run` does), and report the CPU "
                             "it spends on the md5 and sha1 of pushed layers")
    options = parser.parse_args()
    subprocess.run(["sh", str(ROOT / "scripts" / "system-deps.sh"), "bench"], check=True)
    (ROOT / "var").mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="docker-bench-", dir=ROOT / "var"))
    size = options.size_mb * 1024 * 1024
    results: dict[str, dict[str, list[float]]] = {}
    helper_cpu: list[float] = []
    registries = []
    try:
        registries = [start_distribution(work), start_repomgr(work, options.database_url, options.celery_worker)]
        for registry in registries:
            warm_up(registry, work)
        base = os.urandom(size)
        for run in range(options.runs):
            layers = make_layers(work, base, 8, run)
            # Both stay up; who goes first alternates, so background load falls on both alike.
            for registry in registries if run % 2 == 0 else registries[::-1]:
                figures, helper_per_gib = measure(registry, layers, size)
                for figure, value in figures.items():
                    results.setdefault(registry.label, {}).setdefault(figure, []).append(value)
                if registry.helpers:
                    helper_cpu.append(helper_per_gib)
                registry.check_alive()
    finally:
        for registry in registries:
            registry.stop()
        shutil.rmtree(work, ignore_errors=True)
    print_table(results, options)
    if helper_cpu:
        print(f"\nrepomgr's Celery worker: {statistics.median(helper_cpu):.2f} CPU seconds per GiB pushed "
              "(md5 and sha1 of each layer, after its push; median of the runs)")


def print_table(results: dict, options) -> None:
    labels = list(results)
    print(f"| figure ({options.size_mb} MB layer, median of {options.runs}) | "
          + " | ".join(labels) + " | repomgr / distribution |")
    print("|---|" + "---|" * (len(labels) + 1))
    for figure in results[labels[0]]:
        values = [statistics.median(results[label][figure]) for label in labels]
        unit = "" if "req/s" in figure else " MB/s"
        print(f"| {figure} | " + " | ".join(f"{v:,.0f}{unit}" for v in values) + f" | {values[-1] / values[0]:.2f} |")


if __name__ == "__main__":
    main()
