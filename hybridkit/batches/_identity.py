"""Resolving how exports name a mailbox or trustee to one inventory mailbox, never by guessing.

A name may be a primary SMTP address, UPN, alias, ``DOMAIN\\sam``, canonical name (``contoso.com/OU/Name``),
distinguished name, display name or a folder identity (``alias:\\Calendar``). Each is looked up only in the index
its shape calls for; a name two mailboxes share is *ambiguous*, not "the first one".
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

from hybridkit.batches._model import Kind, Problem, Table

__all__ = ["AMBIGUOUS", "SKIP", "SKIP_WORDS", "Directory", "Mailbox", "build_directory"]

AMBIGUOUS = -2
SKIP = {"nt authority\\self": "self", "self": "self", "default": "default", "anonymous": "anonymous", "none": "none"}
SKIP_WORDS = frozenset(SKIP.values())  # FastTrack writes User "None" for mailboxes without delegates
_SMTP = re.compile(r"^[^@\s<>(),;:\"\[\]]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$")
_WELL_KNOWN_GROUPS = {
    "domain admins", "enterprise admins", "schema admins", "administrators", "account operators",
    "organization management", "recipient management", "view-only organization management", "server management",
    "exchange servers", "exchange trusted subsystem", "exchange windows permissions", "exchange domain servers",
    "exchange enterprise servers", "managed availability servers", "delegated setup", "public folder management",
    "compliance management", "discovery management", "hygiene management", "records management", "um management",
    "help desk", "domain users", "authenticated users", "everyone",
}  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Mailbox:
    """One inventory mailbox (``address`` is the primary SMTP address in lower case)."""

    address: str
    display_name: str
    recipient_type: str
    wave: str


class Directory:
    """The inventory indexed by every name a mailbox goes by, with a per-name resolution cache.

    ``resolve(name)`` gives an inventory index (>= 0), a skip word (``"self"``, ``"default"``, ``"anonymous"``) for
    entries that are not relationships, or ``(None, reason)`` when the name cannot be resolved without guessing.
    """

    def __init__(self, mailboxes: list[Mailbox], names: dict[str, dict[str, int]], groups: set[str]) -> None:
        self.mailboxes = mailboxes
        self._names = names
        self._groups = groups
        self._cache: dict[str, int | str] = {}

    def _lookup(self, index: str, key: str) -> int | None:
        return self._names[index].get(key)

    def _resolve(self, low: str) -> int | str:
        if not low:
            return "empty name"
        if low in SKIP:
            return SKIP[low]
        if low.startswith("s-1-"):
            return "orphaned SID (the account was deleted)"
        if low.startswith(("nt authority\\", "builtin\\", "nt service\\")):
            return "system account, not a mailbox"
        if ":\\" in low:
            low = low.split(":\\", 1)[0]
        if "@" in low and "/" not in low:
            order = ("smtp", "upn")
        elif low.startswith(("cn=", "ou=")) or ("=" in low and "," in low):
            order = ("dn",)
        elif "\\" in low:
            low = low.rsplit("\\", 1)[1]
            order = ("sam",)
        elif "/" in low:
            order = ("canonical",)
        else:
            order = ("alias", "sam", "identity", "display")
        for index in order:
            found = self._lookup(index, low)
            if found == AMBIGUOUS:
                return f"ambiguous {index} name: more than one mailbox goes by it"
            if found is not None:
                return found
        tail = low.rsplit("/", 1)[-1]
        if low in self._groups or tail in self._groups or tail in _WELL_KNOWN_GROUPS:
            return "group: permissions granted through groups are not followed"
        return "no mailbox in the inventory (a service account or group, or a mailbox missing from the export)"

    def resolve(self, name: str) -> int | str:
        """Inventory index, skip word, or the reason the name is unresolved (cached per distinct name)."""
        hit = self._cache.get(name)
        if hit is None:
            hit = self._cache[name] = self._resolve(name.strip().lower())
        return hit

    def resolver(self) -> Callable[[str], int | str]:
        """A fast bound lookup for hot loops: cache first, full resolution on a miss."""
        cache = self._cache
        resolve = self.resolve

        def fast(name: str) -> int | str:
            hit = cache.get(name)
            return resolve(name) if hit is None else hit

        return fast


def _column(table: Table, key: str) -> list[str]:
    return table.columns.get(key) or [""] * len(table)


def build_directory(tables: list[Table], problems: list[Problem]) -> Directory:
    """Index every mailbox of the inventory tables; duplicate or malformed addresses are blocking problems."""
    mailboxes: list[Mailbox] = []
    names: dict[str, dict[str, int]] = {
        k: {} for k in ("smtp", "upn", "alias", "sam", "canonical", "dn", "identity", "display")
    }
    groups: set[str] = set()
    seen: dict[str, tuple[str, str | None, int]] = {}

    def add(index: str, key: str, value: int) -> None:
        if not key:
            return
        bucket = names[index]
        old = bucket.get(key)
        bucket[key] = value if old is None or old == value else AMBIGUOUS

    for table in tables:
        if table.kind is not Kind.MAILBOXES:
            continue
        header = table.headers.get("primarysmtpaddress", "PrimarySmtpAddress")
        cols = {k: _column(table, k) for k in (
            "primarysmtpaddress", "displayname", "alias", "userprincipalname", "samaccountname", "identity",
            "distinguishedname", "recipienttypedetails", "wave", "batch",
        )}  # fmt: skip
        for i, row in enumerate(table.rows):
            smtp = cols["primarysmtpaddress"][i].lower()
            rtd = cols["recipienttypedetails"][i]
            display = cols["displayname"][i]
            if "group" in rtd.lower():
                groups.update(v.lower() for v in (smtp, display, cols["alias"][i], cols["samaccountname"][i]) if v)
                continue
            where = (table.file, table.sheet, row)
            if not _SMTP.match(smtp):
                reason = "missing primary SMTP address" if not smtp else "malformed primary SMTP address"
                problems.append(Problem(*where, header, cols["primarysmtpaddress"][i], reason, True))
                continue
            if smtp in seen:
                f, s, r = seen[smtp]
                place = f"{f}{f' sheet {s!r}' if s else ''} row {r}"
                problems.append(Problem(*where, header, smtp, f"duplicate mailbox (also at {place})", True))
                continue
            seen[smtp] = where
            index = len(mailboxes)
            wave = cols["wave"][i] or cols["batch"][i]
            mailboxes.append(Mailbox(smtp, display, rtd, wave))
            add("smtp", smtp, index)
            add("upn", cols["userprincipalname"][i].lower(), index)
            add("alias", cols["alias"][i].lower(), index)
            add("sam", cols["samaccountname"][i].lower(), index)
            add("dn", cols["distinguishedname"][i].lower(), index)
            add("display", display.lower(), index)
            identity = cols["identity"][i].lower()
            if "/" in identity:
                add("canonical", identity, index)
            elif "=" in identity and "," in identity:
                add("dn", identity, index)
            else:
                add("identity", identity, index)
    return Directory(mailboxes, names, groups)
