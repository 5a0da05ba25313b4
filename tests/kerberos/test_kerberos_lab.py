"""The lab over Kerberos with message sealing, on both header paths, with a plain pypsrp client and the bridge."""

from __future__ import annotations

import requests
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan

from hybridkit.lab.transport._kerberos import Realm, lab_account
from hybridkit.ps import Command
from hybridkit.ps._pypsrp import PypsrpSession
from tests.kerberos.kerberos_kit import connection

ENCRYPTION = {
    "kerberos": "application/HTTP-Kerberos-session-encrypted",
    "negotiate": "application/HTTP-SPNEGO-session-encrypted",
}


def test_realm_files_and_account_map(realm: Realm) -> None:
    assert realm.running
    assert realm.keytab.stat().st_mode & 0o077 == 0  # service keys readable by the owner only
    conf = realm.krb5_config.read_text()
    assert f"kdc = 127.0.0.1:{realm.kdc_port}" in conf and "default_realm = CONTOSO.TEST" in conf
    assert lab_account("svc-exo@CONTOSO.TEST", realm.realm_map) == "CONTOSO\\svc-exo"
    assert lab_account("bob@FABRIKAM.TEST", realm.realm_map) == "FABRIKAM\\bob"


def test_challenge_offers_only_the_configured_scheme(realm: Realm, kerberos_labs) -> None:
    for auth, scheme in (("kerberos", "Kerberos"), ("negotiate", "Negotiate")):
        lab = kerberos_labs(auth)
        response = requests.post(f"http://127.0.0.1:{lab.port}/PowerShell", data=b"", timeout=5)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == scheme


def _plain_pypsrp(realm: Realm, port: int, auth: str) -> tuple[list, WSMan]:
    wsman = WSMan("localhost", port=port, path="PowerShell", ssl=False, auth=auth,
                  username=realm.principal, password=realm.password)
    with RunspacePool(wsman, configuration_name="Microsoft.Exchange") as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-Mailbox").add_parameter("ResultSize", 5)
        output = ps.invoke()
        assert not ps.had_errors and not ps.streams.error
    return output, wsman


def test_plain_pypsrp_over_kerberos_only_endpoint(realm: Realm, kerberos_labs) -> None:
    lab = kerberos_labs("kerberos")
    # pypsrp's default auth is negotiate; the server offers only Kerberos, so raw AP-REQs are sent.
    output, wsman = _plain_pypsrp(realm, lab.port, "negotiate")
    assert len(output) == 5
    assert wsman.transport.encryption.protocol == ENCRYPTION["kerberos"]
    context = wsman.transport.session.auth.contexts["localhost"]
    assert context.negotiated_protocol == "kerberos" and context.response_auth_header == "kerberos"
    users = {r.get("user") for r in _audit(lab) if r.get("user")}
    assert users == {"CONTOSO\\svc-exo"}


def test_plain_pypsrp_over_negotiate_endpoint(realm: Realm, kerberos_labs) -> None:
    lab = kerberos_labs("negotiate")
    output, wsman = _plain_pypsrp(realm, lab.port, "kerberos")
    assert len(output) == 5
    assert wsman.transport.encryption.protocol == ENCRYPTION["negotiate"]
    context = wsman.transport.session.auth.contexts["localhost"]
    assert context.negotiated_protocol == "kerberos" and context.response_auth_header == "negotiate"


def test_plaintext_after_kerberos_is_refused(realm: Realm, kerberos_labs) -> None:
    lab = kerberos_labs("kerberos")
    wsman = WSMan("localhost", port=lab.port, path="PowerShell", ssl=False, auth="kerberos",
                  username=realm.principal, password=realm.password, encryption="never")
    try:
        pool = RunspacePool(wsman, configuration_name="Microsoft.Exchange")
        try:
            pool.open()
        except Exception as exc:  # noqa: BLE001 - pypsrp reports the 401 its own way
            assert "401" in str(exc) or "authenticate" in str(exc).lower()
        else:  # pragma: no cover - would mean the lab accepted an unsealed body
            raise AssertionError("the lab accepted plaintext on a Kerberos connection")
    finally:
        wsman.close()


def test_bridge_runs_get_mailbox_over_kerberos_on_both_paths(realm: Realm, kerberos_labs) -> None:
    seen: dict[str, list[str]] = {}
    for auth in ("kerberos", "negotiate"):
        lab = kerberos_labs(auth)
        with PypsrpSession(connection(realm, lab, auth=auth)) as session:
            result = session.run(Command.of("Get-Mailbox", ResultSize="Unlimited"))
            info = session.auth_info()
        assert not result.errors
        assert {o.type_names[0] for o in result.output} == {"Microsoft.Exchange.Data.Directory.Management.Mailbox"}
        seen[auth] = sorted(str(o.get("PrimarySmtpAddress")) for o in result.output)
        assert info["mechanism"] == "kerberos"
        assert info["sealing"] == ENCRYPTION[auth].split("/", 1)[1]
    assert len(seen["kerberos"]) >= 300 and len(set(seen["kerberos"])) == len(seen["kerberos"])
    assert seen["kerberos"] == seen["negotiate"]  # same demo org through both header paths


def _audit(lab) -> list[dict]:
    from hybridkit.lab.transport._audit import read_audit

    return read_audit(lab.options.audit)


def test_kerberos_over_https_with_the_lab_ca(realm: Realm, tmp_path) -> None:
    from hybridkit.lab.server import LabOptions, LabServer

    ca = tmp_path / "lab-ca.pem"
    lab = LabServer(LabOptions(port=0, org="demo", auth="kerberos", tls=True, ca_path=ca)).start()
    try:
        conn = connection(realm, lab, https=True, ca_bundle=str(ca))
        assert conn.url.startswith("https://localhost:") and conn.cert_validation == str(ca)
        with PypsrpSession(conn, max_pools=1) as session:
            result = session.run(Command.of("Get-OrganizationConfig"))
            info = session.auth_info()
    finally:
        lab.stop()
    assert len(result.output) == 1
    assert info == {"scheme": "Kerberos", "mechanism": "kerberos"}  # TLS protects the messages: no sealing
