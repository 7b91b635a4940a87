"""`shipml dockerfile [DIR]`: write a Dockerfile equivalent to `shipml build`; prints its path."""

from __future__ import annotations

from pathlib import Path

import click

from shipml.atomic import atomic_file
from shipml.build.dockerfile import dockerfile as render
from shipml.build.lock import LOCK_FILENAME, read_lock
from shipml.cli.console import err_console, out_console
from shipml.cli.params import project_argument
from shipml.errors import BuildError
from shipml.spec import load_spec


@click.command("dockerfile")
@project_argument
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write it (default PROJECT/Dockerfile).",
)
@click.option("--platform", default="linux/amd64", help="The platform whose pins it installs.")
def dockerfile(project: Path, output: Path | None, platform: str) -> None:
    """Write a Dockerfile (and the locked requirements it copies) for docker or buildx.

    PROJECT is the directory with shipml.yaml and shipml.lock (default: this one).
    """
    spec = load_spec(project)
    lock = read_lock(project / LOCK_FILENAME)
    if lock is None:
        raise BuildError(f"{project / LOCK_FILENAME} does not exist",
                         hint="run 'shipml lock' (or 'shipml build') first")
    context = render(project, spec, lock, platform=platform)
    target = output or project / "Dockerfile"
    for rel, data in context.files.items():
        path = project / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(path, mode=0o644) as f:  # files to commit, not private 0600 ones
            f.write(data)
    with atomic_file(target, mode=0o644) as f:
        f.write(context.dockerfile.encode())
    err_console.print(f"build it with: docker build -t {spec.name}:{spec.version} {project}",
                      markup=False, highlight=False)
    out_console.print(str(target), markup=False, highlight=False)

