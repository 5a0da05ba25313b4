"""``kind = "pwsh"`` profiles: reading and checking them, and the Connection (process argv) they resolve into."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from hybridkit.config import load_config, resolve_connection
from hybridkit.errors import ConfigError
from hybridkit.ps import Secret
from hybridkit.sides import Side, pick_sides, side_of

LOCAL = """
[profiles.eol]
kind = "pwsh"
app_id = "11111111-2222-3333-4444-555555555555"
organization = "contoso.onmicrosoft.com"
certificate_path = "certs/eol.pfx"
certificate_password_env = "HK_TEST_PFX"
"""

REMOTE = """
[profiles.mgmt]
kind = "pwsh"
ssh = "admin@mgmt01.contoso.local"
ssh_port = 2222
ssh_identity = "keys/id_ed25519"
ssh_config = "ssh_config"
app_id = "a"
organization = "contoso.onmicrosoft.com"
certificate_thumbprint = "ABCDEF0123"
"""


def _load(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hybridkit.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_pwsh_profile_runs_local_pwsh_with_a_certificate_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    profile = load_config(_load(tmp_path, LOCAL)).profile("eol")
    assert profile.command == ("pwsh", "-NoLogo", "-NoProfile", "-s")
    assert profile.certificate_path == str(tmp_path / "certs" / "eol.pfx")  # relative to hybridkit.toml
    assert profile.endpoint_url == "out-of-process: pwsh -NoLogo -NoProfile -s"
    monkeypatch.setenv("HK_TEST_PFX", "pfx-s3cret")
    with pytest.raises(ConfigError, match=r"'eol': certificate_path .*eol\.pfx is not a file"):
        resolve_connection(profile)  # checked here, before a process starts (over ssh it is the host's path)
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "eol.pfx").write_bytes(b"0")
    conn = resolve_connection(profile)
    assert conn.kind == "pwsh" and conn.process == ("pwsh", "-NoLogo", "-NoProfile", "-s")
    assert conn.online is not None and conn.online.certificate_file == str(tmp_path / "certs" / "eol.pfx")
    assert conn.online.certificate_password == Secret("pfx-s3cret") and conn.online.certificate_thumbprint == ""
    assert (conn.online.app_id, conn.online.organization) == ("11111111-2222-3333-4444-555555555555",
                                                              "contoso.onmicrosoft.com")
    assert "pfx-s3cret" not in repr(conn) and "pfx-s3cret" not in " ".join(conn.process)
    assert "pfx-s3cret" not in json.dumps(profile.redacted())


def test_pwsh_certificate_password_variable_unset_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HK_TEST_PFX", raising=False)
    profile = load_config(_load(tmp_path, LOCAL)).profile("eol")
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "eol.pfx").write_bytes(b"0")
    with pytest.raises(ConfigError, match=r"'eol'.*HK_TEST_PFX .*eol\.pfx.* is not set"):
        resolve_connection(profile)


def test_pwsh_profile_over_ssh_builds_a_batch_mode_ssh_argv(tmp_path: Path) -> None:
    profile = load_config(_load(tmp_path, REMOTE)).profile("mgmt")
    conn = resolve_connection(profile)
    assert conn.process == (
        "ssh", "-o", "BatchMode=yes", "-F", str(tmp_path / "ssh_config"), "-p", "2222",
        "-i", str(tmp_path / "keys" / "id_ed25519"), "-o", "IdentitiesOnly=yes",
        "-s", "admin@mgmt01.contoso.local", "powershell",
    )
    assert "StrictHostKeyChecking" not in " ".join(conn.process)  # host keys checked as OpenSSH does
    assert conn.online is not None and conn.online.certificate_thumbprint == "ABCDEF0123"
    assert conn.online.certificate_file is None and conn.online.certificate_password is None
    assert profile.endpoint_url == "ssh admin@mgmt01.contoso.local (port 2222)"
    assert (conn.server, conn.username) == ("mgmt01.contoso.local", "admin")


def test_pwsh_ssh_user_may_be_a_windows_domain_user(tmp_path: Path) -> None:
    text = REMOTE.replace('ssh = "admin@mgmt01.contoso.local"', 'ssh = "svc@contoso.local@mgmt01"')
    conn = resolve_connection(load_config(_load(tmp_path, text)).profile("mgmt"))
    assert conn.process[-2:] == ("svc@contoso.local@mgmt01", "powershell")
    assert (conn.server, conn.username) == ("mgmt01", "svc@contoso.local")  # ssh splits at the last "@"


def test_pwsh_certificate_path_over_ssh_is_the_hosts_path(tmp_path: Path) -> None:
    text = REMOTE.replace('certificate_thumbprint = "ABCDEF0123"', 'certificate_path = "certs/eol.pfx"')
    profile = load_config(_load(tmp_path, text)).profile("mgmt")
    assert profile.certificate_path == "certs/eol.pfx"  # a path on the SSH host: not made relative to this file


def test_pwsh_custom_command_and_sides(tmp_path: Path) -> None:
    text = LOCAL + 'command = ["/opt/microsoft/powershell/7/pwsh", "-NoLogo", "-NoProfile", "-s"]\n'
    config = load_config(_load(tmp_path, text + '\n[profiles.ex]\nkind = "onprem"\nserver = "ex01"\n'))
    profile = config.profile("eol")
    assert profile.command[0] == "/opt/microsoft/powershell/7/pwsh"
    assert side_of(profile) is Side.ONLINE
    assert list(pick_sides(config, default="eol")) == [Side.ONLINE]
    assert pick_sides(config, onprem="ex", online="eol")[Side.ONLINE].name == "eol"
    with pytest.raises(ConfigError, match="--onprem needs an onprem"):
        pick_sides(config, onprem="eol")


_BASE = 'kind = "pwsh"\napp_id = "a"\norganization = "o"\n'


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (_BASE, "give certificate_path .* or certificate_thumbprint"),
        (_BASE + 'certificate_path = "a.pfx"\ncertificate_thumbprint = "T"', "one of the two"),
        ('kind = "pwsh"\ncertificate_thumbprint = "T"', "need app_id, organization"),
        (_BASE + 'certificate_thumbprint = "T"\ncertificate_password_env = "X"', "without certificate_path"),
        (_BASE + 'certificate_path = "a.pfx"\ncertificate_password_env = "s3cret!"', "must name an environment"),
        (_BASE + 'certificate_thumbprint = "T"\nserver = "jump01"', "server is not a setting of pwsh profiles"),
        (_BASE + 'certificate_thumbprint = "T"\nusername = "u"\npassword_env = "P"', "username, password_env are not"),
        (_BASE + 'certificate_thumbprint = "T"\ncommand = "pwsh -s"', "command must be list"),
        (_BASE + 'certificate_thumbprint = "T"\ncommand = []', "command must be a list of strings"),
        (_BASE + 'certificate_thumbprint = "T"\ncommand = ["pwsh", 7]', "command must be a list of strings"),
        (_BASE + 'certificate_thumbprint = "T"\nssh = "-oProxyCommand=x"', 'ssh must be "user@host"'),
        (_BASE + 'certificate_thumbprint = "T"\nssh = "a b"', 'ssh must be "user@host"'),
        (_BASE + 'certificate_thumbprint = "T"\nssh = "u@-oProxyCommand=x"', 'ssh must be "user@host"'),
        (_BASE + 'certificate_thumbprint = "T"\nssh = "h"\ncommand = ["pwsh"]', "command or ssh, not both"),
        (_BASE + 'certificate_thumbprint = "T"\nssh_port = 22', "ssh_port without ssh"),
        (_BASE + 'certificate_thumbprint = "T"\nssh = "h"\nssh_port = 0', "ssh_port must be between"),
        (_BASE + 'certificate_thumbprint = "T"\nexchange_version = "2019"', "exchange_version can only be online"),
        ('kind = "onprem"\nserver = "x"\nssh = "h"', 'ssh is only for kind = "pwsh"'),
        ('kind = "online"\nserver = "x"\napp_id = "a"\ncertificate_thumbprint = "t"\norganization = "o"\n'
         'certificate_path = "a.pfx"', 'certificate_path is only for kind = "pwsh"'),
    ],
)
def test_pwsh_validation(tmp_path: Path, table: str, message: str) -> None:
    path = _load(tmp_path, f"[profiles.p]\n{table}\n")
    with pytest.raises(ConfigError, match=f"{re.escape(str(path))}: profile 'p': .*{message}"):
        load_config(path)


def test_profiles_init_writes_a_commented_pwsh_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from hybridkit.cli import app

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HYBRIDKIT_CONFIG", raising=False)
    runner = CliRunner()
    result = runner.invoke(app, ["-o", "json", "profiles", "init"])
    assert result.exit_code == 0, result.output
    assert [i["profile"] for i in json.loads(result.stdout)["items"]] == ["onprem", "online", "pwsh", "lab"]
    text = (tmp_path / "hybridkit.toml").read_text()
    assert '# ssh = "svc-migration@mgmt01.contoso.local"' in text and "Subsystem powershell" in text
    profile = load_config(tmp_path / "hybridkit.toml").profile("pwsh")
    assert profile.certificate_path == str(tmp_path / "exo-app.pfx")
    shown = runner.invoke(app, ["-o", "json", "profiles", "show", "pwsh"])
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.stdout)
    assert data["transport"] == "out-of-process: pwsh -NoLogo -NoProfile -s"
    assert data["certificate_password_source"] == "environment variable HYBRIDKIT_EXO_PFX_PASSWORD"
    assert data["command"] == ["pwsh", "-NoLogo", "-NoProfile", "-s"]
    assert not {"server", "auth", "https", "path", "password_source"} & set(data)  # no WinRM settings shown
    listed = runner.invoke(app, ["-o", "json", "profiles", "list"])
    row = next(r for r in json.loads(listed.stdout)["items"] if r["name"] == "pwsh")
    assert row["kind"] == "pwsh" and row["endpoint"] == "out-of-process: pwsh -NoLogo -NoProfile -s"
    assert row["auth"] == "app certificate" and row["username"] is None  # no WinRM auth or account


def test_readme_pwsh_profiles_load_as_written(tmp_path: Path) -> None:
    """The README's tour of the three ways to Exchange Online shows two pwsh profiles: they are valid as written."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    block = readme.split("### Three ways to reach Exchange Online", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
    config = load_config(_load(tmp_path, block))
    assert {name: p.endpoint_url for name, p in config.profiles.items()} == {
        "eol": "out-of-process: pwsh -NoLogo -NoProfile -s", "eol-mgmt": "ssh svc-migration@mgmt01.contoso.local"}
    assert all(side_of(p) is Side.ONLINE for p in config.profiles.values())
