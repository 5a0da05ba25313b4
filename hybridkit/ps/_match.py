"""Attribute a chunk's output objects and error records to its input items (pure; no I/O).

An error record names its item by ``TargetObject`` (Exchange sets it to the identity it could not process) or,
failing that, by the identity Exchange quotes in its message ("... object 'bob' couldn't be found on ...").
Output objects are attributed through the caller's ``key`` function (e.g. ``lambda o: o.get("Alias")``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from typing import Any

from hybridkit.errors import CommandFailed
from hybridkit.ps._result import ItemOutcome, ItemStatus, PSError, PSObject, PSResult

__all__ = ["chunk_outcomes", "item_identity", "match_items"]

log = logging.getLogger("hybridkit.ps")
_QUOTED = re.compile(r"['\"\u2018\u2019\u201c\u201d]([^'\"\u2018\u2019\u201c\u201d]{1,512})['\"\u2018\u2019\u201c\u201d]")


_IDENTITY_PROPERTIES = (
    "Identity", "Alias", "PrimarySmtpAddress", "UserPrincipalName", "SamAccountName", "Name", "DisplayName",
    "Guid", "ExchangeGuid", "DistinguishedName", "LegacyExchangeDN",
)


def item_identity(item: Any) -> str:
    """The identity string of an input item: the string itself, or an object's Identity/Name/Alias."""
    if isinstance(item, str):
        return item
    if isinstance(item, PSObject):
        for name in ("Identity", "Name", "Alias", "PrimarySmtpAddress"):
            value = item.get(name)
            if value is not None:
                return str(value)
        return str(item)
    if isinstance(item, dict):
        for name in ("Identity", "Name", "Alias", "PrimarySmtpAddress"):
            if item.get(name) is not None:
                return str(item[name])
    return str(item)


def _locate(err: PSError, index: dict[str, list[int]]) -> int | None:
    target = err.target
    if target is not None:
        pos = index.get(item_identity(target).casefold())
        if pos:
            return pos[0]
    for quoted in _QUOTED.findall(err.message):
        pos = index.get(quoted.casefold())
        if pos:
            return pos[0]
    return None


def match_items(
    items: Sequence[Any], result: PSResult, key: Callable[[Any], Any] | None = None
) -> list[ItemOutcome]:
    """One outcome per item, in order: failed when an error record names it, ok otherwise.

    Output objects are matched by ``key``, or without it by any identity property (Identity, Alias,
    PrimarySmtpAddress, UserPrincipalName, SamAccountName, Name, Guid, ...). Errors that name no item of the
    chunk are attached, when ``key`` is given, to the items that produced no
    output (an item with neither output nor an error of its own cannot be shown to have worked); without ``key``
    they are logged and left unattributed.
    """
    index: dict[str, list[int]] = {}
    for pos, item in enumerate(items):
        index.setdefault(item_identity(item).casefold(), []).append(pos)
    outputs: list[list[Any]] = [[] for _ in items]
    errors: list[list[PSError]] = [[] for _ in items]
    for obj in result.output:
        positions = None
        if key is not None:
            try:
                k = key(obj)
            except (KeyError, AttributeError, TypeError):
                k = None
            positions = index.get(str(k).casefold()) if k is not None else None
        elif isinstance(obj, PSObject):
            # No key: match on the properties an Exchange identity can be given as.
            for name in _IDENTITY_PROPERTIES:
                value = obj.get(name)
                positions = index.get(str(value).casefold()) if value is not None else None
                if positions:
                    break
        if positions:
            outputs[positions[0]].append(obj)
    unmatched: list[PSError] = []
    for err in result.errors:
        pos = _locate(err, index)
        if pos is None:
            unmatched.append(err)
        else:
            errors[pos].append(err)
    if unmatched:
        if key is not None:
            for pos in range(len(items)):
                if not outputs[pos] and not errors[pos]:
                    errors[pos].extend(unmatched)
        else:
            log.warning("%d error record(s) named no input item; first: %s", len(unmatched), unmatched[0].message)
    return [
        ItemOutcome(
            item=item,
            status=ItemStatus.FAILED if errors[pos] else ItemStatus.OK,
            output=outputs[pos],
            errors=errors[pos],
        )
        for pos, item in enumerate(items)
    ]


def chunk_outcomes(
    chunk: Sequence[Any], run: Callable[[], PSResult], key: Callable[[Any], Any] | None = None
) -> list[ItemOutcome]:
    """The outcomes of one chunk of ``run_items``: ``run()`` runs its pipeline, ``match_items`` attributes the result.

    A pipeline that fails as a whole (``CommandFailed``) fails every item of the chunk with that error; other
    errors (transport, authentication) propagate.
    """
    try:
        return match_items(chunk, run(), key)
    except CommandFailed as exc:
        error = PSError(message=exc.message, error_id=exc.error_id or "")
        return [ItemOutcome(item=i, status=ItemStatus.FAILED, errors=[error]) for i in chunk]
