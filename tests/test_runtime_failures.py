"""A misbehaving model behind a real server: exceptions, slow predictions, draining them."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from shipml.testing.server import ServerProcess

PREDICTOR = '''
import time
import numpy as np


class Flaky:
    """Doubles its input; raises on 13, sleeps a second on 42 and 2 s on 77."""

    def predict(self, inputs):
        x = inputs["x"]
        if (x == 13).any():
            raise ValueError("unlucky number")
        if (x == 42).any():
            time.sleep(1.0)
        if (x == 77).any():
            time.sleep(2.0)
        return x[:, 0] * 2
'''

SPEC = """\
name: flaky
model:
  path: .
  predictor: flaky.py:Flaky
  signature:
    inputs: [{name: x, datatype: FP64, shape: [-1, 1]}]
    outputs: [{name: y, datatype: FP64, shape: [-1]}]
"""


@pytest.fixture(scope="module")
def flaky_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = tmp_path_factory.mktemp("flaky")
    (project / "flaky.py").write_text(PREDICTOR)
    (project / "shipml.yaml").write_text(SPEC)
    return project


def call(server: ServerProcess, value: float, timeout: float = 30) -> httpx.Response:
    body = {"inputs": [{"name": "x", "datatype": "FP64", "shape": [1, 1], "data": [value]}]}
    return httpx.post(f"{server.url}/v2/models/flaky/infer", json=body, timeout=timeout)


def test_model_exception_is_500_alone_and_the_server_stays_up(
    flaky_project: Path, serve_project
) -> None:  # type: ignore[no-untyped-def]
    with serve_project(flaky_project) as server:
        with ThreadPoolExecutor(8) as pool:
            responses = list(pool.map(lambda v: call(server, v), [1, 2, 13, 3, 4, 13, 5, 6]))
        codes = [r.status_code for r in responses]
        assert codes == [200, 200, 500, 200, 200, 500, 200, 200]
        error = responses[2].json()["error"]
        assert "ValueError" in error and "unlucky number" in error
        assert "Traceback" not in responses[2].text
        assert responses[0].json()["outputs"][0]["data"] == [2.0]
        assert call(server, 7).status_code == 200
        assert "Traceback" in server.log()  # the server keeps the traceback for its operator


def test_request_timeout_is_504(flaky_project: Path, serve_project) -> None:  # type: ignore[no-untyped-def]
    with serve_project(flaky_project, env={"SHIPML_REQUEST_TIMEOUT_S": "0.3"}) as server:
        r = call(server, 42)
        assert r.status_code == 504 and "serve.request_timeout_s" in r.json()["error"]
        time.sleep(1.0)  # the slow prediction still occupies the inference thread until it ends
        assert call(server, 1).status_code == 200


def test_sigterm_lets_slow_in_flight_requests_finish(flaky_project: Path, serve_project) -> None:  # type: ignore[no-untyped-def]
    server = serve_project(flaky_project).start()
    with ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(call, server, 77) for _ in range(3)]
        futures += [pool.submit(call, server, v) for v in (1, 2, 3)]
        time.sleep(0.5)  # all six are accepted; the first slow batch is running
        server.terminate()
        ready_during_drain = threading.Event()

        def probe() -> None:
            try:
                if httpx.get(f"{server.url}/v2/health/ready", timeout=1).status_code == 503:
                    ready_during_drain.set()
            except httpx.TransportError:
                ready_during_drain.set()  # the listener is already closed: not ready either

        probe()
        responses = [f.result() for f in futures]
    assert server.process is not None and server.process.wait(30) == 0
    assert [r.status_code for r in responses] == [200] * 6
    assert ready_during_drain.is_set()
    stopped = [json.loads(line) for line in server.log().splitlines() if '"stopped"' in line]
    assert stopped and stopped[0]["inference_responses"] == 6
