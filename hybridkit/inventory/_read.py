"""The crawl's input from disk: the ``--mailboxes`` list (CSV or XLSX) through ``hybridkit.tables``."""

from __future__ import annotations

from pathlib import Path

from hybridkit.tables import read_addresses

__all__ = ["read_mailboxes"]


def read_mailboxes(path: Path) -> list[str]:
    """The file's addresses, each once, in file order.

    Raises:
        InputError: no mailbox column, or a value that is not an email address (a name or alias), with its row.
    """
    return list(dict.fromkeys(read_addresses(path)))
