"""plan.json read back through batches' public face: what cutover creates batches from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hybridkit.batches import Batch, PlanOptions, load_inputs, parse_plan, plan_batches, read_plan, write_plan
from hybridkit.errors import InputError
from tests.batches._org import MAILBOX_HEADER, person, write_csv


def test_a_written_plan_reads_back_as_its_batches(tmp_path: Path) -> None:
    inventory = write_csv(tmp_path / "mailboxes.csv", MAILBOX_HEADER, [person(f"user{n}") for n in range(5)])
    plan = plan_batches(load_inputs([inventory]), PlanOptions(max_mailboxes=2, name_prefix="Wave"))
    write_plan(plan, tmp_path / "out", xlsx=False)
    batches = read_plan(tmp_path / "out")
    assert batches == read_plan(tmp_path / "out" / "plan.json")
    assert [(b.name, b.mailboxes, b.size_bytes) for b in batches] == [
        (b.name, b.mailboxes, b.size_bytes) for b in plan.batches]


def test_a_plan_that_is_not_one_is_refused_with_where() -> None:
    assert parse_plan({"batches": [{"name": "W", "mailboxes": ["A@x.com"]}]}) == (Batch("W", ("a@x.com",), 0),)
    for bad, words in (([1], "not a batch plan"), ({"batches": [{"mailboxes": ["a@x.com"]}]}, "needs a 'name'"),
                       ({"batches": [{"name": "A", "mailboxes": []}]}, "non-empty list"),
                       ({"batches": [{"name": "A", "mailboxes": ["a@x.com"]}, {"name": "a", "mailboxes": ["b@x.com"]}]},
                        "appears twice"),
                       ({"batches": [{"name": "A", "mailboxes": ["a@x.com"]}, {"name": "B", "mailboxes": ["A@x.com"]}]},
                        "also planned in batch 'A'")):
        with pytest.raises(InputError, match=words) as err:
            parse_plan(json.loads(json.dumps(bad)), "p.json")
        assert err.value.file == "p.json"
