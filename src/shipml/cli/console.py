"""The two consoles of the CLI: results on stdout, progress and logs on stderr."""

from __future__ import annotations

from rich.console import Console

# No emoji codes: a ":name:" in a message stays as typed, and rich never loads its emoji table.
out_console = Console(highlight=False, soft_wrap=True, emoji=False)
err_console = Console(stderr=True, highlight=False, emoji=False)
