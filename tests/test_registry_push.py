"""Pushing to a real docker-registry: what travels, what is skipped, and what survives failures."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shipml.errors import RegistryError
from shipml.layout import Store
from shipml.mutate import append_layers
from shipml.oci.reference import Reference
from shipml.registry.client import RegistryClient
from shipml.registry.progress import Outcome
from shipml.registry.pull import pull
from shipml.registry.push import push
from shipml.testing.faults import Fault, fault_proxy
from shipml.testing.images import random_image, random_index, random_layer
from shipml.testing.registry import LocalRegistry, Request

pytestmark = pytest.mark.registry


def uploads(requests: list[Request]) -> list[Request]:
    """Requests that carry blob bytes (monolithic PUTs and PATCH chunks) or start an upload."""
    return [r for r in requests if "/blobs/uploads/" in r.path and r.method != "DELETE"]


def test_round_trip_gives_identical_digests(registry: LocalRegistry, tmp_path: Path) -> None:
    image = random_image(tmp_path / "blobs", seed=1, layers=3)
    with RegistryClient(registry.host) as client:
        result = push(client, "round/trip", image, tag="v1")
        assert result.digest == image.digest()
        assert result.count(Outcome.PUSHED) == 4  # config and three layers
        store = Store.open(tmp_path / "store")
        pulled = pull(client, Reference.parse(f"{registry.host}/round/trip:v1"), store)
    assert pulled.descriptor.digest == image.digest()
    copy = store.image(f"{registry.host}/round/trip:v1")
    assert copy.raw_manifest() == image.raw_manifest()
    assert copy.raw_config_file() == image.raw_config_file()
    assert [layer.digest() for layer in copy.layers()] == [x.digest() for x in image.layers()]


def test_pushing_again_uploads_no_blob(registry: LocalRegistry, tmp_path: Path) -> None:
    image = random_image(tmp_path / "blobs", seed=2)
    with RegistryClient(registry.host) as client:
        push(client, "again/app", image, tag="v1")
        before = len(registry.requests())
        result = push(client, "again/app", image, tag="v1")
        # A new tag for the same content: blobs are HEADed and skipped, never re-sent.
        retag = push(client, "again/app", image, tag="v2")
    after = registry.requests()[before:]
    assert uploads(after) == []
    assert result.count(Outcome.SKIPPED) == retag.count(Outcome.SKIPPED) == 3
    assert [r.method for r in after if "/manifests/" in r.path] == ["HEAD", "HEAD", "PUT"]


def test_a_model_only_change_uploads_only_the_new_layer(
    registry: LocalRegistry, tmp_path: Path
) -> None:
    base = random_image(tmp_path / "blobs", seed=3)
    v1 = append_layers(base, random_layer(tmp_path / "b", seed=31))
    model_v2 = random_layer(tmp_path / "b", seed=32)
    v2 = append_layers(base, model_v2)
    with RegistryClient(registry.host) as client:
        push(client, "model/app", v1, tag="1")
        before = len(registry.requests())
        result = push(client, "model/app", v2, tag="2")
    started = [r for r in uploads(registry.requests()[before:]) if r.method == "POST"]
    pushed = {d for d, o in result.outcomes.items() if o is Outcome.PUSHED}
    # The new model layer and the new config (its diff_ids changed); the base layers are skipped.
    assert pushed == {model_v2.digest(), v2.manifest().config.digest}
    assert len(started) == 2
    assert result.count(Outcome.SKIPPED) == 2


def test_cross_repository_mount(registry: LocalRegistry, tmp_path: Path) -> None:
    image = random_image(tmp_path / "blobs", seed=4)
    with RegistryClient(registry.host) as client:
        push(client, "mount/source", image, tag="v1")
        result = push(client, "mount/target", image, tag="v1", mount_from=["mount/source"])
    assert result.count(Outcome.MOUNTED) == 3


def test_large_blobs_go_in_chunks_and_resume_after_a_dropped_connection(
    registry: LocalRegistry, tmp_path: Path
) -> None:
    image = random_image(tmp_path / "blobs", seed=5, layers=1, size=3 << 20)
    layer = image.layers()[0]
    # Drop the connection in the middle of the second chunk. The push asks the registry how
    # much it holds and resumes there, or (distribution cancels a torn upload) starts over.
    fault = Fault("PATCH", "/v2/chunked/app/blobs/uploads/", "reset", after=300_000, skip=1)
    with fault_proxy(registry.host, fault) as proxy, RegistryClient(proxy.host) as client:
        result = push(
            client, "chunked/app", image, tag="v1", chunk_size=1 << 20, monolithic_max=1 << 10
        )
    assert [kind for kind, _, _ in proxy.fired] == ["reset"]
    assert result.outcomes[layer.digest()] is Outcome.PUSHED
    with RegistryClient(registry.host) as client:
        assert client.blob_size("chunked/app", layer.digest()) == layer.size()
        assert client.manifest_descriptor("chunked/app", "v1") is not None


def test_a_refused_chunk_resumes_from_the_offset_the_registry_reports(
    registry: LocalRegistry, tmp_path: Path
) -> None:
    image = random_image(tmp_path / "blobs", seed=10, layers=1, size=1 << 20)
    layer = image.layers()[0]
    # The third chunk is answered 503 without reaching the registry: the upload is intact.
    fault = Fault("PATCH", "/v2/resume/app/blobs/uploads/", "status", status=503, skip=2)
    before = len(registry.requests())
    with fault_proxy(registry.host, fault) as proxy, RegistryClient(proxy.host) as client:
        push(client, "resume/app", image, tag="v1", chunk_size=512 << 10, monolithic_max=1 << 10)
    assert [kind for kind, _, _ in proxy.fired] == ["status"]
    methods = [r.method for r in registry.requests()[before:] if "/blobs/uploads/" in r.path]
    # Each chunk reached the registry once; one status query (GET) found where to go on;
    # no second session was opened (one POST for the config, one for the layer).
    assert methods.count("PATCH") == -(-layer.size() // (512 << 10))
    assert methods.count("GET") == 1
    assert methods.count("POST") == 2


def test_temporary_errors_are_retried_and_auth_errors_are_not(
    registry: LocalRegistry, tmp_path: Path
) -> None:
    image = random_image(tmp_path / "blobs", seed=6)
    faults = [
        Fault("POST", "/v2/retry/app/blobs/uploads/", "status", status=503, times=2),
        Fault("HEAD", "/v2/retry/app/manifests/", "status", status=429, times=1),
    ]
    with fault_proxy(registry.host, *faults) as proxy:
        with RegistryClient(proxy.host, sleep=lambda s: None) as client:
            push(client, "retry/app", image, tag="v1")
        assert len(proxy.fired) == 3
        proxy.faults.append(Fault("HEAD", "/v2/denied/", "status", status=403, times=5))
        with (
            RegistryClient(proxy.host, sleep=lambda s: None) as client,
            pytest.raises(RegistryError, match="403") as info,
        ):
            push(client, "denied/app", image, tag="v1")
        assert not info.value.temporary
        assert len(proxy.fired) == 4  # one 403, not retried


def test_an_image_index_and_all_its_platforms(registry: LocalRegistry, tmp_path: Path) -> None:
    index = random_index(tmp_path / "blobs", seed=7)
    with RegistryClient(registry.host) as client:
        result = push(client, "multi/app", index, tag="v1")
        assert result.digest == index.digest()
        for child in index.index_manifest().manifests:
            found = client.manifest_descriptor("multi/app", str(child.digest))
            assert found is not None and found.digest == child.digest


PUSH_SCRIPT = """
import sys
from pathlib import Path
from shipml.registry.client import RegistryClient
from shipml.registry.push import push
from shipml.testing.images import random_image
image = random_image(Path(sys.argv[2]), seed=8, layers=2, size=6 << 20)
print("ready", flush=True)
with RegistryClient(sys.argv[1]) as client:
    push(client, "killed/app", image, tag="v1", chunk_size=4 << 20, monolithic_max=1 << 20, jobs=1)
print("done", flush=True)
"""


def test_a_push_killed_mid_layer_leaves_no_manifest_and_the_next_push_completes(
    registry: LocalRegistry, tmp_path: Path
) -> None:
    blobs = tmp_path / "blobs"
    script = tmp_path / "push.py"
    script.write_text(PUSH_SCRIPT)
    before = len(registry.requests())
    child = subprocess.Popen(
        [sys.executable, str(script), registry.host, str(blobs)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    deadline = time.monotonic() + 60
    while not any(r.method == "PATCH" for r in registry.requests()[before:]):
        assert time.monotonic() < deadline and child.poll() is None, "no chunk was sent"
        time.sleep(0.01)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    child.stdout.close()
    with RegistryClient(registry.host) as client:
        assert client.manifest_descriptor("killed/app", "v1") is None
        image = random_image(blobs, seed=8, layers=2, size=6 << 20)
        result = push(client, "killed/app", image, tag="v1")
        store = Store.open(tmp_path / "store")
        pulled = pull(client, Reference.parse(f"{registry.host}/killed/app:v1"), store)
    assert result.digest == pulled.descriptor.digest == image.digest()


@pytest.mark.skipif(shutil.which("skopeo") is None, reason="needs skopeo")
def test_skopeo_reads_what_we_pushed(registry: LocalRegistry, tmp_path: Path) -> None:
    image = random_image(tmp_path / "blobs", seed=9)
    with RegistryClient(registry.host) as client:
        push(client, "skopeo/app", image, tag="v1")
    source = f"docker://{registry.host}/skopeo/app:v1"
    inspected = subprocess.run(
        ["skopeo", "inspect", "--tls-verify=false", source],
        capture_output=True, text=True, check=True,
    )
    facts = json.loads(inspected.stdout)
    assert facts["Digest"] == str(image.digest())
    assert facts["Layers"] == [str(layer.digest()) for layer in image.layers()]
    copied = subprocess.run(
        ["skopeo", "copy", "--src-tls-verify=false", source, f"oci:{tmp_path / 'oci'}:v1"],
        capture_output=True, text=True,
    )
    assert copied.returncode == 0, copied.stderr
    index = json.loads((tmp_path / "oci" / "index.json").read_text())
    assert index["manifests"][0]["digest"] == str(image.digest())
