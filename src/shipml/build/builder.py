"""Spec + lock + base image -> the image of a shipml project, one layer per recipe, cached.

No network here but uv's (for a deps layer that is not cached yet); the base image is passed in.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import Protocol

from shipml.build.base import GID, UID
from shipml.build.cache import LayerCache
from shipml.build.lock import Lock
from shipml.build.recipes import (
    PROJECT_DIR,
    SITE_DIR,
    Recipe,
    code_recipe,
    deps_recipe,
    model_recipe,
    runtime_recipe,
)
from shipml.build.uv import Target
from shipml.mutate import Addition, append_layers, rfc3339, with_config_file
from shipml.oci.config import ContainerConfig, Healthcheck, History
from shipml.oci.image import Image, Layer
from shipml.oci.mediatypes import Compression
from shipml.spec import SPEC_FILENAME, Spec

ENTRYPOINT = ("python3", "-m", "shipml.runtime", str(PROJECT_DIR))
IMAGE_ENV = {
    "PYTHONPATH": str(SITE_DIR),
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONUNBUFFERED": "1",
    "LANG": "C.UTF-8",
    "HOME": "/tmp",
}


@dataclass(frozen=True, slots=True)
class BuiltLayer:
    """One layer of a build: what it holds, and whether the cache had it."""

    name: str
    description: str
    layer: Layer
    cached: bool
    seconds: float


class Reporter(Protocol):
    """Hears about each layer as it starts and ends (the CLI draws progress from this)."""

    def started(self, name: str, description: str) -> None:
        """A layer is being looked up or built."""

    def finished(self, built: BuiltLayer) -> None:
        """A layer is ready."""


class Silent:
    """A Reporter that reports nothing."""

    def started(self, name: str, description: str) -> None:
        """Nothing."""

    def finished(self, built: BuiltLayer) -> None:
        """Nothing."""


@dataclass(frozen=True, slots=True)
class Provenance:
    """What the labels say about where the image comes from, beyond the spec."""

    base_name: str
    spec_digest: str
    flavor: str | None = None
    revision: str | None = None
    source: str | None = None


@dataclass(frozen=True, slots=True)
class BuildResult:
    """The image of one platform and its layers as built."""

    image: Image
    layers: tuple[BuiltLayer, ...]


def cached_layer(
    recipe: Recipe,
    cache: LayerCache,
    *,
    compression: Compression,
    epoch: int,
    reporter: Reporter,
) -> BuiltLayer:
    """The recipe's layer from the cache, or built now and cached (files dated ``epoch``
    unless the recipe fixes their mtime)."""
    reporter.started(recipe.name, recipe.description)
    began = time.monotonic()
    mtime = epoch if recipe.mtime is None else recipe.mtime
    key = cache.key(recipe.inputs, compression=compression, mtime=mtime)
    layer = cache.lookup(key)
    cached = layer is not None
    if layer is None:
        layer = cache.build(key, recipe.entries, compression=compression, mtime=mtime,
                            name=recipe.name)
    built = BuiltLayer(recipe.name, recipe.description, layer, cached, time.monotonic() - began)
    reporter.finished(built)
    return built


def spec_digest(project: Path) -> str:
    """The digest of the project's shipml.yaml as written (for the io.shipml.spec-digest label)."""
    return "sha256:" + hashlib.sha256((project / SPEC_FILENAME).read_bytes()).hexdigest()


def shared_recipes(project: Path, spec: Spec, cache: LayerCache) -> tuple[Recipe, ...]:
    """The runtime, model and code recipes, which no platform changes: made once per build."""
    digests = cache.file_digests()
    recipes = (
        runtime_recipe(spec.python),  # every platform's Python is the spec's (base.target_for)
        model_recipe(project, spec, hash_file=digests),
        code_recipe(project, spec, hash_file=digests),
    )
    digests.save()
    return recipes


def build_image(
    spec: Spec,
    *,
    lock: Lock,
    base: Image,
    target: Target,
    shared: Sequence[Recipe],
    cache: LayerCache,
    provenance: Provenance,
    epoch: int,
    compression: Compression = Compression.GZIP,
    reporter: Reporter | None = None,
) -> BuildResult:
    """The project's image for ``target``: base, deps, then the ``shared`` layers (shipml
    runtime, model, code + spec).

    Timestamps are ``epoch`` (or fixed, for layers the lock alone decides), so the same inputs
    give the same digest anywhere.
    """
    reporter = reporter or Silent()
    pins = lock.platform(str(target.platform))
    recipes = (deps_recipe(pins.requirements, target), *shared)
    stamp = rfc3339(epoch)
    built = tuple(
        cached_layer(r, cache, compression=compression, epoch=epoch, reporter=reporter)
        for r in recipes
    )
    image = append_layers(
        base,
        *(
            Addition(b.layer, History(created=stamp, created_by=f"shipml build: {b.description}"))
            for b in built
        ),
    )
    config = image.config_file()
    config = replace(
        config,
        created=stamp,
        config=container_config(config.config, spec, provenance, base, stamp),
    )
    return BuildResult(with_config_file(image, config), built)


def container_config(
    base: ContainerConfig,
    spec: Spec,
    provenance: Provenance,
    base_image: Image,
    stamp: str,
) -> ContainerConfig:
    """How the image runs: the shipml server as an unprivileged user, labelled."""
    env = dict(item.partition("=")[::2] for item in base.env)
    env.update(IMAGE_ENV)
    return ContainerConfig(
        user=f"{UID}:{GID}",
        exposed_ports=frozenset({f"{spec.serve.port}/tcp"}),
        env=tuple(f"{k}={v}" for k, v in env.items()),
        entrypoint=ENTRYPOINT,
        working_dir=str(PROJECT_DIR),
        labels=labels(spec, provenance, base_image, stamp),
        stop_signal="SIGTERM",
        healthcheck=healthcheck(spec),
    )


# The image has no curl: its own Python GETs readiness, on the port SHIPML_PORT may have moved
# the server to (spec.ENV_OVERRIDES). urlopen raises on a 503, so a non-ready server is unhealthy.
_READY_PROBE = (
    "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/v2/health/ready'"
    " % os.environ.get('SHIPML_PORT', '{port}'), timeout=4)"
)
_SECOND_NS = 1_000_000_000


def healthcheck(spec: Spec) -> Healthcheck:
    """The container healthcheck: /v2/health/ready every 10 s, after a 60 s grace for loading."""
    return Healthcheck(
        test=("CMD", "python3", "-I", "-c", _READY_PROBE.format(port=spec.serve.port)),
        interval_ns=10 * _SECOND_NS,
        timeout_ns=5 * _SECOND_NS,
        start_period_ns=60 * _SECOND_NS,
        retries=3,
    )


def labels(spec: Spec, provenance: Provenance, base: Image, stamp: str) -> Mapping[str, str]:
    """org.opencontainers.image.* (annotations.md) and shipml's own labels."""
    out = {
        "org.opencontainers.image.created": stamp,
        "org.opencontainers.image.title": spec.name,
        "org.opencontainers.image.version": spec.version,
        "org.opencontainers.image.base.name": provenance.base_name,
        "org.opencontainers.image.base.digest": str(base.digest()),
        "io.shipml.version": metadata.version("shipml"),
        "io.shipml.model": spec.model.path,
        "io.shipml.flavor": provenance.flavor or spec.model.flavor or "auto",
        "io.shipml.spec-digest": provenance.spec_digest,
    }
    if spec.model.signature is not None:
        out["io.shipml.signature"] = json.dumps(
            spec.model.signature.model_dump(exclude_defaults=True), separators=(",", ":")
        )
    if provenance.revision:
        out["org.opencontainers.image.revision"] = provenance.revision
    if provenance.source:
        out["org.opencontainers.image.source"] = provenance.source
    return out


def vcs_provenance(project: Path) -> tuple[str | None, str | None]:
    """The git commit and origin URL of the project, when it is in a git checkout."""

    def git(*args: str) -> str | None:
        try:
            proc = subprocess.run(["git", "-C", str(project), *args], capture_output=True,
                                  text=True, check=False, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return proc.stdout.strip() or None if proc.returncode == 0 else None

    return git("rev-parse", "HEAD"), git("config", "--get", "remote.origin.url")
