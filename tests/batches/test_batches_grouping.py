"""Grouping: hard/soft links, capped splits with the fewest crossings, super-connectors, pins, balance, names."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hybridkit.batches import PlanOptions, load_inputs, plan_batches
from tests.batches._org import crossings, fullaccess, inventory, sendas, write_csv


def plan_for(
    tmp: Path,
    names: list[str],
    soft: list[tuple[str, str]] = (),  # type: ignore[assignment]
    hard: list[tuple[str, str]] = (),  # type: ignore[assignment]
    waves: dict[str, str] | None = None,
    sizes_gb: dict[str, float] | None = None,
    **options: Any,
) -> dict[str, Any]:
    paths = [inventory(tmp / "mailboxes.csv", names, waves)]
    if soft:
        paths.append(fullaccess(tmp / "fullaccess.csv", soft))
    if hard:
        paths.append(sendas(tmp / "sendas.csv", hard))
    if sizes_gb:
        rows = [[f"{n}@contoso.com", f"{int(g * 1024**3):,}"] for n, g in sizes_gb.items()]
        paths.append(write_csv(tmp / "sizes.csv", ["PrimarySmtpAddress", "TotalItemSizeBytes"], rows))
    return plan_batches(load_inputs(paths), PlanOptions(**options)).to_json()


def batch_of(doc: dict[str, Any]) -> dict[str, str]:
    return {m.split("@")[0]: b["name"] for b in doc["batches"] for m in b["mailboxes"]}


def test_hard_groups_interleaved_in_the_inventory_stay_whole(tmp_path: Path) -> None:
    groups = [[f"g{g}m{j}" for j in range(5)] for g in range(4)]
    names = [groups[g][j] for j in range(5) for g in range(4)]  # round-robin: g0m0, g1m0, g2m0, ...
    hard = [(grp[0], member) for grp in groups for member in grp[1:]]  # SendAs on each group's first mailbox
    doc = plan_for(tmp_path, names, hard=hard, max_mailboxes=5)
    assert crossings(doc) == (0, 0)
    where = batch_of(doc)
    assert all(len({where[m] for m in grp}) == 1 for grp in groups)
    assert sorted(len(b["mailboxes"]) for b in doc["batches"]) == [5, 5, 5, 5]
    # an arbitrary chunking of the same inventory (in file order, 5 at a time) would cut most links
    chunk = {name: i // 5 for i, name in enumerate(names)}
    assert sum(chunk[a] != chunk[b] for a, b in hard) >= 12


def test_soft_clusters_are_cut_at_their_single_bridge(tmp_path: Path) -> None:
    left = [f"l{i}" for i in range(6)]
    right = [f"r{i}" for i in range(6)]
    soft = [(a, b) for cluster in (left, right) for a in cluster for b in cluster if a < b]
    soft.append(("l5", "r0"))
    names = [x for pair in zip(left, right) for x in pair]
    doc = plan_for(tmp_path, names, soft=soft, max_mailboxes=6)
    assert crossings(doc) == (0, 1)
    (link,) = doc["cross_batch_links"]
    assert (link["mailbox"], link["trustee"], link["right"]) == ("l5@contoso.com", "r0@contoso.com", "FullAccess")
    assert link["mailbox_batch"] != link["trustee_batch"]
    where = batch_of(doc)
    assert len({where[m] for m in left}) == 1 and len({where[m] for m in right}) == 1


def test_hard_group_over_the_cap_cuts_one_hard_link_and_prefers_cutting_soft(tmp_path: Path) -> None:
    names = [f"x{i}" for i in range(1, 7)]
    hard = [("x1", "x2"), ("x2", "x3"), ("x3", "x4"), ("x4", "x5"), ("x5", "x6")]
    soft = [("x3", "x5"), ("x2", "x6"), ("x1", "x5")]
    doc = plan_for(tmp_path, names, soft=soft, hard=hard, max_mailboxes=3)
    assert crossings(doc) == (1, 3)
    where = batch_of(doc)
    assert where["x1"] == where["x2"] == where["x3"] != where["x4"] == where["x5"] == where["x6"]


def test_two_hard_cliques_joined_by_one_hard_link(tmp_path: Path) -> None:
    a = [f"a{i}" for i in range(4)]
    b = [f"b{i}" for i in range(4)]
    hard = [(x, y) for grp in (a, b) for x in grp for y in grp if x < y] + [("a3", "b0")]
    doc = plan_for(tmp_path, [x for p in zip(a, b) for x in p], hard=hard, max_mailboxes=4)
    assert crossings(doc) == (1, 0)
    assert doc["summary"]["split_groups"] >= 1


def test_source_2010_makes_fullaccess_hard(tmp_path: Path) -> None:
    soft = [("a", "b"), ("c", "d")]
    assert plan_for(tmp_path, ["a", "b", "c", "d"], soft=soft)["summary"]["links"] == {"hard": 0, "soft": 2}
    doc = plan_for(tmp_path, ["a", "b", "c", "d"], soft=soft, source_version=2010)
    assert doc["summary"]["links"] == {"hard": 2, "soft": 0}


def test_super_connectors_never_glue_and_their_mailbox_is_still_planned(tmp_path: Path) -> None:
    users = [f"u{i:02d}" for i in range(55)]
    soft = [(u, "boss") for u in users]  # boss has FullAccess on 55 mailboxes
    paths = [inventory(tmp_path / "mailboxes.csv", users + ["boss"]), fullaccess(tmp_path / "fa.csv", soft)]
    svc = [[f"contoso.com/Corp/Users/{u.upper()}", "CONTOSO\\svc-backup", "FullAccess", "False", "False"]
           for u in users]  # fmt: skip
    paths.append(write_csv(tmp_path / "svc.csv", ["Identity", "User", "AccessRights", "IsInherited", "Deny"], svc))
    doc = plan_batches(load_inputs(paths), PlanOptions(max_mailboxes=20)).to_json()
    excluded = {e["trustee"]: e for e in doc["excluded_trustees"]}
    assert set(excluded) == {"boss@contoso.com", "CONTOSO\\svc-backup"}
    assert excluded["boss@contoso.com"]["mailbox_count"] == 55
    assert excluded["CONTOSO\\svc-backup"]["mailbox_count"] == 55
    assert "no mailbox" in excluded["CONTOSO\\svc-backup"]["reason"]
    assert doc["unresolved"] == []  # the service account's rows are summarised, not listed one by one
    assert "boss" in batch_of(doc)  # planned like any other mailbox
    assert doc["summary"]["links"] == {"hard": 0, "soft": 0}
    assert doc["cross_batch_links"] == []
    assert [len(b["mailboxes"]) for b in doc["batches"]] == [19, 19, 18]  # 56 over ceil(56 / 20) batches
    # a higher threshold: boss glues everyone (one group over the cap gets split), svc rows are reported
    loose = plan_batches(load_inputs(paths), PlanOptions(max_mailboxes=100, super_connector_degree=60)).to_json()
    assert loose["excluded_trustees"] == []
    assert len(loose["batches"]) == 1
    assert len(loose["unresolved"]) == 55


def test_exclude_trustee_option(tmp_path: Path) -> None:
    doc = plan_for(tmp_path, ["a", "b", "c"], soft=[("a", "c"), ("b", "c")], max_mailboxes=2,
                   exclude_trustees=("CONTOSO\\c", "nobody"))  # fmt: skip
    ((entry),) = doc["excluded_trustees"]
    assert entry == {"trustee": "c@contoso.com", "reason": "--exclude-trustee", "mailbox_count": 2}
    assert doc["summary"]["links"] == {"hard": 0, "soft": 0}
    assert any("nobody" in w for w in doc["warnings"])


def test_pinned_waves_are_kept_and_pull_their_hard_partners(tmp_path: Path) -> None:
    names = ["a1", "a2", "b1", "b2", "c1", "c2", "d1"]
    hard = [("a1", "a2"), ("a1", "b1"), ("b1", "b2")]
    doc = plan_for(tmp_path, names, hard=hard, waves={"a1": "W1", "b1": "2", "d1": "W1"}, max_mailboxes=10)
    where = batch_of(doc)
    assert where["a1"] == where["a2"] == where["d1"] == "W1"
    assert where["b1"] == where["b2"] == "Wave-2"
    assert where["c1"] == where["c2"] == "Batch-001"
    (link,) = doc["cross_batch_links"]  # the pins win over the hard link between them, which is listed
    assert (link["mailbox"], link["trustee"], link["strength"]) == ("a1@contoso.com", "b1@contoso.com", "hard")
    assert {b["name"] for b in doc["batches"]} == {"W1", "Wave-2", "Batch-001"}


def test_wave_names_differing_only_in_case_or_punctuation_are_one_batch_with_a_note(tmp_path: Path) -> None:
    """"Wave 2" and "wave 2" would be two batch CSVs that collide on Windows/macOS and two batch names Exchange
    Online refuses as duplicates; "Wave-2" is the very same batch name once made safe."""
    names = ["a1", "a2", "a3", "a4", "b1"]
    waves = {"a1": "Wave 2", "a2": "wave 2", "a3": "WAVE-2", "b1": "Wave 3"}
    doc = plan_for(tmp_path, names, waves=waves, max_mailboxes=10)
    where = batch_of(doc)
    assert where["a1"] == where["a2"] == where["a3"] == "Wave-2"
    assert where["b1"] == "Wave-3" and where["a4"] == "Batch-001"
    names_lower = [b["name"].lower() for b in doc["batches"]]
    assert len(names_lower) == len(set(names_lower)) == 3
    (note,) = [w for w in doc["warnings"] if "Wave-2" in w]
    assert "'Wave 2'" in note and "'wave 2'" in note and "'WAVE-2'" in note and "one batch" in note


def test_a_wave_named_like_an_automatic_batch_keeps_names_distinct(tmp_path: Path) -> None:
    doc = plan_for(tmp_path, ["a1", "b1", "c1"], waves={"a1": "batch-001"}, max_mailboxes=1)
    names_lower = [b["name"].lower() for b in doc["batches"]]
    assert len(names_lower) == len(set(names_lower)) == 3
    assert batch_of(doc)["a1"] == "batch-001"


def test_balance_by_count_and_by_size(tmp_path: Path) -> None:
    names = [f"m{i:03d}" for i in range(100)]
    doc = plan_for(tmp_path, names, max_mailboxes=30)
    assert [len(b["mailboxes"]) for b in doc["batches"]] == [25, 25, 25, 25]
    rng = random.Random(3)
    sizes = {n: rng.choice([1.0, 2.0, 5.0, 9.0]) for n in names[:40]}
    doc = plan_for(tmp_path, names[:40], sizes_gb=sizes, max_gb=40, max_mailboxes=None)
    totals = [b["size_bytes"] / 1024**3 for b in doc["batches"]]
    assert all(t <= 40 for t in totals)
    assert len(totals) == -(-int(sum(sizes.values())) // 40) or len(totals) == -(-int(sum(sizes.values())) // 40) + 1
    assert max(totals) - min(totals) <= 9.0


def test_names_are_stable_and_prefixed(tmp_path: Path) -> None:
    rng = random.Random(11)
    names = [f"p{i:03d}" for i in range(120)]
    soft = [(rng.choice(names), rng.choice(names)) for _ in range(150)]
    hard = [(rng.choice(names), rng.choice(names)) for _ in range(60)]
    first = plan_for(tmp_path, names, soft=soft, hard=hard, max_mailboxes=25)
    again = plan_for(tmp_path, names, soft=soft, hard=hard, max_mailboxes=25)
    assert json.dumps(first, sort_keys=True) == json.dumps(again, sort_keys=True)
    renamed = plan_for(tmp_path, names, soft=soft, hard=hard, max_mailboxes=25, name_prefix="Wave")
    assert [b["name"] for b in renamed["batches"]] == [b["name"].replace("Batch", "Wave") for b in first["batches"]]
    assert all(len(b["mailboxes"]) <= 25 for b in first["batches"])


def test_every_crossing_permission_is_listed_once(tmp_path: Path) -> None:
    rng = random.Random(5)
    names = [f"q{i:02d}" for i in range(60)]
    soft = sorted({(a, b) for a, b in ((rng.choice(names), rng.choice(names)) for _ in range(120)) if a != b})
    hard = sorted({(a, b) for a, b in ((rng.choice(names), rng.choice(names)) for _ in range(40)) if a != b})
    doc = plan_for(tmp_path, names, soft=soft, hard=hard, max_mailboxes=12)
    where = batch_of(doc)
    expected = {(a, b, "FullAccess") for a, b in soft if where[a] != where[b]}
    expected |= {(a, b, "SendAs") for a, b in hard if where[a] != where[b]}
    listed = [(c["mailbox"].split("@")[0], c["trustee"].split("@")[0], c["right"]) for c in doc["cross_batch_links"]]
    assert sorted(listed) == sorted(expected)
    for c in doc["cross_batch_links"]:
        assert c["mailbox_batch"] == where[c["mailbox"].split("@")[0]]
        assert c["trustee_batch"] == where[c["trustee"].split("@")[0]]
        assert c["strength"] == ("hard" if c["right"] == "SendAs" else "soft")
    assert all(len(b["mailboxes"]) <= 12 for b in doc["batches"])
    assert sorted(m for b in doc["batches"] for m in b["mailboxes"]) == sorted(f"{n}@contoso.com" for n in names)


def test_fasttrack_permissions_file(tmp_path: Path) -> None:
    inventory(tmp_path / "mailboxes.csv", ["a", "b", "c", "d", "e"])
    write_csv(tmp_path / "Find-MailboxDelegates-Permissions.csv", ["Mailbox", "User", "AccessRights"], [
        ["a@contoso.com", "b@contoso.com", "Full Access"],
        ["a@contoso.com", "c@contoso.com", "Send As"],
        ["c@contoso.com", "d@contoso.com", "SendOnBehalfTo"],
        ["d@contoso.com", "e@contoso.com", "Calendar Folder"],
        ["e@contoso.com", "None", "None"],
        ["b@contoso.com", "None", "FullAccess"],
    ], type_line=False)  # fmt: skip
    paths = [tmp_path / "mailboxes.csv", tmp_path / "Find-MailboxDelegates-Permissions.csv"]
    doc = plan_batches(load_inputs(paths), PlanOptions()).to_json()
    assert doc["unresolved"] == []
    assert doc["summary"]["links"] == {"hard": 2, "soft": 2}
    assert doc["summary"]["skipped"] == {"none": 1, "other rights": 1}


def test_a_mailbox_alone_over_the_size_cap_gets_its_own_batch_and_a_warning(tmp_path: Path) -> None:
    doc = plan_for(tmp_path, ["big", "s1", "s2"], sizes_gb={"big": 80, "s1": 10, "s2": 10}, max_gb=50)
    where = batch_of(doc)
    assert where["big"] != where["s1"]
    (warning,) = doc["warnings"]
    assert warning.startswith("mailbox big@contoso.com (80.0 GB) alone exceeds --max-gb 50")
    assert "bytes" not in warning and "1 mailboxes" not in warning


def test_a_pinned_wave_over_the_caps_is_named_with_its_size_in_gb(tmp_path: Path) -> None:
    waves = {"a1": "W1", "a2": "W1", "a3": "W1"}
    doc = plan_for(tmp_path, ["a1", "a2", "a3", "b1"], waves=waves, sizes_gb={"a1": 30, "a2": 30, "a3": 1.5, "b1": 1},
                   max_gb=50, max_mailboxes=2)  # fmt: skip
    (warning,) = doc["warnings"]
    assert warning == ("pinned batch W1 holds 3 mailboxes (61.5 GB), over --max-mailboxes 2 and --max-gb 50: "
                       "the Wave/Batch column puts them together")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    n=st.integers(2, 40),
    edges=st.lists(st.tuples(st.integers(0, 39), st.integers(0, 39), st.booleans()), max_size=120),
    cap=st.integers(1, 12),
    pins=st.dictionaries(st.integers(0, 39), st.sampled_from(["W1", "W2"]), max_size=4),
)
def test_properties_every_mailbox_once_caps_kept_crossings_complete(
    tmp_path: Path, n: int, edges: list[tuple[int, int, bool]], cap: int, pins: dict[int, str]
) -> None:
    names = [f"h{i:02d}" for i in range(n)]
    links = [(names[a], names[b], h) for a, b, h in edges if a < n and b < n and a != b]
    waves = {names[i]: w for i, w in pins.items() if i < n}
    doc = plan_for(tmp_path, names, soft=[(a, b) for a, b, h in links if not h],
                   hard=[(a, b) for a, b, h in links if h], waves=waves, max_mailboxes=cap)  # fmt: skip
    placed = [m for b in doc["batches"] for m in b["mailboxes"]]
    assert sorted(placed) == sorted(f"{x}@contoso.com" for x in names)
    for b in doc["batches"]:
        if not b["name"].startswith("W"):
            assert len(b["mailboxes"]) <= cap
    where = batch_of(doc)
    for name, wave in waves.items():
        assert where[name] == wave
    expected = {(a, b) for a, b, _ in links if where[a] != where[b]}
    assert {(c["mailbox"].split("@")[0], c["trustee"].split("@")[0]) for c in doc["cross_batch_links"]} == expected


def test_every_mailbox_has_a_reason(tmp_path: Path) -> None:
    paths = [inventory(tmp_path / "mailboxes.csv", ["a", "b", "c", "d", "lone", "pin"], {"pin": "W9"}),
             fullaccess(tmp_path / "fa.csv", [("a", "b"), ("b", "c"), ("c", "d")])]  # fmt: skip
    plan = plan_batches(load_inputs(paths), PlanOptions(max_mailboxes=2))
    why = {p.mailbox.split("@")[0]: p.reason for p in plan.placements}
    assert why["pin"].startswith("pinned to W9")
    assert why["lone"].startswith("no permission links")
    assert "split along the fewest links" in why["b"]
    crossing = [name for name in "abcd" if "cross to other batches" in why[name]]
    assert sorted(crossing) == ["b", "c"]  # the chain a-b-c-d is cut once, in the middle
    assert plan.summary["cross_batch_links"] == {"hard": 0, "soft": 1}


def test_planted_partition_is_recovered_exactly() -> None:
    """40 hard-linked teams of 25, shuffled, 60 random hard links between teams; cap 25: only those 60 may cross."""
    import numpy as np

    from hybridkit.batches._graph import HARD
    from hybridkit.batches._group import group_mailboxes

    rng = random.Random(1)
    teams, size = 40, 25
    n = teams * size
    perm = list(range(n))
    rng.shuffle(perm)
    node = lambda team, j: perm[team * size + j]  # noqa: E731
    u, v = [], []
    for team in range(teams):
        for a in range(size):
            for b in range(a + 1, size):
                if rng.random() < 0.3:
                    u.append(node(team, a))
                    v.append(node(team, b))
    between = 0
    for _ in range(60):
        t1, t2 = rng.sample(range(teams), 2)
        u.append(node(t1, rng.randrange(size)))
        v.append(node(t2, rng.randrange(size)))
        between += 1
    grouping = group_mailboxes(n, np.array(u), np.array(v), np.full(len(u), HARD), np.zeros(n, dtype=np.int64),
                               [""] * n, PlanOptions(max_mailboxes=size))  # fmt: skip
    cut = sum(1 for a, b in zip(u, v) if grouping.batch_of[a] != grouping.batch_of[b])
    assert cut == between
    chunked = sum(1 for a, b in zip(u, v) if a // size != b // size)  # file-order chunking, for contrast
    assert chunked > 10 * between
