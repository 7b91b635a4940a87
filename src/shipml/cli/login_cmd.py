"""`shipml login REGISTRY` / `shipml logout REGISTRY`: save or forget registry credentials."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shipml.cli.console import err_console, out_console
from shipml.cli.registry_options import InsecureOpt, PasswordStdinOpt, read_password_stdin
from shipml.errors import AuthError
from shipml.registry import credentials
from shipml.registry.client import RegistryClient
from shipml.registry.credentials import Credential

AuthFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--authfile",
        help="Auth file to write (default: Docker's config.json; Podman's auth.json works too).",
    ),
]


def _registry(text: str) -> str:
    """A registry host as users type it: ``https://r.io/`` and ``r.io`` alike."""
    return credentials.normalize_host(text).split("/")[0]


def login(
    registry: Annotated[str, typer.Argument(help="Registry host[:port], e.g. ghcr.io.")],
    username: Annotated[str | None, typer.Option("--username", "-u", help="User name.")] = None,
    password_stdin: PasswordStdinOpt = False,
    authfile: AuthFileOpt = None,
    insecure: InsecureOpt = None,
) -> None:
    """Check the credentials against REGISTRY, then save them (file mode 0600)."""
    host = _registry(registry)
    user = username or typer.prompt("Username")
    secret = read_password_stdin() if password_stdin else typer.prompt("Password", hide_input=True)
    if not user or not secret:
        raise AuthError("login needs a username and a password")
    credential = Credential(user, secret)
    with RegistryClient(host, credential=credential, insecure=insecure or ()) as client:
        client.ping()
    path = authfile or credentials.docker_config_file()
    credentials.store(path, host, credential)
    err_console.print(f"Login Succeeded: {user}@{host}")
    out_console.print(str(path), markup=False)


def logout(
    registry: Annotated[str, typer.Argument(help="Registry host[:port].")],
    authfile: AuthFileOpt = None,
) -> None:
    """Forget the saved credentials for REGISTRY."""
    host = _registry(registry)
    path = authfile or credentials.docker_config_file()
    if not credentials.erase(path, host):
        raise AuthError(f"not logged in to {host} (nothing in {path})")
    err_console.print(f"Removed login credentials for {host}")
    out_console.print(str(path), markup=False)


def register(app: typer.Typer) -> None:
    app.command()(login)
    app.command()(logout)
