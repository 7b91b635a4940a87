"""`shipml login REGISTRY` / `shipml logout REGISTRY`: save or forget registry credentials."""

from __future__ import annotations

from pathlib import Path

import click

from shipml.cli.console import err_console, out_console
from shipml.cli.registry_options import (
    insecure_option,
    password_stdin_option,
    read_password_stdin,
)
from shipml.errors import AuthError
from shipml.registry import credentials
from shipml.registry.client import RegistryClient
from shipml.registry.credentials import Credential

authfile_option = click.option(
    "--authfile",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Auth file to write (default: Docker's config.json; Podman's auth.json works too).",
)


def _registry(text: str) -> str:
    """A registry host as users type it: ``https://r.io/`` and ``r.io`` alike."""
    return credentials.normalize_host(text).split("/")[0]


@click.command("login")
@click.argument("registry")
@click.option("--username", "-u", help="User name.")
@password_stdin_option
@authfile_option
@insecure_option
def login(
    registry: str,
    username: str | None,
    password_stdin: bool,
    authfile: Path | None,
    insecure: tuple[str, ...],
) -> None:
    """Check the credentials against REGISTRY (host[:port], e.g. ghcr.io), then save them.

    The auth file is written with mode 0600.
    """
    host = _registry(registry)
    user = username or click.prompt("Username")
    secret = read_password_stdin() if password_stdin else click.prompt("Password", hide_input=True)
    if not user or not secret:
        raise AuthError("login needs a username and a password")
    credential = Credential(user, secret)
    with RegistryClient(host, credential=credential, insecure=insecure) as client:
        client.ping()
    path = authfile or credentials.docker_config_file()
    credentials.store(path, host, credential)
    err_console.print(f"Login Succeeded: {user}@{host}")
    out_console.print(str(path), markup=False)


@click.command("logout")
@click.argument("registry")
@authfile_option
def logout(registry: str, authfile: Path | None) -> None:
    """Forget the saved credentials for REGISTRY."""
    host = _registry(registry)
    path = authfile or credentials.docker_config_file()
    if not credentials.erase(path, host):
        raise AuthError(f"not logged in to {host} (nothing in {path})")
    err_console.print(f"Removed login credentials for {host}")
    out_console.print(str(path), markup=False)

