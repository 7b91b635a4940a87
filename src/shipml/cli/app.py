"""The shipml command: a click group that imports only the verb being run; errors mapped here."""

from __future__ import annotations

import gc
import importlib
import sys

import click

from shipml.errors import ShipmlError

# Verb -> "module:command" of the click command that runs it, in the order help lists them.
# Only the module of the verb being run is imported, so `shipml push` never loads the
# Kubernetes client and a registry verb starts in a fraction of a second.
VERBS: dict[str, str] = {
    "init": "init_cmd:init",
    "serve": "serve_cmd:serve",
    "predict": "predict_cmd:predict",
    "lock": "lock_cmd:lock",
    "build": "build_cmd:build",
    "dockerfile": "dockerfile_cmd:dockerfile",
    "images": "images_cmd:images",
    "inspect": "inspect_cmd:inspect_cmd",
    "export": "export_cmd:export",
    "rm": "rm_cmd:rm",
    "gc": "gc_cmd:gc",
    "push": "push_cmd:push_cmd",
    "pull": "pull_cmd:pull_cmd",
    "tag": "tag_cmd:tag_cmd",
    "login": "login_cmd:login",
    "logout": "login_cmd:logout",
    "run": "run_cmd:run",
    "ps": "ps_cmd:ps",
    "logs": "logs_cmd:logs",
    "stop": "stop_cmd:stop",
    "deploy": "deploy_cmd:deploy",
    "status": "status_cmd:status",
    "rollback": "rollback_cmd:rollback",
    "delete": "delete_cmd:delete",
}


class LazyVerbs(click.Group):
    """A group whose verbs are imported when they are looked up, one module per verb."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every verb, in VERBS' order."""
        return list(VERBS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The verb's command, its module imported now; None for an unknown verb."""
        target = VERBS.get(cmd_name)
        if target is None:
            return None
        module, attribute = target.split(":")
        command = getattr(_import_frozen(f"shipml.cli.{module}"), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"shipml.cli.{module}.{attribute} is not a click command")
        return command


def _import_frozen(name: str) -> object:
    """Import a verb's module with the collector paused, then freeze all that exists so far.

    What imports create lives until exit, so collecting during them is wasted work; frozen,
    no later collection (nor the one at exit) scans it again: ~30 ms of a registry verb's start.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        return importlib.import_module(name)
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


@click.group(cls=LazyVerbs, context_settings={"show_default": True})
@click.version_option(package_name="shipml", message="%(prog)s %(version)s")
def cli() -> None:
    """Take a trained model to production: serve, build, push, run, deploy."""


def main() -> None:
    """Console-script entry: a ShipmlError prints its message and exits with its own code."""
    # Standalone mode: click prints usage errors and help and exits with their codes;
    # shipml's own errors come through here.
    try:
        cli.main(prog_name="shipml")
    except ShipmlError as e:
        from rich.text import Text

        from shipml.cli.console import err_console

        err_console.print(Text("error: ", style="bold red") + Text(str(e)), soft_wrap=True)
        sys.exit(e.exit_code)
