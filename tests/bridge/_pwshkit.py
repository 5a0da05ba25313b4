"""What the pwsh end-to-end tests share: the CLI as JSON, and one cloud mailbox put on hold through a pwsh profile."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from hybridkit.cli import app
from hybridkit.lab.exchange.cmdlets import hold as lab_hold
from tests._labconfig import pwsh_cmdlets
from tests.hold._holdkit import licensed


def cli(config: Path, *args: str) -> Any:
    """``hybridkit --config CONFIG -o json ARGS``."""
    return CliRunner().invoke(app, ["--config", str(config), "-o", "json", *args])


def assert_hold_enables_a_cloud_mailbox(handle: Any, config: Path, owner: str) -> None:
    """`hold enable --online online` on one licensed cloud mailbox not on hold: enabled, in the lab, by a pwsh runspace."""
    org = handle.server.engine.org
    cloud = next(r for r in org.online.recipients.values() if r.get("RecipientTypeDetails") in lab_hold.MAILBOX_TYPES
                 and licensed(r) and not r.get("LitigationHoldEnabled"))
    result = cli(config, "hold", "enable", "--online", "online", "--mailbox", cloud["PrimarySmtpAddress"],
                 "--owner", owner)
    assert result.exit_code == 0, result.output
    assert [(i["mailbox"], i["outcome"]) for i in json.loads(result.stdout)["items"]] == [
        (cloud["PrimarySmtpAddress"], "enabled")]
    assert cloud["LitigationHoldEnabled"] is True and cloud["LitigationHoldOwner"] == owner
    assert "Set-Mailbox" in pwsh_cmdlets(handle)
