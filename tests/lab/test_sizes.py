"""ByteQuantifiedSize text: one formatter, four significant digits everywhere Exchange prints a size."""

from __future__ import annotations

import pytest

from hybridkit.lab.exchange import migration_state
from hybridkit.lab.exchange.cmdlets import _store
from hybridkit.lab.exchange.objects import format_size

CASES = [
    (0, "0 B (0 bytes)"),
    (512, "512 B (512 bytes)"),
    (524_595, "512.3 KB (524,595 bytes)"),
    (159_450_824, "152.1 MB (159,450,824 bytes)"),
    (4_555_456_537, "4.243 GB (4,555,456,537 bytes)"),
    (12_166_081_109, "11.33 GB (12,166,081,109 bytes)"),
    (37_688_569_064, "35.1 GB (37,688,569,064 bytes)"),
    (106_300_440_576, "99 GB (106,300,440,576 bytes)"),
    (1_032_552_448, "984.7 MB (1,032,552,448 bytes)"),  # petri.com, Get-MailboxStatistics | Format-List
    (6_512_255_010, "6.065 GB (6,512,255,010 bytes)"),
    (1_099_511_627_776, "1 TB (1,099,511,627,776 bytes)"),
]


@pytest.mark.parametrize(("size", "text"), CASES)
def test_every_size_formatter_prints_four_significant_digits(size: int, text: str) -> None:
    assert format_size(size) == text
    assert migration_state.format_size(size) == text  # move statistics (TotalMailboxSize, BytesTransferred)
    assert _store.byte_quantified(size) == text  # connector MaxMessageSize


@pytest.mark.parametrize(("given", "text"), [
    ("50MB", "50 MB (52,428,800 bytes)"),
    ("35 MB", "35 MB (36,700,160 bytes)"),
    ("10.5GB", "10.5 GB (11,274,289,152 bytes)"),
    ("Unlimited", "Unlimited"),
])
def test_size_parameters_print_as_exchange_shows_them(given: str, text: str) -> None:
    assert _store.byte_quantified(given) == text
