"""`shipml stop NAME...`: SIGTERM (the server drains in-flight requests), then remove."""

from __future__ import annotations

import click

from shipml.cli.console import err_console, out_console
from shipml.cli.engine_opts import engine_option, stop_timeout_option
from shipml.engines.detect import find_engine
from shipml.errors import EngineError


@click.command("stop")
@click.argument("names", metavar="NAME...", nargs=-1, required=True)
@stop_timeout_option
@engine_option
def stop(names: tuple[str, ...], stop_timeout: int, engine_name: str | None) -> None:
    """Stop each container NAME with SIGTERM, kill it after --time seconds, remove it.

    The names are those `shipml ps` lists.
    """
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

