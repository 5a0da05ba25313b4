"""Verification proves each hold positively: it reads back what was set, mailbox by mailbox (issue 14, item 1)."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("hybridkit.lab.exchange.engine", reason="the Exchange engine is not available")

from tests.hold._holdkit import Hold, cmdlets, fail_reads_after_set, lose_holds  # noqa: E402


def _rows(hold: Hold, result: Any) -> dict[str, dict[str, Any]]:
    return {m["mailbox"]: m for m in hold.json(result)["items"]}


def test_lost_holds_and_a_failed_read_are_never_reported_verified(hold: Hold, monkeypatch: pytest.MonkeyPatch) -> None:
    users = [r["PrimarySmtpAddress"] for r in hold.mailboxes("onprem", lambda r: r["RecipientTypeDetails"]
                                                              == "UserMailbox")]
    lost = users[:2]
    lose_holds(monkeypatch, hold, "onprem", lost)
    fail_reads_after_set(monkeypatch, lost)  # the read after the change leaves them out, with one error
    result = hold.run("enable", "--recipient-type", "UserMailbox", "--owner", "Legal case 9")
    assert result.exit_code == 1, result.output
    rows = _rows(hold, result)
    for address in lost:
        assert rows[address]["outcome"] not in ("enabled", "updated"), rows[address]
        assert rows[address]["verified"] is not True
    assert rows[users[2]]["outcome"] == "enabled" and rows[users[2]]["verified"] is True
    # The report shows what was set (read back), not what was read before the change.
    assert rows[users[2]]["litigation_hold_owner"] == "Legal case 9"
    monkeypatch.undo()  # Exchange behaves again: the holds really are not there
    status = hold.run("status", *[a for x in lost for a in ("-m", x)])
    assert {m["outcome"] for m in hold.json(status)["items"]} == {"not-on-hold"}


def test_verification_reads_back_with_few_selected_pipelines(hold: Hold) -> None:
    result = hold.run("enable", "--recipient-type", "SharedMailbox", "--duration", "30", "--chunk-size", "50")
    assert result.exit_code in (0, 1), result.output
    sent = sum(p.get("input_count", 0) for p in hold.set_pipelines())
    after = hold.pipelines()[hold.pipelines().index(hold.set_pipelines()[-1]) + 1:]
    reads = [p for p in after if cmdlets(p)[:1] == ["Get-Mailbox"]]
    # The sent identities streamed into Get-Mailbox, one pipeline per chunk, each ending in Select-Object
    assert sum(p.get("input_count", 0) for p in reads) == sent
    assert len(reads) <= -(-sent // 50) + 2
    for p in reads:
        assert cmdlets(p) == ["Get-Mailbox", "Select-Object"]
        props = dict(p["parameters"][-1])["Property"]
        assert set(props) == {"Identity", "LitigationHoldEnabled", "LitigationHoldDuration", "LitigationHoldOwner",
                              "LitigationHoldDate"}
