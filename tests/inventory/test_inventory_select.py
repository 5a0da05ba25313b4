"""The crawl's data diet: every pipeline, on-prem and online, ends in Select-Object -Property <columns> (Exchange's
/PowerShell keeps the real Select-Object, KB 2922668); the export is unchanged byte for byte."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

pytest.importorskip("hybridkit.lab.exchange.engine", reason="the Exchange engine is not available")

from hybridkit.cli import app  # noqa: E402
from hybridkit.inventory import _plan  # noqa: E402

# The crawl's Exchange cmdlets (the session's own probes, e.g. Connect-ExchangeOnline, are not the crawl's).
CRAWL_CMDLETS = {"Get-Mailbox", "Get-MailboxStatistics", "Get-MailboxPermission", "Get-ADPermission",
                 "Get-RecipientPermission", "Get-MailboxFolderPermission"}


@pytest.fixture
def crawl(lab_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.chdir(tmp_path)
    handle = lab_factory(org="demo", ready_file=tmp_path / "lab.json")
    config = tmp_path / "hybridkit.toml"
    config.write_text(f'default_profile = "lab"\n[profiles.lab]\nkind = "lab"\nready_file = "{tmp_path / "lab.json"}"\n'
                      "max_shells = 3\n", encoding="utf-8")

    def run(*args: str, select: bool, expect: int = 0) -> list[dict[str, Any]]:
        """Run one export; returns the lab's audit records of the pipelines it ran."""
        monkeypatch.setattr(_plan, "SELECT_COLUMNS", select)
        before = len(handle.audit_records("pipeline"))
        result = CliRunner().invoke(app, ["--config", str(config), "-o", "json", "inventory", "export", *args])
        assert result.exit_code == expect, result.output
        return [p for p in handle.audit_records("pipeline")[before:] if p["cmdlets"][0] in CRAWL_CMDLETS]

    run.tmp = tmp_path  # type: ignore[attr-defined]
    return run


def _files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.glob("*.csv"))}


def test_pipelines_select_only_the_columns_and_the_export_is_unchanged(crawl: Any) -> None:
    sides = ("--onprem", "lab", "--online", "lab")
    full_out, slim_out = crawl.tmp / "full", crawl.tmp / "slim"
    full = crawl("--out", str(full_out), *sides, "--chunk-size", "40", select=False)
    slim = crawl("--out", str(slim_out), *sides, "--chunk-size", "40", select=True)

    assert not any("Select-Object" in p["cmdlets"] for p in full)
    assert {p["endpoint"] for p in slim} == {"onprem", "online"}
    assert all(p["cmdlets"][-1] == "Select-Object" and p["cmdlets"].count("Select-Object") == 1 for p in slim)
    for endpoint, sendas in (("online", "sendas-online"), ("onprem", "sendas-onprem")):
        asked = {tuple(next(v for name, v in p["parameters"][-1] if name == "Property"))
                 for p in slim if p["endpoint"] == endpoint}
        assert asked == {_plan.PROPERTIES[k] for k in ("listing", "sizes", "fullaccess", sendas, "calendar",
                                                        "calendar-permissions")}
    # The same Exchange cmdlets ran over the same identities, only slimmer.
    def shape(pipes: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return sorted((p["endpoint"], tuple(c for c in p["cmdlets"] if c != "Select-Object"), p["input_count"])
                      for p in pipes)
    assert shape(slim) == shape(full)

    full_files, slim_files = _files(full_out), _files(slim_out)
    assert set(full_files) == {f"{n}.csv" for n in ("mailboxes", "sizes", "fullaccess", "sendas", "sendonbehalf",
                                                     "calendar")}
    for name, data in full_files.items():
        assert slim_files[name] == data, name  # byte for byte: same columns, values and order
        assert data.count(b"\r\n") > 2, name


def test_named_mailboxes_listing_is_unchanged(crawl: Any) -> None:
    listed = (crawl.tmp / "all")
    crawl("--out", str(listed), "--include", "fullaccess", select=True)
    rows = (listed / "mailboxes.csv").read_text(encoding="utf-8-sig").splitlines()[2:8]
    # Primary addresses and UPNs (--mailboxes takes addresses; names and aliases are refused up front).
    names = [r.split('","')[2] for r in rows[:3]] + [r.split('","')[3] for r in rows[3:5]] + ["ghost@contoso.com"]
    wanted = crawl.tmp / "wanted.txt"
    wanted.write_text("\n".join(names) + "\n", encoding="utf-8")
    outs = {}
    for select in (False, True):
        out = crawl.tmp / f"named-{select}"
        pipes = crawl("--out", str(out), "--mailboxes", str(wanted), "--include", "fullaccess", select=select,
                      expect=1)  # the ghost is not found
        assert any(p["cmdlets"][0] == "Get-Mailbox" and p["input_count"] == len(names) for p in pipes)
        outs[select] = _files(out)
    assert outs[True] == outs[False]
    assert outs[True]["mailboxes.csv"].count(b"\r\n") == 2 + 5  # #TYPE, header, the five found
