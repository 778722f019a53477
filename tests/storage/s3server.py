"""An S3-compatible server for tests: moto's standalone server on 127.0.0.1, one per session."""

import subprocess
import uuid
from pathlib import Path

import boto3

from tests.livestack import BIN, free_port, stop_process, wait_for_http

CREDENTIALS = {"access_key": "test-access-key", "secret_key": "test-secret-key"}
REGION = "us-east-1"


class S3Server:
    def __init__(self, log_dir: Path):
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"moto-{self.port}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> "S3Server":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=log, stderr=subprocess.STDOUT)
        wait_for_http(self.endpoint, process=self.process)
        return self

    def stop(self) -> None:
        stop_process(self.process)

    def client(self):
        return boto3.client("s3", endpoint_url=self.endpoint, region_name=REGION,
                            aws_access_key_id=CREDENTIALS["access_key"],
                            aws_secret_access_key=CREDENTIALS["secret_key"])

    def new_bucket(self) -> str:
        name = f"repomgr-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str) -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))

    def storage_options(self, bucket: str, prefix: str = "") -> dict:
        """The options settings.py gives django-storages for REPOMGR_STORAGE=s3."""
        return {"bucket_name": bucket, "endpoint_url": self.endpoint, "region_name": REGION,
                "location": prefix, "file_overwrite": True, "default_acl": None,
                "querystring_expire": 300, **CREDENTIALS}

    def server_env(self, bucket: str, prefix: str = "", redirect: bool = False) -> dict:
        """The environment that points a repomgr process at this server."""
        return {"REPOMGR_STORAGE": "s3", "REPOMGR_S3_BUCKET": bucket,
                "REPOMGR_S3_ENDPOINT_URL": self.endpoint, "REPOMGR_S3_REGION": REGION,
                "REPOMGR_S3_ACCESS_KEY": CREDENTIALS["access_key"],
                "REPOMGR_S3_SECRET_KEY": CREDENTIALS["secret_key"], "REPOMGR_S3_PREFIX": prefix,
                "REPOMGR_STORAGE_REDIRECT": "1" if redirect else "0"}
