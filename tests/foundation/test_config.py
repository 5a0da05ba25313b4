"""hybridkit.toml discovery, validation, secrets resolution and lab ready files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hybridkit.config import Profile, find_config, load_config, resolve_connection, resolve_password
from hybridkit.errors import ConfigError
from hybridkit.ps import Secret

GOOD = """
default_profile = "ex"

[profiles.ex]
kind = "onprem"
server = "ex01.contoso.local"
https = true
auth = "ntlm"
username = "CONTOSO\\\\svc"
password_env = "HK_TEST_PW"
ca_bundle = "/etc/ssl/contoso-ca.pem"
exchange_version = "2016"

[profiles.eol]
kind = "online"
server = "jump01.contoso.local"
auth = "negotiate"
username = "svc"
password_env = "HK_TEST_PW"
app_id = "app"
certificate_thumbprint = "ABCDEF"
organization = "contoso.onmicrosoft.com"
"""


@pytest.fixture()
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HYBRIDKIT_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    return tmp_path


def test_discovery_order(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert find_config() is None
    user = in_tmp / "xdg" / "hybridkit" / "hybridkit.toml"
    user.parent.mkdir(parents=True)
    user.write_text(GOOD)
    assert find_config() == user
    local = in_tmp / "hybridkit.toml"
    local.write_text(GOOD)
    assert find_config() == local
    env = in_tmp / "env.toml"
    env.write_text(GOOD)
    monkeypatch.setenv("HYBRIDKIT_CONFIG", str(env))
    assert find_config() == env
    explicit = in_tmp / "explicit.toml"
    explicit.write_text(GOOD)
    assert find_config(explicit) == explicit
    with pytest.raises(ConfigError, match="not found"):
        find_config(in_tmp / "missing.toml")


def test_profiles_and_connection(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (in_tmp / "hybridkit.toml").write_text(GOOD)
    config = load_config()
    ex = config.profile()
    assert ex.name == "ex" and ex.path == "/PowerShell" and ex.configuration == "Microsoft.Exchange"
    eol = config.profile("eol")
    assert eol.path == "/wsman" and eol.configuration == "Microsoft.PowerShell"
    monkeypatch.setenv("HK_TEST_PW", "pa55")
    conn = resolve_connection(ex)
    assert conn.cert_validation == "/etc/ssl/contoso-ca.pem" and conn.port == 443 and conn.ssl
    assert conn.password == Secret("pa55") and "pa55" not in repr(conn)
    online = resolve_connection(eol)
    assert online.online is not None and online.online.organization == "contoso.onmicrosoft.com"
    assert "pa55" not in json.dumps(ex.redacted())


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('kind = "onprem"', "server is required"),
        ('kind = "nope"\nserver = "x"', "kind must be one of"),
        ('kind = "onprem"\nserver = "x"\npassword = "p"', "do not write passwords"),
        ('kind = "onprem"\nserver = "x"\nauth = "digest"', "auth must be one of"),
        ('kind = "onprem"\nserver = "x"\nauth = "basic"\nhttps = false', "sends the password in clear"),
        ('kind = "onprem"\nserver = "x"\nmax_shells = 18', "below shell_limit"),
        ('kind = "online"\nserver = "x"', "app_id"),
        ('kind = "onprem"\nserver = "x"\nport = "80"', "port must be int"),
        ('kind = "onprem"\nserver = "x"\ncolour = "red"', "unknown setting"),
        ('kind = "onprem"\nserver = "x"\nexchange_version = "2012"', "must be 2010, 2013, 2016, 2019 or SE"),
        ('kind = "onprem"\nserver = "ex01/PowerShell"', "server must be a host name .* or a URL"),
        ('kind = "onprem"\nserver = "ftp://ex01/PowerShell"', "must start with https:// or http://"),
        ('kind = "onprem"\nserver = "https://svc:pw@ex01/PowerShell"', "must not carry a user or password"),
        ('kind = "onprem"\nserver = "https://ex01:99999/PowerShell"', "bad port"),
        ('kind = "onprem"\nserver = "https://ex01/PowerShell"\nhttps = false', "says https = True"),
        ('kind = "onprem"\nserver = "https://ex01/PowerShell"\npath = "/wsman"', "says path = '/PowerShell'"),
    ],
)
def test_validation(in_tmp: Path, table: str, message: str) -> None:
    (in_tmp / "hybridkit.toml").write_text(f"[profiles.p]\n{table}\n")
    with pytest.raises(ConfigError, match=message):
        load_config()


def test_nothing_configured_points_at_init_and_demo(in_tmp: Path) -> None:
    with pytest.raises(ConfigError, match=r"profiles init.*hybridkit demo"):
        load_config().profile(None)


def test_missing_password_env_and_non_interactive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HK_NOPE", raising=False)
    with pytest.raises(ConfigError, match="HK_NOPE is not set"):
        resolve_password(Profile(name="p", kind="onprem", server="x", username="u", password_env="HK_NOPE"))
    with pytest.raises(ConfigError, match="no password"):
        resolve_password(Profile(name="p", kind="onprem", server="x", username="u", auth="ntlm"), interactive=False)
    assert resolve_password(Profile(name="p", kind="onprem", server="x")) is None  # kerberos ticket cache


def test_lab_profile_reads_the_ready_file(tmp_path: Path) -> None:
    ready = tmp_path / "lab.json"
    ready.write_text(json.dumps({
        "port": 5999, "onprem_url": "https://127.0.0.1:5999/PowerShell", "online_url": "https://127.0.0.1:5999/wsman",
        "username": "labadmin", "password": "lab-pw", "ca_path": str(tmp_path / "ca.pem"),
        "online_app_id": "a", "online_certificate_thumbprint": "T", "online_organization": "o.onmicrosoft.com",
    }))
    profile = Profile(name="lab", kind="lab", ready_file=str(ready), https=False, auth="basic", allow_unencrypted=True)
    conn = resolve_connection(profile)
    assert (conn.server, conn.port, conn.ssl, conn.path) == ("127.0.0.1", 5999, True, "/PowerShell")
    assert conn.cert_validation == str(tmp_path / "ca.pem") and conn.password == Secret("lab-pw")
    online = resolve_connection(Profile(name="lab", kind="lab", ready_file=str(ready), endpoint="online"))
    assert online.path == "/wsman" and online.online is not None and online.configuration == "Microsoft.PowerShell"
    with pytest.raises(ConfigError, match="ready file not found"):
        resolve_connection(Profile(name="lab", kind="lab", ready_file=str(tmp_path / "none.json")))


def test_keyring_then_hidden_prompt(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import types

    profile = Profile(name="ex", kind="onprem", server="x", username="svc", auth="ntlm")
    asked: list[tuple[str, str]] = []
    fake = types.ModuleType("keyring")
    store = {("hybridkit", "ex:svc"): "from-keyring"}

    def get_password(service: str, user: str) -> str | None:
        asked.append((service, user))
        return store.get((service, user))

    fake.get_password = get_password  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "keyring", fake)
    assert resolve_password(profile, interactive=False) == Secret("from-keyring")
    assert asked == [("hybridkit", "ex:svc")]

    store.clear()
    prompts: list[str] = []
    monkeypatch.setattr("getpass.getpass", lambda prompt: prompts.append(prompt) or "typed")
    assert resolve_password(profile, interactive=True) == Secret("typed")
    assert prompts and "svc" in prompts[0]


def test_relative_paths_are_relative_to_the_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "hybridkit.toml").write_text(
        '[profiles.lab]\nkind = "lab"\nready_file = "state/lab.json"\n'
        '[profiles.ex]\nkind = "onprem"\nserver = "ex01"\nca_bundle = "certs/ca.pem"\nkrb5_config = "/etc/krb5.conf"\n',
        encoding="utf-8",
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # run from another folder, naming the file with --config
    config = load_config(project / "hybridkit.toml")
    assert config.profile("lab").ready_file == str(project / "state" / "lab.json")
    assert config.profile("ex").ca_bundle == str(project / "certs" / "ca.pem")
    assert config.profile("ex").krb5_config == "/etc/krb5.conf"  # absolute paths stay as written


@pytest.mark.parametrize(("server", "url"), [
    ("https://ex01.contoso.local/PowerShell", "https://ex01.contoso.local:443/PowerShell"),
    ("https://ex01.contoso.local/PowerShell/", "https://ex01.contoso.local:443/PowerShell"),
    ("http://ex01.contoso.local:8080/PowerShell", "http://ex01.contoso.local:8080/PowerShell"),
    ("HTTPS://ex01.contoso.local", "https://ex01.contoso.local:443/PowerShell"),
    ("ex01.contoso.local", "https://ex01.contoso.local:443/PowerShell"),
])
def test_server_may_be_the_url_people_copy_from_the_docs(in_tmp: Path, monkeypatch: pytest.MonkeyPatch,
                                                         server: str, url: str) -> None:
    """Not https://https://ex01/PowerShell/PowerShell: the URL's scheme, host, port and path are used."""
    monkeypatch.setenv("HK_TEST_PW", "pw")
    (in_tmp / "hybridkit.toml").write_text(f'[profiles.p]\nkind = "onprem"\nserver = "{server}"\nauth = "ntlm"\n'
                                           'username = "CONTOSO\\\\svc"\npassword_env = "HK_TEST_PW"\n')
    profile = load_config().profile("p")
    assert resolve_connection(profile).url == url
    assert profile.endpoint_url == url.replace(":443", "")


def test_exchange_server_se_is_a_version(in_tmp: Path) -> None:
    """The lab serves Exchange Server SE (--version SE) and the cmdlet catalogue names it: profiles take it too."""
    (in_tmp / "hybridkit.toml").write_text('[profiles.a]\nkind = "onprem"\nserver = "x"\nexchange_version = "SE"\n'
                                           '[profiles.b]\nkind = "onprem"\nserver = "x"\nexchange_version = "se"\n'
                                           '[profiles.c]\nkind = "onprem"\nserver = "x"\nexchange_version = 2016\n')
    config = load_config()
    assert [config.profile(n).exchange_version for n in "abc"] == ["SE", "SE", "2016"]
