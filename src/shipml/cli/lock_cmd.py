"""`shipml lock [DIR]`: resolve the requirements afresh into shipml.lock; prints its path."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import click
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from shipml.build.cache import LayerCache, default_cache_dir
from shipml.build.lock import LOCK_FILENAME
from shipml.build.project import lock_project
from shipml.cli.build_base import base_opener
from shipml.cli.build_cmd import LayerProgress, parse_platforms, platform_option
from shipml.cli.console import err_console, out_console
from shipml.cli.params import project_argument


@click.command("lock")
@project_argument
@platform_option
def lock(project: Path, platform: tuple[str, ...]) -> None:
    """Pin the model's and the server's requirements (with hashes) and the base image.

    PROJECT is the directory with shipml.yaml (default: this one).
    """
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with ExitStack() as stack:
        bars = stack.enter_context(Progress(*columns, console=err_console, transient=True))
        task = bars.add_task("resolving requirements with uv", total=None)
        result = lock_project(
            project,
            cache=LayerCache(default_cache_dir()),
            open_base=base_opener(stack),
            platforms=parse_platforms(platform),
            reporter=LayerProgress(bars),
        )
        bars.remove_task(task)
    for name, pins in sorted(result.platforms.items()):
        err_console.print(f"{name}: {len(pins.packages())} packages, base {pins.base_digest}",
                          markup=False, highlight=False, soft_wrap=True)
    out_console.print(str(project / LOCK_FILENAME), markup=False, highlight=False, soft_wrap=True)

