"""Resolving how exports name a mailbox or trustee to one inventory mailbox, never by guessing.

A name may be a primary SMTP address, UPN, alias, ``DOMAIN\\sam``, canonical name (``contoso.com/OU/Name``),
distinguished name, display name, the object's Name (a Name column, or the last part of the canonical name) or a
folder identity (``alias:\\Calendar``). Each is looked up first in the indexes its shape calls for, then, if
none has it, in all the others (``Sales/Marketing`` may be a display name, not a canonical name). A name that
leads to two mailboxes, in one index or across them, is *ambiguous*, never "the first one".
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
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


_FORMULA_STARTS = frozenset("=+-@")  # OWASP's CSV-injection characters (tab and CR never pass _SMTP)
_ALL = ("smtp", "upn", "alias", "sam", "identity", "display", "name", "canonical", "dn")
_PLAIN = ("alias", "sam", "identity", "display", "name")


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
        self.cached: Callable[[str], int | str | None] = self._cache.get
        """The cached resolution of a name exactly as written, or None if it was not resolved yet (hot loops)."""

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
        whole = low
        if low.startswith(("cn=", "ou=")):
            order: tuple[str, ...] = ("dn",)
        elif "@" in low and "/" not in low:
            order = ("smtp", "upn")
        elif "=" in low and "," in low:
            order = ("dn",)
        elif "\\" in low:
            low = low.rsplit("\\", 1)[1]
            order = ("sam",)
        elif "/" in low:
            order = ("canonical",)
        else:
            order = _PLAIN
        # Every form the shape calls for must agree (alias "it" of one mailbox and display name "IT" of another
        # is ambiguous, not the alias). Not found that way ("Sales/Marketing" is no canonical name,
        # "CN=@Reception,..." no address, "Smith, John (ext=42)" no DN), every other form is tried, the same way.
        for names, key in ((order, low), (tuple(i for i in _ALL if i not in order), whole)):
            found_in = {index: hit for index in names if (hit := self._names[index].get(key)) is not None}
            if not found_in:
                continue
            mailboxes = set(found_in.values())
            if len(mailboxes) == 1 and AMBIGUOUS not in mailboxes:
                return mailboxes.pop()
            return f"ambiguous {' / '.join(found_in)} name: more than one mailbox goes by it"
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

    def resolve_all(self, names: list[str]) -> list[int | str]:
        """``resolve`` for a whole column: each distinct name is resolved once, then looked up in bulk."""
        cache = self._cache
        for name in set(names).difference(cache):
            cache[name] = self._resolve(name.strip().lower())
        return list(map(cache.__getitem__, names))

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


def _index(bucket: dict[str, int], keys: list[str], indexes: list[int]) -> None:
    """Add lower-cased ``keys`` for mailbox ``indexes``; a key two mailboxes share becomes AMBIGUOUS."""
    lowered = list(map(str.lower, keys))
    fresh = dict(zip(lowered, indexes))
    fresh.pop("", None)
    if len(fresh) < len(lowered) - lowered.count(""):  # a key repeated within this column
        for key, times in Counter(lowered).items():
            if times > 1 and key:
                fresh[key] = AMBIGUOUS
    clashes = [key for key in bucket.keys() & fresh.keys() if bucket[key] != fresh[key]]
    bucket.update(fresh)
    for key in clashes:
        bucket[key] = AMBIGUOUS


def build_directory(tables: list[Table], problems: list[Problem]) -> Directory:
    """Index every mailbox of the inventory tables; duplicate or malformed addresses are blocking problems."""
    mailboxes: list[Mailbox] = []
    names: dict[str, dict[str, int]] = {
        k: {} for k in _ALL
    }
    groups: set[str] = set()
    seen: dict[str, tuple[str, str | None, int]] = {}
    match = _SMTP.match
    for table in tables:
        if table.kind is not Kind.MAILBOXES:
            continue
        header = table.headers.get("primarysmtpaddress", "PrimarySmtpAddress")
        cols = {k: _column(table, k) for k in (
            "primarysmtpaddress", "displayname", "alias", "userprincipalname", "samaccountname", "identity",
            "distinguishedname", "recipienttypedetails", "wave", "batch", "name",
        )}  # fmt: skip
        smtps, rtds, displays = cols["primarysmtpaddress"], cols["recipienttypedetails"], cols["displayname"]
        waves, batch_col = cols["wave"], cols["batch"]
        kept: list[int] = []  # rows of this table that became mailboxes
        indexes: list[int] = []
        for i, row in enumerate(table.rows):
            smtp = smtps[i].lower()
            if "roup" in rtds[i]:  # MailUniversalSecurityGroup, GroupMailbox, ...
                groups.update(v.lower() for v in (smtp, displays[i], cols["alias"][i], cols["samaccountname"][i]) if v)
                continue
            if smtp in seen:
                f, sh, r = seen[smtp]
                place = f"{f}{f' sheet {sh!r}' if sh else ''} row {r}"
                problems.append(Problem(table.file, table.sheet, row, header, smtp,
                                        f"duplicate mailbox (also at {place})", True))  # fmt: skip
                continue
            if not match(smtp) or smtp[0] in _FORMULA_STARTS:
                reason = ("missing primary SMTP address" if not smtp else "malformed primary SMTP address" if
                          smtp[0] not in _FORMULA_STARTS else f"primary SMTP address starting with {smtp[0]!r}: a "
                          "spreadsheet program opening the batch CSV would run it as a formula")  # fmt: skip
                problems.append(Problem(table.file, table.sheet, row, header, smtps[i], reason, True))
                continue
            seen[smtp] = (table.file, table.sheet, row)
            kept.append(i)
            indexes.append(len(mailboxes))
            mailboxes.append(Mailbox(smtp, displays[i], rtds[i], waves[i] or batch_col[i]))
        for index, column in (("smtp", "primarysmtpaddress"), ("upn", "userprincipalname"), ("alias", "alias"),
                              ("sam", "samaccountname"), ("dn", "distinguishedname"), ("display", "displayname")):
            values = cols[column]
            _index(names[index], [values[i] for i in kept], indexes)
        identities = [cols["identity"][i] for i in kept]
        canonical = [("/" in v, "=" in v and "," in v) for v in identities]
        for index, want in (("canonical", lambda c: c[0]), ("dn", lambda c: c[1] and not c[0]),
                            ("identity", lambda c: not c[0] and not c[1])):
            chosen = [(v, x) for v, x, c in zip(identities, indexes, canonical) if v and want(c)]
            _index(names[index], [v for v, _ in chosen], [x for _, x in chosen])
        # The object's Name (Get-RecipientPermission and Exchange Online show it as Identity): a Name column, or
        # the last part of a canonical name / the CN of a distinguished name. It may differ from DisplayName.
        _index(names["name"], [cols["name"][i] for i in kept], indexes)
        tails = [(_name_of(v), x) for v, x in zip(identities + [cols["distinguishedname"][i] for i in kept],
                                                  indexes + indexes)]
        by_mailbox = {x: t for t, x in tails if t}
        by_mailbox = {x: t for x, t in by_mailbox.items() if names["name"].get(t.lower()) != x}
        _index(names["name"], list(by_mailbox.values()), list(by_mailbox))
    return Directory(mailboxes, names, groups)


def _name_of(identity: str) -> str:
    """``contoso.com/OU/Ann Lee2`` or ``CN=Ann Lee2,OU=...`` -> ``Ann Lee2`` (else "")."""
    if "/" in identity:
        return identity.rsplit("/", 1)[1].strip()
    if identity[:3].lower() == "cn=":
        match = re.match(r"cn=((?:[^,\\]|\\.)*)", identity, re.IGNORECASE)
        return re.sub(r"\\(.)", r"\1", match.group(1)).strip() if match else ""
    return ""
