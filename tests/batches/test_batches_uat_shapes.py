"""Acceptance: export shapes met in the field (Get-RecipientPermission, FastTrack, Out-File, Excel cp1252)."""

from __future__ import annotations

from pathlib import Path

from hybridkit.batches import PlanOptions, load_inputs, plan_batches
from tests.batches._org import inventory, write_csv

RECIPIENT_PERMISSION = ["Identity", "Trustee", "AccessControlType", "AccessRights", "IsInherited", "InheritanceType"]


def test_get_recipientpermission_deny_rows_are_not_links(tmp_path: Path) -> None:
    """Get-RecipientPermission says Deny in AccessControlType (it has no Deny column): such a row is no SendAs."""
    paths = [
        inventory(tmp_path / "mailboxes.csv", ["a1", "a2", "a3"]),
        write_csv(tmp_path / "recipientpermission.csv", RECIPIENT_PERMISSION, [
            ["A1", "a2@contoso.com", "Allow", "SendAs", "False", "None"],
            ["A1", "NT AUTHORITY\\SELF", "Allow", "SendAs", "False", "None"],
            ["A3", "a1@contoso.com", "Deny", "SendAs", "False", "None"],
        ]),  # fmt: skip
    ]
    doc = plan_batches(load_inputs(paths), PlanOptions(max_mailboxes=2)).to_json()
    assert doc["summary"]["links"] == {"hard": 1, "soft": 0}
    assert doc["summary"]["skipped"].get("deny") == 1
    assert doc["cross_batch_links"] == []
