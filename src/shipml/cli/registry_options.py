"""What the registry verbs share: their options, a client with credentials, rich progress bars."""

from __future__ import annotations

import functools
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from shipml.cli.console import err_console
from shipml.cli.store_opts import json_option, store_option
from shipml.errors import AuthError, NotFoundError, SpecError
from shipml.layout import Store
from shipml.oci.image import Image, ImageIndex
from shipml.oci.platform import Platform
from shipml.oci.reference import Reference, names_registry
from shipml.registry import credentials
from shipml.registry import progress as transfer
from shipml.registry.client import RegistryClient
from shipml.registry.credentials import Credential
from shipml.registry.progress import Outcome
from shipml.registry.pull import pull
from shipml.registry.push import PushResult, push

if TYPE_CHECKING:  # rich.progress is imported only where bars are drawn (a terminal)
    from rich.progress import Progress, TaskID

insecure_option = click.option(
    "--insecure",
    multiple=True,
    metavar="REGISTRY",
    help="Use plain HTTP for this registry (repeatable); localhost always may.",
)
username_option = click.option(
    "--username", "-u", help="Registry user (default: saved login)."
)
password_stdin_option = click.option(
    "--password-stdin", is_flag=True, help="Read the password or token from stdin."
)
jobs_option = click.option(
    "--jobs", "-j", type=click.IntRange(1, 32), default=4, help="Parallel blobs."
)


@dataclass(frozen=True, slots=True)
class Transfer:
    """What push and pull share from the command line, with the credential read already."""

    store: Path | None
    insecure: tuple[str, ...]
    credential: Credential | None
    jobs: int
    as_json: bool


def transfer_options(command: Callable[..., None]) -> Callable[..., None]:
    """Add --store, --insecure, -u/--password-stdin, --jobs and --json as one ``transfer``."""

    @functools.wraps(command)
    def with_transfer(
        store: Path | None,
        insecure: tuple[str, ...],
        username: str | None,
        password_stdin: bool,
        jobs: int,
        as_json: bool,
        **rest: Any,
    ) -> None:
        credential = explicit_credential(username, password_stdin)
        command(transfer=Transfer(store, insecure, credential, jobs, as_json), **rest)

    shared = (store_option, insecure_option, username_option, password_stdin_option,
              jobs_option, json_option)
    for option in reversed(shared):  # the innermost decorator is listed last in --help
        with_transfer = option(with_transfer)
    return with_transfer


def read_password_stdin() -> str:
    """The password piped on stdin, without its trailing newline."""
    secret = sys.stdin.readline().rstrip("\r\n")
    if not secret:
        raise AuthError("--password-stdin: nothing was read from stdin")
    return secret


def explicit_credential(username: str | None, password_stdin: bool) -> Credential | None:
    """The credential given on the command line, if any; both parts or neither."""
    if username is None and not password_stdin:
        return None
    if username is None or not password_stdin:
        raise AuthError("give --username together with --password-stdin")
    return Credential(username, read_password_stdin())


def open_client(
    ref: Reference,
    *,
    credential: Credential | None = None,
    insecure: Sequence[str] = (),
) -> RegistryClient:
    """A client for ``ref``'s registry: explicit credentials, else the saved ones, else none."""
    found = credential or credentials.lookup(ref.registry, ref.repository)
    return RegistryClient(ref.registry, credential=found, insecure=insecure)


class BarProgress:
    """``registry.progress.Progress`` drawn as one rich bar per blob on stderr."""

    def __init__(self, bars: Progress) -> None:
        self._bars = bars
        self._tasks: dict[str, TaskID] = {}
        self._lock = threading.Lock()

    def start(self, key: str, *, label: str, total: int) -> None:
        """Add a bar for the blob."""
        with self._lock:
            self._tasks[key] = self._bars.add_task(label, total=total, status="")

    def advance(self, key: str, n: int) -> None:
        """Move the blob's bar."""
        self._bars.advance(self._tasks[key], n)

    def finish(self, key: str, outcome: Outcome) -> None:
        """Fill the bar and say what happened."""
        task = self._tasks[key]
        total = self._bars.tasks[task].total
        self._bars.update(task, completed=total, status=str(outcome))


@contextmanager
def progress_bars() -> Iterator[transfer.Progress]:
    """Per-blob progress bars with bytes and speed on stderr, removed when done.

    Off a terminal rich would draw nothing (the bars are transient), so nothing is set up.
    """
    if not err_console.is_terminal:
        yield transfer.NoProgress()
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TransferSpeedColumn,
    )

    bars = Progress(
        TextColumn("{task.description:<20}"),
        BarColumn(bar_width=30),
        DownloadColumn(),
        TransferSpeedColumn(),
        TextColumn("{task.fields[status]}"),
        console=err_console,
        transient=True,
    )
    with bars:
        yield BarProgress(bars)


def summary(outcomes: Iterable[Outcome]) -> str:
    """``pushed 2, skipped 1`` for the outcomes that occurred, in a fixed order."""
    seen = list(outcomes)
    counts = {o: seen.count(o) for o in Outcome}
    return ", ".join(f"{o} {n}" for o, n in counts.items() if n) or "nothing to transfer"


def registry_base(
    text: str,
    store: Store,
    *,
    platform: Platform,
    insecure: Sequence[str] = (),
    progress: transfer.Progress | None = None,
) -> Image:
    """A registry base image (``REGISTRY/REPO:TAG`` or ``...@sha256:...``) from the store.

    Pulled into the store the first time only; later builds find it there by tag or digest,
    without touching the network. ``progress`` may draw bars (a build already draws its own).
    """
    ref = Reference.parse(text)
    try:
        return store.image(str(ref))
    except NotFoundError:
        pass
    with open_client(ref, insecure=insecure) as client:
        result = pull(client, ref, store, platform=platform, progress=progress)
    err_console.print(f"base {ref.familiar()}: {summary(result.outcomes.values())}")
    return store.image(str(result.descriptor.digest))


def push_image(
    source: Image | ImageIndex,
    dest: Reference,
    client: RegistryClient,
    *,
    jobs: int = 4,
    mount_from: tuple[str, ...] = (),
) -> PushResult:
    """Push with progress bars on stderr and a one-line summary after."""
    with progress_bars() as bars:
        result = push(
            client,
            dest.repository,
            source,
            tag=dest.tag if dest.digest is None else None,
            jobs=jobs,
            mount_from=mount_from,
            progress=bars,
        )
    err_console.print(f"{dest.familiar()}: {summary(result.outcomes.values())}")
    return result


def require_registry_tags(tags: Sequence[str]) -> None:
    """``--push`` needs ``--tag``s that name their registry (checked before a long build)."""
    if not tags:
        raise SpecError("--push needs --tag REGISTRY/REPOSITORY:TAG to know where to push")
    local = [t for t in tags if not names_registry(t)]
    if local:
        raise SpecError(
            f"--push: {', '.join(local)} names no registry",
            hint="spell it out, e.g. --tag ghcr.io/team/model:1 or --tag localhost:5000/model:1",
        )


def push_refs(
    image: Image | ImageIndex, refs: list[Reference], *, insecure: Sequence[str] = ()
) -> None:
    """Push ``image`` to every ref with progress (``shipml build --push``).

    The tags of one repository share a client: one credential lookup, one token, and the
    connections the first push opened.
    """
    by_repository: dict[tuple[str, str], list[Reference]] = {}
    for ref in refs:
        by_repository.setdefault((ref.registry, ref.repository), []).append(ref)
    for same_repository in by_repository.values():
        with open_client(same_repository[0], insecure=insecure) as client:
            for ref in same_repository:
                push_image(image, ref, client)
