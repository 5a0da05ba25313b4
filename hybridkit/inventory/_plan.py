"""Pure transforms of the inventory crawl: Exchange objects -> export rows, and the crawl cut into steps.

Objects are anything with ``.get(name)`` (the bridge's ``PSObject``); rows are dicts keyed by the export's
columns with values written as Windows PowerShell's ``Export-Csv`` writes them on an en-US machine, whatever
kind the value arrived as: ``True``/``False``; multi-valued properties joined with ``", "`` (as the export
samples show ``FullAccess, ReadPermission``); a Guid in its lower-case ``D`` form; a DateTime as .NET's en-US
``ToString()`` (``12/5/2026 7:38:05 AM``, in UTC); an Exchange object (ADObjectId, ...) as its ``ToString()``.
No I/O here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from hybridkit.inventory._model import COLUMNS, Export, MailboxRef
from hybridkit.sides import Side

__all__ = [
    "STAGES",
    "CrawlStep",
    "calendar_folder_identity",
    "calendar_rows",
    "folder_owner",
    "fullaccess_rows",
    "mailbox_ref",
    "mailbox_row",
    "plan_steps",
    "request_fingerprint",
    "sendas_rows",
    "sendonbehalf_row",
    "size_row",
    "text",
]

# Stage name -> the include that turns it on (None: always).
STAGES: dict[str, str | None] = {"sizes": None, "fullaccess": "fullaccess", "sendas": "sendas", "calendar": "calendar"}


def text(value: Any) -> str:
    """A value as Export-Csv writes it (see the module docstring)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, (list, tuple)):
        return ", ".join(text(v) for v in value)
    if isinstance(value, dt.datetime):
        utc = value.astimezone(dt.timezone.utc) if value.tzinfo else value
        hour = utc.hour % 12 or 12
        return f"{utc.month}/{utc.day}/{utc.year} {hour}:{utc:%M:%S} {'AM' if utc.hour < 12 else 'PM'}"
    if isinstance(value, uuid.UUID):
        return str(value)  # .NET's Guid.ToString(): lower case, with hyphens
    return str(value)


def mailbox_ref(obj: Any, side: Side) -> MailboxRef:
    """The listing stage's view of one Get-Mailbox object."""
    identity = obj.get("Identity") or obj.get("DistinguishedName") or obj.get("PrimarySmtpAddress")
    return MailboxRef(
        side=side,
        identity=text(identity),
        primary_smtp=text(obj.get("PrimarySmtpAddress")),
        display_name=text(obj.get("DisplayName")),
        exchange_guid=text(obj.get("ExchangeGuid")).lower(),
    )


def mailbox_row(obj: Any) -> dict[str, str]:
    """``Get-Mailbox | Select DisplayName,Alias,PrimarySmtpAddress,...`` for one mailbox."""
    return {column: text(obj.get(column)) for column in COLUMNS[Export.MAILBOXES]}


def sendonbehalf_row(obj: Any) -> dict[str, str] | None:
    """PrimarySmtpAddress and GrantSendOnBehalfTo joined with ``;`` (None when nobody has the right)."""
    delegates = [text(d) for d in obj.get("GrantSendOnBehalfTo") or [] if text(d)]
    if not delegates:
        return None
    return {"PrimarySmtpAddress": text(obj.get("PrimarySmtpAddress")), "GrantSendOnBehalfTo": ";".join(delegates)}


def size_row(ref: MailboxRef, obj: Any) -> dict[str, str]:
    return {
        "DisplayName": text(obj.get("DisplayName")) or ref.display_name,
        "PrimarySmtpAddress": ref.primary_smtp,
        "TotalItemSize": text(obj.get("TotalItemSize")),
        "ItemCount": text(obj.get("ItemCount")),
    }


def fullaccess_rows(objs: Iterable[Any]) -> list[dict[str, str]]:
    """Every Get-MailboxPermission entry, as the real export keeps them (SELF, inherited and Deny included)."""
    return [{column: text(o.get(column)) for column in COLUMNS[Export.FULLACCESS]} for o in objs]


def sendas_rows(objs: Iterable[Any], side: str) -> list[dict[str, str]]:
    """Send-As grants in the sendas.csv shape.

    On-premises: Get-ADPermission entries whose ExtendedRights include Send-As. Exchange Online:
    Get-RecipientPermission entries (Trustee -> User, AccessControlType Deny -> Deny, ExtendedRights Send-As).
    """
    rows = []
    for o in objs:
        if side == "online":
            if "SendAs" not in [text(r) for r in (o.get("AccessRights") or [])]:
                continue
            rows.append({"Identity": text(o.get("Identity")), "User": text(o.get("Trustee")),
                         "ExtendedRights": "Send-As", "IsInherited": text(bool(o.get("IsInherited"))),
                         "Deny": text(text(o.get("AccessControlType")) == "Deny")})
        else:
            rights = [text(r) for r in (o.get("ExtendedRights") or [])]
            if not any(r.lower() == "send-as" for r in rights):
                continue
            rows.append({"Identity": text(o.get("Identity")), "User": text(o.get("User")),
                         "ExtendedRights": "Send-As", "IsInherited": text(bool(o.get("IsInherited"))),
                         "Deny": text(bool(o.get("Deny")))})
    return rows


def folder_owner(obj: Any) -> str:
    """The mailbox Identity a Get-MailboxFolderStatistics object belongs to (its Identity before ``\\Folder``)."""
    identity = text(obj.get("Identity"))
    return identity.rpartition("\\")[0] or identity


def calendar_folder_identity(ref: MailboxRef, folders: Sequence[Any]) -> tuple[str, str] | None:
    """(``mailbox:\\Folder``, folder name) of the default calendar among ``-FolderScope Calendar`` results.

    The default calendar is the one of FolderType ``Calendar``; its name is localised (Kalender, Calendrier...).
    """
    for folder in folders:
        if text(folder.get("FolderType")) == "Calendar":
            path = text(folder.get("FolderPath")).strip("/").replace("/", "\\") or text(folder.get("Name"))
            return f"{ref.primary_smtp or ref.identity}:\\{path}", text(folder.get("Name")) or path.rsplit("\\", 1)[-1]
    return None


def calendar_rows(ref: MailboxRef, folder_name: str, perms: Iterable[Any]) -> list[dict[str, str]]:
    return [
        {"Mailbox": ref.primary_smtp, "FolderName": text(p.get("FolderName")) or folder_name,
         "User": text(p.get("User")), "AccessRights": text(p.get("AccessRights"))}
        for p in perms
    ]


@dataclasses.dataclass(frozen=True)
class CrawlStep:
    """One journaled unit of crawl work: one stage for a block of one side's mailboxes."""

    stage: str
    side: Side
    number: int
    identities: tuple[str, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.side, Side):  # from the journal's JSON or a caller's plain string
            object.__setattr__(self, "side", Side(self.side))

    @property
    def key(self) -> str:
        digest = hashlib.sha256("\n".join(self.identities).encode()).hexdigest()[:10]
        return f"{self.stage}/{self.side}/{self.number:05d}/{digest}"


def plan_steps(refs: Sequence[MailboxRef], includes: Iterable[str], per_step: int) -> list[CrawlStep]:
    """Every stage's work for every mailbox, cut into steps of ``per_step`` identities per side."""
    wanted = set(includes)
    steps: list[CrawlStep] = []
    sides = list(dict.fromkeys(r.side for r in refs))
    for stage, include in STAGES.items():
        if include is not None and include not in wanted:
            continue
        for side in sides:
            ids = [r.identity for r in refs if r.side == side]
            for number, start in enumerate(range(0, len(ids), max(1, per_step))):
                steps.append(CrawlStep(stage, side, number, tuple(ids[start : start + per_step])))
    return steps


def request_fingerprint(out_dir: str, sides: Sequence[str], includes: Iterable[str], mailboxes: Sequence[str],
                        fmt: str) -> str:
    data = [str(out_dir), sorted(sides), sorted(includes), sorted(m.lower() for m in mailboxes), fmt]
    return "inv-" + hashlib.sha256(json.dumps(data).encode()).hexdigest()[:16]
