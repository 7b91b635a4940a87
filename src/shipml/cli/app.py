"""The shipml command: one Typer app, one thin module per verb, errors mapped to exit codes here."""

from __future__ import annotations

import importlib
import sys

import typer
from rich.text import Text

from shipml.cli.console import err_console
from shipml.errors import ShipmlError

# Verb -> the module that registers it (with `register(app)`), in the order help lists them.
# Only the module of the verb being run is imported, so `shipml push` never loads the
# Kubernetes client and `shipml build` starts in a fraction of a second.
VERBS: dict[str, str] = {
    "init": "init_cmd",
    "serve": "serve_cmd",
    "predict": "predict_cmd",
    "lock": "lock_cmd",
    "build": "build_cmd",
    "dockerfile": "dockerfile_cmd",
    "images": "images_cmd",
    "inspect": "inspect_cmd",
    "export": "export_cmd",
    "rm": "rm_cmd",
    "gc": "gc_cmd",
    "push": "push_cmd",
    "pull": "pull_cmd",
    "tag": "tag_cmd",
    "login": "login_cmd",
    "logout": "login_cmd",
    "run": "run_cmd",
    "ps": "ps_cmd",
    "logs": "logs_cmd",
    "stop": "stop_cmd",
    "deploy": "deploy_cmd",
    "status": "status_cmd",
    "rollback": "rollback_cmd",
    "delete": "delete_cmd",
}


def build_app(verb: str | None = None) -> typer.Typer:
    """The Typer app with ``verb``'s module registered, or every verb's when it is unknown."""
    app = typer.Typer(
        name="shipml",
        help="Take a trained model to production: serve, build, push, run, deploy.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )

    @app.callback()
    def _group() -> None:
        """Take a trained model to production: serve, build, push, run, deploy."""

    modules = [VERBS[verb]] if verb in VERBS else list(dict.fromkeys(VERBS.values()))
    for module in modules:
        importlib.import_module(f"shipml.cli.{module}").register(app)
    return app


def _verb(argv: list[str]) -> str | None:
    return next((a for a in argv if not a.startswith("-")), None)


def main() -> None:
    """Console-script entry: a ShipmlError prints its message and exits with its own code."""
    # Standalone mode: the CLI library prints usage errors and help and exits with their codes;
    # shipml's own errors come through here.
    try:
        build_app(_verb(sys.argv[1:]))()
    except ShipmlError as e:
        err_console.print(Text("error: ", style="bold red") + Text(str(e)), soft_wrap=True)
        sys.exit(e.exit_code)
