"""Podman for real: images moved in from the store, containers started, listed, logged, stopped."""

import json
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from shipml.engines.base import ImageSource, Publish, RunOptions
from shipml.engines.podman import Podman, health_flags
from shipml.engines.ready import start
from shipml.engines.transfer import EngineImage, ensure_image
from shipml.errors import EngineError
from shipml.layout import Store
from shipml.oci.config import Healthcheck
from shipml.oci.mediatypes import Compression
from shipml.oci.reference import Reference
from shipml.testing.engines import (
    SERVE_AND_DRAIN,
    busybox_image,
    podman_usable,
    remove_engine_images,
)
from shipml.testing.images import random_image
from shipml.testing.server import free_port

PS_JSON = [
    {
        "Id": "9e1c",
        "Names": ["shipml-demo-ab12cd"],
        "Image": "localhost/demo:1",
        "State": "running",
        "Status": "Up 2 seconds ago",
        "Ports": [{"host_ip": "127.0.0.1", "container_port": 8080, "host_port": 9000,
                   "range": 2, "protocol": "tcp"}],
        "Labels": {"io.shipml.managed": "true", "io.shipml.ref": "demo:1"},
    }
]


def test_ps_json_is_parsed() -> None:
    [row] = Podman("podman", skopeo="").parse_ps(json.dumps(PS_JSON))
    assert (row.id, row.name, row.ref, row.status) == (
        "9e1c", "shipml-demo-ab12cd", "demo:1", "Up 2 seconds ago"
    )
    assert row.ports == (Publish(9000, 8080, "127.0.0.1"), Publish(9001, 8081, "127.0.0.1"))
    assert Podman("podman", skopeo="").parse_ps("") == []


def test_read_only_means_only_tmp_is_writable() -> None:
    args = Podman("podman", skopeo="").run_args(RunOptions("img", "n", read_only=True))
    assert args[-5:] == ["--read-only", "--read-only-tmpfs=false", "--tmpfs", "/tmp", "img"]


def test_the_healthcheck_goes_in_as_flags() -> None:
    check = Healthcheck(("CMD", "python3", "-c", "print('x y')"), interval_ns=10**10,
                        timeout_ns=5 * 10**9, start_period_ns=1_500_000_000, retries=3)
    assert health_flags(check) == [
        "--health-cmd", '["python3", "-c", "print(\'x y\')"]',
        "--health-interval", "10s", "--health-timeout", "5s", "--health-start-period", "1.5s",
        "--health-retries", "3",
    ]
    assert health_flags(Healthcheck(("CMD-SHELL", "exit 0"))) == ["--health-cmd", "exit 0"]
    assert health_flags(Healthcheck(("NONE",))) == health_flags(None) == []
    args = Podman("podman", skopeo="").run_args(RunOptions("img", "n", healthcheck=check))
    assert args[-1] == "img" and args[args.index("--health-cmd") + 2] == "--health-interval"


def test_skopeo_copies_gzip_images_in_docker_format(tmp_path: Path) -> None:
    engine = Podman("podman", skopeo="/usr/bin/skopeo")
    gzip = ImageSource(random_image(tmp_path), "localhost/a:1", "oci:/s:localhost/a:1")
    zstd = ImageSource(random_image(tmp_path, compression=Compression.ZSTD), "localhost/a:1",
                       "oci:/s:localhost/a:1")
    assert engine.copy_args(gzip) == [
        "/usr/bin/skopeo", "copy", "--quiet", "--format", "v2s2",
        "oci:/s:localhost/a:1", "containers-storage:localhost/a:1",
    ]
    assert "--format" not in engine.copy_args(zstd)


@pytest.fixture
def podman() -> Podman:
    if not podman_usable():
        pytest.skip("needs podman and the sandbox CONTAINERS_CONF that scripts/test.sh writes")
    return Podman("podman")


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(tmp_path / "store")


@pytest.fixture
def cleanup() -> Iterator[list[str]]:
    """Names of containers and IDs of images to remove after the test."""
    made: list[str] = []
    yield made
    for item in made:
        subprocess.run(["podman", "rm", "--force", item], capture_output=True, check=False)
    remove_engine_images(*made)


def _load(podman: Podman, store: Store, tmp_path: Path, script: str, cleanup: list[str],
          tag: str) -> EngineImage:
    ref = f"localhost/shipml-engine-test:{tag}"
    store.write(busybox_image(tmp_path / "layers", script=script, title=tag),
                ref=Reference.parse(ref))
    image = ensure_image(podman, store, ref)
    cleanup.append(image.id)
    return image


def _options(image: EngineImage, cleanup: list[str], **kwargs: object) -> RunOptions:
    name = f"shipml-engine-test-{free_port()}"
    cleanup.insert(0, name)
    publish = (Publish(free_port(), 8080),)
    return RunOptions(image.id, name, publish, **kwargs)  # type: ignore[arg-type]


@pytest.mark.podman
def test_an_image_goes_in_once_and_keeps_its_healthcheck_format(
    podman: Podman, store: Store, tmp_path: Path, cleanup: list[str]
) -> None:
    image = _load(podman, store, tmp_path, SERVE_AND_DRAIN, cleanup, "once")
    assert image.loaded and podman.image_id(image.id) == image.id
    info = json.loads(podman.call("image", "inspect", image.id))[0]
    assert info["ManifestType"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert not ensure_image(podman, store, "localhost/shipml-engine-test:once").loaded


@pytest.mark.podman
def test_without_skopeo_podman_loads_a_docker_archive(
    store: Store, tmp_path: Path, cleanup: list[str], podman: Podman
) -> None:
    image = _load(Podman("podman", skopeo=""), store, tmp_path, "exit 0", cleanup, "archive")
    assert podman.image_id(image.id) == image.id


@pytest.mark.podman
def test_run_waits_for_ready_then_ps_logs_and_stop(
    podman: Podman, store: Store, tmp_path: Path, cleanup: list[str]
) -> None:
    image = _load(podman, store, tmp_path, SERVE_AND_DRAIN, cleanup, "serve")
    options = _options(image, cleanup, env={"GREETING": "hi"}, labels={"io.shipml.ref": "x:1"})
    started = start(podman, options, timeout_s=60)
    assert started.url == options.publish[0].url and started.seconds > 0
    [row] = [c for c in podman.containers() if c.name == options.name]
    assert row.ref == "x:1" and row.ports == options.publish and row.state == "running"
    inspected = json.loads(podman.call("inspect", options.name))[0]
    assert "GREETING=hi" in inspected["Config"]["Env"]
    podman.stop(options.name, timeout_s=10)
    state = podman.state(options.name)
    assert (state.running, state.exit_code) == (False, 0)
    assert [line.strip() for line in podman.logs(options.name)] == [
        b'{"msg":"starting"}', b"drained"
    ]
    assert options.name not in [c.name for c in podman.containers()]
    assert options.name in [c.name for c in podman.containers(all_states=True)]
    podman.remove(options.name)
    assert options.name not in [c.name for c in podman.containers(all_states=True)]


@pytest.mark.podman
def test_a_crash_is_reported_with_its_exit_code_and_last_log_lines(
    podman: Podman, store: Store, tmp_path: Path, cleanup: list[str]
) -> None:
    script = "echo loading model.joblib; echo 'ModelError: not a model file' >&2; exit 3"
    image = _load(podman, store, tmp_path, script, cleanup, "crash")
    options = _options(image, cleanup)
    with pytest.raises(EngineError) as caught:
        start(podman, options, timeout_s=60)
    message = str(caught.value)
    assert "exited with code 3 before it was ready" in message
    assert "loading model.joblib" in message and "ModelError: not a model file" in message
    assert options.name not in [c.name for c in podman.containers(all_states=True)]


@pytest.mark.podman
def test_a_server_that_never_gets_ready_times_out_with_its_logs(
    podman: Podman, store: Store, tmp_path: Path, cleanup: list[str]
) -> None:
    image = _load(podman, store, tmp_path, "echo still loading; exec busybox sleep 600",
                  cleanup, "slow")
    with pytest.raises(EngineError, match=r"(?s)not ready after 2 s.*still loading"):
        start(podman, _options(image, cleanup), timeout_s=2)


@pytest.mark.podman
def test_a_port_in_use_is_reported_before_and_by_the_engine(
    podman: Podman, store: Store, tmp_path: Path, cleanup: list[str]
) -> None:
    image = _load(podman, store, tmp_path, SERVE_AND_DRAIN, cleanup, "port")
    options = _options(image, cleanup)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", options.publish[0].host_port))
        taken.listen()
        with pytest.raises(EngineError, match=r"127\.0\.0\.1:\d+ is already in use") as caught:
            start(podman, options, timeout_s=30)
        assert caught.value.hint and "-p 127.0.0.1:" in caught.value.hint
        with pytest.raises(EngineError, match="the port is already in use"):
            podman.run(options)  # past the pre-check: the engine's own bind error, explained
    assert options.name not in [c.name for c in podman.containers(all_states=True)]


@pytest.mark.podman
def test_unknown_container_is_an_engine_error(podman: Podman) -> None:
    with pytest.raises(EngineError, match="podman inspect"):
        podman.state("shipml-no-such-container")


@pytest.mark.podman
def test_a_zstd_image_stays_oci_and_gets_its_healthcheck_from_flags(
    podman: Podman, store: Store, tmp_path: Path, cleanup: list[str]
) -> None:
    probe = ("CMD", "busybox", "wget", "-q", "-O", "-", "http://127.0.0.1:8080/v2/health/ready")
    check = Healthcheck(probe, interval_ns=30 * 10**9, retries=2)
    image = busybox_image(tmp_path / "layers", script=SERVE_AND_DRAIN, title="zstd",
                          healthcheck=check, compression=Compression.ZSTD)
    store.write(image, ref=Reference.parse("localhost/shipml-engine-test:zstd"))
    loaded = ensure_image(podman, store, "localhost/shipml-engine-test:zstd")
    cleanup.append(loaded.id)
    info = json.loads(podman.call("image", "inspect", loaded.id))[0]
    assert info["ManifestType"] == "application/vnd.oci.image.manifest.v1+json"
    options = _options(loaded, cleanup, healthcheck=loaded.config.config.healthcheck)
    start(podman, options, timeout_s=60)
    assert json.loads(podman.call("inspect", options.name))[0]["Config"]["Healthcheck"]["Test"] == [
        "CMD", *probe[1:]
    ]
    podman.call("healthcheck", "run", options.name)  # raises unless healthy
