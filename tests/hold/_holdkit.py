"""Helpers for hold tests against the lab: a lab profile, the CLI, lab state, and injected Exchange misbehaviour."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hybridkit.cli import app
from hybridkit.lab.exchange import exchange_errors
from hybridkit.lab.exchange.cmdlets import hold as lab_hold
from hybridkit.lab.exchange.cmdlets._registry import HANDLERS, CmdletContext

ELIGIBLE = {"BPOS_S_Enterprise", "BPOS_S_ArchiveAddOn"}


class Hold:
    """A fresh lab per test, a hybridkit.toml with a lab profile, and helpers to run the CLI and read lab state."""

    def __init__(self, handle: Any, tmp: Path) -> None:
        self.handle = handle
        self.tmp = tmp
        self.config = tmp / "hybridkit.toml"
        self.config.write_text(
            f'default_profile = "lab"\n[profiles.lab]\nkind = "lab"\nready_file = "{tmp / "lab.json"}"\n'
            'max_shells = 2\n', encoding="utf-8")
        self.org = handle.server.engine.org

    def run(self, *args: str, output: str = "json") -> Any:
        return CliRunner().invoke(app, ["--config", str(self.config), "-o", output, "hold", *args])

    def run_root(self, *args: str, output: str = "json") -> Any:
        """Another hybridkit command with this lab's config (``journal show ...``)."""
        return CliRunner().invoke(app, ["--config", str(self.config), "-o", output, *args])

    def json(self, result: Any) -> dict[str, Any]:
        text = result.stdout
        return json.loads(text[text.index("{"):])

    def items(self, result: Any) -> dict[str, dict[str, Any]]:
        """The JSON items by mailbox key."""
        return {m["mailbox"]: m for m in self.json(result)["items"]}

    def mailboxes(self, side: str, pred: Any = None) -> list[dict[str, Any]]:
        return [r for r in self.org.side(side).recipients.values()
                if r.get("RecipientTypeDetails") in lab_hold.MAILBOX_TYPES and (pred is None or pred(r))]

    def rec(self, side: str, smtp: str) -> dict[str, Any]:
        return next(r for r in self.mailboxes(side) if r["PrimarySmtpAddress"].lower() == smtp.lower())

    def pipelines(self) -> list[dict[str, Any]]:
        return self.handle.audit_records("pipeline")

    def set_pipelines(self) -> list[dict[str, Any]]:
        return [p for p in self.pipelines() if [c.lower() for c in cmdlets(p)][-1:] == ["set-mailbox"]]


def cmdlets(record: dict[str, Any]) -> list[str]:
    return [c["name"] if isinstance(c, dict) else str(c) for c in record.get("commands") or record.get("cmdlets") or []]


def licensed(r: dict[str, Any]) -> bool:
    return bool(set(r.get("PersistedCapabilities") or []) & ELIGIBLE)


def pick(hold: Hold) -> dict[str, str]:
    """One on-prem user mailbox, one licensed and one unlicensed cloud mailbox (none on hold), one missing address."""
    onprem = next(r for r in hold.mailboxes("onprem") if r["RecipientTypeDetails"] == "UserMailbox"
                  and not r.get("LitigationHoldEnabled"))
    cloud = next(r for r in hold.mailboxes("online", licensed) if not r.get("LitigationHoldEnabled"))
    unlicensed = next(r for r in hold.mailboxes("online", lambda r: not licensed(r))
                      if not r.get("LitigationHoldEnabled"))
    return {"onprem": onprem["PrimarySmtpAddress"], "cloud": cloud["PrimarySmtpAddress"],
            "unlicensed": unlicensed["PrimarySmtpAddress"], "missing": "nobody.here@contoso.com"}


def lose_holds(monkeypatch: pytest.MonkeyPatch, hold: Hold, side: str, addresses: list[str]) -> None:
    """Exchange accepts Set-Mailbox for these mailboxes but nothing changes (the hold does not stick)."""
    real = HANDLERS["set-mailbox"]
    lost = {hold.rec(side, a)["Identity"].lower() for a in addresses}

    def lossy(ctx: CmdletContext) -> None:
        if str(ctx.params.get("Identity")).lower() in lost:
            return
        real(ctx)

    monkeypatch.setitem(HANDLERS, "set-mailbox", lossy)


class _Dropping:
    """A pipeline sink that drops the output objects of some mailboxes and passes everything else on."""

    def __init__(self, inner: Any, drop: set[str]) -> None:
        self.inner, self.drop, self.dropped = inner, drop, 0

    def output(self, obj: Any) -> None:
        if str(getattr(obj, "properties", {}).get("PrimarySmtpAddress", "")).lower() in self.drop:
            self.dropped += 1
            return
        self.inner.output(obj)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def fail_reads_after_set(monkeypatch: pytest.MonkeyPatch, addresses: list[str],
                         message: str = "Active Directory operation failed on DC01.contoso.local. This error is "
                                        "not retriable. Additional information: The server is busy.") -> None:
    """Every Get-Mailbox after the first Set-Mailbox leaves these mailboxes out and writes ONE non-terminating
    error per pipeline (as a read that hits a busy domain controller part-way does)."""
    real_get, real_set = HANDLERS["get-mailbox"], HANDLERS["set-mailbox"]
    armed = {"on": False}
    drop = {a.lower() for a in addresses}

    def set_then_arm(ctx: CmdletContext) -> None:
        armed["on"] = True
        real_set(ctx)

    def flaky_get(ctx: CmdletContext) -> None:
        if not armed["on"]:
            real_get(ctx)
            return
        sink = _Dropping(ctx.sink, drop)
        ctx.sink = sink
        try:
            real_get(ctx)
        finally:
            ctx.sink = sink.inner
        if sink.dropped and not ctx.state.get("failed"):
            ctx.state["failed"] = True
            ctx.error(exchange_errors.task_error(ctx, message, exception="ADTransientException",
                                                 category="ReadError"))

    monkeypatch.setitem(HANDLERS, "set-mailbox", set_then_arm)
    monkeypatch.setitem(HANDLERS, "get-mailbox", flaky_get)
