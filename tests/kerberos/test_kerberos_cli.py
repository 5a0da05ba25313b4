"""The CLI over Kerberos: ``hybridkit lab serve --kdc`` as a process, ``hybridkit connect test`` against it, and
the connect test's account of the negotiated mechanism and of failures."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hybridkit.cli import app
from hybridkit.lab.transport._kerberos import KERBEROS_ENV_VARS, Realm
from tests.kerberos.kerberos_kit import PASSWORD_ENV, write_config
from tests._labconfig import wait_ready

runner = CliRunner()


def _connect_json(config: Path, env: dict[str, str] | None = None) -> dict:
    result = runner.invoke(app, ["--config", str(config), "-o", "json", "connect", "test"], env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_lab_serve_kdc_then_connect_test(realm: Realm, tmp_path: Path) -> None:
    ready = tmp_path / "ready.json"
    env = {k: v for k, v in os.environ.items() if k not in KERBEROS_ENV_VARS}  # the lab makes its own realm
    proc = subprocess.Popen(
        [sys.executable, "-m", "hybridkit", "lab", "serve", "--port", "0", "--org", "demo", "--auth", "kerberos",
         "--kdc", "--ready-file", str(ready)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )
    try:
        info = wait_ready(ready, proc)
        assert stat.S_IMODE(ready.stat().st_mode) == 0o600
        krb5_conf = Path(info["krb5_config"])
        assert krb5_conf.is_file() and info["kerberos_principal"] == "svc-exo@CONTOSO.TEST"
        assert info["kerberos_password"] and info["auth"] == "kerberos" and info["auth_scheme"] == "Kerberos"
        config = tmp_path / "hybridkit.toml"
        config.write_text(f'[profiles.lab]\nkind = "lab"\nready_file = "{ready}"\n', encoding="utf-8")

        data = _connect_json(config)
        assert data["endpoint"] == f"http://localhost:{info['port']}/PowerShell"  # by name, for the SPN
        assert data["account"] == "svc-exo@CONTOSO.TEST"
        assert data["mechanism"] == ("Kerberos (WWW-Authenticate: Kerberos), ticket for host/localhost@CONTOSO.TEST; "
                                     "messages sealed (HTTP-Kerberos-session-encrypted)")
        assert data["organization"]
        assert info["kerberos_password"] not in json.dumps(data)

        table = runner.invoke(app, ["--config", str(config), "connect", "test"])
        assert table.exit_code == 0 and "Kerberos (WWW-Authenticate: Kerberos)" in table.stdout
        assert info["kerberos_password"] not in table.output

        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err.decode()
    assert not krb5_conf.parent.exists()  # the realm (database, keytab, KDC) is gone with the lab


def test_lab_serve_kdc_needs_a_kerberos_auth(tmp_path: Path) -> None:
    result = runner.invoke(app, ["lab", "serve", "--kdc", "--ready-file", str(tmp_path / "r.json")])
    assert result.exit_code == 2 and "--kdc needs --auth kerberos" in result.output


def test_connect_test_over_onprem_kerberos_profile(realm: Realm, kerberos_labs, tmp_path: Path) -> None:
    lab = kerberos_labs("negotiate")
    config = write_config(tmp_path / "hybridkit.toml", realm, lab, auth="negotiate")
    data = _connect_json(config, env={PASSWORD_ENV: realm.password})
    assert data["auth"] == "negotiate" and data["account"] == "svc-exo@CONTOSO.TEST"
    assert data["mechanism"].startswith("Kerberos inside Negotiate (SPNEGO), ticket for host/localhost@CONTOSO.TEST")
    assert "HTTP-SPNEGO-session-encrypted" in data["mechanism"]
    assert "kerberos" not in data  # nothing to explain


def test_connect_test_says_why_negotiate_used_ntlm(realm: Realm, kerberos_labs, tmp_path: Path) -> None:
    # The negotiate lab also accepts its NTLM user; Kerberos cannot work for that name, so Negotiate falls back.
    lab = kerberos_labs("negotiate")
    config = write_config(tmp_path / "hybridkit.toml", realm, lab, auth="negotiate", username=lab.options.username)
    data = _connect_json(config, env={PASSWORD_ENV: lab.password})
    assert data["mechanism"].startswith("NTLM (Negotiate)")
    assert data["kerberos"].startswith("not used: Kerberos: the KDC of CONTOSO.TEST has no user labadmin@CONTOSO.TEST")


def test_connect_test_failure_is_one_clear_line(realm: Realm, kerberos_labs, tmp_path: Path) -> None:
    lab = kerberos_labs("kerberos")
    config = write_config(tmp_path / "hybridkit.toml", realm, lab, server="127.0.0.1")
    result = runner.invoke(app, ["--config", str(config), "connect", "test"], env={PASSWORD_ENV: realm.password})
    assert result.exit_code == 1
    assert "Traceback" not in result.output and realm.password not in result.output
    assert "error: Kerberos: the client asked for the service principal host/127.0.0.1@CONTOSO.TEST" in " ".join(
        result.output.split())


def test_inventory_crawl_over_kerberos(realm: Realm, kerberos_labs, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the run journal goes to ./.hybridkit
    lab = kerberos_labs("kerberos")
    chosen = sorted(str(r["PrimarySmtpAddress"]) for r in lab.engine.org.onprem.recipients.values()
                    if r.get("RecipientTypeDetails") == "UserMailbox")[:25]
    (tmp_path / "mailboxes.csv").write_text("PrimarySmtpAddress\n" + "\n".join(chosen) + "\n", encoding="utf-8")
    config = write_config(tmp_path / "hybridkit.toml", realm, lab, max_shells=2)
    out = tmp_path / "crawl"
    result = runner.invoke(app, ["--config", str(config), "-o", "json", "inventory", "export", "--out", str(out),
                                 "--onprem", "exkrb", "--mailboxes", str(tmp_path / "mailboxes.csv")],
                           env={PASSWORD_ENV: realm.password})
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert sum(manifest["mailboxes"].values()) == len(chosen) == 25, manifest["mailboxes"]
    assert realm.password not in result.output and realm.password not in json.dumps(manifest)
    assert {r.get("user") for r in _audit_users(lab)} == {"CONTOSO\\svc-exo"}


def _audit_users(lab) -> list[dict]:
    from hybridkit.lab.transport._audit import read_audit

    return [r for r in read_audit(lab.options.audit) if r.get("user")]
