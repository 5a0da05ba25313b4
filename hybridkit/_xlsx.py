"""Workbooks whose cells hold exactly the text given: never a formula, number or link made from input data.

A display name such as ``=HYPERLINK("http://evil","click")`` from an Exchange export must land in a report as text,
not as a live formula (CSV/formula injection); xlsxwriter turns such strings into formulas unless told not to.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["text_workbook"]


def text_workbook(path: str | Path, *, constant_memory: bool = False) -> Any:
    """An ``xlsxwriter.Workbook`` that writes every string as a string."""
    import xlsxwriter

    return xlsxwriter.Workbook(
        str(path),
        {
            "constant_memory": constant_memory,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        },
    )
