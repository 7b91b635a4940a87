"""`shipml init`, `shipml serve` and `shipml predict` as a user runs them."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from functools import partial
from pathlib import Path

import httpx
import yaml

from shipml.testing.cli import SHIPML, run_cli
from shipml.testing.server import ServerProcess, free_port

shipml = partial(run_cli, timeout=120)


def test_init_writes_a_spec_for_a_recognised_model(sklearn_project: Path, tmp_path: Path) -> None:
    project = tmp_path / "My Model"
    project.mkdir()
    shutil.copy(sklearn_project / "model.joblib", project)
    r = shipml("init", str(project / "model.joblib"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(project / "shipml.yaml")
    spec = yaml.safe_load((project / "shipml.yaml").read_text())
    assert spec["name"] == "my-model"
    assert spec["model"] == {"path": "model.joblib", "flavor": "sklearn"}
    assert any(req.startswith("scikit-learn==") for req in spec["requirements"])
    again = shipml("init", str(project / "model.joblib"))
    assert again.returncode == 2 and "already exists" in again.stderr and "--force" in again.stderr


def test_init_refuses_an_unknown_file(tmp_path: Path) -> None:
    (tmp_path / "notes.csv").write_text("a,b\n")
    r = shipml("init", str(tmp_path / "notes.csv"))
    assert r.returncode == 3
    assert "not a model file shipml recognises" in r.stderr and "supported" in r.stderr
    missing = shipml("init", str(tmp_path / "nope.joblib"))
    assert missing.returncode == 3 and "does not exist" in missing.stderr


def test_serve_and_predict(sklearn_project: Path) -> None:
    port = free_port()
    server = subprocess.Popen(
        [SHIPML, "serve", str(sklearn_project), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/v2/health/ready").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        r = shipml("predict", url, "--data", f"@{sklearn_project / 'request.json'}")
        assert r.returncode == 0, r.stderr
        answer = json.loads(r.stdout)
        assert answer["outputs"][0]["name"] == "predict_proba"
        assert answer["outputs"][0]["shape"] == [2, 2]
        bad = shipml("predict", url, "--data", '{"inputs": []}')
        assert bad.returncode != 0 and "HTTP 400" in bad.stderr and "needs 'inputs'" in bad.stderr
    finally:
        server.terminate()
        assert server.wait(30) == 0


def test_predict_errors_are_clear(tmp_path: Path) -> None:
    r = shipml("predict", "http://127.0.0.1:9/", "--data", "{not json")
    assert r.returncode == 1 and "--data: not valid JSON" in r.stderr
    down = shipml("predict", f"http://127.0.0.1:{free_port()}", "--data", "{}")
    assert down.returncode == 1 and "cannot reach" in down.stderr


def test_serve_reports_a_bad_spec(tmp_path: Path) -> None:
    (tmp_path / "shipml.yaml").write_text("name: x\n")
    r = shipml("serve", str(tmp_path))
    assert r.returncode == 2 and "model: required field is missing" in r.stderr


def test_serve_answers_with_several_workers(sklearn_project: Path) -> None:
    with ServerProcess(sklearn_project, env={"SHIPML_WORKERS": "2"}) as server:
        body = json.loads((sklearn_project / "request.json").read_text())
        for _ in range(4):
            r = httpx.post(f"{server.url}/v2/models/sklearn-classifier/infer", json=body)
            assert r.status_code == 200


def test_serve_refuses_port_0_as_a_usage_error(tmp_path: Path) -> None:
    # The spec is incomplete on purpose: a --port 0 that got through would end on its error.
    (tmp_path / "shipml.yaml").write_text("name: x\n")
    r = shipml("serve", str(tmp_path), "--port", "0")
    assert r.returncode == 2 and "'--port': 0 is not in the range 1<=x<=65535" in r.stderr
