"""Build benchmark: `shipml build` against `podman build` of a hand-written Dockerfile, one run.

Both package the same model (../shared/bench/build-anchors/train.py, seed 0, then seed 1 for
the "model-only change") with scikit-learn 1.9.1 + joblib 1.6.0 and a web server. The anchor is
build-anchors/anchor-a (a best-practice Dockerfile: FastAPI + uvicorn, pip, one layer per
concern) built on make-base.sh's bookworm base (tagged python:3.11-slim). Measured, each as the
whole command from start to exit:

- cold build: shipml with an empty layer cache (the Debian base prepared once beforehand, like
  podman's imported base), with uv's wheel cache warm and empty; podman with ``--no-cache``
  (pip downloads every wheel each time);
- rebuild after a model-only change;
- image size compressed (the manifest's layers + config, what a registry stores: podman's
  measured after ``podman push`` to a local docker-registry, as the anchors did) and
  uncompressed (``podman image inspect .Size`` for both, after copying shipml's in);
- reproducibility: shipml rebuilt from the same project + lock in another directory with fresh
  caches; podman built twice with ``--no-cache``: are the digests equal?
- shipml on the very same base as podman (its oci-archive), for a like-for-like size.

    CONTAINERS_CONF=.venv/test-containers.conf .venv/bin/python bench/build_bench.py

It needs root Podman, skopeo, docker-registry, mmdebstrap and network access to PyPI and Debian.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from shipml.build.base import parse_base
from shipml.build.builder import Silent
from shipml.build.cache import LayerCache
from shipml.build.project import base_images
from shipml.oci.image import Image
from shipml.oci.platform import Platform
from shipml.spec import load_spec
from shipml.testing.cli import SHIPML
from shipml.testing.registry import local_registry

ROOT = Path(__file__).resolve().parent.parent
ANCHORS = ROOT.parent / "shared" / "bench" / "build-anchors"
EXAMPLE = ROOT / "examples" / "sklearn-classifier"
ANCHOR_BASE = "localhost/ba-base:bookworm"
MB = 1e6


def sh(*args: str, env: dict[str, str] | None = None, quiet: bool = True) -> str:
    """Run a command; its stdout, or SystemExit with its stderr."""
    proc = subprocess.run(args, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    if not quiet:
        print(proc.stderr, file=sys.stderr)
    return proc.stdout


def timed(*args: str, env: dict[str, str] | None = None) -> tuple[float, str]:
    """Seconds the whole command took, and its stdout."""
    load = Path("/proc/loadavg").read_text().split()[0]
    began = time.monotonic()
    out = sh(*args, env=env)
    seconds = time.monotonic() - began
    print(f"  {seconds:6.1f} s  (load {load})  {' '.join(args)[:110]}", file=sys.stderr)
    return seconds, out


def shipml_build(project: Path, home: Path, **env: str) -> tuple[float, dict[str, Any]]:
    """`shipml build --json` timed; the parsed result."""
    seconds, out = timed(SHIPML, "build", str(project), "--json",
                         env={"SHIPML_HOME": str(home), **env})
    return seconds, json.loads(out)


def project_copy(dest: Path, model: Path, *, base: str | None = None) -> Path:
    """The sklearn example with ``model`` as its model.joblib (and another base if given)."""
    dest.mkdir(parents=True)
    spec = (EXAMPLE / "shipml.yaml").read_text()
    (dest / "shipml.yaml").write_text(spec + (f"base: {base}\n" if base else ""))
    shutil.copy(model, dest / "model.joblib")
    return dest


def shipml_sizes(result: dict[str, Any], home: Path, name: str) -> dict[str, float]:
    """Compressed bytes from the stored manifest; uncompressed as Podman counts them."""
    store = home / "store"
    index = json.loads((store / "index.json").read_text())
    entry = next(d for d in index["manifests"] if d["digest"] == result["digest"])
    manifest = json.loads((store / "blobs" / "sha256" / entry["digest"][7:]).read_text())
    compressed = manifest["config"]["size"] + sum(layer["size"] for layer in manifest["layers"])
    ref = entry["annotations"]["org.opencontainers.image.ref.name"]
    sh("skopeo", "copy", "--quiet", f"oci:{store}:{ref}", f"containers-storage:{name}")
    size = int(sh("podman", "image", "inspect", "--format", "{{.Size}}", name))
    sh("podman", "rmi", "-f", name)
    return {"compressed": compressed, "uncompressed": size, "layers": len(manifest["layers"])}


def podman_sizes(image: str, registry: str) -> dict[str, float]:
    """Podman's .Size, and the compressed sizes in the manifest after a push to ``registry``."""
    size = int(sh("podman", "image", "inspect", "--format", "{{.Size}}", image))
    target = f"{registry}/bench/{image.rsplit('/', 1)[-1].replace(':', '-')}:1"
    sh("podman", "push", "--tls-verify=false", image, target)
    repo, tag = target.split("/", 1)[1].rsplit(":", 1)
    request = urllib.request.Request(
        f"http://{registry}/v2/{repo}/manifests/{tag}",
        headers={"Accept": "application/vnd.oci.image.manifest.v1+json, "
                 "application/vnd.docker.distribution.manifest.v2+json"},
    )
    with urllib.request.urlopen(request) as response:
        manifest = json.loads(response.read())
    compressed = manifest["config"]["size"] + sum(layer["size"] for layer in manifest["layers"])
    return {"compressed": compressed, "uncompressed": size, "layers": len(manifest["layers"])}


def prepare_debian_base(work: Path, model: Path) -> tuple[Path, float]:
    """A build cache holding only shipml's default Debian base, and how long it took."""
    cache_home = work / "base-home"
    project = project_copy(work / "base-project", model)
    began = time.monotonic()
    base_images(parse_base(load_spec(project), project), [Platform("linux", "amd64")],
                cache=LayerCache(cache_home / "build-cache"), open_base=_no_file_base,
                reporter=Silent())
    return cache_home, time.monotonic() - began


def _no_file_base(*_: object) -> Image:
    raise SystemExit("the example uses the Debian base")


def fresh_home(work: Path, name: str, base_home: Path) -> Path:
    """A SHIPML_HOME whose build cache holds only the base layer (as if built once before)."""
    home = work / name
    shutil.copytree(base_home, home)
    return home


def bench_shipml(work: Path, models: list[Path], base_home: Path) -> dict[str, Any]:
    """Cold builds (uv cache warm and empty), model-only rebuild, reproducibility, sizes."""
    res: dict[str, Any] = {}
    uv = {"UV_CACHE_DIR": str(work / "uv-cache")}  # starts empty: the first build downloads
    b = project_copy(work / "b" / "sklearn-classifier", models[0])
    res["cold_empty_uv_s"], _ = shipml_build(b, fresh_home(work, "home-b", base_home), **uv)

    a = project_copy(work / "a" / "sklearn-classifier", models[0])
    home_a = fresh_home(work, "home-a", base_home)
    res["cold_s"], first = shipml_build(a, home_a, **uv)
    res["cold_layer_s"] = {x["name"]: x["seconds"] for x in first["platforms"][0]["layers"]}
    res.update(shipml_sizes(first, home_a, "localhost/shipml-build-bench:cold"))
    lock_and_model = work / "a-snapshot"
    shutil.copytree(a, lock_and_model)

    shutil.copy(models[1], a / "model.joblib")
    res["model_rebuild_s"], second = shipml_build(a, home_a, **uv)
    res["model_rebuild_layers"] = {
        x["name"]: "cached" if x["cached"] else "built" for x in second["platforms"][0]["layers"]
    }

    c = work / "c" / "elsewhere" / "sklearn-classifier"
    shutil.copytree(lock_and_model, c)
    _, again = shipml_build(c, fresh_home(work, "home-c", base_home), **uv)
    res["digest"], res["digest_elsewhere"] = first["digest"], again["digest"]
    res["reproducible"] = first["digest"] == again["digest"]
    return res


def bench_shipml_same_base(work: Path, model: Path) -> dict[str, Any]:
    """shipml on podman's very base image (exported as an oci-archive), cold."""
    archive = work / "ba-base.oci.tar"
    sh("skopeo", "copy", "--quiet", f"containers-storage:{ANCHOR_BASE}", f"oci-archive:{archive}")
    project = project_copy(work / "same-base" / "sklearn-classifier", model,
                           base=f"oci-archive:{archive}")
    home = work / "home-same-base"
    seconds, result = shipml_build(project, home)
    return {"cold_s": seconds, **shipml_sizes(result, home, "localhost/shipml-build-bench:same")}


def bench_podman(work: Path, models: list[Path], registry: str) -> dict[str, Any]:
    """podman build of anchor A: cold (--no-cache), model-only rebuild, a second cold build."""
    ctx = work / "a-ctx"
    ctx.mkdir()
    for name in ("Dockerfile", "app.py", "requirements.txt", ".dockerignore"):
        shutil.copy(ANCHORS / "anchor-a" / name, ctx / name)
    shutil.copy(models[0], ctx / "model.joblib")
    build = ("podman", "build", "--pull=never", "-q")
    res: dict[str, Any] = {}
    res["cold_s"], cold_id = timed(*build, "--no-cache", "-t", "localhost/bench-a:cold", str(ctx))
    shutil.copy(models[1], ctx / "model.joblib")
    res["model_rebuild_s"], _ = timed(*build, "-t", "localhost/bench-a:model2", str(ctx))
    shutil.copy(models[0], ctx / "model.joblib")
    res["cold2_s"], again_id = timed(*build, "--no-cache", "-t", "localhost/bench-a:r2", str(ctx))
    res["digest"], res["digest_again"] = cold_id.strip(), again_id.strip()
    res["reproducible"] = res["digest"] == res["digest_again"]
    res.update(podman_sizes("localhost/bench-a:cold", registry))
    sh("podman", "rmi", "-f", "localhost/bench-a:cold", "localhost/bench-a:model2",
       "localhost/bench-a:r2")
    return res


def table(ship: dict[str, Any], same: dict[str, Any] | None, pod: dict[str, Any] | None) -> str:
    """The side-by-side table."""
    def s(v: float | None) -> str:
        return "-" if v is None else f"{v:.1f} s"

    def mb(v: float | None) -> str:
        return "-" if v is None else f"{v / MB:.0f} MB"

    pod = pod or {}
    rows = [
        ("", "shipml build", "podman build (anchor A)"),
        ("cold build (uv/pip cache warm)", s(ship["cold_s"]), "-"),
        ("cold build (no wheel cache)", s(ship["cold_empty_uv_s"]), s(pod.get("cold_s"))),
        ("rebuild after model-only change", s(ship["model_rebuild_s"]),
         s(pod.get("model_rebuild_s"))),
        ("image size, compressed", mb(ship["compressed"]), mb(pod.get("compressed"))),
        ("image size, uncompressed", mb(ship["uncompressed"]), mb(pod.get("uncompressed"))),
        ("layers", str(ship["layers"]), str(pod.get("layers", "-"))),
        ("same digest when rebuilt clean", "yes" if ship["reproducible"] else "NO",
         "-" if not pod else ("yes" if pod["reproducible"] else "no")),
    ]
    if same:
        rows += [
            ("shipml on podman's base: cold", s(same["cold_s"]), ""),
            ("shipml on podman's base: compressed", mb(same["compressed"]), ""),
            ("shipml on podman's base: uncompressed", mb(same["uncompressed"]), ""),
        ]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                     for r in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/shipml-build-bench"))
    parser.add_argument("--skip-podman", action="store_true", help="shipml's figures only")
    args = parser.parse_args()
    if not os.environ.get("CONTAINERS_CONF"):
        raise SystemExit("set CONTAINERS_CONF (see scripts/test.sh) so Podman works here")
    work: Path = args.workdir
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    models = [work / f"model-v{i + 1}.joblib" for i in range(2)]
    for seed, model in enumerate(models):
        sh(sys.executable, str(ANCHORS / "train.py"), str(model), str(seed))
    missing = subprocess.run(["podman", "image", "exists", ANCHOR_BASE]).returncode != 0
    if not args.skip_podman and missing:
        raise SystemExit(f"{ANCHOR_BASE} is missing: run {ANCHORS / 'make-base.sh'} first")

    print("shipml: Debian base (once, then cached)", file=sys.stderr)
    base_home, base_s = prepare_debian_base(work, models[0])
    print(f"  {base_s:6.1f} s  mmdebstrap base", file=sys.stderr)
    print("shipml build", file=sys.stderr)
    ship = bench_shipml(work, models, base_home)
    same = pod = None
    if not args.skip_podman:
        same = bench_shipml_same_base(work, models[0])
        print("podman build", file=sys.stderr)
        with local_registry(work / "registry") as registry:
            pod = bench_podman(work, models, registry.host)
    results = {"shipml": ship, "shipml_same_base": same, "podman": pod, "debian_base_s": base_s,
               "podman_version": sh("podman", "--version").strip(), "nproc": os.cpu_count()}
    (work / "results.json").write_text(json.dumps(results, indent=2))
    print(table(ship, same, pod))
    print(f"\nshipml cold build, seconds per layer: {ship['cold_layer_s']}")
    print(f"model-only rebuild layers: {ship['model_rebuild_layers']}")
    print(f"shipml digests: {ship['digest']} / {ship['digest_elsewhere']}")
    if pod:
        print(f"podman image IDs: {pod['digest']} / {pod['digest_again']}")
    print(f"shipml's Debian base built once in {base_s:.1f} s; results in {work / 'results.json'}")


if __name__ == "__main__":
    main()
