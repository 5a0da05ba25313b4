"""The built-in orgs (demo, synthetic, empty), sizes, and state persistence."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import pytest

from hybridkit.lab.exchange.engine import ExchangeEngine
from hybridkit.lab.exchange.objects import format_size
from hybridkit.lab.exchange.org import Org
from hybridkit.lab.exchange.orgs import build_org, calendar_permissions, mailbox_permissions
from hybridkit.lab.exchange.orgs_people import ORPHAN_SID
from tests.lab._engine_kit import cmd, onprem, run

MAILBOXES = {"UserMailbox", "SharedMailbox", "RoomMailbox", "EquipmentMailbox"}


@pytest.fixture(scope="module")
def demo() -> Org:
    return build_org("demo", time_scale=0.0)


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 B (0 bytes)"),
        (512, "512 B (512 bytes)"),
        (524_595, "512.3 KB (524,595 bytes)"),
        (4_555_456_537, "4.243 GB (4,555,456,537 bytes)"),
        (12_166_081_109, "11.33 GB (12,166,081,109 bytes)"),
        (37_688_569_064, "35.1 GB (37,688,569,064 bytes)"),
        (106_300_440_576, "99 GB (106,300,440,576 bytes)"),
        (1_099_511_627_776, "1 TB (1,099,511,627,776 bytes)"),
    ],
)
def test_format_size_matches_exchange(size: int, text: str) -> None:
    assert format_size(size) == text


def test_demo_org_is_realistic(demo: Org) -> None:
    recs = list(demo.onprem.recipients.values())
    kinds = Counter(r["RecipientTypeDetails"] for r in recs)
    assert kinds["UserMailbox"] >= 300 and kinds["SharedMailbox"] >= 10
    assert kinds["RoomMailbox"] and kinds["EquipmentMailbox"] and kinds["ArbitrationMailbox"] >= 3
    assert kinds["RemoteUserMailbox"] >= 5 and kinds["RemoteSharedMailbox"] == 1
    assert len({r.get("Department") for r in recs if r["RecipientTypeDetails"] == "UserMailbox"}) >= 8
    assert len(demo.onprem.collection("ExchangeServer")) == 2 and len(demo.onprem.collection("MailboxDatabase")) >= 4
    assert set(demo.onprem.collection("AcceptedDomain")) == {"contoso.com", "contoso.mail.onmicrosoft.com"}
    assert all(r["TotalItemSizeBytes"] > 0 and r["ItemCount"] >= 0 for r in recs if r["RecipientTypeDetails"] in MAILBOXES)
    names = [r["Name"] for r in recs]
    assert len(names) == len(set(names))
    aliases = [r["Alias"] for r in recs if r.get("Alias")]
    assert len(aliases) == len(set(aliases))


def test_demo_permissions(demo: Org) -> None:
    side = demo.onprem
    recs = side.recipients
    svc = next(r for r in recs.values() if r["SamAccountName"] == "svc-backup")
    mailboxes = [r for r in recs.values() if r["RecipientTypeDetails"] in MAILBOXES]
    assert all(any(e.get("Trustee") == svc["Guid"] and e["AccessRights"] == ["FullAccess"]
                   for e in r.get("MailboxPermissions", [])) for r in mailboxes)
    shared = [r for r in mailboxes if r["RecipientTypeDetails"] == "SharedMailbox"]
    assert all(len(r["MailboxPermissions"]) >= 3 and r.get("SendAs") for r in shared)
    heads = [r for r in mailboxes if str(r.get("Title", "")).startswith("Head of")]
    assert len(heads) >= 8
    for head in heads:
        assistant = recs[head["GrantSendOnBehalfTo"][0]]
        assert assistant["Title"] == "Executive Assistant"
        delegate = [e for e in head["CalendarPermissions"] if e.get("Trustee") == assistant["Guid"]]
        assert delegate[0]["AccessRights"] == ["Editor"] and delegate[0]["SharingPermissionFlags"] == "Delegate"
    entries = [e for r in mailboxes for e in r.get("MailboxPermissions", [])]
    assert any(e["User"] == ORPHAN_SID and e["Trustee"] is None for e in entries)
    group_guids = {g for g, r in recs.items() if r["RecipientTypeDetails"] == "MailUniversalSecurityGroup"}
    assert any(e.get("Trustee") in group_guids for e in entries)
    disabled = {g for g, r in recs.items() if r.get("AccountDisabled") and r["RecipientTypeDetails"] in ("UserMailbox", "DisabledUser")}
    assert any(e.get("Trustee") in disabled for e in entries)
    assert any(e.get("Deny") for e in entries)
    folders = Counter(r.get("CalendarFolder") for r in mailboxes if r["RecipientTypeDetails"] == "UserMailbox")
    assert folders["Kalender"] and folders["Calendrier"] and folders["Calendar"]
    implicit = mailbox_permissions(side, shared[0])
    assert implicit[0]["User"] == "NT AUTHORITY\\SELF" and implicit[0]["AccessRights"] == ["FullAccess", "ReadPermission"]
    assert any(e["IsInherited"] and e["Deny"] and e["User"] == "CONTOSO\\Domain Admins" for e in implicit)
    calendar = calendar_permissions(heads[0])
    assert [e["User"] for e in calendar[:2]] == ["Default", "Anonymous"]


def test_demo_cloud_side(demo: Org) -> None:
    online = demo.online.recipients.values()
    kinds = Counter(r["RecipientTypeDetails"] for r in online)
    assert kinds["MailUser"] >= 300 and kinds["UserMailbox"] >= 5 and kinds["SharedMailbox"] == 1
    licences = [r.get("PersistedCapabilities") for r in online if r["RecipientTypeDetails"] == "UserMailbox"]
    assert sum("BPOS_S_Enterprise" in caps for caps in licences) >= 3
    assert any(caps == ["BPOS_S_Standard"] for caps in licences)  # not hold-eligible
    by_exchange_guid = {r.get("ExchangeGuid"): r for r in online}
    for rec in demo.onprem.recipients.values():
        if rec["RecipientTypeDetails"] in ("RemoteUserMailbox", "RemoteSharedMailbox"):
            assert by_exchange_guid[rec["ExchangeGuid"]]["RecipientTypeDetails"] in ("UserMailbox", "SharedMailbox")
    migrated = next(r for r in online if r["RecipientTypeDetails"] == "UserMailbox" and r.get("MailboxPermissions"))
    assert all(e["Trustee"] is None or e["Trustee"] in demo.online.recipients for e in migrated["MailboxPermissions"])
    assert demo.online.settings["connect_app"]["organization"] == "contoso.onmicrosoft.com"


def test_demo_is_deterministic(demo: Org) -> None:
    again = build_org("demo", time_scale=0.0)
    assert json.dumps(again.onprem.recipients, sort_keys=True) == json.dumps(demo.onprem.recipients, sort_keys=True)
    assert again.online.settings["connect_app"] == demo.online.settings["connect_app"]


def test_state_round_trip(tmp_path: Path) -> None:
    state = tmp_path / "lab.json"
    first = ExchangeEngine.create("synthetic:50", state=state, time_scale=0.0)
    alias = next(iter(first.org.onprem.recipients.values()))["Alias"]
    first.org.onprem.recipients[next(iter(first.org.onprem.recipients))]["Office"] = "Moved"
    first.save()
    second = ExchangeEngine.create("demo", state=state, time_scale=0.0)  # the file wins over --org
    assert len(second.org.onprem.recipients) == len(first.org.onprem.recipients)
    assert second.online_app == first.online_app
    res = run(second, onprem(), cmd("Get-Mailbox", ResultSize="Unlimited"))
    assert len(res.out) == 50 and alias not in ("",)


def test_empty_org_and_bad_specs() -> None:
    empty = build_org("empty")
    assert empty.onprem.recipients == {} and empty.onprem.collection("ExchangeServer")
    with pytest.raises(ValueError):
        build_org("huge")
    with pytest.raises(ValueError):
        build_org("synthetic:many")


def test_synthetic_100k_is_fast_and_proportional() -> None:
    start = time.perf_counter()
    org = build_org("synthetic:100000", time_scale=0.0)
    elapsed = time.perf_counter() - start
    assert elapsed < 30, elapsed  # loose: a few seconds on an idle machine
    recs = org.onprem.recipients
    kinds = Counter(r["RecipientTypeDetails"] for r in recs.values())
    assert kinds["UserMailbox"] + kinds["SharedMailbox"] + kinds["RoomMailbox"] == 100_000
    assert 6_000 <= kinds["SharedMailbox"] <= 8_000
    assert len(org.online.recipients) == 100_000
    assert sum(len(r.get("SendAs", ())) for r in recs.values()) >= 2 * kinds["SharedMailbox"]
    engine = ExchangeEngine(org)
    ids = [r["PrimarySmtpAddress"] for r in list(recs.values())[1:1001]]
    start = time.perf_counter()
    res = run(engine, onprem(), cmd("Get-Mailbox"), inputs=ids)
    assert len(res.out) == 1000 and res.errors == []
    assert time.perf_counter() - start < 30
