"""End-to-end: ``hybridkit inventory export`` against the lab's demo org, then batch planning from the crawl.

The crawl only reads, so the tests share one lab (and one complete crawl of it) and tell their requests apart by
slicing its audit log.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

pytest.importorskip("hybridkit.lab.exchange.engine", reason="the Exchange engine is not available")

from hybridkit.batches._model import PlanOptions  # noqa: E402
from hybridkit.batches._plan import plan_batches  # noqa: E402
from hybridkit.batches._read import load_inputs  # noqa: E402
from hybridkit.cli import app  # noqa: E402
from hybridkit.inventory._discover import CrawlReader  # noqa: E402
from hybridkit.lab.exchange.cmdlets._registry import HANDLERS  # noqa: E402
from hybridkit.lab.server import LabOptions, LabServer  # noqa: E402
from tests.conftest import LabHandle  # noqa: E402

MAILBOX_KINDS = {"UserMailbox", "SharedMailbox", "RoomMailbox", "EquipmentMailbox"}
REMOTE_KINDS = {"RemoteUserMailbox", "RemoteSharedMailbox"}


@pytest.fixture(scope="module")
def shared_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LabHandle, Path]]:
    """One demo-org lab for the module, and a hybridkit.toml whose ``lab`` profile reaches it."""
    where = tmp_path_factory.mktemp("inventory-lab")
    server = LabServer(LabOptions(port=0, org="demo", audit=where / "audit.jsonl", ready_file=where / "lab.json"))
    server.start()
    config = where / "hybridkit.toml"
    config.write_text(f'default_profile = "lab"\n[profiles.lab]\nkind = "lab"\nready_file = "{where / "lab.json"}"\n'
                      "max_shells = 3\n", encoding="utf-8")
    try:
        yield LabHandle.of(server), config
    finally:
        server.stop()


def _runner(config: Path) -> Any:
    def run(*args: str) -> Any:
        return CliRunner().invoke(app, ["--config", str(config), "-o", "json", "inventory", "export", *args])
    return run


@pytest.fixture(scope="module")
def full_crawl(shared_lab: tuple[LabHandle, Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """A complete crawl of the shared lab (every include), done once: its folder and the identities it read."""
    handle, config = shared_lab
    where = tmp_path_factory.mktemp("full-crawl")
    before = len(handle.audit_records("pipeline"))
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(where)
        result = _runner(config)("--out", str(where / "inv"))
    assert result.exit_code == 0, result.output
    items = sum(p["input_count"] for p in handle.audit_records("pipeline")[before:])
    return where / "inv", items


@pytest.fixture
def crawl(shared_lab: tuple[LabHandle, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    handle, config = shared_lab
    monkeypatch.chdir(tmp_path)
    run = _runner(config)
    run.handle = handle  # type: ignore[attr-defined]
    run.org = handle.server.engine.org  # type: ignore[attr-defined]
    run.tmp = tmp_path  # type: ignore[attr-defined]
    return run


def _rows(path: Path) -> list[dict[str, str]]:
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    if lines and lines[0].startswith("#TYPE"):
        lines = lines[1:]
    return list(csv.DictReader(lines))


def _relationships(org: Any) -> set[tuple[str, str, str]]:
    """(mailbox smtp, trustee smtp, right) for every permission the lab holds on an on-prem mailbox, whose
    trustee is a mailbox on either side (an on-prem one, or a cloud one shown on-prem as a remote mailbox)."""
    out: set[tuple[str, str, str]] = set()
    side = org.onprem
    for rec in side.recipients.values():
        if rec.get("RecipientTypeDetails") not in MAILBOX_KINDS:
            continue
        me = rec["PrimarySmtpAddress"].lower()
        grants = [("fullaccess", e.get("Trustee")) for e in rec.get("MailboxPermissions") or [] if not e.get("Deny")]
        grants += [("sendas", e.get("Trustee")) for e in rec.get("SendAs") or [] if not e.get("Deny")]
        grants += [("sendonbehalf", g) for g in rec.get("GrantSendOnBehalfTo") or []]
        grants += [("calendar", e.get("Trustee")) for e in rec.get("CalendarPermissions") or []]
        for right, trustee in grants:
            target = side.recipients.get(str(trustee)) if trustee else None
            if target is None or target.get("RecipientTypeDetails") not in MAILBOX_KINDS | REMOTE_KINDS:
                continue
            other = target["PrimarySmtpAddress"].lower()
            if other != me:
                out.add((me, other, right))
    return out


def _names(org: Any, smtp: str) -> set[str]:
    rec = next(r for r in org.onprem.recipients.values() if str(r.get("PrimarySmtpAddress")).lower() == smtp)
    names = {str(rec.get(k)).lower() for k in ("PrimarySmtpAddress", "DisplayName", "Identity", "Name",
                                                 "UserPrincipalName") if rec.get(k)}
    names.add(f"contoso\\{rec.get('SamAccountName')}".lower())
    return names


def test_round_trip_crawl_then_plan(crawl: Any, full_crawl: tuple[Path, int]) -> None:
    out = full_crawl[0]
    manifest = json.loads((out / "manifest.json").read_text())
    for name in ("mailboxes", "sizes", "fullaccess", "sendas", "sendonbehalf", "calendar"):
        assert (out / f"{name}.csv").exists()
        assert manifest["counts"][name] == len(_rows(out / f"{name}.csv"))
    mailboxes = _rows(out / "mailboxes.csv")
    org = crawl.org
    expected = {r["PrimarySmtpAddress"].lower() for r in org.onprem.recipients.values()
                if r.get("RecipientTypeDetails") in MAILBOX_KINDS}
    assert expected <= {m["PrimarySmtpAddress"].lower() for m in mailboxes}
    assert manifest["mailboxes"] == {"onprem": len(mailboxes)}
    assert manifest["failures"] == []
    # Exchange's shapes survive: sizes as strings, defaults present, localised calendars found.
    assert all(" bytes)" in r["TotalItemSize"] for r in _rows(out / "sizes.csv"))
    fullaccess = _rows(out / "fullaccess.csv")
    assert any(r["User"] == "NT AUTHORITY\\SELF" for r in fullaccess) and any(r["Deny"] == "True" for r in fullaccess)
    folders = {r["FolderName"] for r in _rows(out / "calendar.csv")}
    assert {"Calendar", "Kalender", "Calendrier"} <= folders
    # Few pipelines: requests per mailbox stay small.
    assert manifest["requests"] / len(mailboxes) < 1.0

    plan = plan_batches(load_inputs(sorted(out.glob("*.csv"))), PlanOptions(max_mailboxes=40))
    batch_of = {m: b.name for b in plan.batches for m in b.mailboxes}
    crossing = {(c.mailbox.lower(), c.trustee.lower()) for c in plan.cross_batch_links}
    excluded = {e.trustee.lower() for e in plan.excluded_trustees}
    unresolved = {p.value.lower() for p in plan.unresolved}
    crossing_premises = 0
    missing = []
    relationships = _relationships(org)
    assert len(relationships) > 50
    assert {m for m, _, _ in relationships} <= set(batch_of)
    for mailbox, trustee, right in relationships:
        if trustee not in batch_of:  # a cloud mailbox: not in the on-prem inventory, so listed as unresolved
            assert _names(org, trustee) & unresolved, (mailbox, trustee, right)
            crossing_premises += 1
            continue
        if batch_of[mailbox] == batch_of[trustee] or (mailbox, trustee) in crossing or (trustee, mailbox) in crossing:
            continue
        if trustee in excluded or mailbox in excluded:
            continue
        missing.append((mailbox, trustee, right))
    assert missing == []
    assert crossing_premises > 0  # the demo org has delegates of already-migrated mailboxes


def test_failures_are_reported_and_the_crawl_goes_on(crawl: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    org = crawl.org
    victim = next(r for r in org.onprem.recipients.values() if r.get("RecipientTypeDetails") == "UserMailbox")
    real = HANDLERS["get-mailboxpermission"]

    def flaky(ctx: Any) -> None:
        if str(ctx.params.get("Identity")).lower() == str(victim["Identity"]).lower():
            from hybridkit.lab.exchange import exchange_errors

            ctx.error(exchange_errors.task_error(ctx, "Access is denied.", exception="ADOperationException",
                                                 target=str(victim["Identity"])))
            return
        real(ctx)

    monkeypatch.setitem(HANDLERS, "get-mailboxpermission", flaky)
    names = crawl.tmp / "some.csv"
    names.write_text("PrimarySmtpAddress\n" + "\n".join(
        [victim["PrimarySmtpAddress"], "gone.away@contoso.com"] +
        [r["PrimarySmtpAddress"] for r in list(org.onprem.recipients.values())[:30]
         if r.get("RecipientTypeDetails") == "UserMailbox"][:10]) + "\n", encoding="utf-8")
    out = crawl.tmp / "inv"
    result = crawl("--out", str(out), "--mailboxes", str(names), "--include", "fullaccess", "--format", "xlsx")
    assert result.exit_code == 1, result.output  # README: 1 when some items failed; the crawl still finished
    manifest = json.loads((out / "manifest.json").read_text())
    failures = {(f["stage"], f["mailbox"]): f["message"] for f in manifest["failures"]}
    assert "Access is denied." in failures[("fullaccess", victim["PrimarySmtpAddress"].lower())]
    assert ("mailboxes", "gone.away@contoso.com") in failures
    data = json.loads(result.stdout)  # the README's vocabulary: items with outcome/detail, summary
    failed = {i["mailbox"]: i for i in data["items"] if i["outcome"] == "failed"}
    assert failed["gone.away@contoso.com"]["kind"] == "mailbox" and failed["gone.away@contoso.com"]["detail"]
    assert "Access is denied." in failed[victim["PrimarySmtpAddress"].lower()]["detail"]
    assert data["summary"] == {"written": 3, "failed": 2} and data["run_id"] and data["resumed"] is False
    assert data["started_at"].endswith("Z") and data["finished_at"].endswith("Z")
    assert sorted(p.name for p in out.glob("*.xlsx")) == ["fullaccess.xlsx", "mailboxes.xlsx", "sizes.xlsx"]
    assert manifest["counts"]["mailboxes"] == 10 or manifest["counts"]["mailboxes"] == 11


def test_interrupted_crawl_resumes_without_rereading(crawl: Any, full_crawl: tuple[Path, int],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    out = crawl.tmp / "inv"
    original = CrawlReader.run_items
    seen: list[int] = []

    def interrupting(self: CrawlReader, *args: Any, **kwargs: Any) -> Any:
        seen.append(1)
        if len(seen) == 4:  # Ctrl-C as the fourth step starts: at least two had finished
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(CrawlReader, "run_items", interrupting)
    first = crawl("--out", str(out), "--chunk-size", "50")
    assert first.exit_code != 0
    assert not (out / "manifest.json").exists()
    monkeypatch.setattr(CrawlReader, "run_items", original)
    audit_before = len(crawl.handle.audit_records("pipeline"))
    second = crawl("--out", str(out), "--chunk-size", "50")
    assert second.exit_code == 0, second.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["resumed"] is True
    later = crawl.handle.audit_records("pipeline")[audit_before:]
    # The listing was not read again, and the finished steps' mailboxes were not re-read.
    assert not any(p["cmdlets"][0] == "Get-Mailbox" and p["input_count"] == 0 for p in later)
    fresh, full_items = full_crawl  # an uninterrupted crawl of the same lab (chunking does not change the files)
    resumed_items = sum(p["input_count"] for p in later)
    assert 0 < resumed_items < full_items  # only the steps not done were read again
    for name in ("mailboxes", "sizes", "fullaccess", "sendas", "calendar"):
        assert _rows(out / f"{name}.csv") == _rows(fresh / f"{name}.csv"), name


def test_both_sides_when_asked(crawl: Any) -> None:
    out = crawl.tmp / "both"
    result = crawl("--out", str(out), "--onprem", "lab", "--online", "lab", "--include", "sendas,fullaccess")
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    org = crawl.org
    cloud = {r["PrimarySmtpAddress"].lower() for r in org.online.recipients.values()
             if r.get("RecipientTypeDetails") in MAILBOX_KINDS}
    assert manifest["mailboxes"]["online"] == len(cloud) > 0
    assert set(manifest["sources"]) == {"onprem", "online"}
    rows = {m["PrimarySmtpAddress"].lower() for m in _rows(out / "mailboxes.csv")}
    assert cloud <= rows
    cloud_names = {str(r.get("Identity")) for r in org.online.recipients.values() if r["PrimarySmtpAddress"].lower()
                   in cloud}
    online_sendas = [r for r in _rows(out / "sendas.csv") if r["Identity"] in cloud_names]
    assert online_sendas and all(r["ExtendedRights"] == "Send-As" for r in online_sendas)
    assert not (out / "calendar.csv").exists()


def test_mailboxes_that_are_not_addresses_are_refused_before_connecting(crawl: Any) -> None:
    names = crawl.tmp / "names.csv"
    names.write_text("PrimarySmtpAddress\nann.lee@contoso.com\nbob.ray\n", encoding="utf-8")
    before = len(crawl.handle.audit_records("pipeline"))
    result = crawl("--out", str(crawl.tmp / "inv"), "--mailboxes", str(names))
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: {names}, row 3: 'bob.ray' is not an email address"
    assert len(crawl.handle.audit_records("pipeline")) == before  # refused up front: nothing was read


def test_a_journal_that_is_not_a_journal_is_refused_before_connecting(crawl: Any) -> None:
    notes = crawl.tmp / "notes.txt"
    notes.write_text("my notes\n" * 100, encoding="utf-8")
    before = len(crawl.handle.audit_records("pipeline"))
    result = crawl("--out", str(crawl.tmp / "inv"), "--journal", str(notes))
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "notes.txt: not a hybridkit run journal" in lines[0] and "Traceback" not in result.output
    assert len(crawl.handle.audit_records("pipeline")) == before
