"""shipml.lock: the model's and the serving runtime's requirements pinned with hashes per platform.

The lock also pins the base image by digest and the SOURCE_DATE_EPOCH every timestamp of the
image takes, so the same project and lock give the same image digest on any machine.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from shipml.atomic import atomic_file
from shipml.build.uv import Target, run_uv
from shipml.errors import BuildError
from shipml.layers import source_date_epoch
from shipml.oci.digest import Digest
from shipml.spec import Spec

LOCK_FILENAME = "shipml.lock"
LOCK_VERSION = 1
_RUNTIME_NAME = "shipml-runtime.txt"
_SPEC_NAME = "shipml.yaml-requirements.txt"
# libyaml's loader reads a lock (mostly hashes) forty times faster than the pure-Python one.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", re.MULTILINE)


def runtime_requirements() -> str:
    """The serving runtime's requirements, read by path so the build never imports the runtime."""
    return (resources.files("shipml") / "runtime" / "requirements.txt").read_text(encoding="utf-8")


@dataclass(frozen=True, slots=True)
class LockInputs:
    """What a lock resolves: the project's requirements, the runtime's, the targets and the base."""

    requirements: tuple[str, ...]
    requirements_file: str | None
    requirements_file_text: str | None
    runtime: str
    python: str
    platforms: tuple[str, ...]
    base: str

    def signature(self) -> str:
        """A sha256 of the inputs; a lock whose ``inputs`` differ is stale."""
        doc = {
            "version": LOCK_VERSION,
            "requirements": list(self.requirements),
            "requirements_file": self.requirements_file,
            "requirements_file_sha256": None
            if self.requirements_file_text is None
            else hashlib.sha256(self.requirements_file_text.encode()).hexdigest(),
            "runtime": self.runtime,
            "python": self.python,
            "platforms": sorted(self.platforms),
            "base": self.base,
        }
        return "sha256:" + hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def lock_inputs(project: Path, spec: Spec, *, platforms: Sequence[str], base: str) -> LockInputs:
    """The inputs of ``project``'s lock; a requirements file must exist beside shipml.yaml."""
    reqs: tuple[str, ...] = ()
    file_name = file_text = None
    if isinstance(spec.requirements, str):
        file_name = spec.requirements
        path = project / file_name
        try:
            file_text = path.read_text(encoding="utf-8")
        except OSError as e:
            raise BuildError(
                f"shipml.yaml requirements: cannot read {path}: {e.strerror}",
                hint="give a requirements.txt or pyproject.toml beside shipml.yaml, or a list",
            ) from e
    else:
        reqs = tuple(spec.requirements)
    return LockInputs(
        requirements=reqs,
        requirements_file=file_name,
        requirements_file_text=file_text,
        runtime=runtime_requirements(),
        python=spec.python,
        platforms=tuple(sorted(platforms)),
        base=base,
    )


@dataclass(frozen=True, slots=True)
class PlatformLock:
    """One platform's pins: the base manifest digest and uv's requirements with hashes."""

    base_digest: Digest
    requirements: str

    def packages(self) -> list[tuple[str, str]]:
        """(name, version) of every pinned distribution, in the lock's order."""
        return _PIN.findall(self.requirements)


@dataclass(frozen=True, slots=True)
class Lock:
    """A whole shipml.lock."""

    inputs: str
    python: str
    source_date_epoch: int
    base: str
    platforms: Mapping[str, PlatformLock]

    def platform(self, platform: str) -> PlatformLock:
        """The pins of one platform; BuildError when the lock lacks it."""
        try:
            return self.platforms[platform]
        except KeyError:
            raise BuildError(
                f"{LOCK_FILENAME} has no pins for {platform}", hint="run 'shipml lock'"
            ) from None

    def to_text(self) -> str:
        """The lock file: YAML with each platform's requirements as a literal block."""
        lines = [
            f"# {LOCK_FILENAME}: the pinned inputs of the image, written by 'shipml lock'.",
            "# Commit it beside shipml.yaml; builds reuse it while the inputs match.",
            f"version: {LOCK_VERSION}",
            f"inputs: {self.inputs}",
            f"python: {json.dumps(self.python)}",
            f"source_date_epoch: {self.source_date_epoch}",
            f"base: {json.dumps(self.base)}",
            "platforms:",
        ]
        for name in sorted(self.platforms):
            pins = self.platforms[name]
            lines += [f"  {name}:", f"    base_digest: {pins.base_digest}", "    requirements: |"]
            lines += [f"      {line}" if line else "" for line in pins.requirements.splitlines()]
        return "\n".join(lines) + "\n"

    @classmethod
    def from_text(cls, text: str, *, source: str = LOCK_FILENAME) -> Lock:
        """Parse a lock file; BuildError naming ``source`` when it is not one."""
        try:
            doc: Any = yaml.load(text, Loader=_LOADER)
            if not isinstance(doc, dict) or doc.get("version") != LOCK_VERSION:
                raise ValueError(f"expected 'version: {LOCK_VERSION}'")
            platforms = {
                str(name): PlatformLock(
                    base_digest=Digest.parse(str(p["base_digest"])),
                    requirements=str(p["requirements"]),
                )
                for name, p in dict(doc["platforms"]).items()
            }
            return cls(
                inputs=str(doc["inputs"]),
                python=str(doc["python"]),
                source_date_epoch=int(doc["source_date_epoch"]),
                base=str(doc["base"]),
                platforms=platforms,
            )
        except (yaml.YAMLError, ValueError, KeyError, TypeError) as e:
            raise BuildError(
                f"{source} is not a valid shipml lock: {e}",
                hint="delete it and run 'shipml lock' to write a fresh one",
            ) from None


def read_lock(path: Path) -> Lock | None:
    """The lock at ``path``, or None when there is none."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    return Lock.from_text(text, source=str(path))


def write_lock(path: Path, lock: Lock) -> None:
    """Write the lock atomically (a reader sees the old or the new file, never half of one)."""
    with atomic_file(path, mode=0o644) as f:  # a file to commit, not a private 0600 one
        f.write(lock.to_text().encode())


def compile_requirements(project: Path, inputs: LockInputs, target: Target) -> str:
    """Resolve the inputs for ``target`` with uv: pinned, hashed, wheels only."""
    with tempfile.TemporaryDirectory(prefix="shipml-lock-") as tmp:
        work = Path(tmp)
        (work / _RUNTIME_NAME).write_text(inputs.runtime, encoding="utf-8")
        sources = [_RUNTIME_NAME]
        if inputs.requirements_file is not None:
            sources.append(str((project / inputs.requirements_file).resolve()))
        elif inputs.requirements:
            (work / _SPEC_NAME).write_text("\n".join(inputs.requirements) + "\n", encoding="utf-8")
            sources.append(_SPEC_NAME)
        out = run_uv(
            [
                "pip", "compile", *sources, *target.uv_args(),
                "--generate-hashes", "--no-header", "--annotation-style", "line", "--quiet",
            ],
            cwd=work,
            what=f"resolving the requirements for {target.platform} (Python {target.python})",
        )
    # Annotations name the sources; keep them readable and free of machine-specific paths.
    if inputs.requirements_file is not None:
        absolute = str((project / inputs.requirements_file).resolve())
        out = out.replace(absolute, inputs.requirements_file)
    return out


def new_lock(
    project: Path,
    inputs: LockInputs,
    *,
    targets: Mapping[str, Target],
    base_digests: Mapping[str, Digest],
    epoch: int | None = None,
) -> Lock:
    """Resolve every platform afresh; the epoch defaults to SOURCE_DATE_EPOCH, else now."""
    return Lock(
        inputs=inputs.signature(),
        python=inputs.python,
        source_date_epoch=epoch if epoch is not None else source_date_epoch(int(time.time())),
        base=inputs.base,
        platforms={
            name: PlatformLock(
                base_digest=base_digests[name],
                requirements=compile_requirements(project, inputs, targets[name]),
            )
            for name in inputs.platforms
        },
    )


def check_base(lock: Lock, platform: str, actual: Digest) -> None:
    """BuildError when the base is not the one the lock pins."""
    pinned = lock.platform(platform).base_digest
    if pinned != actual:
        raise BuildError(
            f"the base image for {platform} is {actual}, but {LOCK_FILENAME} pins {pinned}",
            hint="run 'shipml lock' to accept the new base, or restore the pinned one",
        )
