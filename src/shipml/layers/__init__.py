"""Layer sources: a deterministic tar writer, entries from files and trees, file-backed layers.

``write_layer(entries, out_dir)`` streams entries through tar, the compressor and both hashes in
one pass and returns a ``FileLayer``; ``tree_entries`` / ``file_entry`` / ``bytes_entry`` say what
goes where in the image and who owns it.
"""

from shipml.layers.blob import FileLayer, VerifyingStream, decompressing
from shipml.layers.entries import bytes_entry, file_entry, tree_entries
from shipml.layers.tar import Entry, EntryKind, Owner, source_date_epoch
from shipml.layers.writer import write_layer

__all__ = [
    "Entry",
    "EntryKind",
    "FileLayer",
    "Owner",
    "VerifyingStream",
    "bytes_entry",
    "decompressing",
    "file_entry",
    "source_date_epoch",
    "tree_entries",
    "write_layer",
]
