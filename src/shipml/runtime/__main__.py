"""``python -m shipml.runtime PROJECT``: the model server (the entrypoint of shipml images)."""

from shipml.runtime.main import main

main()
