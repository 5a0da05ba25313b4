"""Kerberos for the lab: a throwaway MIT realm and KDC on loopback (the acceptor is in ``_kerberos_auth``).

``Realm.create()`` makes a realm in a temporary directory (about 60 ms; no root needed): ``krb5.conf`` with
``default_realm`` and ``kdc = 127.0.0.1:PORT`` (no DNS, no reverse lookups, TCP only), ``kdc.conf``,
``kdb5_util create -s``, one user with pre-authentication, and ``HTTP/<name>`` plus ``host/<name>`` service
principals with their keys in a keytab (pypsrp asks for ``host/``; Active Directory maps HOST to HTTP, MIT does
not). ``krb5kdc -n`` then serves the realm on a free loopback port until ``close()``.

Kerberos settings are process-wide environment variables (``KRB5_CONFIG``, ``KRB5_KDC_PROFILE``,
``KRB5_KTNAME``, ``KRB5CCNAME``, ``KRB5RCACHEDIR``); ``Realm.env()`` gives them and ``Realm.activate()`` sets
them, so one process uses one realm at a time.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_DOMAIN",
    "DEFAULT_HOSTNAMES",
    "DEFAULT_REALM",
    "DEFAULT_USER",
    "KERBEROS_ENV_VARS",
    "KerberosUnavailable",
    "Realm",
    "kerberos_available",
    "lab_account",
    "missing_kerberos_pieces",
    "offline_krb5_config",
]

DEFAULT_REALM = "CONTOSO.TEST"
DEFAULT_DOMAIN = "CONTOSO"
DEFAULT_USER = "svc-exo"
# Names the lab's service principals are made for. ``localhost`` resolves to 127.0.0.1 everywhere; the second is
# a realistic Exchange name a client reaches through ``negotiate_hostname_override`` (a load-balanced name).
DEFAULT_HOSTNAMES = ("localhost", "ex01.contoso.test")
KERBEROS_ENV_VARS = ("KRB5_CONFIG", "KRB5_KDC_PROFILE", "KRB5_KTNAME", "KRB5CCNAME", "KRB5RCACHEDIR")
_SBIN = ("/usr/sbin", "/usr/local/sbin", "/sbin")


class KerberosUnavailable(RuntimeError):
    """The MIT KDC tools or the Python Kerberos packages are not installed."""


def _tool(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for directory in _SBIN:
        candidate = Path(directory, name)
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def missing_kerberos_pieces() -> list[str]:
    """What is missing to run a lab realm: Debian packages and Python modules (empty when all are there)."""
    missing = []
    for tool, package in (("krb5kdc", "krb5-kdc"), ("kdb5_util", "krb5-kdc"), ("kadmin.local", "krb5-admin-server")):
        if _tool(tool) is None:
            missing.append(f"{tool} (Debian package {package})")
    for module, dist in (("gssapi", "gssapi"), ("krb5", "krb5")):
        try:
            __import__(module)
        except ImportError:
            missing.append(f"Python module {module} (pip install {dist}, or hybridkit[kerberos])")
    return missing


def kerberos_available() -> bool:
    """Whether a lab realm can be created here."""
    return not missing_kerberos_pieces()


def lab_account(client_principal: str, realm_map: Mapping[str, str]) -> str:
    """The lab's ``DOMAIN\\user`` for a Kerberos client principal (``svc-exo@CONTOSO.TEST`` -> ``CONTOSO\\svc-exo``).

    Realms missing from ``realm_map`` keep their first label as the domain name.
    """
    user, _, realm = client_principal.rpartition("@")
    if not user:
        return client_principal
    domain = realm_map.get(realm.upper()) or realm.split(".")[0].upper()
    return f"{domain}\\{user}"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    # Linux: the KDC gets SIGTERM when the process that started it dies, even by SIGKILL.
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - best effort elsewhere
        pass


def _stop_kdc(kdc: subprocess.Popen[bytes] | None, directory: Path | None) -> None:
    if kdc is not None and kdc.poll() is None:
        kdc.terminate()
        try:
            kdc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            kdc.kill()
            kdc.wait(timeout=5)
    if directory is not None:
        shutil.rmtree(directory, ignore_errors=True)


def _run(argv: Sequence[str], env: Mapping[str, str], stdin: str, what: str) -> None:
    done = subprocess.run(list(argv), input=stdin, env=dict(env), capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise KerberosUnavailable(f"{what} failed ({done.returncode}): {(done.stderr or done.stdout).strip()[-400:]}")


OFFLINE_KRB5_CONF = """# hybridkit tests: no default KDC anywhere, so a Negotiate client never reaches a real realm
[libdefaults]
 default_realm = HYBRIDKIT.INVALID
 dns_lookup_kdc = false
 dns_lookup_realm = false
 dns_canonicalize_hostname = false
 rdns = false
"""


@contextlib.contextmanager
def offline_krb5_config(directory: Path) -> Iterator[Path]:
    """Point ``KRB5_CONFIG`` at a krb5.conf with no KDCs while the block runs (restored after).

    With gssapi installed, Negotiate tries Kerberos before NTLM using /etc/krb5.conf, whose Debian default realm
    ATHENA.MIT.EDU sends clients to kerberos.mit.edu over the network; tests must never do that.
    """
    path = Path(directory) / "offline-krb5.conf"
    path.write_text(OFFLINE_KRB5_CONF, encoding="utf-8")
    previous = os.environ.get("KRB5_CONFIG")
    os.environ["KRB5_CONFIG"] = str(path)
    try:
        yield path
    finally:
        if previous is None:
            os.environ.pop("KRB5_CONFIG", None)
        else:
            os.environ["KRB5_CONFIG"] = previous


def _check_password(password: str) -> None:
    # kadmin.local reads its commands from stdin; keep the password one plain word.
    if not password or password.startswith("-") or any(c.isspace() or c in "\"'\\" for c in password):
        raise ValueError("a lab Kerberos password must be one word without quotes or backslashes")


def _krb5_conf(realm: str, port: int, hostnames: Sequence[str]) -> str:
    domain_realm = "\n".join(f" {name} = {realm}" for name in hostnames)
    return f"""# Throwaway hybridkit lab realm (removed when the lab stops)
[libdefaults]
 default_realm = {realm}
 dns_lookup_realm = false
 dns_lookup_kdc = false
 dns_canonicalize_hostname = false
 rdns = false
 udp_preference_limit = 1
 forwardable = true
 ticket_lifetime = 10h

[realms]
 {realm} = {{
  kdc = 127.0.0.1:{port}
 }}

[domain_realm]
{domain_realm}
"""


def _kdc_conf(realm: str, port: int, directory: Path) -> str:
    return f"""[kdcdefaults]
 kdc_listen = ""
 kdc_tcp_listen = 127.0.0.1:{port}

[realms]
 {realm} = {{
  database_name = {directory / "principal"}
  key_stash_file = {directory / "stash"}
  acl_file = {directory / "kadm5.acl"}
  max_life = 10h
 }}

[logging]
 kdc = FILE:{directory / "kdc.log"}
"""


@dataclasses.dataclass
class Realm:
    """A running throwaway realm: its files, its KDC process and its one user (see the module docstring)."""

    realm: str
    domain: str
    directory: Path
    kdc_port: int
    user: str
    password: str = dataclasses.field(repr=False)
    hostnames: tuple[str, ...]
    _kdc: subprocess.Popen[bytes] | None = dataclasses.field(default=None, repr=False)
    _owns_directory: bool = dataclasses.field(default=True, repr=False)
    _saved_env: dict[str, str | None] | None = dataclasses.field(default=None, repr=False)
    _finalizer: weakref.finalize | None = dataclasses.field(default=None, repr=False)

    # -- creation ---------------------------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        *,
        realm: str = DEFAULT_REALM,
        domain: str = DEFAULT_DOMAIN,
        user: str = DEFAULT_USER,
        password: str | None = None,
        hostnames: Sequence[str] = DEFAULT_HOSTNAMES,
        directory: Path | None = None,
    ) -> Realm:
        """Create the realm's database, principals and keytab, and start its KDC on a free loopback port."""
        missing = missing_kerberos_pieces()
        if missing:
            raise KerberosUnavailable("cannot start a lab KDC; missing: " + "; ".join(missing))
        realm = realm.upper()
        owns = directory is None
        path = Path(tempfile.mkdtemp(prefix="hybridkit-krb5-")) if directory is None else Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        os.chmod(path, 0o700)
        port = _free_port()
        self = cls(
            realm=realm,
            domain=domain.upper(),
            directory=path,
            kdc_port=port,
            user=user,
            password=password or "Lab-" + secrets.token_urlsafe(12),
            hostnames=tuple(hostnames),
            _owns_directory=owns,
        )
        try:
            self._write_files()
            env = self.env()
            master = secrets.token_urlsafe(16)
            # Passwords go through stdin, never argv.
            _run([_tool("kdb5_util") or "kdb5_util", "create", "-s", "-r", realm], env, f"{master}\n{master}\n",
                 "kdb5_util create")
            _run([_tool("kadmin.local") or "kadmin.local", "-r", realm], env, self._kadmin_script(),
                 "kadmin.local")
            self._start_kdc(env)
        except BaseException:
            self.close()
            raise
        return self

    def _write_files(self) -> None:
        self.krb5_config.write_text(_krb5_conf(self.realm, self.kdc_port, self.hostnames), encoding="utf-8")
        self.kdc_profile.write_text(_kdc_conf(self.realm, self.kdc_port, self.directory), encoding="utf-8")
        (self.directory / "kadm5.acl").write_text("", encoding="utf-8")
        self.rcache_dir.mkdir(exist_ok=True)

    def _kadmin_script(self) -> str:
        _check_password(self.password)
        lines = [f"addprinc +requires_preauth -pw {self.password} {self.user}"]
        services = [f"{svc}/{name}" for name in self.hostnames for svc in ("HTTP", "host")]
        lines += [f"addprinc -randkey {spn}" for spn in services]
        lines.append(f"ktadd -k {self.keytab} {' '.join(services)}")
        return "\n".join(lines) + "\n"

    def add_user(self, user: str, password: str) -> str:
        """Add another user principal (with pre-authentication); returns ``user@REALM``."""
        _check_password(password)
        _run([_tool("kadmin.local") or "kadmin.local", "-r", self.realm], self.env(),
             f"addprinc +requires_preauth -pw {password} {user}\n", "kadmin.local addprinc")
        return f"{user}@{self.realm}"

    def _start_kdc(self, env: Mapping[str, str]) -> None:
        log = open(self.directory / "krb5kdc.out", "wb")  # noqa: SIM115 - handed to the child process
        try:
            self._kdc = subprocess.Popen(
                [_tool("krb5kdc") or "krb5kdc", "-n", "-P", str(self.directory / "kdc.pid")],
                env=dict(env), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )
        finally:
            log.close()
        # Stop the KDC and remove the realm even if close() is never called (an exception, interpreter exit).
        self._finalizer = weakref.finalize(self, _stop_kdc, self._kdc,
                                           self.directory if self._owns_directory else None)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._kdc.poll() is not None:
                out = (self.directory / "krb5kdc.out").read_text(errors="replace")
                raise KerberosUnavailable(f"krb5kdc exited ({self._kdc.returncode}): {out.strip()[-400:]}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.kdc_port), timeout=0.2):
                return
            time.sleep(0.005)
        raise KerberosUnavailable(f"krb5kdc did not listen on 127.0.0.1:{self.kdc_port} within 10 s")

    # -- paths and environment -----------------------------------------------------------------------------

    @property
    def krb5_config(self) -> Path:
        """The realm's client configuration (what a profile's ``krb5_config`` points at)."""
        return self.directory / "krb5.conf"

    @property
    def kdc_profile(self) -> Path:
        return self.directory / "kdc.conf"

    @property
    def keytab(self) -> Path:
        """The service keys of ``HTTP/<name>`` and ``host/<name>`` for every lab host name."""
        return self.directory / "http.keytab"

    @property
    def ccache(self) -> Path:
        return self.directory / "ccache"

    @property
    def rcache_dir(self) -> Path:
        return self.directory / "rcache"

    @property
    def principal(self) -> str:
        """The lab user as ``user@REALM``."""
        return f"{self.user}@{self.realm}"

    @property
    def account(self) -> str:
        """The lab user as the lab knows it, ``DOMAIN\\user``."""
        return f"{self.domain}\\{self.user}"

    @property
    def realm_map(self) -> dict[str, str]:
        """Realm to NetBIOS domain, for ``lab_account``."""
        return {self.realm: self.domain}

    def spn(self, hostname: str | None = None, service: str = "HTTP") -> str:
        return f"{service}/{hostname or self.hostnames[0]}@{self.realm}"

    def env(self) -> dict[str, str]:
        """The process environment with this realm's Kerberos variables set."""
        env = dict(os.environ)
        env.update(
            KRB5_CONFIG=str(self.krb5_config),
            KRB5_KDC_PROFILE=str(self.kdc_profile),
            KRB5_KTNAME=f"FILE:{self.keytab}",
            KRB5CCNAME=f"FILE:{self.ccache}",
            KRB5RCACHEDIR=str(self.rcache_dir),
        )
        return env

    def activate(self) -> None:
        """Point this process's Kerberos variables at the realm (undone by ``deactivate``/``close``)."""
        if self._saved_env is None:
            self._saved_env = {name: os.environ.get(name) for name in KERBEROS_ENV_VARS}
        env = self.env()
        for name in KERBEROS_ENV_VARS:
            os.environ[name] = env[name]

    def deactivate(self) -> None:
        """Restore the Kerberos variables ``activate`` replaced."""
        saved, self._saved_env = self._saved_env, None
        for name, value in (saved or {}).items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    @contextlib.contextmanager
    def activated(self) -> Iterator[Realm]:
        """``with realm.activated():`` the block sees this realm's Kerberos variables."""
        self.activate()
        try:
            yield self
        finally:
            self.deactivate()

    def ready_info(self) -> dict[str, Any]:
        """What ``hybridkit lab serve --kdc`` adds to its ready file (the password included: it is the lab's)."""
        return {
            "krb5_config": str(self.krb5_config),
            "kerberos_realm": self.realm,
            "kerberos_principal": self.principal,
            "kerberos_password": self.password,
            "kerberos_hostnames": list(self.hostnames),
            "kdc": f"127.0.0.1:{self.kdc_port}",
        }

    # -- shutdown -------------------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._kdc is not None and self._kdc.poll() is None

    def close(self) -> None:
        """Stop the KDC, restore the environment and remove the realm's directory (idempotent)."""
        self.deactivate()
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        kdc, self._kdc = self._kdc, None
        _stop_kdc(kdc, self.directory if self._owns_directory else None)

    def __enter__(self) -> Realm:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
