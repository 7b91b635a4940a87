"""The shipml command group: every verb resolves lazily, help and version, usage errors."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from click.testing import CliRunner

from shipml.cli.app import VERBS, cli

SHIPML = str(Path(sys.executable).parent / "shipml")


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
    version = subprocess.run([SHIPML, "--version"], capture_output=True, text=True, check=True)
    assert version.stdout == f"shipml {metadata.version('shipml')}\n"
    unknown = subprocess.run([SHIPML, "bogus"], capture_output=True, text=True)
    assert unknown.returncode == 2 and "No such command 'bogus'" in unknown.stderr
    missing = subprocess.run([SHIPML, "push"], capture_output=True, text=True)
    assert missing.returncode == 2 and "Missing argument 'REF'" in missing.stderr
