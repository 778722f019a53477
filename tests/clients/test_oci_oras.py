"""The oras Python package: artifacts pushed and pulled, and a signature-like artifact found
through the referrers API with the artifactType filter."""

import json

import oras.client
import oras.oci
import pytest
import requests

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def client(server):
    client = oras.client.OrasClient(hostname=server.host, insecure=True)
    client.login(username="admin", password="password", hostname=server.host)
    return client


def test_artifact_push_pull_and_referrers(server, client, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "report.txt").write_text("build report\n")
    target = f"{server.host}/docker-local/artifacts/report:1"
    pushed = client.push(target=target, files=["report.txt"],
                         manifest_annotations={"org.example.kind": "report"})
    assert pushed.status_code == 201

    out = tmp_path / "out"
    files = client.pull(target=target, outdir=str(out))
    assert [open(f).read() for f in files] == ["build report\n"]

    manifest = client.get_manifest(target)
    subject = oras.oci.Subject.from_manifest(manifest)
    (tmp_path / "sig.json").write_text(json.dumps({"signed": True}))
    (tmp_path / "empty.json").write_text("{}")
    client.push(target=f"{server.host}/docker-local/artifacts/report:sig", files=["sig.json"],
                manifest_config="empty.json:application/vnd.example.signature", subject=subject)

    url = f"{server.url}/v2/docker-local/artifacts/report/referrers/{subject.digest}"
    referrers = requests.get(url, params={"artifactType": "application/vnd.example.signature"})
    assert referrers.headers["OCI-Filters-Applied"] == "artifactType"
    [found] = referrers.json()["manifests"]
    assert found["artifactType"] == "application/vnd.example.signature"
    assert requests.get(url, params={"artifactType": "other/type"}).json()["manifests"] == []
