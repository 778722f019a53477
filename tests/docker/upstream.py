"""A CNCF distribution registry (Debian's docker-registry) on 127.0.0.1, started by a test as
the upstream of a remote repository, and stoppable mid-test."""

import shutil
import subprocess
from pathlib import Path

from tests.livestack import free_port, wait_for_http

CONFIG = """version: 0.1
log:
  level: warn
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
"""


class DistributionRegistry:
    def __init__(self, directory: Path):
        self.directory = directory
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = directory / "registry.log"
        self.process: subprocess.Popen | None = None

    @staticmethod
    def available() -> bool:
        return shutil.which("docker-registry") is not None

    def start(self) -> "DistributionRegistry":
        self.directory.mkdir(parents=True, exist_ok=True)
        for attempt in range(3):
            config = self.directory / "config.yml"
            config.write_text(CONFIG.format(root=self.directory / "data", port=self.port))
            with open(self.log_path, "ab") as log:
                self.process = subprocess.Popen(["docker-registry", "serve", str(config)],
                                                stdout=log, stderr=subprocess.STDOUT)
            try:
                wait_for_http(self.url + "/v2/", timeout=60, process=self.process)
                return self
            except RuntimeError:
                # Another process may have taken the free port first: try another one.
                self.stop()
                self.port = free_port()
                self.url = f"http://127.0.0.1:{self.port}"
        raise RuntimeError(f"docker-registry did not start; see {self.log_path}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)

    def requests_for(self, path: str, status: int = 200) -> int:
        """How many times ``path`` was answered ``status`` (from the access log)."""
        needle = f'"GET {path} HTTP/1.1" {status} '
        return self.log_path.read_text(errors="replace").count(needle)
