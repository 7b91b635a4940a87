"""Registry benchmark: `shipml push` / `shipml pull` against `skopeo copy`, in the same run.

    .venv/bin/python bench/registry_bench.py                 # the example + a 1 GiB layer
    .venv/bin/python bench/registry_bench.py --rounds 3 --big-mib 256
    .venv/bin/python bench/registry_bench.py --example-ref REF --store DIR   # a built image

Every push goes to a fresh, empty docker-registry on 127.0.0.1 (so nothing is skipped) and
every pull into a fresh store; skopeo reads and writes the same content through its oci:
transport (our store is an OCI image layout). Both verify digests. Wall time is the median of
the rounds, peak memory the largest resident set of the process, as GNU time reports it: a
child forked from this Python process would report this process's own memory as its peak.
Without --example-ref, examples/sklearn-classifier is trained and built first (with the
user's build cache, so only the first run pays for the base), as the demo does.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from shipml.layers import file_entry, write_layer
from shipml.layout import Store
from shipml.mutate import append_layers, scratch
from shipml.oci.image import Image
from shipml.oci.mediatypes import Compression
from shipml.oci.platform import Platform
from shipml.oci.reference import Reference
from shipml.testing.cli import SHIPML
from shipml.testing.examples import train_example
from shipml.testing.registry import local_registry

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
GNU_TIME = "/usr/bin/time"
STORE_REF = "bench.local/{name}:v1"


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_mib: float


def timed(args: list[str], env: dict[str, str]) -> Run:
    """Run ``args`` to completion under GNU time: its wall time and peak RSS."""
    with tempfile.NamedTemporaryFile(prefix="rss-") as rss:
        start = time.perf_counter()
        proc = subprocess.run(
            [GNU_TIME, "-f", "%M", "-o", rss.name, *args],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False,
        )
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            stderr = proc.stderr.decode(errors="replace")
            raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}):\n{stderr[-2000:]}")
        peak_kib = int(Path(rss.name).read_text().split()[-1])
    return Run(elapsed, peak_kib / 1024)


def random_file(path: Path, size: int) -> Path:
    """``size`` random bytes (incompressible, like model weights)."""
    with path.open("wb") as f:
        left = size
        while left:
            n = min(left, 8 << 20)
            f.write(os.urandom(n))
            left -= n
    return path


def synthetic_image(work: Path, mib: int) -> Image:
    """An image of one uncompressed layer of ``mib`` MiB: one random file."""
    data = random_file(work / "data.bin", mib << 20)
    layer = write_layer(
        [file_entry("data/layer.bin", data)], work / "blobs", compression=Compression.NONE
    )
    data.unlink()
    return append_layers(scratch(Platform("linux", "amd64")), layer)


def build_example(work: Path, store: Path, ref: str) -> None:
    """Train examples/sklearn-classifier and build it into ``store`` as ``ref``."""
    project = train_example(EXAMPLES, "sklearn-classifier", work)
    args = [SHIPML, "build", str(project), "--tag", ref, "--store", str(store)]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stderr[-2000:]}")


def bench_image(name: str, ref: str, store: Path, rounds: int, env: dict[str, str], work: Path):
    """Push and pull ``ref`` from ``store`` with both tools; the median runs of each."""
    results: dict[tuple[str, str], list[Run]] = {}
    oci_source = f"oci:{store}:{ref}"
    for round_no in range(rounds):
        tools = ["shipml", "skopeo"] if round_no % 2 == 0 else ["skopeo", "shipml"]
        for tool in tools:
            with local_registry(work / f"reg-{name}-{tool}-{round_no}") as reg:
                dest = f"{reg.host}/bench/{''.join(c for c in name.lower() if c.isalnum())}:v1"
                push = (
                    [SHIPML, "push", ref, dest, "--store", str(store)]
                    if tool == "shipml"
                    else ["skopeo", "copy", "--quiet", "--dest-tls-verify=false", oci_source,
                          f"docker://{dest}"]
                )
                results.setdefault(("push", tool), []).append(timed(push, env))
                target = work / f"pulled-{tool}-{round_no}"
                pull = (
                    [SHIPML, "pull", dest, "--store", str(target)]
                    if tool == "shipml"
                    else ["skopeo", "copy", "--quiet", "--src-tls-verify=false",
                          f"docker://{dest}", f"oci:{target}:v1"]
                )
                results.setdefault(("pull", tool), []).append(timed(pull, env))
                shutil.rmtree(target, ignore_errors=True)
            shutil.rmtree(work / f"reg-{name}-{tool}-{round_no}", ignore_errors=True)
    return results


def report(name: str, size_mib: float, results: dict[tuple[str, str], list[Run]]) -> None:
    for op in ("push", "pull"):
        ours = results[(op, "shipml")]
        anchor = results[(op, "skopeo")]
        t_ours = statistics.median(r.seconds for r in ours)
        t_anchor = statistics.median(r.seconds for r in anchor)
        print(
            f"{name:<10} {size_mib:>8.0f} {op:<5} {t_ours:>9.2f} {t_anchor:>9.2f} "
            f"{t_ours / t_anchor:>6.2f}x {max(r.peak_mib for r in ours):>10.0f} "
            f"{max(r.peak_mib for r in anchor):>10.0f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--big-mib", type=int, default=1024, help="size of the synthetic layer")
    parser.add_argument("--example-ref", help="a built example image in --store to use instead")
    parser.add_argument("--store", type=Path, help="the store holding --example-ref")
    options = parser.parse_args()
    if shutil.which("skopeo") is None or not os.access(GNU_TIME, os.X_OK):
        raise SystemExit("needs skopeo and GNU time (apt-get install skopeo time)")
    with tempfile.TemporaryDirectory(prefix="shipml-registry-bench-") as tmp:
        work = Path(tmp)
        env = {**os.environ, "HOME": str(work), "DOCKER_CONFIG": str(work / ".docker")}
        store_dir = work / "store"
        store = Store.open(store_dir)
        ref = options.example_ref or STORE_REF.format(name="example")
        source = options.store if options.example_ref else store_dir
        if not options.example_ref:
            print("training and building the example...", flush=True)
            build_example(work, store_dir, ref)
        example = Store.open(source).image(ref)
        size = sum(layer.size() for layer in example.layers()) / (1 << 20)
        cases: list[tuple[str, str, Path, float]] = [("example", ref, source, size)]
        big = synthetic_image(work, options.big_mib)
        store.write(big, ref=Reference.parse(STORE_REF.format(name="big")))
        cases.append((f"{options.big_mib}MiB", STORE_REF.format(name="big"), store_dir,
                      big.layers()[0].size() / (1 << 20)))
        startup = statistics.median(
            timed([SHIPML, "push", "--help"], env).seconds for _ in range(3)
        )
        print(f"rounds: {options.rounds}, median wall seconds; peak RSS in MiB; cpus: "
              f"{os.cpu_count()}; skopeo: {skopeo_version()}; "
              f"shipml CLI start-up (included below): {startup:.2f}s")
        print(f"{'image':<10} {'MiB':>8} {'op':<5} {'shipml s':>9} {'skopeo s':>9} "
              f"{'ratio':>7} {'shipml MiB':>10} {'skopeo MiB':>10}")
        for name, image_ref, where, mib in cases:
            report(name, mib, bench_image(name, image_ref, where, options.rounds, env, work))


def skopeo_version() -> str:
    out = subprocess.run(["skopeo", "--version"], capture_output=True, text=True, check=False)
    return out.stdout.strip().removeprefix("skopeo version ")


if __name__ == "__main__":
    main()
