"""Serving benchmark: shipml and the anchor servers, in one run, through the shared harness.

    bash bench/setup_anchors.sh            # once: the anchors' venvs and wrk
    .venv/bin/python bench/serve.py        # 1 round of every server (about 15 minutes)
    .venv/bin/python bench/serve.py --rounds 2 --only shipml,fastapi-async,mlserver-batch

Each server answers one row of 20 floats per request (the sklearn example's model, trained with
the same seed as the anchors' model), pinned to CPU 0 with wrk on CPU 1: 64 connections for
throughput, 1 connection for latency; batching servers also get a fresh server at 1 connection.
The harness is ../shared/bench/serve_bench.py via anchors/run_all.py; this script adds shipml's
configuration to the anchors' and prints the side-by-side table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from shipml.testing.examples import train_example

ROOT = Path(__file__).resolve().parent.parent
SHARED_BENCH = Path(os.environ.get("SHIPML_SHARED_BENCH", ROOT.parent / "shared" / "bench"))
ANCHORS = SHARED_BENCH / "anchors"
PORT = 18050


def shipml_config(project: Path) -> dict[str, object]:
    url = f"http://127.0.0.1:{PORT}"
    return {
        "name": "shipml",
        "server": "shipml",
        "config": "plain ASGI on uvicorn+httptools, adaptive batching (64 rows), 1 worker",
        "cwd": str(project),
        "env": {"OMP_NUM_THREADS": "1"},
        "fresh_1c": True,
        "start": f"{sys.executable} -m shipml.runtime {project} --host 127.0.0.1 --port {PORT}",
        "ready_url": f"{url}/v2/health/ready",
        "url": f"{url}/v2/models/sklearn-classifier/infer",
        "body_file": "anchors/bodies/v2.json",
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument(
        "--only", default=None, help="comma list of server names (shipml is always run)"
    )
    ap.add_argument(
        "--out", type=Path, default=None, help="JSONL results (default: bench/results/)"
    )
    ap.add_argument("--venvs", default=os.environ.get("BENCH_VENVS", "/tmp/bench-venvs"))
    ap.add_argument(
        "run_all_args", nargs="*", help="passed to run_all.py after --, e.g. -- --dur-hi 5"
    )
    a = ap.parse_args()
    if not (Path(a.venvs) / "fastapi" / "bin" / "python").exists():
        sys.exit(f"anchors not installed in {a.venvs}: run bash bench/setup_anchors.sh first")
    anchors = json.loads((ANCHORS / "configs.json").read_text())
    out = a.out or ROOT / "bench" / "results" / f"serve-{time.strftime('%Y%m%d-%H%M%S')}.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="shipml-bench-") as tmp:
        project = train_example(ROOT / "examples", "sklearn-classifier", Path(tmp))
        # The anchors load the same model (same seed and scikit-learn version as their own
        # train.py); the harness checks every server's answer against anchors/expected.json.
        model_dir = Path(a.venvs) / "model"
        model_dir.mkdir(exist_ok=True)
        shutil.copyfile(project / "model.joblib", model_dir / "model.joblib")
        configs = [shipml_config(project), *anchors]
        if a.only:
            keep = {"shipml", *a.only.split(",")}
            configs = [c for c in configs if c["name"] in keep]
        config_file = Path(tmp) / "configs.json"
        config_file.write_text(json.dumps(configs))
        run_all = [
            sys.executable,
            str(ANCHORS / "run_all.py"),
            "--configs",
            str(config_file),
            "--venvs",
            a.venvs,
        ]
        subprocess.run(
            [*run_all, "--rounds", str(a.rounds), "--out", str(out), *a.run_all_args], check=True
        )
        subprocess.run([*run_all, "--summarize", str(out), "--compact"], check=True)
    print(f"raw results: {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
