"""One reader for tables (CSV files and workbooks) and one size parser, for every capability.

* ``read_table(path)`` reads a CSV file (any encoding, delimiter and line end Exchange, PowerShell and Excel write)
  or every sheet of a workbook into ``Sheet`` grids of text with their row numbers, and ``Note``s for what a person
  should know (an empty file, a line in another encoding); it never raises for a bad file.
* ``read_mailbox_list(path)`` / ``read_addresses(path)``: the mailbox column of such a file, each value with its
  file, sheet and row; ``InputError`` (exit 2) when there is none.
* ``parse_size``, ``as_bytes``, ``byte_quantity``: sizes as Exchange writes them (``"152.1 MB (159,450,824
  bytes)"``), ``Unlimited``, plain numbers.

Workbooks are read with python-calamine (written, elsewhere, with xlsxwriter).
"""

from hybridkit.tables._decode import Decoded, decode
from hybridkit.tables._mailboxes import MAILBOX_COLUMNS, Listed, column_key, read_addresses, read_mailbox_list
from hybridkit.tables._read import (
    BOOK_SUFFIXES,
    CSV_SUFFIXES,
    HEADER_SCAN,
    Note,
    Sheet,
    TableFile,
    cell_text,
    find_header,
    is_workbook,
    read_table,
)
from hybridkit.tables._sizes import as_bytes, byte_quantity, is_unlimited, parse_size, unit_of_column

__all__ = [
    "BOOK_SUFFIXES",
    "CSV_SUFFIXES",
    "Decoded",
    "HEADER_SCAN",
    "Listed",
    "MAILBOX_COLUMNS",
    "Note",
    "Sheet",
    "TableFile",
    "as_bytes",
    "byte_quantity",
    "cell_text",
    "column_key",
    "decode",
    "find_header",
    "is_unlimited",
    "is_workbook",
    "parse_size",
    "read_addresses",
    "read_mailbox_list",
    "read_table",
    "unit_of_column",
]
