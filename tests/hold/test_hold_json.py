"""hold's --output json follows the README's vocabulary (issue 14, item 24)."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("hybridkit.lab.exchange.engine", reason="the Exchange engine is not available")

from tests.hold._holdkit import Hold, pick  # noqa: E402

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def test_enable_json_vocabulary(hold: Hold) -> None:
    who = pick(hold)
    result = hold.run("enable", *[a for k in who.values() for a in ("-m", k)], "--duration", "30")
    assert result.exit_code == 1
    body = hold.json(result)
    assert body["what_if"] is False and body["resumed"] is False and isinstance(body["run_id"], str)
    assert isinstance(body["warnings"], list) and "commands" not in body
    items = {i["mailbox"]: i for i in body["items"]}
    assert {k: (i["action"], i["outcome"]) for k, i in items.items()} == {
        who["onprem"]: ("enable", "enabled"), who["cloud"]: ("enable", "enabled"),
        who["unlicensed"]: ("none", "unlicensed"), who["missing"]: ("none", "not-found")}
    assert body["summary"] == {"enabled": 2, "unlicensed": 1, "not-found": 1}
    held = items[who["onprem"]]
    assert held["side"] == "onprem" and held["verified"] is True and held["litigation_hold_enabled"] is True
    assert held["litigation_hold_duration"] == "30" and ISO.match(held["litigation_hold_date"])
    assert "no recipient" in items[who["missing"]]["detail"] and items[who["missing"]]["side"] is None
    again = hold.json(hold.run("enable", "-m", who["onprem"], "--duration", "30"))
    assert again["items"][0]["outcome"] == "unchanged" and again["summary"] == {"unchanged": 1}
    longer = hold.json(hold.run("enable", "-m", who["onprem"], "--duration", "60"))
    assert (longer["items"][0]["action"], longer["items"][0]["outcome"]) == ("update", "updated")


def test_what_if_json_vocabulary(hold: Hold) -> None:
    who = pick(hold)
    body = hold.json(hold.run("enable", "-m", who["onprem"], "-m", who["missing"], "--what-if"))
    assert body["what_if"] is True and body["run_id"] is None
    assert body["summary"] == {"enable": 1, "none": 1}
    assert [(i["action"], i["outcome"]) for i in body["items"]] == [("enable", None), ("none", "not-found")]
    assert len(body["commands"]) == 1 and body["commands"][0].endswith("| Get-Mailbox | Set-Mailbox "
                                                                       "-LitigationHoldEnabled:$true")


def test_status_json_vocabulary(hold: Hold) -> None:
    who = pick(hold)
    hold.run("enable", "-m", who["cloud"])
    body = hold.json(hold.run("status", "-m", who["cloud"], "-m", who["onprem"], "-m", who["missing"]))
    assert [i["outcome"] for i in body["items"]] == ["on-hold", "not-on-hold", "not-found"]
    assert body["summary"] == {"on-hold": 1, "not-on-hold": 1, "not-found": 1}
    assert body["items"][0]["litigation_hold_duration"] == "unlimited"
    assert ISO.match(body["items"][0]["litigation_hold_date"])
    assert "mailboxes" not in body and "counts" not in body
