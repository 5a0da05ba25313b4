"""Every Kerberos mistake from the field yields its own actionable AuthError, never a raw library exception."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from hybridkit.errors import AuthError
from hybridkit.lab.transport._kerberos import Realm
from hybridkit.ps import Command
from hybridkit.ps._command import Secret
from hybridkit.ps._pypsrp import PypsrpSession
from hybridkit.ps import RetryPolicy
from tests.kerberos.kerberos_kit import connection

STALE_KRB5_CONF = """[libdefaults]
\tdefault_realm = ATHENA.MIT.EDU
\trdns = false
[realms]
\tATHENA.MIT.EDU = {
\t\tkdc = kerberos.mit.edu
\t}
"""
RAW = ("Krb5Error", "GSSError", "SpnegoError", "Major (", "Minor (", "Traceback")


def _stale(tmp_path: Path) -> str:
    path = tmp_path / "krb5.conf"
    path.write_text(STALE_KRB5_CONF, encoding="utf-8")
    return str(path)


CASES = {
    "wrong_password": (lambda r, t: {"password": Secret("not-the-password")},
                       ["rejected the password of svc-exo@CONTOSO.TEST", "pre-authentication failed"]),
    "unknown_user": (lambda r, t: {"username": "nobody@CONTOSO.TEST"},
                     ["has no user nobody@CONTOSO.TEST", "spelling"]),
    "wrong_case_realm": (lambda r, t: {"username": "svc-exo@contoso.test"},
                         ["case-sensitive", "Use svc-exo@CONTOSO.TEST"]),
    "unknown_spn": (lambda r, t: {"spn_hostname": "exch-lb.contoso.test"},
                    ["no service principal host/exch-lb.contoso.test@CONTOSO.TEST", "setspn"]),
    "domain_backslash_user": (lambda r, t: {"username": "CONTOSO\\svc-exo"},
                              ["'CONTOSO\\svc-exo'", "NTLM name", 'username = "svc-exo@CONTOSO.TEST"']),
    "connect_by_ip": (lambda r, t: {"server": "127.0.0.1"},
                      ["host/127.0.0.1@CONTOSO.TEST", "by IP address", "spn_hostname"]),
    "stale_debian_krb5_conf": (lambda r, t: {"username": "svc-exo", "krb5_config": _stale(t)},
                               ["ATHENA.MIT.EDU", "placeholder", "krb5_config"]),
}


def _open(conn) -> None:
    with PypsrpSession(conn, max_pools=1, retry=RetryPolicy(attempts=1)) as session:
        session.open()


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_kerberos_failure_has_its_own_message(case: str, realm: Realm, kerberos_labs, tmp_path: Path) -> None:
    overrides, expected = CASES[case]
    conn = connection(realm, kerberos_labs("kerberos"), **overrides(realm, tmp_path))
    with pytest.raises(AuthError) as caught:
        _open(conn)
    message = str(caught.value)
    for fragment in expected:
        assert fragment in message, (case, message)
    assert not any(raw in message for raw in RAW), message
    assert realm.password not in message


def test_the_messages_differ(realm: Realm, kerberos_labs, tmp_path: Path) -> None:
    lab = kerberos_labs("kerberos")
    messages = set()
    for overrides, _ in CASES.values():
        with pytest.raises(AuthError) as caught:
            _open(connection(realm, lab, **overrides(realm, tmp_path)))
        messages.add(str(caught.value).split(". ")[0])  # the first sentence names the problem
    assert len(messages) == len(CASES)


@pytest.mark.parametrize(
    "overrides",
    [
        {"server": "127.0.0.1", "spn_hostname": "ex01.contoso.test"},  # an address or alias + the real SPN name
        {"username": "svc-exo", "realm": "CONTOSO.TEST"},  # bare user + realm setting
        {"spn_service": "HTTP"},  # the HTTP/ SPN instead of pypsrp's host/
    ],
    ids=["ip-with-spn-hostname", "bare-user-with-realm", "http-spn"],
)
def test_the_fixes_the_messages_suggest_work(overrides: dict, realm: Realm, kerberos_labs) -> None:
    with PypsrpSession(connection(realm, kerberos_labs("kerberos"), **overrides), max_pools=1) as session:
        result = session.run(Command.of("Get-OrganizationConfig"))
        assert session.auth_info()["mechanism"] == "kerberos"
    assert len(result.output) == 1


def test_negotiate_explains_why_kerberos_was_not_used(realm: Realm, kerberos_labs) -> None:
    # Under Negotiate a Kerberos failure silently falls back to NTLM; when NTLM is refused too, say why Kerberos
    # failed, not just "401".
    lab = kerberos_labs("negotiate")
    for overrides, fragment in (
        ({"password": Secret("not-the-password")}, "rejected the password of svc-exo@CONTOSO.TEST"),
        ({"server": "127.0.0.1"}, "host/127.0.0.1@CONTOSO.TEST"),
    ):
        with pytest.raises(AuthError) as caught:
            _open(connection(realm, lab, auth="negotiate", **overrides))
        message = str(caught.value)
        assert "fell back to NTLM" in message and fragment in message, message
        assert not any(raw in message for raw in RAW), message


def test_ticket_cache_without_username(realm: Realm, kerberos_labs, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    kinit = shutil.which("kinit")
    if kinit is None:
        pytest.skip("kinit (Debian package krb5-user) is not installed")
    monkeypatch.setenv("KRB5CCNAME", f"FILE:{tmp_path / 'ccache'}")
    lab = kerberos_labs("kerberos")
    conn = connection(realm, lab, username=None, password=None)
    with pytest.raises(AuthError) as caught:
        _open(conn)
    assert "no ticket in the credentials cache" in str(caught.value) and "kinit" in str(caught.value)
    subprocess.run([kinit, realm.principal], input=realm.password + "\n", text=True, check=True,
                   capture_output=True)  # the password on stdin, as a person types it
    with PypsrpSession(conn, max_pools=1) as session:
        assert len(session.run(Command.of("Get-OrganizationConfig")).output) == 1


def test_kerberos_library_errors_never_escape_raw(realm: Realm) -> None:
    import krb5

    from hybridkit.ps._errors import map_exception

    try:
        krb5.parse_name_flags(krb5.init_context(), b"a@B@C", 0)
    except krb5.Krb5Error as exc:
        mapped = map_exception(exc)
    assert isinstance(mapped, AuthError) and str(mapped).startswith("Kerberos authentication failed")


def test_ntlm_profile_against_kerberos_only_endpoint(realm: Realm, kerberos_labs) -> None:
    with pytest.raises(AuthError) as caught:
        _open(connection(realm, kerberos_labs("kerberos"), auth="ntlm"))
    assert str(caught.value) == ('localhost offers only Kerberos (WWW-Authenticate), but the profile asks for ntlm: '
                                 'set auth = "kerberos" in the profile')


def test_missing_gssapi_is_a_setup_message() -> None:
    from hybridkit.errors import ConfigError
    from hybridkit.ps._kerberos import KerberosTarget
    from hybridkit.ps._kerberos_errors import explain_kerberos_failure

    # pyspnego's own words when the gssapi package is absent.
    exc = ImportError("GSSAPIProxy requires the Python gssapi library: No module named 'gssapi'")
    explained = explain_kerberos_failure(exc, KerberosTarget(auth="kerberos", username="a@B", realm=None,
                                                             server="ex01"))
    assert isinstance(explained, ConfigError) and "pip install 'hybridkit[kerberos]'" in str(explained)
