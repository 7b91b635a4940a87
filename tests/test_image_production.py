"""The sklearn example's image, built by `shipml build`, behaves as a production container in
real Podman: non-root, read-only root, quick cold start, SIGTERM drain, JSON logs, environment
overrides, a healthcheck; run by `shipml run` from the store and from a registry."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from shipml.engines.podman import Podman
from shipml.engines.transfer import ensure_image
from shipml.layout import Store
from shipml.testing.cli import run_cli
from shipml.testing.engines import podman_usable, remove_engine_images
from shipml.testing.examples import BuiltExample
from shipml.testing.registry import LocalRegistry
from shipml.testing.server import ServerProcess, free_port

REF = "localhost/shipml-production-test:1"
INFER = "/v2/models/sklearn-classifier/infer"
pytestmark = [pytest.mark.podman, pytest.mark.slow]


@dataclass(frozen=True)
class Built:
    """The example project, the SHIPML_HOME whose store holds its image, and that env."""

    project: Path
    home: Path
    env: dict[str, str]


shipml = partial(run_cli, timeout=600)


def podman(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["podman", *args], capture_output=True, text=True, timeout=120)


def config_id(built: Built, ref: str) -> str:
    """The image's ID in Podman: its config digest."""
    return Store.open(built.home / "store").image(ref).manifest().config.digest.encoded


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, built_example: BuiltExample) -> Iterator[Built]:
    """The session's build of the example, named REF in a home of the module's own."""
    if not podman_usable():
        pytest.skip("needs podman and the sandbox CONTAINERS_CONF that scripts/test.sh writes")
    home = tmp_path_factory.mktemp("production") / "home"
    shutil.copytree(built_example.home, home)  # the tests build into it and pull from it
    env = {**os.environ, "SHIPML_HOME": str(home), "SHIPML_ENGINE": "podman"}
    result = shipml("tag", built_example.result["digest"], REF, env=env)
    assert result.returncode == 0, result.stderr
    made = Built(built_example.project, home, env)
    yield made
    remove_engine_images(config_id(made, REF))  # and any container of it


@pytest.fixture
def run(built: Built) -> Iterator[Any]:
    """``run(*args, env=...)``: `shipml run REF -d --json ARGS`; its JSON; removed after."""
    names: list[str] = []

    def start(*args: str, ref: str = REF, env: dict[str, str] | None = None) -> dict[str, Any]:
        result = shipml("run", ref, "-d", "--json", "-p", str(free_port()), *args,
                        env=env or built.env)
        assert result.returncode == 0, result.stderr
        info: dict[str, Any] = json.loads(result.stdout)
        names.append(info["name"])
        return info

    yield start
    for name in names:
        podman("rm", "--force", "--time", "0", name)


def post(url: str, body: bytes) -> dict[str, Any]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        answer: dict[str, Any] = json.loads(response.read())
    return answer


def inspect(name: str) -> dict[str, Any]:
    info: dict[str, Any] = json.loads(podman("inspect", name).stdout)[0]
    return info


def test_cold_start_runs_as_non_root_and_answers_like_shipml_serve(
    built: Built, run: Any, sklearn_server: ServerProcess
) -> None:
    info = run()
    print(f"\ncold start (podman run to /v2/health/ready): {info['ready_s']:.2f} s")
    uid = podman("exec", info["name"], "id", "-u").stdout.strip()
    assert uid != "0" and uid == inspect(info["name"])["Config"]["User"].split(":")[0]
    assert uid == "10001"
    body = (built.project / "request.json").read_bytes()
    answer = post(info["url"] + INFER, body)
    assert answer["outputs"] == post(sklearn_server.url + INFER, body)["outputs"]


def test_read_only_root_with_a_writable_tmp_only(built: Built, run: Any) -> None:
    info = run("--read-only")
    name = info["name"]
    assert inspect(name)["HostConfig"]["ReadonlyRootfs"] is True
    post(info["url"] + INFER, (built.project / "request.json").read_bytes())
    assert podman("exec", name, "touch", "/tmp/ok").returncode == 0
    for path in ("/srv/shipml/x", "/opt/shipml/site/x", "/var/tmp/x", "/x"):
        assert podman("exec", "--user", "0", name, "touch", path).returncode != 0, path


def test_logs_are_json_lines_on_stdout(built: Built, run: Any) -> None:
    info = run()
    post(info["url"] + INFER, (built.project / "request.json").read_bytes())
    with pytest.raises(urllib.error.HTTPError):
        post(info["url"] + "/v2/models/nope/infer", b"{}")
    logs = podman("logs", info["name"])
    assert logs.stderr == ""  # podman logs replays the container's stderr on its stderr
    lines = [json.loads(line) for line in logs.stdout.splitlines()]
    assert len(lines) >= 3
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    assert any(line["message"] == "model ready" for line in lines)


def test_environment_overrides_port_and_batching_and_the_healthcheck_follows(
    built: Built, run: Any
) -> None:
    info = run("-e", "SHIPML_PORT=9090", "-e", "SHIPML_MAX_BATCH_SIZE=1",
               "-e", "SHIPML_MAX_LATENCY_MS=20")
    name = info["name"]
    assert inspect(name)["HostConfig"]["PortBindings"]["9090/tcp"] == [
        {"HostIp": "127.0.0.1", "HostPort": info["url"].rsplit(":", 1)[1]}
    ]
    row = json.dumps({"inputs": [{"name": "input-0", "datatype": "FP64", "shape": [1, 20],
                                  "data": [0.0] * 20}]}).encode()
    threads = [threading.Thread(target=post, args=(info["url"] + INFER, row)) for _ in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    metrics = urllib.request.urlopen(info["url"] + "/metrics", timeout=10).read().decode()
    count, total = (_metric(metrics, f"shipml_batch_size_{k}") for k in ("count", "sum"))
    assert total >= 24 and count == total, "a batch held more than SHIPML_MAX_BATCH_SIZE=1 rows"
    starting = json.loads(podman("logs", name).stdout.splitlines()[0])
    assert starting["message"] == "starting" and starting["port"] == 9090
    # The image's healthcheck GETs /v2/health/ready on SHIPML_PORT.
    assert inspect(name)["Config"]["Healthcheck"]["Test"][:2] == ["CMD", "python3"]
    health = podman("healthcheck", "run", name)
    assert health.returncode == 0, health.stdout + health.stderr


def _metric(text: str, name: str) -> float:
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + " "))


def test_sigterm_under_load_loses_no_accepted_request(built: Built, run: Any) -> None:
    info = run()
    row = json.dumps({"inputs": [{"name": "input-0", "datatype": "FP64", "shape": [1, 20],
                                  "data": [0.5] * 20}]}).encode()
    answered: list[int] = []
    stop = threading.Event()

    def client() -> None:
        # After SIGTERM new connections are refused or reset before the server reads them;
        # every request the server read must be answered and reach its client.
        while not stop.is_set():
            try:
                post(info["url"] + INFER, row)
            except (urllib.error.URLError, ConnectionError):
                return
            answered.append(200)

    threads = [threading.Thread(target=client) for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    stopped = podman("stop", "--time", "30", info["name"])
    stop.set()
    for t in threads:
        t.join(30)
    assert stopped.returncode == 0, stopped.stderr
    state = inspect(info["name"])["State"]
    assert state["ExitCode"] == 0
    last = [json.loads(line) for line in podman("logs", info["name"]).stdout.splitlines()
            if '"stopped"' in line]
    assert len(answered) > 10
    assert last[0]["inference_responses"] == len(answered), "an accepted request was lost"


def test_run_pulls_from_a_registry_into_an_empty_store(
    built: Built, run: Any, registry: LocalRegistry, tmp_path: Path,
    sklearn_server: ServerProcess,
) -> None:
    remote = f"{registry.host}/team/sklearn-classifier:1.0.0"
    assert shipml("push", REF, remote, env=built.env).returncode == 0
    elsewhere = {**built.env, "SHIPML_HOME": str(tmp_path / "other-home")}
    info = run(ref=remote, env=elsewhere)
    body = (built.project / "request.json").read_bytes()
    answer = post(info["url"] + INFER, body)
    assert answer["outputs"] == post(sklearn_server.url + INFER, body)["outputs"]


def test_a_bad_model_is_reported_with_its_log_lines(built: Built, tmp_path: Path) -> None:
    project = tmp_path / "broken"
    shutil.copytree(built.project, project)
    model = project / "model.joblib"
    model.write_bytes(model.read_bytes()[:200])  # a joblib header, then nothing
    ref = "localhost/shipml-production-test:broken"
    result = shipml("build", str(project), "-t", ref, env=built.env)
    assert result.returncode == 0, result.stderr
    try:
        failed = shipml("run", ref, "-p", str(free_port()), "--timeout", "120", env=built.env)
    finally:
        remove_engine_images(config_id(built, ref))
    assert failed.returncode == 7 and failed.stdout == ""
    assert "runs, but its model failed to load; its last log lines:" in failed.stderr
    assert "not a readable joblib/pickle file" in failed.stderr
    assert '"level": "error"' in failed.stderr and "hint" not in failed.stderr


def test_sigterm_while_the_model_loads_exits_cleanly(built: Built) -> None:
    image = ensure_image(Podman("podman"), Store.open(built.home / "store"), REF).id
    name = f"shipml-production-load-{free_port()}"
    try:
        assert podman("run", "-d", "--name", name, image).returncode == 0
        began = time.monotonic()
        assert podman("stop", "--time", "30", name).returncode == 0
        assert time.monotonic() - began < 25, "SIGTERM did not stop the loading server"
        assert inspect(name)["State"]["ExitCode"] == 0
    finally:
        podman("rm", "--force", name)
