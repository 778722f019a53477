"""Raw artifact API throughput: deploy and download of large files through repomgr, beside
nginx (sendfile, WebDAV PUT) serving and receiving the same bytes on this machine.

    .venv/bin/python bench/generic_bench.py [--sizes-mb 64,256,1024] [--runs 3] [--database-url URL]

For each size: deploy (curl -T, as admin) and download (curl -o /dev/null) MB/s, the median of
--runs, for repomgr and nginx alike, and repomgr's peak RSS while it handled that size (VmHWM of
the busiest gunicorn process, and of all of them together; gunicorn restarts between sizes so the
high-water marks belong to one size). Both servers keep their files on the same disk; repomgr runs
as `make run` runs it (gunicorn with the default workers and threads).
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.livestack import free_port, stop_process, wait_for_http  # noqa: E402

MB = 1024 * 1024
ADMIN = f"admin:{os.environ.get('REPOMGR_ADMIN_PASSWORD', 'password')}"


def make_file(path: Path, size_mb: int) -> Path:
    if not path.exists() or path.stat().st_size != size_mb * MB:
        with open(path, "wb") as out:
            for _ in range(size_mb):
                out.write(os.urandom(MB))
    return path


def curl_mb_per_s(*args: str) -> float:
    """Run curl; MB/s of the body it sent or received."""
    result = subprocess.run(
        ["curl", "--silent", "--show-error", "--fail", "-o", "/dev/null",
         "-w", "%{size_upload} %{size_download} %{time_total}", *args],
        capture_output=True, text=True, check=True)
    uploaded, downloaded, seconds = (float(x) for x in result.stdout.split())
    return max(uploaded, downloaded) / MB / seconds


# --- nginx ----------------------------------------------------------------------------------

def start_nginx(work: Path, files: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    prefix = work / "nginx"
    (prefix / "logs").mkdir(parents=True, exist_ok=True)
    (prefix / "upload").mkdir(exist_ok=True)
    temp = prefix / "temp"
    temp.mkdir(exist_ok=True)
    # nginx workers drop to an unprivileged user: let it read the files and write uploads.
    for path in (work, files, prefix):
        path.chmod(0o755)
    for path in (prefix / "upload", temp):
        path.chmod(0o777)
    (prefix / "nginx.conf").write_text(f"""
worker_processes auto;
error_log {prefix}/logs/error.log warn;
pid {prefix}/nginx.pid;
events {{ worker_connections 256; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    # A folder's index.json is a PEP 691 page (bench/pypi_bench.py's static index for uv).
    types {{ application/vnd.pypi.simple.v1+json json; }}
    server {{
        listen 127.0.0.1:{port};
        location /files/ {{ alias {files}/; index index.json; }}
        location /upload/ {{
            root {prefix};
            dav_methods PUT;
            create_full_put_path on;
            client_max_body_size 0;
        }}
    }}
}}
""")
    process = subprocess.Popen(["nginx", "-p", str(prefix), "-c", str(prefix / "nginx.conf"),
                                "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_for_http(url + "/files/", process=process)
    return process, url


# --- repomgr --------------------------------------------------------------------------------

def repomgr_env(work: Path, database_url: str | None, port: int) -> dict:
    env = {**os.environ, "REPOMGR_DATA_DIR": str(work / "repomgr"), "REPOMGR_BIND": f"127.0.0.1:{port}",
           "REPOMGR_ACCESS_LOG": "", "DJANGO_SETTINGS_MODULE": "repomgr.settings"}
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "REPOMGR_STORAGE"):
        env.pop(name, None)
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def cpu_ticks(pid: int) -> int:
    """CPU time (clock ticks) of ``pid`` and its children."""
    total = 0
    children = Path(f"/proc/{pid}/task/{pid}/children")
    for one in [pid] + ([int(c) for c in children.read_text().split()] if children.exists() else []):
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total


def settle(pid: int, quiet_ticks: int = 2, timeout: float = 30.0) -> None:
    """Wait (at most ``timeout`` s) until the process tree uses under ``quiet_ticks`` ticks
    of CPU in half a second."""
    deadline = time.monotonic() + timeout
    before = cpu_ticks(pid)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = cpu_ticks(pid)
        if now - before < quiet_ticks:
            return
        before = now


def reset_database(url: str) -> None:
    """A PostgreSQL database of the bench's own, empty (its blobs lived in a deleted temp dir)."""
    import psycopg2

    name = url.rsplit("/", 1)[1]
    connection = psycopg2.connect(url.rsplit("/", 1)[0] + "/postgres")
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()


def prepare_repomgr(env: dict) -> None:
    python = str(ROOT / ".venv" / "bin" / "python")
    for command in (["migrate", "--noinput"], ["bootstrap"]):
        subprocess.run([python, "manage.py", *command], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_repomgr(env: dict) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen([str(ROOT / ".venv" / "bin" / "gunicorn"), "--config", "repomgr/gunicorn_conf.py",
                                "repomgr.wsgi"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = "http://" + env["REPOMGR_BIND"]
    wait_for_http(url + "/api/system/ping", process=process)
    return process, url


def peak_rss_mb(master_pid: int) -> tuple[float, float]:
    """(largest VmHWM of one process, sum of VmHWM) over the gunicorn master and its workers."""
    pids = [master_pid] + [int(p) for p in Path(f"/proc/{master_pid}/task/{master_pid}/children")
                           .read_text().split()]
    marks = []
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                marks.append(int(line.split()[1]) / 1024)
    return max(marks), sum(marks)


# --- one size -------------------------------------------------------------------------------

def warm_up(url: str) -> None:
    """A first request per gunicorn worker imports the views and verifies the password: do
    that before measuring (a new connection each time lands on any worker)."""
    user, password = ADMIN.split(":", 1)
    for _ in range(60):
        requests.get(f"{url}/api/repositories", auth=(user, password), headers={"Connection": "close"})


def bench_size(env: dict, nginx_url: str, source: Path, size_mb: int, runs: int) -> dict:
    server, url = start_repomgr(env)
    try:
        warm_up(url)
        name = source.name
        deploy = [curl_mb_per_s("-u", ADMIN, "-T", str(source), f"{url}/generic-local/bench/{i}/{name}")
                  for i in range(runs)]
        nginx_put = [curl_mb_per_s("-T", str(source), f"{nginx_url}/upload/{i}/{name}") for i in range(runs)]
        download, nginx_get = [], []
        for i in range(runs):  # alternate, so neither peer gets a warmer page cache
            download.append(curl_mb_per_s(f"{url}/generic-local/bench/{i}/{name}"))
            nginx_get.append(curl_mb_per_s(f"{nginx_url}/files/{name}"))
        one, total = peak_rss_mb(server.pid)
    finally:
        stop_process(server)
    return {"size_mb": size_mb, "deploy": statistics.median(deploy), "nginx_put": statistics.median(nginx_put),
            "download": statistics.median(download), "nginx_get": statistics.median(nginx_get),
            "rss_one": one, "rss_total": total}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes-mb", default="64,256,1024")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database-url", default=None, help="default: SQLite in the bench's data dir")
    args = parser.parse_args()
    subprocess.run(["sh", str(ROOT / "scripts" / "system-deps.sh"), "bench"], check=True)

    (ROOT / "var").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-generic-", dir=ROOT / "var") as tmp:
        work = Path(tmp)
        files = work / "files"
        files.mkdir()
        env = repomgr_env(work, args.database_url, free_port())
        prepare_repomgr(env)
        nginx, nginx_url = start_nginx(work, files)
        try:
            rows = []
            for size_mb in (int(s) for s in args.sizes_mb.split(",")):
                source = make_file(files / f"file-{size_mb}M.bin", size_mb)
                rows.append(bench_size(env, nginx_url, source, size_mb, args.runs))
                print_row(rows[-1], flush=True)
        finally:
            stop_process(nginx)


def print_row(row: dict, flush: bool = False) -> None:
    print(f"| {row['size_mb']} MiB | {row['deploy']:.0f} | {row['nginx_put']:.0f} | {row['download']:.0f} "
          f"| {row['nginx_get']:.0f} | {100 * row['download'] / row['nginx_get']:.0f}% "
          f"| {row['rss_one']:.0f} | {row['rss_total']:.0f} |", flush=flush)


if __name__ == "__main__":
    print("| size | deploy MB/s | nginx PUT MB/s | download MB/s | nginx GET MB/s | download vs nginx "
          "| peak RSS, busiest process (MB) | peak RSS, all processes (MB) |")
    print("|---|---|---|---|---|---|---|---|")
    main()
