"""The shipml command group: every verb resolves lazily, help and version, usage errors."""

from __future__ import annotations

from importlib import metadata

import pytest
from click.testing import CliRunner

from shipml.cli.app import VERBS, cli
from shipml.testing.cli import run_cli


def test_help_lists_every_verb_in_order() -> None:
    result = CliRunner().invoke(cli, ["--help"], prog_name="shipml")
    assert result.exit_code == 0, result.output
    listed = [line.split()[0] for line in result.output.split("Commands:")[1].splitlines()
              if line.strip()]
    assert listed == list(VERBS)


@pytest.mark.parametrize("verb", list(VERBS))
def test_each_verb_has_help(verb: str) -> None:
    result = CliRunner().invoke(cli, [verb, "--help"], prog_name="shipml")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Usage: shipml {verb} ")


def test_version_and_usage_errors_from_the_installed_command() -> None:
    version = run_cli("--version")
    assert version.returncode == 0, version.stderr
    assert version.stdout == f"shipml {metadata.version('shipml')}\n"
    unknown = run_cli("bogus")
    assert unknown.returncode == 2 and "No such command 'bogus'" in unknown.stderr
    missing = run_cli("push")
    assert missing.returncode == 2 and "Missing argument 'REF'" in missing.stderr
