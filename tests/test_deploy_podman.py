"""The generated Deployment run for real by `podman kube play`: its pod serves predictions.

The image is built by `shipml build`, pushed to a real registry on 127.0.0.1 and pulled by
digest, as a kubelet would; the pod spec is exactly what `shipml deploy --dry-run` prints.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import yaml

from shipml.runtime.flavors import load_predictor
from shipml.spec import load_spec
from shipml.testing.cli import SHIPML
from shipml.testing.examples import BuiltExample
from shipml.testing.registry import LocalRegistry, local_registry, registry_available
from shipml.testing.server import free_port, wait_ok

pytestmark = [pytest.mark.podman, pytest.mark.registry, pytest.mark.slow]


def run(*args: str, timeout: float = 600) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(args)}: {done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    if shutil.which("podman") is None or not os.environ.get("CONTAINERS_CONF"):
        pytest.skip("needs podman and the sandbox CONTAINERS_CONF that scripts/test.sh writes")
    if not registry_available():
        pytest.skip("docker-registry is not installed")
    with local_registry(tmp_path_factory.mktemp("registry")) as running:
        yield running


@pytest.fixture(scope="module")
def pinned(registry: LocalRegistry, built_example: BuiltExample) -> str:
    """The example built by `shipml build` and pushed by `shipml push`: repo@sha256:..."""
    store = str(built_example.home / "store")  # push only reads it
    repository = f"{registry.host}/models/sklearn-classifier"
    digest = run(SHIPML, "push", built_example.result["digest"], f"{repository}:1.0.0",
                 "--store", store).strip()
    return f"{repository}@{digest}"


@pytest.fixture
def played(pinned: str, sklearn_project: Path, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """The generated Deployment, on a free port, running under `podman kube play`."""
    port = free_port()  # kube play publishes container ports on the host
    spec_dir = tmp_path / "deploy"
    spec_dir.mkdir()
    spec = yaml.safe_load((sklearn_project / "shipml.yaml").read_text())
    spec["serve"]["port"] = port
    (spec_dir / "shipml.yaml").write_text(yaml.safe_dump(spec))
    printed = run(SHIPML, "deploy", pinned, "--project", str(spec_dir), "--dry-run", "-o", "json")
    [deployment] = [o for o in json.loads(printed)["items"] if o["kind"] == "Deployment"]
    manifest = tmp_path / "deployment.yaml"
    manifest.write_text(yaml.safe_dump(deployment))
    run("podman", "kube", "play", "--tls-verify=false", str(manifest))
    try:
        yield deployment
    finally:
        subprocess.run(["podman", "kube", "down", str(manifest)], capture_output=True, timeout=120)


def container_of(deployment: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The generated container, and the name podman gives it (<deployment>-pod-0-<container>)."""
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return container, f"{deployment['metadata']['name']}-pod-0-{container['name']}"


def test_pod_serves_predictions_with_the_generated_probes_and_port(
    played: dict[str, Any], sklearn_project: Path
) -> None:
    container, _ = container_of(played)
    [port] = [p["containerPort"] for p in container["ports"]]
    base = f"http://127.0.0.1:{port}"
    url = base + container["startupProbe"]["httpGet"]["path"]
    assert wait_ok(url, 180), f"{url} not ready after 180 s"
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        get = container[probe]["httpGet"]
        assert get["port"] == port
        assert httpx.get(f"{base}{get['path']}", timeout=5).status_code == 200, probe
    assert "shipml_inflight_requests" in httpx.get(f"{base}/metrics", timeout=5).text

    name = load_spec(sklearn_project).name
    request = json.loads((sklearn_project / "request.json").read_text())
    response = httpx.post(f"{base}/v2/models/{name}/infer", json=request, timeout=30)
    assert response.status_code == 200, response.text
    predictor = load_predictor(load_spec(sklearn_project).model, sklearn_project)
    dtypes = {t.name: t.dtype for t in predictor.signature.inputs}
    inputs = {t["name"]: np.array(t["data"]).reshape(t["shape"]).astype(dtypes[t["name"]])
              for t in request["inputs"]}
    requested = predictor.signature.check_outputs(o["name"] for o in request.get("outputs", []))
    expected = predictor.predict(inputs, requested)
    outputs = response.json()["outputs"]
    assert [o["name"] for o in outputs] == list(requested)
    for output in outputs:
        want = expected[output["name"]]
        np.testing.assert_array_equal(np.array(output["data"], want.dtype).reshape(want.shape),
                                      want)


def test_container_runs_locked_down_as_generated(played: dict[str, Any]) -> None:
    container, podman_name = container_of(played)
    [port] = [p["containerPort"] for p in container["ports"]]
    url = f"http://127.0.0.1:{port}/v2/health/ready"
    assert wait_ok(url, 180), f"{url} not ready after 180 s"
    [info] = json.loads(run("podman", "inspect", podman_name))
    assert info["HostConfig"]["ReadonlyRootfs"] is True
    assert "no-new-privileges" in info["HostConfig"]["SecurityOpt"]
    assert f"SHIPML_PORT={port}" in info["Config"]["Env"]
    assert [m["Destination"] for m in info["Mounts"]] == ["/tmp"]
    liveness = container["livenessProbe"]
    health = info["Config"]["Healthcheck"]
    assert (health["Interval"], health["Timeout"], health["Retries"]) == (
        liveness["periodSeconds"] * 10**9, liveness["timeoutSeconds"] * 10**9,
        liveness["failureThreshold"])
    assert f"http://localhost:{port}{liveness['httpGet']['path']}" in health["Test"]

    check = (
        "import os, pathlib\n"
        "status = pathlib.Path('/proc/self/status').read_text()\n"
        "print(os.getuid(), os.getgid())\n"
        "print([l for l in status.splitlines() if l.startswith(('CapEff', 'NoNewPrivs', "
        "'Seccomp:'))])\n"
        "pathlib.Path('/tmp/ok').write_text('x')\n"
        "try:\n    pathlib.Path('/ro').write_text('x')\nexcept OSError as e:\n"
        "    print('root fs:', e.strerror)\n"
    )
    out = run("podman", "exec", podman_name, "python3", "-c", check).splitlines()
    uid, _ = out[0].split()
    assert uid != "0"  # runAsNonRoot: the image's numeric non-root user
    assert out[1] == "['CapEff:\\t0000000000000000', 'NoNewPrivs:\\t1', 'Seccomp:\\t2']"
    assert out[2] == "root fs: Read-only file system"
