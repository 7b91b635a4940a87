"""Cold start of the sklearn example in Podman: shipml's image against a hand-written Dockerfile's.

Cold start is the time from ``podman run`` to the first 200 from the server's readiness endpoint
(shipml: /v2/health/ready, which answers once the model is loaded and warmed up; the anchor:
/healthz, which answers once its app imported and loaded the model). Both images carry the same
model.joblib; runs alternate between the two so both see the same machine load. The anchor is
../shared/bench/build-anchors/anchor-a (FastAPI + uvicorn, pip-installed, so with .pyc), built
here with ``podman build`` on the bookworm base of make-base.sh.

    CONTAINERS_CONF=.venv/test-containers.conf .venv/bin/python bench/cold_start.py --runs 7

Without ``--image`` it builds examples/sklearn-classifier with ``shipml build`` first.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from shipml.engines.base import Publish, RunOptions
from shipml.engines.podman import Podman
from shipml.engines.ready import LIVE_PATH, READY_PATH, start
from shipml.engines.transfer import ensure_image
from shipml.layout import Store
from shipml.testing.cli import SHIPML
from shipml.testing.examples import train_example
from shipml.testing.server import free_port

ROOT = Path(__file__).resolve().parent.parent
ANCHORS = ROOT.parent / "shared" / "bench" / "build-anchors"
ANCHOR_BASE = "docker.io/library/python:3.11-slim"  # what make-base.sh tags its base as
ANCHOR_IMAGE = "localhost/shipml-bench-anchor-a"  # tagged by the model's digest
SHIPML_REF = "localhost/shipml-bench-cold-start:latest"


@dataclass(frozen=True, slots=True)
class Subject:
    """One image to start: its engine ID, port inside and readiness path."""

    label: str
    image: str
    port: int
    path: str
    live_path: str | None = None


@dataclass(frozen=True, slots=True)
class Timing:
    """One cold start: from `podman run` and from the container's process start, to ready."""

    run_to_ready: float
    start_to_ready: float


def shipml_build(project: Path, ref: str) -> None:
    """``shipml build PROJECT -t REF`` into the default store."""
    began = time.monotonic()
    subprocess.run([SHIPML, "build", str(project), "-t", ref], check=True,
                   stdout=subprocess.DEVNULL)
    print(f"shipml build: {time.monotonic() - began:.1f} s", file=sys.stderr)


def anchor_image(podman: Podman, project: Path) -> str:
    """anchor-a with the project's model, built with podman build unless already there."""
    model = hashlib.sha256((project / "model.joblib").read_bytes()).hexdigest()
    tag = f"{ANCHOR_IMAGE}:{model[:12]}"
    found = podman.image_id(tag)
    if found:
        return found
    if podman.image_id(ANCHOR_BASE) is None:
        sys.exit(f"no {ANCHOR_BASE} in podman: run (about 2 min)\n"
                 f"  mkdir -p /tmp/build-anchors && OUT=/tmp/build-anchors "
                 f"{ANCHORS / 'make-base.sh'} all")
    with tempfile.TemporaryDirectory(prefix="anchor-a-") as ctx:
        for name in ("Dockerfile", "app.py", "requirements.txt", ".dockerignore"):
            shutil.copy(ANCHORS / "anchor-a" / name, ctx)
        shutil.copy(project / "model.joblib", Path(ctx) / "model.joblib")
        began = time.monotonic()
        subprocess.run(["podman", "build", "--pull=never", "-q", "-t", tag, ctx],
                       check=True, stdout=subprocess.DEVNULL)
        print(f"podman build of anchor-a: {time.monotonic() - began:.1f} s", file=sys.stderr)
    found = podman.image_id(tag)
    assert found
    return found


def started_at(podman: Podman, name: str) -> float:
    """The container's process start as a Unix time (podman keeps nanoseconds)."""
    text = json.loads(podman.call("inspect", "--type", "container", name))[0]["State"]["StartedAt"]
    m = re.match(r"^(\S+T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$", text)
    assert m, f"unexpected StartedAt {text!r}"
    zone = "+00:00" if m[3] == "Z" else m[3]
    return datetime.fromisoformat(m[1] + zone).timestamp() + float(f"0.{m[2] or 0}")


def cold_start(podman: Podman, subject: Subject, run: int) -> Timing:
    """Start ``subject`` once, time it, remove it."""
    name = f"shipml-bench-{subject.label}-{run}-{os.getpid()}"
    options = RunOptions(subject.image, name, (Publish(free_port(), subject.port),))
    try:
        started = start(podman, options, timeout_s=180, path=subject.path,
                        live_path=subject.live_path)
        ready_at = time.time()
        return Timing(started.seconds, ready_at - started_at(podman, name))
    finally:
        podman.remove(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--image", help=f"shipml image in the store (default: build {SHIPML_REF})")
    args = parser.parse_args()
    podman = Podman("podman")
    store = Store.open()
    with tempfile.TemporaryDirectory(prefix="cold-start-") as tmp:
        project = train_example(ROOT / "examples", "sklearn-classifier", Path(tmp))
        ref = args.image or SHIPML_REF
        if args.image is None:
            shipml_build(project, ref)
        ours = ensure_image(podman, store, ref)
        theirs = anchor_image(podman, project)
    subjects = (
        Subject("shipml", ours.id, _exposed(ours.config.config.exposed_ports), READY_PATH,
                LIVE_PATH),
        Subject("dockerfile", theirs, 8000, "/healthz"),
    )
    results: dict[str, list[Timing]] = {s.label: [] for s in subjects}
    for run in range(args.runs):
        for subject in subjects if run % 2 == 0 else reversed(subjects):
            results[subject.label].append(cold_start(podman, subject, run))
    print(f"cold start, container start to ready, {args.runs} runs each "
          f"(Podman {podman.call('--version').split()[-1]}, load "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    print(f"{'image':<52}{'median':>8}{'min':>8}{'max':>8}   process start to ready (median)")
    for subject in subjects:
        runs = results[subject.label]
        total = [t.run_to_ready for t in runs]
        name = f"{subject.label} ({ref if subject.label == 'shipml' else 'anchor-a'})"
        print(f"{name:<52}{statistics.median(total):>7.2f}s{min(total):>7.2f}s{max(total):>7.2f}s"
              f"   {statistics.median(t.start_to_ready for t in runs):.2f}s")
    ours_s = statistics.median(t.run_to_ready for t in results["shipml"])
    theirs_s = statistics.median(t.run_to_ready for t in results["dockerfile"])
    verdict = "met" if ours_s < 1.5 and ours_s < theirs_s else "NOT met"
    print(f"target (shipml under 1.5 s and faster than the Dockerfile image): {verdict}; "
          f"shipml/dockerfile = {ours_s / theirs_s:.2f}")


def _exposed(ports: frozenset[str]) -> int:
    return int(sorted(p.split("/")[0] for p in ports)[0]) if ports else 8080


if __name__ == "__main__":
    main()
