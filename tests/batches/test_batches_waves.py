"""Two levels in a plan: completion waves (the relationship groups) packed into sync batches (Exchange Online's
100-batch limit), in plan.json, the CSVs and the workbook, and read back through ``hybridkit.batches.read_layout``."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook
from typer.testing import CliRunner

from hybridkit.batches import (
    Batch,
    PlanLayout,
    PlanOptions,
    SERVICE_BATCH_LIMIT,
    Wave,
    load_inputs,
    parse_layout,
    plan_batches,
    read_layout,
    read_plan,
)
from hybridkit.cli import app
from hybridkit.errors import InputError
from tests.batches._org import fullaccess, inventory

EXAMPLE = Path(__file__).resolve().parents[2] / "batches"
EXAMPLE_CSVS = sorted(str(p) for p in EXAMPLE.glob("*.csv"))
runner = CliRunner()


def _plan(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["batches", "plan", *args], catch_exceptions=False)
    return result.exit_code, result.output


def test_sync_batches_pack_whole_waves_and_plan_json_shows_both_levels(tmp_path: Path) -> None:
    out = tmp_path / "plan"
    code, output = _plan(*EXAMPLE_CSVS, "--out", str(out), "--max-mailboxes", "15", "--sync-batches", "2")
    assert code == 0, output
    doc = json.loads((out / "plan.json").read_text())
    assert len(doc["batches"]) == 2 and len(doc["waves"]) > 2
    assert doc["summary"]["batches"] == 2 and doc["summary"]["waves"] == len(doc["waves"])
    assert doc["summary"]["sync_batches_packed"] is True and doc["warnings"] == []  # asked for: no warning
    sync = {b["name"]: b for b in doc["batches"]}
    for wave in doc["waves"]:
        assert set(wave) == {"name", "sync_batch", "mailboxes", "size_bytes", "mailboxes_without_size"}
        assert wave["name"] in sync[wave["sync_batch"]]["waves"]
        assert set(wave["mailboxes"]) <= set(sync[wave["sync_batch"]]["mailboxes"])  # a wave is never split
        assert len(wave["mailboxes"]) <= 15
    for batch in doc["batches"]:
        held = [w for w in doc["waves"] if w["sync_batch"] == batch["name"]]
        assert sorted(m for w in held for m in w["mailboxes"]) == batch["mailboxes"]
        assert batch["size_bytes"] == sum(w["size_bytes"] for w in held)
    counts = sorted(len(b["mailboxes"]) for b in doc["batches"])
    assert counts[-1] - counts[0] <= 15  # balanced by count
    # the hard (SendAs) links of the example never cross waves, so never sync batches
    assert doc["summary"]["cross_batch_links"]["hard"] == 0
    assert sorted(p.stem for p in (out / "batches").iterdir()) == sorted(sync)
    assert sorted(p.stem for p in (out / "waves").iterdir()) == sorted(w["name"] for w in doc["waves"])
    with open(out / "waves" / f"{doc['waves'][0]['name']}.csv", newline="", encoding="utf-8") as handle:
        assert [r[0] for r in csv.reader(handle)] == ["EmailAddress", *doc["waves"][0]["mailboxes"]]
    assert "completion waves" in output and "cutover create" in " ".join(output.split())

    book = CalamineWorkbook.from_path(str(out / "plan.xlsx"))
    waves = book.get_sheet_by_name("Waves").to_python()
    assert waves[0] == ["Wave", "Sync batch", "Mailboxes", "Size (GB)", "Pinned", "Without size"]
    assert {(r[0], r[1]) for r in waves[1:]} == {(w["name"], w["sync_batch"]) for w in doc["waves"]}
    mailboxes = book.get_sheet_by_name("Mailboxes").to_python()
    wave_of = {m: w for w in doc["waves"] for m in w["mailboxes"]}
    assert all(row[2] == wave_of[row[0]]["sync_batch"] and row[3] == wave_of[row[0]]["name"]
               for row in mailboxes[1:])

    layout = read_layout(out)
    assert [b.name for b in layout.batches] == [b["name"] for b in doc["batches"]]
    first = doc["waves"][0]
    assert layout.wave(first["name"].upper()) == Wave(first["name"], tuple(first["mailboxes"]), first["sync_batch"],
                                                      first["size_bytes"])
    assert layout.batch(first["sync_batch"]).waves == tuple(sync[first["sync_batch"]]["waves"])
    assert [w.name for w in layout.waves_of(first["sync_batch"])] == sync[first["sync_batch"]]["waves"]
    assert [b.name for b in read_plan(out)] == list(sync)  # what cutover creates: the sync batches
    with pytest.raises(KeyError, match="no wave 'nope'"):
        layout.wave("nope")


def test_more_waves_than_the_service_allows_are_packed_on_their_own(tmp_path: Path) -> None:
    names = [f"u{i:03d}" for i in range(2 * SERVICE_BATCH_LIMIT + 10)]
    people = inventory(tmp_path / "mailboxes.csv", names)
    access = fullaccess(tmp_path / "fullaccess.csv", [(names[i], names[i + 1]) for i in range(0, len(names), 2)])
    plan = plan_batches(load_inputs([people, access]), PlanOptions(max_mailboxes=2))
    assert len(plan.waves) == SERVICE_BATCH_LIMIT + 5 and len(plan.batches) <= SERVICE_BATCH_LIMIT
    assert any("more than Exchange Online's 100 migration batches" in w and "cannot see" in w for w in plan.warnings)
    sync_of = {w.name: w.sync_batch for w in plan.waves}
    for placement in plan.placements:
        assert placement.sync_batch == sync_of[placement.batch]
    for a, b in zip(names[0::2], names[1::2]):  # each linked pair is one wave, in one sync batch
        wave = next(w for w in plan.waves if f"{a}@contoso.com" in w.mailboxes)
        assert f"{b}@contoso.com" in wave.mailboxes


def test_without_packing_each_wave_is_its_own_batch_under_its_name(tmp_path: Path) -> None:
    names = ["a1", "a2", "b1"]
    plan = plan_batches(load_inputs([inventory(tmp_path / "m.csv", names, {"b1": "Wave-2"})]), PlanOptions())
    assert [(w.name, w.sync_batch) for w in plan.waves] == [(b.name, b.name) for b in plan.batches]
    assert all(b.waves == (b.name,) for b in plan.batches) and not plan.summary["sync_batches_packed"]


def test_a_plan_written_before_waves_reads_as_one_wave_per_batch(tmp_path: Path) -> None:
    old = {"batches": [{"name": "B1", "mailboxes": ["A@x.com", "b@x.com"], "size_bytes": 7},
                       {"name": "B2", "mailboxes": ["c@x.com"]}]}  # fmt: skip
    (tmp_path / "plan.json").write_text(json.dumps(old))
    layout = read_layout(tmp_path)
    assert layout == PlanLayout(
        (Batch("B1", ("a@x.com", "b@x.com"), 7, waves=("B1",)), Batch("B2", ("c@x.com",), 0, waves=("B2",))),
        (Wave("B1", ("a@x.com", "b@x.com"), "B1", 7), Wave("B2", ("c@x.com",), "B2", 0)),
    )
    assert read_plan(tmp_path) == (Batch("B1", ("a@x.com", "b@x.com"), 7), Batch("B2", ("c@x.com",), 0))


@pytest.mark.parametrize(("waves", "words"), [
    ([{"name": "W1", "sync_batch": "S", "mailboxes": ["a@x.com", "z@x.com"]}], "z@x.com is not in its sync batch"),
    ([{"name": "W1", "sync_batch": "S", "mailboxes": ["a@x.com"]}], "b@x.com is in no wave"),
    ([{"name": "W1", "sync_batch": "T", "mailboxes": ["a@x.com", "b@x.com"]}], "'T' is not a batch of the plan"),
    ([{"name": "W1", "sync_batch": "S", "mailboxes": ["a@x.com"]},
      {"name": "w1", "sync_batch": "S", "mailboxes": ["b@x.com"]}], "wave name 'w1' appears twice"),
    ([{"name": "W1", "sync_batch": "S", "mailboxes": ["a@x.com"]},
      {"name": "W2", "sync_batch": "S", "mailboxes": ["a@x.com", "b@x.com"]}], "also in wave 'W1'"),
])  # fmt: skip
def test_an_inconsistent_layout_is_refused_with_where(waves: list[dict[str, object]], words: str) -> None:
    data = {"batches": [{"name": "S", "mailboxes": ["a@x.com", "b@x.com"]}], "waves": waves}
    with pytest.raises(InputError, match=words):
        parse_layout(data)


def test_a_batch_listing_other_waves_than_sync_in_it_is_refused() -> None:
    data = {"batches": [{"name": "S", "mailboxes": ["a@x.com"], "waves": ["W9"]}],
            "waves": [{"name": "W1", "sync_batch": "S", "mailboxes": ["a@x.com"]}]}
    with pytest.raises(InputError, match="lists waves W9 but the waves syncing in it are W1"):
        parse_layout(data)


@pytest.mark.parametrize("value", ["0", "101"])
def test_sync_batches_out_of_range_is_refused_naming_the_limit(tmp_path: Path, value: str) -> None:
    code, output = _plan(*EXAMPLE_CSVS, "--out", str(tmp_path / "o"), "--sync-batches", value)
    assert code == 2 and "--sync-batches must be from 1 to 100" in " ".join(output.split())
    assert not (tmp_path / "o").exists()


def test_a_large_synthetic_org_fits_the_service_limit(tmp_path: Path) -> None:
    """The bench's generator (departments of 20-mailbox teams, 10 rows per mailbox): hundreds of waves, <= 100
    sync batches, each wave whole in one. (At 100,000 mailboxes the same gives 50 sync batches: see the report.)"""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    try:
        from plan_scale import _csvs, _generate_into  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    n = 6_000
    _generate_into(tmp_path, n, 10 * n, False)
    plan = plan_batches(load_inputs(_csvs(tmp_path)), PlanOptions(max_mailboxes=40))
    assert len(plan.waves) > SERVICE_BATCH_LIMIT >= len(plan.batches)
    assert sum(len(b.mailboxes) for b in plan.batches) == n
    sync_of = {w.name: w.sync_batch for w in plan.waves}
    members = {b.name: set(b.mailboxes) for b in plan.batches}
    assert all(set(w.mailboxes) <= members[w.sync_batch] for w in plan.waves)
    crossing_sync = [c for c in plan.cross_batch_links if sync_of[c.mailbox_batch] != sync_of[c.trustee_batch]]
    assert len(crossing_sync) < len(plan.cross_batch_links)  # packing only joins: links between waves of one batch
