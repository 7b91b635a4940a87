"""`shipml stop NAME...`: SIGTERM (the server drains in-flight requests), then remove."""

from __future__ import annotations

from typing import Annotated

import typer

from shipml.cli.console import err_console, out_console
from shipml.cli.engine_opts import EngineOpt, StopTimeoutOpt
from shipml.engines.detect import find_engine
from shipml.errors import EngineError


def stop(
    names: Annotated[list[str], typer.Argument(help="Container names (see `shipml ps`).")],
    stop_timeout: StopTimeoutOpt = 35,
    engine_name: EngineOpt = None,
) -> None:
    """Stop each container with SIGTERM, kill it after --time seconds, remove it."""
    engine = find_engine(engine_name)
    managed = {c.name for c in engine.containers(all_states=True)}
    for name in names:
        if name not in managed:
            raise EngineError(f"{name} is not a container shipml started",
                              hint="`shipml ps --all` lists them")
        try:
            engine.stop(name, timeout_s=stop_timeout)
            state = engine.state(name)
        except EngineError:
            # A foreground `shipml run` following the container removes it once it stops.
            if name in {c.name for c in engine.containers(all_states=True)}:
                raise
            err_console.print(f"{name}: stopped (removed by the `shipml run` that followed it)")
        else:
            engine.remove(name)
            err_console.print(f"{name}: {state.why()}")
        out_console.print(name, markup=False)


def register(app: typer.Typer) -> None:
    app.command("stop")(stop)
