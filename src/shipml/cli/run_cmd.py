"""`shipml run REF`: run an image of the store (or a registry) in Podman/Docker, wait until ready.

A registry reference missing from the store is pulled into it first (verified, with shipml's
credentials), then moved into the engine like any stored image: the engine itself never talks
to the registry. Prints the URL on stdout once /v2/health/ready answers; in the foreground it
then streams the container's logs to stderr until Ctrl-C, which drains and removes it.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import signal
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from types import FrameType

import click

from shipml.cli.console import err_console, out_console
from shipml.cli.engine_opts import engine_option, stop_timeout_option
from shipml.cli.params import EnumChoice
from shipml.cli.registry_options import insecure_option, open_client, progress_bars
from shipml.cli.store_opts import json_option, open_store, store_option
from shipml.engines.base import REF_LABEL, Engine, Publish, RunOptions
from shipml.engines.detect import find_engine
from shipml.engines.ready import Started, start
from shipml.engines.transfer import EngineImage, ensure_image
from shipml.errors import EngineError, NotFoundError
from shipml.layout import Store
from shipml.oci.descriptor import Descriptor
from shipml.oci.platform import Platform
from shipml.oci.reference import Reference, names_registry
from shipml.registry.pull import pull

DEFAULT_PORT = 8080


class PullPolicy(StrEnum):
    """When to pull a registry reference into the store before running it."""

    MISSING = "missing"
    ALWAYS = "always"
    NEVER = "never"


def _stored_or_pulled(
    store: Store, ref: str, policy: PullPolicy, insecure: Sequence[str],
    platform: Platform | None,
) -> Descriptor | None:
    """The store's descriptor of ``ref`` when it was there, else None once it is pulled."""
    if policy != PullPolicy.ALWAYS:
        try:
            return store.resolve(ref)
        except NotFoundError:
            if policy == PullPolicy.NEVER or not names_registry(ref):
                raise
    reference = Reference.parse(ref)
    client = open_client(reference, insecure=insecure)
    with client, progress_bars() as bars:
        pull(client, reference, store, platform=platform, progress=bars)
    return None


def _container_port(image: EngineImage, env: dict[str, str]) -> int:
    # SHIPML_PORT moves the server (spec.ENV_OVERRIDES); else the port the image exposes.
    if "SHIPML_PORT" in env:
        return int(env["SHIPML_PORT"])
    ports = sorted(p.split("/")[0] for p in image.config.config.exposed_ports)
    return int(ports[0]) if ports else DEFAULT_PORT


def _env(pairs: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not key or not sep:
            raise EngineError(f"-e {pair}: expected KEY=VALUE")
        out[key] = value
    return out


def _default_name(image: EngineImage) -> str:
    title = image.config.config.labels.get("org.opencontainers.image.title") or "model"
    slug = "".join(c if c.isalnum() or c in "_.-" else "-" for c in title.lower()).strip("-.")
    return f"shipml-{slug or 'model'}-{secrets.token_hex(3)}"


def _follow(engine: Engine, started: Started, stop_timeout: int) -> None:
    """Stream the logs until the container exits or Ctrl-C/SIGTERM; then drain and remove."""

    def terminate(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        for line in engine.logs(started.name, follow=True):
            err_console.file.write(line.decode(errors="replace"))
            err_console.file.flush()
        try:
            state = engine.state(started.name)
        except EngineError:  # stopped and removed from elsewhere (`shipml stop`)
            state = None
        if state is None or state.exit_code == 0:
            # The server exits 0 only after a SIGTERM drain, so it was stopped from elsewhere;
            # `shipml stop` may still be removing it.
            with contextlib.suppress(EngineError):
                engine.remove(started.name)
            err_console.print(f"{started.name} was stopped and removed")
            return
        engine.remove(started.name)
        raise EngineError(f"container {started.name} {state.why()}",
                          hint="`shipml run --detach` keeps the container to inspect")
    except KeyboardInterrupt:
        err_console.print(f"stopping {started.name} (draining in-flight requests)")
        engine.stop(started.name, timeout_s=stop_timeout)
        code = engine.state(started.name).exit_code
        engine.remove(started.name)
        err_console.print(f"{started.name} stopped (exit code {code})")
    finally:
        signal.signal(signal.SIGTERM, previous)


@click.command("run")
@click.argument("ref")
@click.option(
    "--publish", "-p", multiple=True, metavar="[HOST_IP:]HOST_PORT[:PORT]",
    help="Publish the server port (default: 127.0.0.1:8080:8080).",
)
@click.option(
    "--env", "-e", multiple=True, metavar="KEY=VALUE",
    help="Environment variable, e.g. SHIPML_MAX_BATCH_SIZE=32 (repeatable).",
)
@click.option("--detach", "-d", is_flag=True, help="Return once ready, leaving it running.")
@click.option("--name", help="Container name (default: generated).")
@click.option("--read-only", is_flag=True, help="Read-only root filesystem, writable /tmp only.")
@click.option(
    "--timeout", type=click.FloatRange(min=1), default=120.0,
    help="Seconds to wait for /v2/health/ready.",
)
@click.option(
    "--pull", "pull_policy", type=EnumChoice(PullPolicy), default=PullPolicy.MISSING.value,
    help="Pull a registry ref into the store first.",
)
@click.option("--platform", help="os/arch of a multi-platform image (default: host).")
@stop_timeout_option
@engine_option
@store_option
@insecure_option
@json_option
def run(
    ref: str,
    publish: tuple[str, ...],
    env: tuple[str, ...],
    detach: bool,
    name: str | None,
    read_only: bool,
    timeout: float,
    pull_policy: PullPolicy,
    platform: str | None,
    stop_timeout: int,
    engine_name: str | None,
    store: Path | None,
    insecure: tuple[str, ...],
    as_json: bool,
) -> None:
    """Run REF in Podman or Docker, wait until it is ready, print its URL.

    REF is a store ref or digest, or a registry ref (pulled into the store first).
    """
    engine = find_engine(engine_name)
    variables = _env(env)
    wanted = Platform.parse(platform) if platform else None
    target = open_store(store)
    stored = _stored_or_pulled(target, ref, pull_policy, insecure, wanted)
    with err_console.status(f"moving {ref} into {engine.name}"):
        image = ensure_image(engine, target, ref, platform=wanted, descriptor=stored)
    if image.loaded:
        err_console.print(f"{ref} copied into {engine.name} as {image.name}")
    port = _container_port(image, variables)
    options = RunOptions(
        image=image.id,
        name=name or _default_name(image),
        publish=tuple(Publish.parse(p, container_port=port) for p in publish or (str(port),)),
        env=variables,
        labels={REF_LABEL: ref},
        read_only=read_only,
        healthcheck=image.config.config.healthcheck,
    )
    with err_console.status(f"starting {options.name}, waiting for {options.publish[0].url}"):
        started = start(engine, options, timeout_s=timeout)
    err_console.print(f"{started.name} ready in {started.seconds:.2f} s")
    if as_json:
        body = {"name": started.name, "id": started.id, "url": started.url,
                "engine": engine.name, "image": image.name, "ready_s": round(started.seconds, 3)}
        out_console.print(json.dumps(body), markup=False)
    else:
        out_console.print(started.url, markup=False)
    if not detach:
        _follow(engine, started, stop_timeout)

