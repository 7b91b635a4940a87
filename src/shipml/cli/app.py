"""The shipml command: one Typer app, one thin module per verb, errors mapped to exit codes here."""

from __future__ import annotations

import sys

import click
import typer
from rich.text import Text

from shipml.cli import (
    build_cmd,
    delete_cmd,
    deploy_cmd,
    dockerfile_cmd,
    export_cmd,
    gc_cmd,
    images_cmd,
    init_cmd,
    inspect_cmd,
    lock_cmd,
    login_cmd,
    logs_cmd,
    predict_cmd,
    ps_cmd,
    pull_cmd,
    push_cmd,
    rm_cmd,
    rollback_cmd,
    run_cmd,
    serve_cmd,
    status_cmd,
    stop_cmd,
    tag_cmd,
)
from shipml.cli.console import err_console
from shipml.errors import ShipmlError

app = typer.Typer(
    name="shipml",
    help="Take a trained model to production: serve, build, push, run, deploy.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Each verb module exposes `register(app)`; add new verbs to this tuple.
for _verb in (init_cmd, serve_cmd, predict_cmd, deploy_cmd, status_cmd, rollback_cmd,
              delete_cmd, push_cmd, pull_cmd, tag_cmd, login_cmd,
              build_cmd, lock_cmd, dockerfile_cmd,
              images_cmd, inspect_cmd, export_cmd, rm_cmd, gc_cmd,
              run_cmd, ps_cmd, logs_cmd, stop_cmd):
    _verb.register(app)


def main() -> None:
    """Console-script entry: a ShipmlError prints its message and exits with its own code."""
    try:
        app(standalone_mode=False)
    except ShipmlError as e:
        err_console.print(Text("error: ", style="bold red") + Text(str(e)), soft_wrap=True)
        sys.exit(e.exit_code)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    except click.exceptions.Abort:
        sys.exit(1)
