"""A custodian listed twice (address and alias) resolves on both rows, whatever the hash order (issue 14, item 4)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("hybridkit.lab.exchange.engine", reason="the Exchange engine is not available")

from tests.hold._holdkit import Hold  # noqa: E402

ADDRESS, ALIAS = "bjorn.x.jones@contoso.com", "bjorn.x.jones"


@pytest.mark.parametrize("order", [(ADDRESS, ALIAS), (ALIAS, ADDRESS)])
def test_both_rows_resolve_in_either_order(hold: Hold, order: tuple[str, str]) -> None:
    result = hold.run("status", "-m", order[0], "-m", order[1])
    assert result.exit_code == 0, result.output
    rows = hold.json(result)["items"]
    assert [(r["mailbox"], r["outcome"]) for r in rows] == [(order[0], "not-on-hold"), (order[1], "not-on-hold")]
    assert rows[1]["detail"] == f"same mailbox as {order[0]}"
    enabled = hold.run("enable", "-m", order[0], "-m", order[1])
    assert enabled.exit_code == 0, enabled.output
    rows = hold.json(enabled)["items"]
    assert [r["outcome"] for r in rows] == ["enabled", "unchanged"]
    assert rows[1]["detail"] == f"same mailbox as {order[0]}"
    assert sum(p.get("input_count", 0) for p in hold.set_pipelines()) == 1


def test_any_hash_seed(hold: Hold) -> None:
    for seed in ("0", "4", "7", "11"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "COLUMNS": "80"}
        proc = subprocess.run(
            [sys.executable, "-m", "hybridkit", "--config", str(hold.config), "-o", "json", "hold", "status",
             "-m", ADDRESS, "-m", ALIAS], capture_output=True, text=True, env=env, cwd=hold.tmp, timeout=120)
        assert proc.returncode == 0, (seed, proc.stderr)
        body = json.loads(proc.stdout)
        assert [r["outcome"] for r in body["items"]] == ["not-on-hold", "not-on-hold"], (seed, body)
