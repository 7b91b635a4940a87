"""``python -m shipml.runtime PROJECT``: the model server (the entrypoint of shipml images)."""

import signal
import sys

# As PID 1 of a container the process ignores SIGTERM until it installs a handler, and the imports
# below take seconds: a stop then would wait for SIGKILL. Nothing is accepted yet, so exit at once;
# uvicorn installs its draining handler before it listens.
signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))

from shipml.runtime.main import main  # noqa: E402

main()
