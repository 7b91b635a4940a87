"""The end-to-end demo: train, serve, build, push to a local registry, run that image, predict.

Run through scripts/demo.sh, which installs what it needs first. Every step is a real shipml
command, as a user would type it; the timings of each are printed at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from shipml.testing.cli import SHIPML
from shipml.testing.examples import train_example
from shipml.testing.registry import local_registry, registry_available
from shipml.testing.server import ServerProcess, free_port

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".shipml-demo"
timings: list[tuple[str, float]] = []


@contextmanager
def step(title: str) -> Iterator[None]:
    print(f"\n==> {title}", flush=True)
    started = time.perf_counter()
    yield
    timings.append((title, time.perf_counter() - started))


def shipml(*args: str) -> str:
    """Run a shipml command, echo it, return its stdout (stderr shows progress as it goes)."""
    print("$ shipml " + " ".join(args), flush=True)
    result = subprocess.run([SHIPML, *args], check=True, stdout=subprocess.PIPE, text=True)
    print(result.stdout, end="", flush=True)
    return result.stdout.strip()


def engine_available() -> bool:
    """A usable container engine: Podman that can actually list containers."""
    podman = shutil.which("podman")
    return (
        bool(podman)
        and subprocess.run([podman, "ps"], capture_output=True, check=False).returncode == 0
    )


def main() -> None:
    shutil.rmtree(WORK, ignore_errors=True)
    with step("train the example model"):
        project = train_example(ROOT / "examples", "sklearn-classifier", WORK)
    request = f"@{project / 'request.json'}"

    with step("serve it with `shipml serve` and predict"), ServerProcess(project) as server:
        print(f"serving at {server.url}")
        shipml("predict", server.url, "--data", request)

    if not engine_available():
        print(
            "\nno usable container engine (Podman or Docker) here: the demo stops after "
            "`shipml serve`. Install podman (apt-get install podman) for the container steps."
        )
        report()
        return

    with step("build the image (no Docker daemon)"):
        shipml("build", str(project), "-t", "sklearn-classifier:demo")

    name = f"shipml-demo-{os.getpid()}"
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(clean_up, name)
        with step("start a local registry on 127.0.0.1 and push"):
            registry = cleanup.enter_context(local_registry(WORK / "registry"))
            ref = f"{registry.host}/demo/sklearn-classifier:1.0.0"
            shipml("push", "sklearn-classifier:demo", ref)
        with step("run the pushed image in the local engine"):
            # A store of its own, so the image really comes from the registry.
            url = shipml(
                "run", ref, "--name", name, "--detach", "-p", f"127.0.0.1:{free_port()}:8080",
                "--store", str(WORK / "run-store"),
            )  # fmt: skip
        with step("predict against the container"):
            answer = json.loads(shipml("predict", url, "--data", request))
            print(f"predict_proba of the first two rows: {answer['outputs'][0]['data']}")
    report()


def clean_up(container: str) -> None:
    """Stop the container, drop its image from the engine and the demo's files."""
    with step("clean up"):
        subprocess.run([SHIPML, "stop", container], check=False)
        for line in subprocess.run(
            ["podman", "images", "--format", "{{.Repository}}:{{.Tag}}"],
            capture_output=True, text=True, check=False,
        ).stdout.splitlines():  # fmt: skip
            if "demo/sklearn-classifier" in line:
                subprocess.run(["podman", "rmi", "-f", line], capture_output=True, check=False)
        shutil.rmtree(WORK, ignore_errors=True)


def report() -> None:
    print("\nstep timings:")
    for title, seconds in timings:
        print(f"  {seconds:7.2f} s  {title}")


if __name__ == "__main__":
    if not registry_available():
        print(
            "note: docker-registry is not installed; install it (apt-get install docker-registry)"
        )
    main()
