"""Builders for the ErrorRecords Exchange writes, with its messages and FullyQualifiedErrorIds.

Exchange's task framework stamps every error id with the server, a request id and a time stamp, then a failure
category, an 8-hex-digit hash and the cmdlet's .NET class::

    [Server=EX01,RequestId=6b1a...,TimeStamp=11/28/2026 6:41:02 AM] [FailureCategory=Cmdlet-ManagementObjectNotFoundException] 5F4A2C11,Microsoft.Exchange.Management.RecipientTasks.GetMailbox

Exchange Online (the ExchangeOnlineManagement v3 module, REST) keeps that id and prefixes the message with
``Ex<6 hex>|<exception type>|``, and names a mailbox server rather than a domain controller.

Handlers call these with their ``CmdletContext``::

    ctx.error(not_found(ctx, identity))
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from typing import TYPE_CHECKING, Any

from hybridkit.lab._types import LabError

if TYPE_CHECKING:
    from hybridkit.lab.exchange.cmdlets._registry import CmdletContext

__all__ = [
    "TASKS_NS",
    "ambiguous",
    "cmdlet_class",
    "exchange_error",
    "not_found",
    "task_error",
]

TASKS_NS = "Microsoft.Exchange.Configuration.Tasks"

# Noun -> area namespace under Microsoft.Exchange.Management (the .NET class is Verb+Noun).
_AREAS: dict[str, str] = {
    **dict.fromkeys(
        ["Mailbox", "Recipient", "User", "MailUser", "RemoteMailbox", "MailboxPermission", "ADPermission",
         "RecipientPermission", "MoveRequest", "MoveRequestStatistics", "CASMailbox", "DistributionGroup",
         "DistributionGroupMember", "Group", "MailContact", "Contact", "LinkedUser"],
        "RecipientTasks",
    ),
    **dict.fromkeys(["MailboxStatistics", "MailboxFolderStatistics"], "MapiTasks"),
    **dict.fromkeys(["MailboxFolderPermission", "PublicFolder", "PublicFolderStatistics"], "StoreTasks"),
    **dict.fromkeys(["HybridConfiguration"], "Hybrid"),
    **dict.fromkeys(
        ["MigrationBatch", "MigrationUser", "MigrationUserStatistics", "MigrationEndpoint", "MigrationConfig",
         "MigrationStatistics", "MigrationReport", "MigrationServerAvailability"],
        "Migration",
    ),
}


def cmdlet_class(cmdlet: str) -> str:
    """The .NET class of an on-prem Exchange cmdlet, e.g. ``Microsoft.Exchange.Management.RecipientTasks.GetMailbox``."""
    verb, _, noun = cmdlet.partition("-")
    area = _AREAS.get(noun, "SystemConfigurationTasks")
    return f"Microsoft.Exchange.Management.{area}.{verb}{noun}"


def _timestamp(now: dt.datetime) -> str:
    utc = now.astimezone(dt.timezone.utc)
    hour = utc.hour % 12 or 12
    return f"{utc.month}/{utc.day}/{utc.year} {hour}:{utc.minute:02d}:{utc.second:02d} {'AM' if utc.hour < 12 else 'PM'}"


def _hash8(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:8].upper()


def exchange_error(
    *,
    cmdlet: str,
    message: str,
    exception: str,
    category: str,
    target: Any,
    server: str,
    now: dt.datetime,
    online: bool = False,
    failure_category: str | None = None,
) -> LabError:
    """An Exchange task ErrorRecord. ``exception`` is the short exception name in Configuration.Tasks
    (``ManagementObjectNotFoundException``) or a full type name."""
    full_type = exception if "." in exception else f"{TASKS_NS}.{exception}"
    short = full_type.rsplit(".", 1)[-1]
    failure = failure_category or f"Cmdlet-{short}"
    fqid = (
        f"[Server={server},RequestId={uuid.uuid4()},TimeStamp={_timestamp(now)}] "
        f"[FailureCategory={failure}] {_hash8(short + cmdlet)},{cmdlet_class(cmdlet)}"
    )
    if online:
        message = f"Ex{_hash8(message)[:6]}|{full_type}|{message}"
    return LabError(
        message=message,
        exception_type=full_type,
        fully_qualified_error_id=fqid,
        category=category,
        reason=short,
        target=target,
        activity=cmdlet,
    )


def _server(ctx: CmdletContext) -> str:
    return str(ctx.side.settings.get("server_name") or ("AM6PR04MB4582" if ctx.is_online else "EX01"))


def _directory(ctx: CmdletContext) -> str:
    """Where Exchange says it looked: the domain controller on-prem, the mailbox server's FQDN online."""
    if ctx.is_online:
        return str(ctx.side.settings.get("directory_server") or "AM6PR04MB4582.EURPRD04.PROD.OUTLOOK.COM")
    return str(ctx.side.settings.get("domain_controller") or "DC01.contoso.local")


def not_found(ctx: CmdletContext, identity: Any) -> LabError:
    """ManagementObjectNotFoundException for ``identity`` (category ObjectNotFound, target the identity)."""
    return exchange_error(
        cmdlet=ctx.name,
        message=f"The operation couldn't be performed because object '{identity}' couldn't be found on "
        f"'{_directory(ctx)}'.",
        exception="ManagementObjectNotFoundException",
        category="ObjectNotFound",
        target=identity,
        server=_server(ctx),
        now=ctx.now(),
        online=ctx.is_online,
    )


def ambiguous(ctx: CmdletContext, identity: Any) -> LabError:
    """ManagementObjectAmbiguousException: the identity matches more than one object."""
    return exchange_error(
        cmdlet=ctx.name,
        message=f"The operation couldn't be performed because '{identity}' matches multiple entries.",
        exception="ManagementObjectAmbiguousException",
        category="InvalidArgument",
        target=identity,
        server=_server(ctx),
        now=ctx.now(),
        online=ctx.is_online,
    )


def task_error(
    ctx: CmdletContext,
    message: str,
    *,
    exception: str = "TaskException",
    category: str = "InvalidOperation",
    target: Any = None,
) -> LabError:
    """Any other Exchange task error (e.g. ``RecipientTaskException``, ``TaskInvalidOperationException``)."""
    return exchange_error(
        cmdlet=ctx.name,
        message=message,
        exception=exception,
        category=category,
        target=target,
        server=_server(ctx),
        now=ctx.now(),
        online=ctx.is_online,
    )
