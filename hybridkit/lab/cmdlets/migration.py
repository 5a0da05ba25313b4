"""Migration endpoints, batches, migration users and move requests (the Exchange Online side of onboarding).

State lives in ``org.online`` collections: ``MigrationEndpoint``, ``MigrationBatch`` (by name),
``MigrationUser`` and ``MoveRequest`` (by lower-case email address). Time-driven behaviour is in
``hybridkit.lab.migration_state``; every handler first advances all moves to the virtual clock's now (once per
command of a pipeline). Completion converts the on-prem mailbox into a RemoteUserMailbox and the cloud mail
user into a UserMailbox. Every completion signal and every completion is recorded in
``org.online.settings["lab_migration_audit"]`` so tests can prove a mailbox was completed exactly once.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import uuid
from typing import Any

from hybridkit.lab import migration_state as ms
from hybridkit.lab._types import LabError, LabObject
from hybridkit.lab.cmdlets._registry import CmdletContext, cmdlet
from hybridkit.lab.org import Org, register_demo_seeder
from hybridkit.lab.shapes import shaped_object

__all__ = ["DEFAULT_ENDPOINT", "seed_migration"]

DEFAULT_ENDPOINT = "Hybrid Migration Endpoint - EWS (Default Web Site)"
_ONBOARDING_COLUMNS = ("EmailAddress", "BadItemLimit", "LargeItemLimit", "MailboxType")
_T_BATCH = "Microsoft.Exchange.Data.Storage.Management.MigrationBatch"
_T_USER = "Microsoft.Exchange.Data.Storage.Management.MigrationUser"
_T_ENDPOINT = "Microsoft.Exchange.Data.Storage.Management.MigrationEndpoint"
_T_MOVE = "Microsoft.Exchange.Management.RecipientTasks.MoveRequest"
_T_STATS = "Microsoft.Exchange.Management.RecipientTasks.MoveRequestStatistics"
_DATES = (
    "QueuedTimestamp", "StartTimestamp", "InitialSeedingCompletedTimestamp", "LastSuccessfulSyncTimestamp",
    "CompletionTimestamp", "SuspendedTimestamp", "FailureTimestamp", "CompleteAfter", "StartAfter",
    "CreationDateTime", "StartDateTime", "LastSyncedDateTime", "CompleteAfterUTC", "StartAfterUTC",
)  # fmt: skip


# ---------------------------------------------------------------- helpers


def _text(value: Any) -> str:
    if isinstance(value, LabObject):
        for prop in ("Identity", "EmailAddress", "Name"):
            if value.get(prop):
                return str(value.get(prop))
        return value.to_string or ""
    if isinstance(value, dict):
        return str(value.get("Identity") or value.get("Name") or "")
    return str(value)


def _when(value: Any) -> dt.datetime | None:
    """A DateTime parameter: aware datetimes as given; a value without a zone is UTC (Exchange Online)."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    text = str(value).strip().replace("Z", "+00:00").replace("z", "+00:00")
    parsed = dt.datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def _dc(ctx: CmdletContext) -> str:
    return str(ctx.side.settings.get("domain_controller", "NAMPR01A001DC01.NAMPR01A001.prod.outlook.com"))


def _error(ctx: CmdletContext, message: str, exc: str, target: Any, category: str = "InvalidOperation") -> LabError:
    short = exc.rsplit(".", 1)[-1]
    task = ctx.name.replace("-", "")
    return LabError(
        message=message,
        exception_type=exc,
        fully_qualified_error_id=f"[Server={_dc(ctx).split('.')[0]},RequestId={uuid.uuid4()},"
        f"TimeStamp={ctx.now():%m/%d/%Y %I:%M:%S %p}] [FailureCategory=Cmdlet-{short}] "
        f"{hashlib.md5(short.encode()).hexdigest()[:8].upper()},Microsoft.Exchange.Management.Migration.{task}",
        category=category,
        reason=short,
        target=_text(target),
    )


def _not_found(ctx: CmdletContext, identity: Any) -> LabError:
    return _error(
        ctx,
        f"The operation couldn't be performed because object '{_text(identity)}' couldn't be found on '{_dc(ctx)}'.",
        "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
        identity,
        "ObjectNotFound",
    )


def _audit(ctx: CmdletContext, event: str, identity: str, **detail: Any) -> None:
    log = ctx.org.online.settings.setdefault("lab_migration_audit", [])
    log.append({"at": ctx.now().isoformat(), "event": event, "identity": identity, **detail})


def _smtp_set(rec: dict[str, Any]) -> set[str]:
    found = {str(rec.get(k, "")).lower() for k in ("PrimarySmtpAddress", "WindowsEmailAddress", "UserPrincipalName")}
    for addr in rec.get("EmailAddresses") or []:
        text = str(addr)
        found.add(text.split(":", 1)[1].lower() if ":" in text else text.lower())
    found.discard("")
    return found


def _find_recipient(org_side: Any, email: str) -> dict[str, Any] | None:
    email = email.lower()
    local = email.split("@", 1)[0]
    fallback = None
    for rec in org_side.recipients.values():
        smtp = _smtp_set(rec)
        if email in smtp:
            return rec
        if fallback is None and any(a.split("@", 1)[0] == local for a in smtp):
            fallback = rec
    return fallback


def _size_of(rec: dict[str, Any] | None, email: str) -> tuple[int, int]:
    """(bytes, items) of a mailbox: from the recipient's size fields, else a stable pseudo-random size."""
    if rec:
        for key in ("TotalItemSizeBytes", "SizeBytes", "size_bytes"):
            if isinstance(rec.get(key), int):
                return rec[key], int(rec.get("ItemCount") or rec[key] // 75_000)
        text = str(rec.get("TotalItemSize") or "")
        if "(" in text:
            digits = "".join(ch for ch in text.split("(", 1)[1] if ch.isdigit())
            if digits:
                return int(digits), int(rec.get("ItemCount") or int(digits) // 75_000)
    seed = int(hashlib.sha256(email.encode()).hexdigest()[:8], 16)
    size = 50 * 1024**2 + seed % (3 * 1024**3)
    return size, size // 75_000


def _effects(org: Org) -> ms.MoveEffects:
    def complete(move: dict[str, Any], when: dt.datetime) -> None:
        email = str(move["Identity"]).lower()
        log = org.online.settings.setdefault("lab_migration_audit", [])
        log.append({"at": when.isoformat(), "event": "Completed", "identity": email})
        tdd = move.get("TargetDeliveryDomain") or "contoso.mail.onmicrosoft.com"
        onprem = _find_recipient(org.onprem, email)
        alias = move.get("Alias") or email.split("@", 1)[0]
        online = _find_recipient(org.online, email)
        if onprem is not None and online is not None and onprem.get("Alias") and "routing_domain" in org.onprem.settings:
            from hybridkit.lab.orgs_people import migrate_mailbox  # the demo org's own conversion

            migrate_mailbox(org, onprem, online, ["BPOS_S_Enterprise"])
            return
        if onprem is not None:
            onprem["RecipientTypeDetails"] = "RemoteUserMailbox"
            onprem["RecipientType"] = "MailUser"
            onprem["RemoteRoutingAddress"] = f"{alias}@{tdd}"
            onprem["Database"] = None
        if online is None:
            guid = str(uuid.uuid4())
            online = {
                "Guid": guid,
                "Identity": alias,
                "Name": alias,
                "Alias": alias,
                "DisplayName": move.get("DisplayName") or alias,
                "PrimarySmtpAddress": email,
                "EmailAddresses": [f"SMTP:{email}", f"smtp:{alias}@{tdd}"],
                "ExchangeGuid": move.get("ExchangeGuid"),
            }
            org.online.recipients[guid] = online
        online["RecipientTypeDetails"] = "UserMailbox"
        online["RecipientType"] = "UserMailbox"

    return complete


def _advance(ctx: CmdletContext) -> None:
    if ctx.state.get("_advanced"):
        return
    ctx.state["_advanced"] = True
    now = ctx.now()
    effects = _effects(ctx.org)
    for move in ctx.org.online.collection("MoveRequest").values():
        ms.advance_move(move, now, effects)


def _moves(ctx: CmdletContext) -> dict[str, dict[str, Any]]:
    return ctx.org.online.collection("MoveRequest")


def _find_move(ctx: CmdletContext, identity: Any) -> dict[str, Any] | None:
    wanted = _text(identity).strip().lower()
    moves = _moves(ctx)
    if wanted in moves:
        return moves[wanted]
    for move in moves.values():
        keys = (move.get("Alias"), move.get("DisplayName"), move.get("ExchangeGuid"))
        if wanted in {str(k).lower() for k in keys if k}:
            return move
    return None


def _batch_users(ctx: CmdletContext, batch: dict[str, Any]) -> list[str]:
    return list(batch.get("_users", []))


def _user_status(ctx: CmdletContext, email: str) -> str:
    user = ctx.org.online.collection("MigrationUser").get(email, {})
    return ms.migration_user_status(_moves(ctx).get(email), user)


def _dated(record: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in record.items():
        if key.startswith("_"):
            continue
        out[key] = _when(value) if key in _DATES and isinstance(value, str) else value
    return out


# ---------------------------------------------------------------- endpoints


@register_demo_seeder
def seed_migration(org: Org) -> None:
    """The hybrid migration endpoint and the seeded move faults (over quota, bad items, transient)."""
    domain = str(org.onprem.settings.get("domain") or org.onprem.settings.get("primary_domain") or "contoso.com")
    org.online.collection("MigrationEndpoint")[DEFAULT_ENDPOINT] = {
        "Identity": DEFAULT_ENDPOINT,
        "Name": DEFAULT_ENDPOINT,
        "EndpointType": "ExchangeRemoteMove",
        "RemoteServer": f"mail.{domain}",
        "MaxConcurrentMigrations": 20,
        "MaxConcurrentIncrementalSyncs": 10,
        "IsRemote": True,
        "Guid": str(uuid.uuid5(uuid.NAMESPACE_DNS, "endpoint." + domain)),
    }
    users = sorted(
        str(r.get("PrimarySmtpAddress", "")).lower()
        for r in org.onprem.recipients.values()
        if r.get("RecipientTypeDetails") == "UserMailbox" and r.get("PrimarySmtpAddress")
    )
    faults = org.online.settings.setdefault("lab_move_faults", {})
    for index, kind in ((3, "quota"), (7, "baditems"), (11, "transient")):
        if index < len(users):
            faults[users[index]] = kind


@cmdlet("Get-MigrationEndpoint")
def get_migration_endpoint(ctx: CmdletContext) -> None:
    endpoints = ctx.side.collection("MigrationEndpoint")
    if ctx.has("Identity"):
        wanted = _text(ctx.params["Identity"]).lower()
        found = [e for k, e in endpoints.items() if k.lower() == wanted]
        if not found:
            ctx.error(_not_found(ctx, ctx.params["Identity"]))
    else:
        found = list(endpoints.values())
        if ctx.has("Type"):
            found = [e for e in found if str(e.get("EndpointType")).lower() == str(ctx.params["Type"]).lower()]
    for endpoint in found:
        ctx.output(shaped_object("MigrationEndpoint", _dated(endpoint), endpoint["Identity"]))


# ---------------------------------------------------------------- batches


def _parse_csv(ctx: CmdletContext, data: Any, allow_unknown: bool) -> list[str]:
    raw = bytes(data) if not isinstance(data, str) else data.encode()
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = raw.decode("utf-16")
    else:
        text = raw.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    rows = [r for r in rows if any(c.strip() for c in r)]

    def bad(message: str) -> Exception:
        return ctx.terminate(
            _error(ctx, message, "Microsoft.Exchange.Migration.MigrationCSVParsingException", "CSVData", "InvalidData")
        )

    if not rows:
        raise bad("The CSV file is empty. It must contain a header row and at least one data row.")
    header = [h.strip() for h in rows[0]]
    lowered = [h.lower() for h in header]
    if "emailaddress" not in lowered:
        raise bad("The CSV file is missing the required column 'EmailAddress'.")
    known = {c.lower() for c in _ONBOARDING_COLUMNS}
    unknown = [h for h in header if h.lower() not in known]
    if unknown and not allow_unknown:
        raise bad(
            "The following columns in the CSV file aren't recognized: " + ", ".join(unknown) + ". Correct the column "
            "names, or set AllowUnknownColumnsInCsv to $true to ignore them."
        )
    col = lowered.index("emailaddress")
    emails: list[str] = []
    for number, row in enumerate(rows[1:], start=2):
        value = row[col].strip().lower() if col < len(row) else ""
        if "@" not in value:
            raise bad(f"Row {number}: '{value}' isn't a valid EmailAddress.")
        if value in emails:
            raise bad(f"Row {number}: the EmailAddress '{value}' appears more than once in the CSV file.")
        emails.append(value)
    if not emails:
        raise bad("The CSV file doesn't contain any users.")
    return emails


def _start_batch(ctx: CmdletContext, name: str, batch: dict[str, Any]) -> None:
    now = ctx.now()
    batch["_started"] = True
    batch["_stopped"] = False
    if not batch.get("StartDateTime"):
        batch["StartDateTime"] = now.isoformat()
    faults = ctx.org.online.settings.get("lab_move_faults", {})
    complete_after = _when(batch.get("CompleteAfter"))
    prevent = not batch.get("AutoComplete") and complete_after is None
    moves = _moves(ctx)
    users = ctx.side.collection("MigrationUser")
    for order, email in enumerate(_batch_users(ctx, batch)):
        user = users[email]
        move = moves.get(email)
        if user.get("_validation_error"):
            continue
        if move is not None:
            if move["_phase"] in ("failed", "suspended"):
                ms.resume_move(move, now)
            continue
        rec = _find_recipient(ctx.org.onprem, email)
        size, items = _size_of(rec, email)
        fault = faults.get(email)
        if fault == "quota":
            size = max(size, ms.TARGET_QUOTA_BYTES + 5 * 1024**3 + size % 1024**3)
        moves[email] = ms.new_move(
            email=email,
            display_name=str((rec or {}).get("DisplayName") or email),
            alias=str((rec or {}).get("Alias") or email.split("@", 1)[0]),
            exchange_guid=str((rec or {}).get("ExchangeGuid") or uuid.uuid5(uuid.NAMESPACE_URL, email)),
            batch=name,
            size_bytes=size,
            item_count=items,
            now=now,
            prevent_completion=prevent,
            complete_after=_when(user.get("CompleteAfter")) or complete_after,
            fault=fault,
            order=order,
            remote_host=str(batch.get("_remote_server") or ""),
            start_after=_when(user.get("StartAfter")) or _when(batch.get("StartAfter")),
            target_delivery_domain=str(batch.get("TargetDeliveryDomain") or ""),
        )


def _batch_object(ctx: CmdletContext, name: str, batch: dict[str, Any]) -> LabObject:
    statuses = [_user_status(ctx, e) for e in _batch_users(ctx, batch)]
    summaries = [ms.status_summary(s) for s in statuses]
    props = _dated(batch)
    props.update(
        Status=ms.batch_status(batch, statuses),
        TotalCount=len(statuses),
        ActiveCount=summaries.count("Active"),
        StoppedCount=summaries.count("Stopped"),
        SyncedCount=summaries.count("Synced"),
        FinalizedCount=summaries.count("Completed"),
        FailedCount=summaries.count("Failed"),
        PendingCount=statuses.count("Queued"),
    )
    props["CreationDateTimeUTC"] = props.get("CreationDateTime")
    props["StartDateTimeUTC"] = props.get("StartDateTime")
    props["LastSyncedDateTimeUTC"] = props.get("LastSyncedDateTime")
    props["Reports"] = []
    return shaped_object("MigrationBatch", props, name)


def _find_batch(ctx: CmdletContext, identity: Any) -> tuple[str, dict[str, Any]] | None:
    wanted = _text(identity).strip().lower()
    for name, batch in ctx.side.collection("MigrationBatch").items():
        if name.lower() == wanted or str(batch.get("BatchGuid", "")).lower() == wanted:
            return name, batch
    return None


@cmdlet("New-MigrationBatch")
def new_migration_batch(ctx: CmdletContext) -> None:
    _advance(ctx)
    name = str(ctx.params["Name"])
    batches = ctx.side.collection("MigrationBatch")
    if len(name) > 64:
        raise ctx.terminate(_error(ctx, f"The batch name '{name}' is longer than 64 characters.",
                                   "Microsoft.Exchange.Data.DataValidationException", name, "InvalidArgument"))
    if _find_batch(ctx, name):
        raise ctx.terminate(_error(ctx, f"A migration batch with the name '{name}' already exists.",
                                   "Microsoft.Exchange.Migration.MigrationBatchAlreadyExistsException", name))
    endpoint: dict[str, Any] | None = None
    if ctx.has("SourceEndpoint"):
        wanted = _text(ctx.params["SourceEndpoint"]).lower()
        endpoint = next((e for k, e in ctx.side.collection("MigrationEndpoint").items() if k.lower() == wanted), None)
        if endpoint is None:
            raise ctx.terminate(_not_found(ctx, ctx.params["SourceEndpoint"]))
        if not ctx.params.get("TargetDeliveryDomain"):
            raise ctx.terminate(_error(ctx, "The TargetDeliveryDomain parameter is required for remote move "
                                       "onboarding batches.", "Microsoft.Exchange.Migration.MigrationPermanentException",
                                       name, "InvalidArgument"))
    if not ctx.has("CSVData"):
        raise ctx.terminate(_error(ctx, "The CSVData parameter is required for this migration type.",
                                   "Microsoft.Exchange.Migration.MigrationPermanentException", name, "InvalidArgument"))
    emails = _parse_csv(ctx, ctx.params["CSVData"], bool(ctx.params.get("AllowUnknownColumnsInCsv", False)))
    users = ctx.side.collection("MigrationUser")
    taken = [f"{e} (batch {users[e]['BatchId']})" for e in emails if e in users]
    if taken:
        raise ctx.terminate(_error(ctx, "The following users already belong to another migration batch: "
                                   + ", ".join(taken), "Microsoft.Exchange.Migration.MigrationUserAlreadyExistsException",
                                   name))
    now = ctx.now()
    complete_after = _when(ctx.params.get("CompleteAfter"))
    start_after = _when(ctx.params.get("StartAfter"))
    batch: dict[str, Any] = {
        "Identity": name,
        "BatchGuid": str(uuid.uuid4()),
        "MigrationType": "ExchangeRemoteMove",
        "BatchDirection": "Onboarding",
        "SourceEndpoint": endpoint["Identity"] if endpoint else None,
        "TargetDeliveryDomain": ctx.params.get("TargetDeliveryDomain"),
        "NotificationEmails": [str(a) for a in (ctx.params.get("NotificationEmails") or [])]
        if isinstance(ctx.params.get("NotificationEmails"), (list, tuple))
        else ([str(ctx.params["NotificationEmails"])] if ctx.params.get("NotificationEmails") else []),
        "AutoComplete": bool(ctx.params.get("AutoComplete", False)),
        "CompleteAfter": complete_after.isoformat() if complete_after else None,
        "CompleteAfterUTC": complete_after.isoformat() if complete_after else None,
        "StartAfter": start_after.isoformat() if start_after else None,
        "StartAfterUTC": start_after.isoformat() if start_after else None,
        "CreationDateTime": now.isoformat(),
        "StartDateTime": None,
        "LastSyncedDateTime": None,
        "SubmittedByUser": ctx.session.user,
        "TimeZone": "UTC",
        "_users": emails,
        "_remote_server": endpoint.get("RemoteServer") if endpoint else None,
        "_started": False,
    }
    batches[name] = batch
    for email in emails:
        user = {"Identity": email, "BatchId": name, "RecipientType": "Mailbox", "CompleteAfter": None}
        if _find_recipient(ctx.org.online, email) is None and _find_recipient(ctx.org.onprem, email) is None:
            user["_validation_error"] = (f"A recipient wasn't found for '{email}' on the target. Create a mail user "
                                         "with that address and try again.")
        users[email] = user
    _audit(ctx, "New-MigrationBatch", name, users=len(emails))
    if ctx.params.get("AutoStart"):
        _start_batch(ctx, name, batch)
    ctx.output(_batch_object(ctx, name, batch))


@cmdlet("Get-MigrationBatch")
def get_migration_batch(ctx: CmdletContext) -> None:
    _advance(ctx)
    if ctx.has("Identity"):
        found = _find_batch(ctx, ctx.params["Identity"])
        if found is None:
            ctx.error(_not_found(ctx, ctx.params["Identity"]))
            return
        items = [found]
    else:
        items = list(ctx.side.collection("MigrationBatch").items())
    for name, batch in items:
        obj = _batch_object(ctx, name, batch)
        if ctx.has("Status") and str(obj.get("Status")).lower() != str(ctx.params["Status"]).lower():
            continue
        if ctx.has("Endpoint") and str(batch.get("SourceEndpoint")).lower() != _text(ctx.params["Endpoint"]).lower():
            continue
        ctx.output(obj)


def _batch_or_error(ctx: CmdletContext) -> tuple[str, dict[str, Any]] | None:
    _advance(ctx)
    found = _find_batch(ctx, ctx.params.get("Identity", ""))
    if found is None:
        ctx.error(_not_found(ctx, ctx.params.get("Identity", "")))
    return found


@cmdlet("Set-MigrationBatch")
def set_migration_batch(ctx: CmdletContext) -> None:
    found = _batch_or_error(ctx)
    if found is None:
        return
    name, batch = found
    now = ctx.now()
    if ctx.has("CompleteAfter"):
        when = _when(ctx.params["CompleteAfter"])
        batch["CompleteAfter"] = batch["CompleteAfterUTC"] = when.isoformat() if when else None
        users = ctx.side.collection("MigrationUser")
        for email in _batch_users(ctx, batch):
            move = _moves(ctx).get(email)
            if move is not None and when is not None and not users[email].get("CompleteAfter"):
                ms.schedule_service_completion(move, when, now)
    if ctx.has("NotificationEmails"):
        batch["NotificationEmails"] = [str(a) for a in (ctx.params["NotificationEmails"] or [])]
    _audit(ctx, "Set-MigrationBatch", name)


@cmdlet("Start-MigrationBatch")
def start_migration_batch(ctx: CmdletContext) -> None:
    found = _batch_or_error(ctx)
    if found is None:
        return
    name, batch = found
    _audit(ctx, "Start-MigrationBatch", name)
    _start_batch(ctx, name, batch)


@cmdlet("Stop-MigrationBatch")
def stop_migration_batch(ctx: CmdletContext) -> None:
    found = _batch_or_error(ctx)
    if found is None:
        return
    name, batch = found
    statuses = [ms.status_summary(_user_status(ctx, e)) for e in _batch_users(ctx, batch)]
    if all(s in ("Completed", "Failed") for s in statuses):
        ctx.error(_error(ctx, f"The migration batch '{name}' can't be stopped because all of its users are completed "
                         "or failed.", "Microsoft.Exchange.Migration.MigrationBatchCannotBeStoppedException", name))
        return
    for email in _batch_users(ctx, batch):
        move = _moves(ctx).get(email)
        if move is not None:
            ms.suspend_move(move, ctx.now(), "Stopped by Stop-MigrationBatch")
    batch["_stopped"] = True
    _audit(ctx, "Stop-MigrationBatch", name)


@cmdlet("Complete-MigrationBatch")
def complete_migration_batch(ctx: CmdletContext) -> None:
    found = _batch_or_error(ctx)
    if found is None:
        return
    name, batch = found
    status = _batch_object(ctx, name, batch).get("Status")
    if status not in ("Synced", "SyncedwithErrors"):
        ctx.error(_error(ctx, f"The migration batch '{name}' can't be completed because its status is {status}. "
                         "Only a batch whose status is Synced or SyncedWithErrors can be completed.",
                         "Microsoft.Exchange.Migration.MigrationBatchCannotBeCompletedException", name))
        return
    if ctx.params.get("SyncAndComplete"):
        summaries = [ms.status_summary(_user_status(ctx, e)) for e in _batch_users(ctx, batch)]
        if "Failed" in summaries or "Stopped" in summaries:
            ctx.error(_error(ctx, f"The migration batch '{name}' can't be completed with SyncAndComplete because it "
                             "has failed, corrupted, or stopped items.",
                             "Microsoft.Exchange.Migration.MigrationBatchCannotBeCompletedException", name))
            return
    now = ctx.now()
    batch["CompleteAfter"] = batch["CompleteAfterUTC"] = now.isoformat()
    batch["_completion_signalled"] = True
    users = ctx.side.collection("MigrationUser")
    for email in _batch_users(ctx, batch):
        move = _moves(ctx).get(email)
        if move is None or move["_phase"] in ("completed", "completing", "failed"):
            continue
        if users[email].get("CompleteAfter"):  # a per-user CompleteAfter overrides the batch's
            continue
        ms.schedule_service_completion(move, now, now)
        _audit(ctx, "CompletionSignal", email, via="Complete-MigrationBatch")
    _audit(ctx, "Complete-MigrationBatch", name)


@cmdlet("Remove-MigrationBatch")
def remove_migration_batch(ctx: CmdletContext) -> None:
    found = _batch_or_error(ctx)
    if found is None:
        return
    name, batch = found
    status = _batch_object(ctx, name, batch).get("Status")
    if status in ("Syncing", "IncrementalSyncing", "Completing", "Starting", "Stopping"):
        ctx.error(_error(ctx, f"The migration batch '{name}' can't be removed while its status is {status}. "
                         "Stop the batch first.", "Microsoft.Exchange.Migration.MigrationBatchCannotBeRemovedException",
                         name))
        return
    users = ctx.side.collection("MigrationUser")
    for email in _batch_users(ctx, batch):
        users.pop(email, None)
        move = _moves(ctx).get(email)
        if move is not None and move["_phase"] != "completed":
            _moves(ctx).pop(email, None)
    ctx.side.collection("MigrationBatch").pop(name, None)
    _audit(ctx, "Remove-MigrationBatch", name)


from hybridkit.lab.cmdlets import migration_moves as _migration_moves  # noqa: E402,F401  (registers its cmdlets)
