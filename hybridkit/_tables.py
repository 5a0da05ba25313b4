"""Tables that fit the terminal without cropping: cells wrap by words, headers stay whole, columns drop instead.

Rich shrinks a table that is too wide by cutting cells ("star…") and breaking headers mid-word ("profil|e").
``fitted_table`` works out each column's narrowest honest width first (the header and every unbreakable value
whole, wrapped text no narrower than its longest word, up to a limit), then leaves out whole columns, least
important first, until the rest fit. The caller says which columns were left out (in a caption), so nothing is
silently lost; ``--output json`` always has everything.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Literal

from rich.table import Table

__all__ = ["Column", "fitted_table"]

_LONGEST_UNBROKEN_WORD = 24  # a longer word (a path, a DN) in a wrapping column is folded rather than kept whole


@dataclasses.dataclass(frozen=True)
class Column:
    """One column of a fitted table.

    Attributes:
        header: the header text (never broken inside a word).
        wrap: False for values that must stay on one line (ids, states, counts).
        drop: 0 keeps the column at any width; otherwise columns with the highest ``drop`` go first.
        justify: the cells' alignment.
    """

    header: str
    wrap: bool = True
    drop: int = 0
    justify: Literal["left", "right", "center"] = "left"


def _min_width(column: Column, cells: Sequence[str]) -> int:
    header = max(len(word) for word in column.header.split() or [""])
    if not column.wrap:
        return max([header, *(len(line) for c in cells for line in c.splitlines() or [""])])
    words = [len(w) for c in cells for w in c.split()]
    return max(header, min(max(words, default=0), _LONGEST_UNBROKEN_WORD))


def fitted_table(width: int, columns: Sequence[Column], rows: Sequence[Sequence[str]],
                 **table_options: Any) -> tuple[Table, list[str]]:
    """A Rich table of ``rows`` no wider than ``width``; returns it and the headers of the columns left out.

    Cells are plain text (escape Rich markup before passing it).
    """
    mins = [_min_width(c, [r[i] for r in rows]) for i, c in enumerate(columns)]
    kept = list(range(len(columns)))

    def needed() -> int:  # each column: its width plus one space of padding either side, plus the rules
        return sum(mins[i] + 2 for i in kept) + len(kept) + 1

    for index in sorted((i for i, c in enumerate(columns) if c.drop), key=lambda i: -columns[i].drop):
        if needed() <= width:
            break
        kept.remove(index)
    table = Table(**table_options)
    for i in kept:
        column = columns[i]
        table.add_column(column.header, justify=column.justify, min_width=mins[i], no_wrap=not column.wrap,
                         overflow="fold")
    for row in rows:
        table.add_row(*(row[i] for i in kept))
    return table, [columns[i].header for i in range(len(columns)) if i not in kept]
