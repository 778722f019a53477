"""The README's first command: `make run` on a fresh data dir serves repomgr with its embedded
defaults (SQLite, filesystem store, embedded broker), web + Celery worker + beat, and Ctrl-C
(SIGINT to the foreground process group) stops every one of them."""

import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.livestack import ROOT, free_port, stop_process, wait_for_http
from tests.storage.workers import send_task

pytestmark = pytest.mark.slow

# Variables that would point `make run` away from its embedded defaults.
FOREIGN = ("DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE", "REPOMGR_STORAGE",
           "REPOMGR_STORAGE_DIR", "REPOMGR_ADMIN_PASSWORD", "REPOMGR_CACHE_URL")


def descendants(pid: int) -> dict[int, str]:
    """{pid: command line} of every process below ``pid``."""
    children: dict[int, list[int]] = {}
    commands: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            commands[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = {}, [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found[child] = commands.get(child, "")
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def curl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["curl", "--silent", "--show-error", *args], capture_output=True, check=True)


def test_make_run_serves_from_a_fresh_data_dir_and_ctrl_c_stops_everything(tmp_path):
    data_dir, port = tmp_path / "data", free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k not in FOREIGN}
    env.update(REPOMGR_DATA_DIR=str(data_dir), REPOMGR_BIND=f"127.0.0.1:{port}", REPOMGR_WORKERS="2")
    output = tmp_path / "make-run.log"
    with open(output, "wb") as log:
        make = subprocess.Popen(["make", "run"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        wait_for_http(f"{url}/api/system/ping", timeout=600, process=make)
        _check_it_serves(url, tmp_path, data_dir)
        running = _wait_for_all_three(make.pid, output)
        _check_the_worker_takes_tasks(data_dir, output)

        os.killpg(make.pid, signal.SIGINT)  # what a terminal does on Ctrl-C
        make.wait(timeout=60)
        deadline = time.monotonic() + 30
        while any(alive(pid) for pid in running) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert [cmd for pid, cmd in running.items() if alive(pid)] == []
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
        log = output.read_text(errors="replace")
        assert "SIGINT received" in log and "SIGKILL" not in log, log[-3000:]
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGTERM)
            stop_process(make)


def _check_it_serves(url: str, tmp_path: Path, data_dir: Path) -> None:
    """The README's check: curl deploys as admin/password, GET returns the same bytes and
    checksums, and the same content under two paths is stored once."""
    payload = tmp_path / "file.bin"
    payload.write_bytes(os.urandom(1024 * 1024))
    sha256 = hashlib.sha256(payload.read_bytes()).hexdigest()
    for path in ("a/b/file.bin", "c/copy.bin"):
        created = json.loads(curl("-u", "admin:password", "-T", str(payload), f"{url}/generic-local/{path}").stdout)
        assert created["checksums"]["sha256"] == sha256
    fetched = curl("-D", "-", "-o", str(tmp_path / "back.bin"), f"{url}/generic-local/a/b/file.bin").stdout.decode()
    assert (tmp_path / "back.bin").read_bytes() == payload.read_bytes()
    assert f"x-checksum-sha256: {sha256}" in fetched.lower()
    summary = json.loads(curl("-u", "admin:password", f"{url}/api/storageinfo").stdout)["binariesSummary"]
    assert summary["binariesSizeInBytes"] == 1024 * 1024
    assert summary["artifactsSizeInBytes"] == 2 * 1024 * 1024
    repositories = {r["key"] for r in json.loads(curl(f"{url}/api/repositories").stdout)}
    assert {"pypi-local", "pypi-remote", "pypi", "docker-local", "docker-remote", "docker",
            "generic-local"} <= repositories
    assert (data_dir / "repomgr.sqlite3").exists()
    assert [p.name for p in (data_dir / "storage").rglob(sha256)] == [sha256]


def _check_the_worker_takes_tasks(data_dir: Path, output: Path) -> None:
    """A task queued on the embedded broker of this data dir is run by make run's worker."""
    send_task("filesystem://", "packages.collect_garbage", data_dir=data_dir)
    deadline = time.monotonic() + 60
    while not re.search(r"Task packages\.collect_garbage\[[^\]]+\] succeeded", output.read_text(errors="replace")):
        if time.monotonic() > deadline:
            pytest.fail("the worker did not run the task:\n" + output.read_text(errors="replace")[-3000:])
        time.sleep(0.3)


def _wait_for_all_three(make_pid: int, output: Path) -> dict[int, str]:
    """The processes under `make run` once web, worker and beat are all up."""
    deadline = time.monotonic() + 120
    while True:
        running = descendants(make_pid)
        commands = " | ".join(running.values())
        log = output.read_text(errors="replace")
        if ("gunicorn" in commands and "worker" in commands and " beat " in commands
                and " ready." in log and "beat: Starting" in log):
            return running
        if time.monotonic() > deadline:
            pytest.fail(f"web, worker and beat did not all start:\n{commands}\n{log[-3000:]}")
        time.sleep(0.5)


def test_ci_run_starts_postgresql_and_redis_when_down_then_runs_make_test(tmp_path):
    """.ci/run's control flow, with the service commands replaced by recorders (CI machines
    have real ones; here they are shared with other runs and must stay up)."""
    bin_dir, calls = tmp_path / "bin", tmp_path / "calls"
    bin_dir.mkdir()
    recorders = {
        "pg_isready": 'echo "pg_isready $*" >> {calls}; exit 1',
        "pg_ctlcluster": 'echo "pg_ctlcluster $*" >> {calls}',
        # Redis answers only once started.
        "redis-cli": 'echo "redis-cli $*" >> {calls}; test -e {tmp}/redis-up',
        "redis-server": 'echo "redis-server $*" >> {calls}; touch {tmp}/redis-up',
        "make": 'echo "make $* DATABASE_URL=$DATABASE_URL CELERY_BROKER_URL=$CELERY_BROKER_URL" >> {calls}',
    }
    for name, body in recorders.items():
        script = bin_dir / name
        script.write_text("#!/bin/sh\n" + body.format(calls=calls, tmp=tmp_path) + "\n")
        script.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    subprocess.run(["sh", str(ROOT / ".ci" / "run")], env=env, check=True, timeout=60)

    lines = calls.read_text().splitlines()
    started_pg = [line for line in lines if line.startswith("pg_ctlcluster")]
    assert len(started_pg) == 1 and started_pg[0].endswith(" main start")
    started_redis = [line for line in lines if line.startswith("redis-server")]
    assert len(started_redis) == 1 and "--port 6379" in started_redis[0]
    assert lines[-1] == ("make test DATABASE_URL=postgres://postgres@127.0.0.1:5432/repomgr "
                         "CELERY_BROKER_URL=redis://127.0.0.1:6379/0")
    assert lines.index(started_redis[0]) < len(lines) - 2  # waited for a ping after starting


def test_ci_run_leaves_running_services_alone(tmp_path):
    bin_dir, calls = tmp_path / "bin", tmp_path / "calls"
    bin_dir.mkdir()
    for name in ("pg_isready", "redis-cli", "pg_ctlcluster", "redis-server", "make"):
        script = bin_dir / name
        script.write_text(f'#!/bin/sh\necho "{name} $*" >> {calls}\n')
        script.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}",
           "DATABASE_URL": "postgres://ci@127.0.0.1:5432/other"}
    subprocess.run(["sh", str(ROOT / ".ci" / "run")], env=env, check=True, timeout=60)
    commands = [line.split()[0] for line in calls.read_text().splitlines()]
    assert commands == ["pg_isready", "redis-cli", "make"]
