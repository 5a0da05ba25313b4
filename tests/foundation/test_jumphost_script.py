"""`hybridkit profiles jumphost-script`: the jump-host setup script rendered from ps_templates/."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from hybridkit.cli import app

CONFIG = """
[profiles.exo]
kind = "online"
server = "jump01.contoso.local"
username = "CONTOSO\\\\o'neil"
password_env = "HK_TEST_JUMP_PW"
app_id = "11111111-2222-3333-4444-555555555555"
certificate_thumbprint = "ABCDEF0123456789ABCDEF0123456789ABCDEF01"
organization = "contoso.onmicrosoft.com"

[profiles.ex]
kind = "onprem"
server = "ex01.contoso.local"
"""


def _run(tmp_path: Path, *args: str, config_text: str = CONFIG):
    config = tmp_path / "hybridkit.toml"
    config.write_text(config_text, encoding="utf-8")
    return CliRunner().invoke(app, ["--config", str(config), "profiles", "jumphost-script", *args])


def test_script_carries_the_profile_values_single_quoted(tmp_path: Path) -> None:
    result = _run(tmp_path, "exo", "--out", str(tmp_path / "setup.ps1"))
    assert result.exit_code == 0, result.output
    script = (tmp_path / "setup.ps1").read_text(encoding="utf-8")
    assert "$AppId        = '11111111-2222-3333-4444-555555555555'" in script
    assert "$Thumbprint   = 'ABCDEF0123456789ABCDEF0123456789ABCDEF01'" in script
    assert "$RemotingUser = 'CONTOSO\\o''neil'" in script  # the quote inside the name is doubled
    assert "Connect-ExchangeOnline -AppId $AppId -CertificateThumbprint $Thumbprint -Organization $Organization" in script
    assert "${" not in script and "$$" not in script  # every placeholder filled, PowerShell's own $ restored
    assert "HK_TEST_JUMP_PW" not in script


def test_remoting_account_option_overrides_the_username(tmp_path: Path) -> None:
    result = _run(tmp_path, "exo", "--remoting-account", "CONTOSO\\svc-jump")
    assert result.exit_code == 0, result.output
    assert "$RemotingUser = 'CONTOSO\\svc-jump'" in result.output


def test_refuses_profiles_that_are_not_online_or_incomplete(tmp_path: Path) -> None:
    onprem = _run(tmp_path, "ex")
    assert onprem.exit_code == 2
    assert "is of kind onprem" in " ".join(onprem.output.split())
    half = _run(
        tmp_path,
        "half",
        config_text='[profiles.half]\nkind = "online"\nserver = "jump02"\napp_id = "11111111-2222-3333-4444-555555555555"\n',
    )
    assert half.exit_code == 2
    message = " ".join(half.output.split())
    assert "certificate_thumbprint" in message and "organization" in message
