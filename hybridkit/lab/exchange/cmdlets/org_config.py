"""Organisation reads (Get-ExchangeServer, Get-MailboxServer, Get-MailboxDatabase, Get-AcceptedDomain,
Get-OrganizationConfig) and the
ExchangeOnlineManagement connection cmdlets (Connect-ExchangeOnline, Get-ConnectionInformation,
Disconnect-ExchangeOnline) of the Exchange Online jump host.

Connect-ExchangeOnline accepts app-only certificate authentication with the lab's ``AppId``,
``CertificateThumbprint`` and ``Organization`` (``ExchangeEngine.online_app``). A wrong value fails the way the
module does: an unknown tenant gives Entra ID's AADSTS90002, an unknown app AADSTS700016; a thumbprint with no
certificate in the host's stores fails before any sign-in (the module's exact wording there is not documented;
the lab's text says what is wrong); a certificate the host holds but the app registration does not know
(``online_app["unregistered_certificate_thumbprint"]``, a renewed certificate never uploaded) gives AADSTS700027
"Client assertion contains an invalid signature. [Reason - The key was not found., ...]" with MSAL's Trace ID,
Correlation ID and Timestamp lines. ``-CertificateFilePath`` with ``-CertificatePassword`` (a SecureString) reads a
PFX as .NET does on Linux (a wrong password: "The certificate data cannot be read with the provided password, the
password may be incorrect."; a missing file: "Could not find file '...'."); its certificate's SHA-1 thumbprint then
goes through the same checks (``lab serve`` registers its PFX's thumbprint on the app). A runspace the lab throttles (fault kind ``throttle`` on the online endpoint)
fails its first Connect-ExchangeOnline with Exchange Online's "... Please wait for N seconds." On success the
session's Exchange Online cmdlets become available, limited to ``-CommandName`` when given and renamed by ``-Prefix``.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
import uuid
from typing import Any

from hybridkit.lab.exchange import exchange_errors
from hybridkit.lab._types import EXO_BUDGET_REFUSAL, LabError, LabObject
from hybridkit.lab.exchange.cmdlets._registry import CmdletContext, cmdlet
from hybridkit.lab.exchange.identity import identity_text
from hybridkit.lab.exchange.objects import (
    record_object,
    accepted_domain_object,
    exchange_server_object,
    mailbox_database_object,
    organization_config_object,
)

__all__ = ["find_in_collection", "unregistered_thumbprint"]

_CONNECTION_TYPE = "Microsoft.Exchange.Management.ExoPowershellSnapin.ConnectionInformation"


def find_in_collection(ctx: CmdletContext, kind: str, wanted: Any) -> list[dict[str, Any]]:
    """Objects of ``side.collection(kind)`` named by key, Name, Identity or Guid (``*`` wildcards allowed)."""
    text = identity_text(wanted).strip().lower()
    out = []
    for key, rec in ctx.side.collection(kind).items():
        names = {key.lower(), str(rec.get("Name", "")).lower(), str(rec.get("Identity", "")).lower(),
                 str(rec.get("Guid", "")).lower(), str(rec.get("Fqdn", "")).lower()}
        if ("*" in text and any(fnmatch.fnmatchcase(n, text) for n in names if n)) or text in names:
            out.append(rec)
    return out


def _emit(ctx: CmdletContext, kind: str, build: Any) -> None:
    if ctx.params.get("Identity") is not None:
        found = find_in_collection(ctx, kind, ctx.params["Identity"])
        if not found:
            ctx.error(exchange_errors.not_found(ctx, identity_text(ctx.params["Identity"])))
            return
    else:
        found = list(ctx.side.collection(kind).values())
    for rec in found:
        ctx.output(build(rec))


@cmdlet("Get-ExchangeServer")
def get_exchange_server(ctx: CmdletContext) -> None:
    """The on-prem Exchange servers."""
    if ctx.params.get("Domain"):
        domain = str(ctx.params["Domain"]).lower()
        for rec in ctx.side.collection("ExchangeServer").values():
            if str(rec.get("Domain", "")).lower() == domain:
                ctx.output(exchange_server_object(rec))
        return
    _emit(ctx, "ExchangeServer", exchange_server_object)


def _mailbox_server_object(ctx: CmdletContext, rec: dict[str, Any]) -> LabObject:
    name = str(rec.get("Name"))
    v15 = ctx.org.version not in ("2010",)
    root = "C:\\Program Files\\Microsoft\\Exchange Server\\" + ("V15" if v15 else "V14")
    databases = [d for d in ctx.side.collection("MailboxDatabase").values()
                 if name in [str(s) for s in d.get("Servers", [d.get("Server")])]]
    dag = next((str(d["MasterServerOrAvailabilityGroup"]) for d in databases
                if d.get("MasterServerOrAvailabilityGroup")), None)
    props = {
        "Name": name,
        "DataPath": f"{root}\\Mailbox",
        "DatabaseAvailabilityGroup": dag,
        "AutoDatabaseMountDial": "GoodAvailability",
        "DatabaseCopyAutoActivationPolicy": "Unrestricted",
        "DatabaseCopyActivationDisabledAndMoveNow": False,
        "MaximumActiveDatabases": None,
        "CalendarRepairMode": "RepairAndValidate",
        "Locale": [],
        "FaultZone": "FaultZone1",
    }
    # The rest of the record (Fqdn, versions, DN, Guid, dates) fills the real type's full property set.
    return record_object("MailboxServer", rec, props)


@cmdlet("Get-MailboxServer")
def get_mailbox_server(ctx: CmdletContext) -> None:
    """The on-prem servers with the Mailbox role (every Exchange 2013+ server; 2010's with that role)."""
    if ctx.params.get("Identity") is not None:
        found = [r for r in find_in_collection(ctx, "ExchangeServer", ctx.params["Identity"])
                 if r.get("IsMailboxServer", True)]
        if not found:
            ctx.error(exchange_errors.not_found(ctx, identity_text(ctx.params["Identity"])))
            return
    else:
        found = [r for r in ctx.side.collection("ExchangeServer").values() if r.get("IsMailboxServer", True)]
    for rec in found:
        ctx.output(_mailbox_server_object(ctx, rec))


@cmdlet("Get-MailboxDatabase")
def get_mailbox_database(ctx: CmdletContext) -> None:
    """Mailbox databases; ``-Status`` fills Mounted, DatabaseSize and the backup properties."""
    status = bool(ctx.params.get("Status"))
    server = identity_text(ctx.params.get("Server")).lower() if ctx.params.get("Server") else None
    if server is not None:
        if not find_in_collection(ctx, "ExchangeServer", ctx.params["Server"]):
            ctx.error(exchange_errors.not_found(ctx, identity_text(ctx.params["Server"])))
            return
        for rec in ctx.side.collection("MailboxDatabase").values():
            if server in {str(s).lower() for s in rec.get("Servers", [rec.get("Server")])}:
                ctx.output(mailbox_database_object(_with_size(ctx, rec), status))
        return
    _emit(ctx, "MailboxDatabase", lambda rec: mailbox_database_object(_with_size(ctx, rec), status))


def _with_size(ctx: CmdletContext, rec: dict[str, Any]) -> dict[str, Any]:
    """The database record with DatabaseSize summed from its mailboxes (only computed with -Status)."""
    if not ctx.params.get("Status"):
        return rec
    name = rec.get("Name")
    total = sum(int(r.get("TotalItemSizeBytes") or 0) for r in ctx.side.recipients.values()
                if r.get("Database") == name)
    return dict(rec, DatabaseSize=int(total * 1.12) + 256 * 1024**2)


@cmdlet("Get-AcceptedDomain")
def get_accepted_domain(ctx: CmdletContext) -> None:
    """Accepted domains of this side."""
    _emit(ctx, "AcceptedDomain", accepted_domain_object)


@cmdlet("Get-OrganizationConfig")
def get_organization_config(ctx: CmdletContext) -> None:
    """The organisation's configuration object (no -Identity is documented)."""
    for rec in ctx.side.collection("OrganizationConfig").values():
        ctx.output(organization_config_object(rec))


def unregistered_thumbprint(app: dict[str, Any]) -> str:
    """The thumbprint of a second certificate on the jump host that the app registration does not know."""
    stored = app.get("unregistered_certificate_thumbprint")
    if stored:
        return str(stored)
    return hashlib.sha1(f"renewed:{app.get('certificate_thumbprint', '')}".encode()).hexdigest().upper()


def _msal_trailer(ctx: CmdletContext) -> str:
    """The lines Entra ID appends to every AADSTS error (as MSAL passes them on)."""
    now = ctx.now().astimezone(dt.timezone.utc)
    return (f"\r\nTrace ID: {uuid.uuid4()}\r\nCorrelation ID: {uuid.uuid4()}\r\n"
            f"Timestamp: {now:%Y-%m-%d %H:%M:%S}Z")


def _auth_error(ctx: CmdletContext, message: str, error_id: str, target: Any) -> LabError:
    return LabError(message=message, exception_type="Microsoft.Identity.Client.MsalServiceException",
                    fully_qualified_error_id=error_id, category="AuthenticationError",
                    reason="MsalServiceException", target=target, activity=ctx.name)


def _file_thumbprint(ctx: CmdletContext, path: str, password: Any) -> str:
    """The thumbprint of the certificate in a PFX file, read as .NET's X509Certificate2 reads it (on Linux)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    secret = getattr(password, "value", password)
    try:
        with open(path, "rb") as handle:
            blob = handle.read()
    except OSError:
        raise ctx.terminate(LabError(
            message=f"Could not find file '{path}'.", exception_type="System.IO.FileNotFoundException",
            fully_qualified_error_id="System.IO.FileNotFoundException", category="ObjectNotFound",
            reason="FileNotFoundException", target=path, activity=ctx.name)) from None
    try:
        _, certificate, _ = pkcs12.load_key_and_certificates(blob, str(secret).encode() if secret else None)
    except (ValueError, TypeError):
        certificate = None
    if certificate is None:
        raise ctx.terminate(LabError(
            message="The certificate data cannot be read with the provided password, the password may be incorrect.",
            exception_type="System.Security.Cryptography.CryptographicException",
            fully_qualified_error_id="System.Security.Cryptography.CryptographicException", category="NotSpecified",
            reason="CryptographicException", target=path, activity=ctx.name))
    return hashlib.sha1(certificate.public_bytes(serialization.Encoding.DER)).hexdigest().upper()  # noqa: S324


@cmdlet("Connect-ExchangeOnline")
def connect_exchange_online(ctx: CmdletContext) -> None:
    """App-only sign-in to the lab tenant; success makes Exchange Online cmdlets available in this runspace."""
    app = ctx.org.online.settings.get("connect_app") or {}
    refusal = ctx.session.data.pop(EXO_BUDGET_REFUSAL, None)  # set by the transport's throttle fault
    if refusal is not None:
        raise ctx.terminate(LabError(
            message=str(refusal),
            exception_type="Microsoft.Exchange.Configuration.Authorization.AuthorizationException",
            fully_qualified_error_id="AuthZ-AuthorizationException", category="ResourceUnavailable",
            reason="AuthorizationException", activity=ctx.name))
    given = {key: ctx.params.get(key) for key in ("AppId", "CertificateThumbprint", "Organization")}
    if ctx.params.get("CertificateFilePath") and not given["CertificateThumbprint"]:
        given["CertificateThumbprint"] = _file_thumbprint(ctx, str(ctx.params["CertificateFilePath"]),
                                                          ctx.params.get("CertificatePassword"))
    if not all(given.values()):
        raise ctx.terminate(LabError(
            message="The hybridkit lab's Exchange Online endpoint accepts app-only certificate sign-in only: pass "
            "-AppId, -Organization and -CertificateThumbprint or -CertificateFilePath with -CertificatePassword "
            "(interactive sign-in is impossible in a remote, non-interactive runspace).",
            exception_type="System.ArgumentException", fully_qualified_error_id="LabInteractiveSignInUnavailable",
            category="InvalidArgument", reason="ArgumentException", activity=ctx.name))
    organization = str(given["Organization"])
    if organization.lower() != str(app.get("organization", "")).lower():
        raise ctx.terminate(_auth_error(
            ctx, f"AADSTS90002: Tenant '{organization}' not found. Check to make sure you have the correct tenant ID "
            "and are signing into the correct cloud. Check with your subscription administrator, this may happen if "
            "there are no active subscriptions for the tenant." + _msal_trailer(ctx), "AADSTS90002", organization))
    thumbprint = str(given["CertificateThumbprint"]).replace(" ", "")
    registered = str(app.get("certificate_thumbprint", ""))
    if str(app.get("pfx_certificate_thumbprint", "")).lower() == thumbprint.lower():
        registered = thumbprint  # the certificate of the lab's PFX file is registered on the app too
    if thumbprint.lower() not in (registered.lower(), unregistered_thumbprint(app).lower()):
        raise ctx.terminate(LabError(
            message=f"No certificate with thumbprint '{thumbprint}' was found in the CurrentUser or LocalMachine "
            "personal certificate store of the Exchange Online jump host.",
            exception_type="System.Security.Cryptography.CryptographicException",
            fully_qualified_error_id="CertificateNotFound", category="ObjectNotFound",
            reason="CryptographicException", target=thumbprint, activity=ctx.name))
    app_id = str(given["AppId"])
    if app_id.lower() != str(app.get("app_id", "")).lower():
        raise ctx.terminate(_auth_error(
            ctx, f"AADSTS700016: Application with identifier '{app_id}' was not found in the directory "
            f"'{organization}'. This can happen if the application has not been installed by the administrator of "
            "the tenant or consented to by any user in the tenant. You may have sent your authentication request to "
            "the wrong tenant." + _msal_trailer(ctx), "AADSTS700016", app_id))
    if thumbprint.lower() != registered.lower():
        raise ctx.terminate(_auth_error(
            ctx, "AADSTS700027: Client assertion contains an invalid signature. [Reason - The key was not found., "
            f"Thumbprint of key used by client: '{thumbprint.upper()}', Please visit the Azure Portal, Graph Explorer "
            f"or directly use MS Graph to see configured keys for app Id '{app_id}'. Review the documentation at "
            "https://docs.microsoft.com/en-us/graph/deployments to determine the corresponding service endpoint and "
            "https://docs.microsoft.com/en-us/graph/api/application-get?view=graph-rest-1.0&tabs=http to build a query "
            f"request URL, such as 'https://graph.microsoft.com/beta/applications/{app_id}']. Alternatively, SNI may "
            "be configured on the app. Please ensure that client assertion is being sent with the x5c claim in the "
            "JWT header using MSAL's WithSendX5C() method so that Azure Active Directory can validate the "
            "certificate being used." + _msal_trailer(ctx), "AADSTS700027", thumbprint))
    commands = ctx.params.get("CommandName")
    now = ctx.now()
    ctx.session.data.update({
        "exo_connected": True,
        "exo_prefix": ctx.params.get("Prefix") or "",
        "exo_commands": {str(c).lower() for c in commands} if commands else None,
        "exo_connection": {
            "ConnectionId": str(uuid.uuid4()), "Id": int(ctx.session.data.get("exo_connects", 0)) + 1,
            "Organization": organization, "AppId": app_id, "ConnectedAt": now,
            "ModulePrefix": ctx.params.get("Prefix") or "",
        },
        "exo_connects": int(ctx.session.data.get("exo_connects", 0)) + 1,
    })


@cmdlet("Get-ConnectionInformation")
def get_connection_information(ctx: CmdletContext) -> None:
    """The runspace's Exchange Online connection (nothing when not connected)."""
    info = ctx.session.data.get("exo_connection")
    if not ctx.session.data.get("exo_connected") or not info:
        return
    connected_at: dt.datetime = info["ConnectedAt"]
    ctx.output(LabObject([_CONNECTION_TYPE, "System.Object"], {
        "ConnectionId": info["ConnectionId"],
        "State": "Connected",
        "Id": info["Id"],
        "Name": f"ExchangeOnline_{info['Id']}",
        "UserPrincipalName": None,
        "ConnectionUri": "https://outlook.office365.com",
        "AzureAdAuthorizationEndpointUri": "https://login.microsoftonline.com/organizations",
        "TokenExpiryTimeUTC": connected_at + dt.timedelta(hours=1),
        "CertificateAuthentication": True,
        "ModuleName": f"tmpEXO_{info['ConnectionId'][:8]}",
        "ModulePrefix": info["ModulePrefix"],
        "Organization": info["Organization"],
        "DelegatedOrganization": None,
        "AppId": info["AppId"],
        "PageSize": 1000,
        "TenantID": ctx.org.online.settings.get("tenant_id", "6b7e0f4c-0b1a-4f1e-9c55-3a1d2e4f5a6b"),
        "TokenStatus": "Active",
        "ConnectionUsedForInbox": False,
        "IsEopSession": False,
    }, to_string=f"ExchangeOnline_{info['Id']}"))


@cmdlet("Disconnect-ExchangeOnline")
def disconnect_exchange_online(ctx: CmdletContext) -> None:
    """Drop the runspace's connection; Exchange Online cmdlets are unavailable again."""
    if ctx.params.get("WhatIf"):
        return
    for key in ("exo_connected", "exo_prefix", "exo_commands", "exo_connection"):
        ctx.session.data.pop(key, None)
    ctx.session.data["exo_connected"] = False
