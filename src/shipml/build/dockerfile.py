"""An equivalent Dockerfile for teams that build with docker/buildx: the same layers and config.

It installs the same locked wheels (``--require-hashes``) in a build stage and copies them,
shipml's runtime, the model and the code into a Debian image, in the order ``shipml build`` uses.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from shipml.build.base import GID, UID, FileBase, RegistryBase, parse_base
from shipml.build.builder import ENTRYPOINT, IMAGE_ENV
from shipml.build.lock import Lock
from shipml.build.recipes import PROJECT_DIR, SITE_DIR, code_entries, model_paths, runtime_entries
from shipml.errors import BuildError
from shipml.spec import Spec

# The build context's own directory for what the Dockerfile copies besides the project.
CONTEXT_DIR = ".shipml"


@dataclass(frozen=True, slots=True)
class DockerContext:
    """The Dockerfile text and the extra files it needs in the context, by relative path."""

    dockerfile: str
    files: dict[str, bytes]


def dockerfile(
    project: Path, spec: Spec, lock: Lock, *, platform: str = "linux/amd64"
) -> DockerContext:
    """A Dockerfile equivalent to ``shipml build`` of ``project`` for ``platform``."""
    base = parse_base(spec, project)
    if isinstance(base, FileBase):
        raise BuildError(
            f"base {base.name} is a file on disk, which a Dockerfile cannot name",
            hint="push it to a registry and edit the FROM line, or use the default base",
        )
    if isinstance(base, RegistryBase):
        raise BuildError(
            f"base {base.name} is not Debian, whose packages the generated Dockerfile installs",
            hint="generate it with the default base, then edit its second FROM line",
        )
    requirements = lock.platform(platform).requirements
    reqs_file = f"{CONTEXT_DIR}/requirements-{platform.replace('/', '-')}.txt"
    project_dir = PurePosixPath(PROJECT_DIR)
    lines = [
        "# Written by 'shipml dockerfile': the image 'shipml build' makes, for docker/buildx.",
        "# Layers: base; locked wheels; shipml runtime; model; code + spec.",
        f"FROM --platform={platform} docker.io/library/python:{spec.python}-slim AS wheels",
        f"COPY {reqs_file} /tmp/requirements.txt",
        "RUN pip install --no-cache-dir --no-deps --require-hashes --only-binary :all: "
        f"--no-compile --target {SITE_DIR} -r /tmp/requirements.txt && rm -rf {SITE_DIR}/bin",
        "",
        f"FROM --platform={platform} docker.io/library/debian:{base.release}-slim",
        "RUN apt-get update && apt-get install -y --no-install-recommends "
        + " ".join(base.packages)
        + " && rm -rf /var/lib/apt/lists/* /usr/share/doc /usr/share/man"
        + f" && echo 'shipml:x:{UID}:{GID}:shipml:{PROJECT_DIR}:/usr/sbin/nologin' >> /etc/passwd"
        + f" && echo 'shipml:x:{GID}:' >> /etc/group",
        f"COPY --from=wheels {SITE_DIR} {SITE_DIR}",
        f"COPY {CONTEXT_DIR}/shipml {SITE_DIR}/shipml",
    ]
    for path in model_paths(project, spec):
        rel = path.relative_to(project).as_posix()
        lines.append(f"COPY {rel} {project_dir / rel}")
    lines += _code_copies(project, spec)
    env = " ".join(f"{k}={v}" for k, v in IMAGE_ENV.items())
    lines += [
        f"ENV {env}",
        f"WORKDIR {PROJECT_DIR}",
        f"USER {UID}:{GID}",
        f"EXPOSE {spec.serve.port}/tcp",
        "STOPSIGNAL SIGTERM",
        f'LABEL org.opencontainers.image.title="{spec.name}" '
        f'org.opencontainers.image.version="{spec.version}"',
        f"ENTRYPOINT {json.dumps(list(ENTRYPOINT))}",
    ]
    files = {reqs_file: requirements.encode(), **_runtime_files()}
    return DockerContext("\n".join(lines) + "\n", files)


def _runtime_files() -> dict[str, bytes]:
    """shipml's runtime files as the runtime layer holds them, placed under CONTEXT_DIR."""
    site = PurePosixPath(str(SITE_DIR).lstrip("/"))
    return {
        f"{CONTEXT_DIR}/{e.path.relative_to(site)}": e.source.read_bytes()
        for e in runtime_entries()
        if e.source is not None
    }


def _code_copies(project: Path, spec: Spec) -> list[str]:
    """COPY lines for the code layer's top-level files (one line) and directories (one each)."""
    root = PurePosixPath(str(PROJECT_DIR).lstrip("/"))
    tops = sorted({e.path.relative_to(root).parts[0]
                   for e in code_entries(project, spec) if e.path != root})
    files = [t for t in tops if not (project / t).is_dir()]
    dirs = [t for t in tops if (project / t).is_dir()]
    lines = [f"COPY {' '.join(files)} {PROJECT_DIR}/"] if files else []
    lines += [f"COPY {d} {PROJECT_DIR}/{d}" for d in dirs]
    return lines
