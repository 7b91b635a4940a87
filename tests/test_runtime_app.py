"""The model server as a real process on 127.0.0.1: protocols, errors, batching, 503, drain."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import joblib
import numpy as np
import pytest

from shipml.testing.server import ServerProcess, free_port

MODEL = "sklearn-classifier"


def infer_url(server: ServerProcess, model: str = MODEL) -> str:
    return infer_url_for(server.url, model)


def infer_url_for(base: str, model: str = MODEL) -> str:
    return f"{base}/v2/models/{model}/infer"


def v2_body(rows: np.ndarray, outputs: tuple[str, ...] = ("predict_proba",)) -> dict[str, object]:
    return {
        "inputs": [
            {
                "name": "input-0",
                "datatype": "FP64",
                "shape": list(rows.shape),
                "data": rows.ravel().tolist(),
            }
        ],
        "outputs": [{"name": o} for o in outputs],
    }


@pytest.fixture(scope="module")
def estimator(sklearn_project: Path):  # type: ignore[no-untyped-def]
    return joblib.load(sklearn_project / "model.joblib")


@pytest.fixture(scope="module")
def rows() -> np.ndarray:
    return np.random.default_rng(7).normal(size=(40, 20))


# ------------------------------------------------------------------ health and metadata


def test_health_and_server_metadata(sklearn_server: ServerProcess) -> None:
    assert httpx.get(f"{sklearn_server.url}/v2/health/live").json() == {"live": True}
    assert httpx.get(f"{sklearn_server.url}/v2/health/ready").json() == {"ready": True}
    meta = httpx.get(f"{sklearn_server.url}/v2").json()
    assert meta["name"] == "shipml" and "version" in meta
    ready = httpx.get(f"{sklearn_server.url}/v2/models/{MODEL}/ready")
    assert ready.status_code == 200 and ready.json()["ready"] is True
    assert (
        httpx.get(f"{sklearn_server.url}/v2/models/{MODEL}/versions/1.0.0/ready").status_code == 200
    )


def test_model_metadata_gives_the_signature(sklearn_server: ServerProcess) -> None:
    meta = httpx.get(f"{sklearn_server.url}/v2/models/{MODEL}").json()
    assert meta["name"] == MODEL and meta["versions"] == ["1.0.0"]
    assert meta["inputs"] == [{"name": "input-0", "datatype": "FP64", "shape": [-1, 20]}]
    assert [o["name"] for o in meta["outputs"]] == ["predict", "predict_proba"]


def test_openapi_and_docs(sklearn_server: ServerProcess) -> None:
    doc = httpx.get(f"{sklearn_server.url}/openapi.json").json()
    assert doc["openapi"].startswith("3.") and f"/v2/models/{MODEL}/infer" in doc["paths"]
    page = httpx.get(f"{sklearn_server.url}/docs")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert f"/v2/models/{MODEL}/infer" in page.text


# ------------------------------------------------------------------ inference


def test_v2_infer_equals_in_process(sklearn_server: ServerProcess, estimator, rows) -> None:  # type: ignore[no-untyped-def]
    body = v2_body(rows[:5], ("predict_proba", "predict"))
    body["id"] = "req-1"
    doc = httpx.post(infer_url(sklearn_server), json=body).json()
    assert doc["model_name"] == MODEL and doc["model_version"] == "1.0.0" and doc["id"] == "req-1"
    out = {o["name"]: o for o in doc["outputs"]}
    assert out["predict_proba"]["shape"] == [5, 2] and out["predict_proba"]["datatype"] == "FP64"
    np.testing.assert_array_equal(
        np.array(out["predict_proba"]["data"]).reshape(5, 2), estimator.predict_proba(rows[:5])
    )
    assert out["predict"]["data"] == estimator.predict(rows[:5]).tolist()


def test_v2_default_output_nested_data_and_version_path(
    sklearn_server: ServerProcess,
    estimator,
    rows,  # type: ignore[no-untyped-def]
) -> None:
    body = {
        "inputs": [
            {"name": "input-0", "datatype": "FP64", "shape": [2, 20], "data": rows[:2].tolist()}
        ]
    }
    url = f"{sklearn_server.url}/v2/models/{MODEL}/versions/1.0.0/infer"
    doc = httpx.post(url, json=body).json()
    assert [o["name"] for o in doc["outputs"]] == ["predict"]
    assert doc["outputs"][0]["data"] == estimator.predict(rows[:2]).tolist()


def test_v1_predict(sklearn_server: ServerProcess, estimator, rows) -> None:  # type: ignore[no-untyped-def]
    url = f"{sklearn_server.url}/v1/models/{MODEL}:predict"
    doc = httpx.post(url, json={"instances": rows[:3].tolist()}).json()
    assert doc == {"predictions": estimator.predict(rows[:3]).tolist()}
    assert httpx.get(f"{sklearn_server.url}/v1/models/{MODEL}").json() == {
        "name": MODEL,
        "ready": True,
    }
    assert httpx.get(f"{sklearn_server.url}/v1/models").json() == {"models": [MODEL]}


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("path", "body", "status", "message"),
    [
        (f"/v2/models/{MODEL}/infer", b'{"inputs": [', 400, "not valid JSON"),
        (f"/v2/models/{MODEL}/infer", b'{"input": []}', 400, "needs 'inputs'"),
        (
            f"/v2/models/{MODEL}/infer",
            b'{"inputs": [{"name": "input-0", "datatype": "FP64", "shape": [1, 3], '
            b'"data": [1, 2, 3]}]}',
            400,
            r"expected shape [-1, 20], got [1, 3]",
        ),
        (
            f"/v2/models/{MODEL}/infer",
            b'{"inputs": [{"name": "input-0", "datatype": "BYTES", "shape": [1, 20], "data": '
            + json.dumps(["a"] * 20).encode()
            + b"}]}",
            400,
            "expected datatype FP64, got BYTES",
        ),
        (
            f"/v2/models/{MODEL}/infer",
            b'{"inputs": [{"name": "x", "datatype": "FP64", "shape": [1, 20], "data": '
            + json.dumps([0.0] * 20).encode()
            + b"}]}",
            400,
            "unknown input 'x'",
        ),
        (
            f"/v2/models/{MODEL}/infer",
            b'{"inputs": [{"name": "input-0", "datatype": "FP64", "shape": [1, 20]}]}',
            400,
            "needs 'data'",
        ),
        (
            f"/v2/models/{MODEL}/infer",
            b'{"inputs": [{"name": "input-0", "datatype": "FP64", "shape": [1, 20], "data": '
            + json.dumps([0.0] * 20).encode()
            + b'}], "outputs": [{"name": "logits"}]}',
            400,
            "unknown output 'logits'",
        ),
        ("/v2/models/nope/infer", b"{}", 404, "model 'nope' not found"),
        (f"/v2/models/{MODEL}/versions/9/infer", b"{}", 404, "no version '9'"),
        (f"/v1/models/{MODEL}:predict", b'{"instances": "x"}', 400, "needs 'instances'"),
        (f"/v1/models/{MODEL}:explain", b"{}", 404, "unknown verb"),
        ("/v3/whatever", b"{}", 404, "no endpoint"),
    ],
)
def test_bad_requests_get_a_4xx_naming_the_problem(
    sklearn_server: ServerProcess, path: str, body: bytes, status: int, message: str
) -> None:
    r = httpx.post(
        sklearn_server.url + path, content=body, headers={"content-type": "application/json"}
    )
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert message in error
    assert "Traceback" not in r.text


def test_wrong_method(sklearn_server: ServerProcess) -> None:
    assert httpx.get(infer_url(sklearn_server)).status_code == 405
    assert httpx.post(f"{sklearn_server.url}/v2/health/ready").status_code == 405


def test_nan_refused_where_the_model_forbids_it(tmp_path: Path, serve_project) -> None:  # type: ignore[no-untyped-def]
    from sklearn.linear_model import LogisticRegression

    x = np.random.default_rng(0).normal(size=(50, 3))
    joblib.dump(LogisticRegression().fit(x, x[:, 0] > 0), tmp_path / "model.joblib")
    (tmp_path / "shipml.yaml").write_text("name: logreg\nmodel:\n  path: model.joblib\n")
    with serve_project(tmp_path) as server:
        body = {
            "inputs": [
                {"name": "input-0", "datatype": "FP64", "shape": [1, 3], "data": [1.0, None, 2.0]}
            ]
        }
        r = httpx.post(infer_url(server, "logreg"), json=body)
        assert r.status_code == 400 and "NaN" in r.json()["error"]


def test_oversized_body_is_413(sklearn_project: Path, serve_project) -> None:  # type: ignore[no-untyped-def]
    with serve_project(sklearn_project, env={"SHIPML_MAX_BODY_BYTES": "2048"}) as server:
        big = v2_body(np.zeros((100, 20)))
        r = httpx.post(infer_url(server), json=big)
        assert r.status_code == 413 and "serve.max_body_bytes" in r.json()["error"]
        small = httpx.post(infer_url(server), json=v2_body(np.zeros((1, 20))))
        assert small.status_code == 200


# ------------------------------------------------------------------ batching, backpressure


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in metrics")


def test_concurrent_requests_are_batched_and_each_gets_its_rows(
    sklearn_project: Path,
    serve_project,
    estimator,  # type: ignore[no-untyped-def]
) -> None:
    rng = np.random.default_rng(1)
    requests = [rng.normal(size=(1 + i % 3, 20)) for i in range(240)]
    with serve_project(sklearn_project) as server:
        before = httpx.get(f"{server.url}/metrics").text

        def call(x: np.ndarray) -> np.ndarray:
            with httpx.Client() as c:
                doc = c.post(infer_url(server), json=v2_body(x)).json()
            return np.array(doc["outputs"][0]["data"]).reshape(len(x), 2)

        with ThreadPoolExecutor(32) as pool:
            answers = list(pool.map(call, requests))
        after = httpx.get(f"{server.url}/metrics").text
    for x, got in zip(requests, answers, strict=True):
        np.testing.assert_array_equal(got, estimator.predict_proba(x))
    calls = _metric(after, "shipml_batch_size_count") - _metric(before, "shipml_batch_size_count")
    rows = _metric(after, "shipml_batch_size_sum") - _metric(before, "shipml_batch_size_sum")
    assert rows == sum(len(x) for x in requests)
    assert calls < len(requests), "concurrent requests were never merged into one predict call"
    assert 'shipml_requests_total{endpoint="v2_infer",status="200"}' in after
    for name in (
        "shipml_request_duration_seconds_bucket",
        "shipml_queue_depth",
        "shipml_inflight_requests",
        "shipml_model_load_seconds",
    ):
        assert name in after


def test_past_the_queue_limit_answers_503_with_retry_after(
    sklearn_project: Path,
    serve_project,  # type: ignore[no-untyped-def]
) -> None:
    with serve_project(sklearn_project, env={"SHIPML_MAX_QUEUE": "1"}) as server:
        body = v2_body(np.zeros((2000, 20)))  # slow enough to keep the inference thread busy

        def call(_: int) -> httpx.Response:
            return httpx.post(infer_url(server), json=body, timeout=60)

        with ThreadPoolExecutor(12) as pool:
            responses = list(pool.map(call, range(12)))
        codes = sorted(r.status_code for r in responses)
        assert set(codes) <= {200, 503} and 503 in codes and 200 in codes
        refused = next(r for r in responses if r.status_code == 503)
        assert refused.headers["retry-after"] == "1"
        assert "serve.max_queue" in refused.json()["error"]
        assert httpx.get(f"{server.url}/v2/health/ready").status_code == 200


# ------------------------------------------------------------------ drain


def test_sigterm_under_load_loses_no_accepted_request(
    sklearn_project: Path,
    serve_project,  # type: ignore[no-untyped-def]
) -> None:
    server = serve_project(sklearn_project).start()
    body = v2_body(np.zeros((1, 20)))
    results: list[int] = []
    stop = threading.Event()

    def client() -> None:
        # After SIGTERM new connections are refused or reset before the server reads them;
        # every request the server read must be answered, and reach its client.
        with httpx.Client(timeout=30) as c:
            while not stop.is_set():
                try:
                    r = c.post(infer_url(server), json=body)
                except httpx.TransportError:
                    return
                results.append(r.status_code)

    threads = [threading.Thread(target=client) for _ in range(16)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    server.terminate()
    assert server.process is not None
    code = server.process.wait(30)
    stop.set()
    for t in threads:
        t.join(30)
    assert code == 0, server.log()
    assert len(results) > 10 and set(results) == {200}
    stopped = [json.loads(line) for line in server.log().splitlines() if '"stopped"' in line]
    assert stopped[0]["inference_responses"] == len(results), "a request the server read was lost"


def test_a_request_during_the_model_load_waits_for_it(sklearn_project: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "shipml.runtime", str(sklearn_project), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                live = httpx.get(f"{url}/v2/health/live")
                break
            except httpx.TransportError:
                time.sleep(0.02)
        assert live.status_code == 200
        ready_before = httpx.get(f"{url}/v2/health/ready").status_code
        r = httpx.post(infer_url_for(url), json=v2_body(np.zeros((1, 20))), timeout=60)
        assert r.status_code == 200, r.text
        assert ready_before in (200, 503)
    finally:
        server.terminate()
        assert server.wait(30) == 0


def test_bad_spec_fails_fast_with_a_clear_message(tmp_path: Path) -> None:
    (tmp_path / "shipml.yaml").write_text("name: x\nmodel:\n  path: m.joblib\nserve:\n  prot: 1\n")
    r = subprocess.run(
        [sys.executable, "-m", "shipml.runtime", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2
    assert "serve.prot: unknown key" in r.stderr
