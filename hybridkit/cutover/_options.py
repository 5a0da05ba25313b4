"""Checks of ``cutover`` options a person types: each refusal is one line naming the option (exit 2)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from hybridkit.errors import InputError

__all__ = ["check_addresses", "check_domain", "check_mailboxes", "check_names", "check_positive", "check_text",
           "looks_like_address"]

# A DNS name of two labels or more (letters, digits, hyphens; a TLD of letters), as TargetDeliveryDomain takes.
_DOMAIN = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$", re.IGNORECASE)


def check_positive(value: float, option: str, what: str = "seconds") -> float:
    """A finite number above zero (``--poll-interval``, ``--timeout``, ``--interval``, ``--chunk-size``)."""
    if not math.isfinite(value) or value <= 0:
        raise InputError(f"{option} {value:g}: give a number of {what} greater than 0")
    return value


def check_domain(value: str, option: str) -> str:
    """A domain name such as contoso.mail.onmicrosoft.com."""
    text = value.strip()
    if not _DOMAIN.match(text):
        raise InputError(f"{option} {value!r} is not a domain name (e.g. contoso.mail.onmicrosoft.com)")
    return text


def check_text(value: str, option: str, what: str) -> str:
    """A value that must not be empty or blank."""
    if not value.strip():
        raise InputError(f"{option} {value!r} is empty: give {what}")
    return value.strip()


def check_names(values: Iterable[str] | None, option: str, what: str) -> list[str]:
    """Every value of a repeatable option, none of them empty."""
    return [check_text(v, option, what) for v in values or ()]


def looks_like_address(text: str) -> bool:
    """``local@domain.tld`` without spaces: what NotificationEmails and CSVData take."""
    local, _, domain = text.strip().rpartition("@")
    return bool(local) and "." in domain and not any(c.isspace() for c in text.strip())


def check_addresses(values: Iterable[str] | None, option: str) -> tuple[str, ...]:
    """Email addresses (``--notify``: NotificationEmails takes addresses)."""
    for value in values or ():
        if not looks_like_address(value):
            raise InputError(f"{option} {value!r} is not an email address (NotificationEmails takes addresses)")
    return tuple(values or ())


def check_mailboxes(values: Iterable[str] | None, option: str) -> list[str]:
    """Mailboxes by primary SMTP address, lower case (an alias or a name would match no move request)."""
    for value in values or ():
        if not looks_like_address(value):
            raise InputError(f"{option} {value!r}: give the mailbox's primary SMTP address (as in plan.json)")
    return [v.strip().lower() for v in values or ()]
