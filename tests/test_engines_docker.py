"""Docker's command lines and output parsing; and, where the docker CLI is installed, the whole
engine for real against Podman's Docker-compatible API socket (no Docker daemon runs here)."""

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from shipml.engines.base import MANAGED_LABEL, Publish, RunOptions
from shipml.engines.docker import Docker, parse_labels, parse_ports
from shipml.engines.ready import start
from shipml.engines.transfer import ensure_image
from shipml.layout import Store
from shipml.oci.reference import Reference
from shipml.testing.engines import busybox_image, podman_usable, remove_engine_images
from shipml.testing.server import free_port

PS_LINE = {
    "Command": '"/bin/sh -c \'exec …"',
    "CreatedAt": "2026-11-27 09:30:00 +0000 UTC",
    "ID": "4f1c0ffee",
    "Image": "sha256:abc",
    "Labels": 'io.shipml.managed=true,io.shipml.ref=demo:1,io.shipml.signature={"a":1,"b":2}',
    "Names": "shipml-demo-1a2b3c",
    "Ports": "127.0.0.1:8080->8080/tcp, [::1]:8081->8080/tcp, 9000/tcp",
    "State": "running",
    "Status": "Up 3 seconds",
}


def test_run_arguments_are_detached_labelled_and_never_pull() -> None:
    options = RunOptions(
        image="abc123",
        name="m",
        publish=(Publish(9000, 8080),),
        env={"SHIPML_MAX_BATCH_SIZE": "8"},
        labels={"io.shipml.ref": "demo:1"},
        read_only=True,
    )
    assert Docker("/usr/bin/docker").run_args(options) == [
        "run", "--detach", "--pull", "never", "--name", "m",
        "--label", f"{MANAGED_LABEL}=true", "--label", "io.shipml.ref=demo:1",
        "--publish", "127.0.0.1:9000:8080",
        "--env", "SHIPML_MAX_BATCH_SIZE=8",
        "--read-only", "--tmpfs", "/tmp",
        "abc123",
    ]


def test_ps_lists_only_shipml_containers_as_json_lines() -> None:
    args = Docker("docker").ps_args(all_states=True)
    assert args[args.index("--filter") + 1] == f"label={MANAGED_LABEL}=true"
    assert "--all" in args and args[-2:] == ["--format", "{{json .}}"]


def test_ps_rows_are_parsed() -> None:
    out = json.dumps(PS_LINE) + "\n\n" + json.dumps({**PS_LINE, "ID": "2", "Names": "b,a/b"})
    first, second = Docker("docker").parse_ps(out)
    assert (first.id, first.name, first.state, first.status) == (
        "4f1c0ffee", "shipml-demo-1a2b3c", "running", "Up 3 seconds"
    )
    assert first.ref == "demo:1"
    assert first.labels["io.shipml.signature"] == '{"a":1,"b":2}'
    assert first.ports == (Publish(8080, 8080, "127.0.0.1"), Publish(8081, 8080, "::1"))
    assert second.name == "b"


def test_ports_column_variants() -> None:
    assert parse_ports("0.0.0.0:8080-8081->8080-8081/tcp, :::8080->8080/tcp") == (
        Publish(8080, 8080, "0.0.0.0"), Publish(8081, 8081, "0.0.0.0"), Publish(8080, 8080, "::"),
    )
    assert parse_ports("") == ()
    assert parse_ports("8080/tcp, 127.0.0.1:53->53/udp") == ()


def test_labels_column() -> None:
    assert parse_labels("") == {}
    assert parse_labels("a=1,b=x=y") == {"a": "1", "b": "x=y"}


def test_unreadable_ps_output_is_an_engine_error() -> None:
    from shipml.errors import EngineError

    with pytest.raises(EngineError, match="docker ps"):
        Docker("docker").parse_ps("{not json")


@pytest.fixture
def docker_on_podman(tmp_path: Path) -> Iterator[Docker]:
    """The docker CLI talking to `podman system service` on a private socket."""
    docker = shutil.which("docker")
    if docker is None or not podman_usable():
        pytest.skip("needs the docker CLI, podman and CONTAINERS_CONF (scripts/test.sh)")
    socket_path = tmp_path / "podman.sock"
    service = subprocess.Popen(
        ["podman", "system", "service", "--time=0", f"unix://{socket_path}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while not socket_path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    old = os.environ.get("DOCKER_HOST")
    os.environ["DOCKER_HOST"] = f"unix://{socket_path}"
    try:
        yield Docker(docker)
    finally:
        if old is None:
            del os.environ["DOCKER_HOST"]
        else:
            os.environ["DOCKER_HOST"] = old
        service.terminate()
        service.wait(timeout=30)


@pytest.mark.podman
def test_docker_engine_loads_runs_lists_and_stops(docker_on_podman: Docker, tmp_path: Path) -> None:
    store = Store.open(tmp_path / "store")
    image = busybox_image(tmp_path / "layers", title="docker-test")
    store.write(image, ref=Reference.parse("localhost/shipml-docker-test:1"))
    engine_image = ensure_image(docker_on_podman, store, "localhost/shipml-docker-test:1")
    name = f"shipml-docker-test-{free_port()}"
    try:
        assert engine_image.loaded
        assert docker_on_podman.image_id(engine_image.id) == engine_image.id
        options = RunOptions(engine_image.id, name, (Publish(free_port(), 8080),))
        started = start(docker_on_podman, options, timeout_s=60)
        assert started.url == options.publish[0].url
        [row] = [c for c in docker_on_podman.containers() if c.name == name]
        assert row.state == "running" and row.ports == options.publish
        assert b'{"msg":"starting"}\n' in list(docker_on_podman.logs(name))
        docker_on_podman.stop(name, timeout_s=1)
        assert not docker_on_podman.state(name).running
    finally:
        subprocess.run(["podman", "rm", "--force", name], capture_output=True, check=False)
        remove_engine_images(engine_image.id)
