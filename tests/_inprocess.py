"""The lab in-process for runner tests: an organisation with the mailboxes a test names, and the failures it injects.

A test runs its plan through ``hybridkit.lab.InProcessSession`` over a lab organisation, so every step is answered
by the lab's Exchange (bound against Microsoft's catalogue): a missing mailbox is Exchange's "couldn't be found"
error record, an Exchange Online mailbox without Plan 2 gets Exchange Online's licence refusal, a hold set is
visible to the next Get-Mailbox. What Exchange cannot be asked to do (a connection dropped, refused credentials,
Ctrl-C, a pipeline still running) is injected at one identity with ``fail_at`` or ``hang_until_cancelled``,
through the session's ``before_run`` hook.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from hybridkit.lab import InProcessSession
from hybridkit.lab.exchange.org import Org
from hybridkit.lab.exchange.orgs import build_org
from hybridkit.lab.exchange.orgs_people import make_mailbox, migrate_mailbox, sync_mail_user
from hybridkit.lab.inprocess import SentPipeline
from hybridkit.ps import Command, Pipeline, PSSession

__all__ = [
    "HOLD_READ", "PLAN_1", "PLAN_2", "add_mailboxes", "chunks_sent", "fail_at", "hang_until_cancelled",
    "identities_sent", "lab_org", "on_hold", "when_sent",
]

PLAN_2 = ["BPOS_S_Enterprise"]  # Exchange Online Plan 2: litigation hold allowed
PLAN_1 = ["BPOS_S_Standard"]  # Exchange Online Plan 1: Set-Mailbox -LitigationHoldEnabled is refused
HOLD_READ = Pipeline.of(Command.of("Get-Mailbox"), Command.of("Select-Object", Property=["Alias",
                                                                                        "LitigationHoldEnabled"]))
_CREATED = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.timezone.utc)


def add_mailboxes(org: Org, *aliases: str, online: bool = False, capabilities: Sequence[str] = PLAN_2) -> None:
    """Add a mailbox per alias: on-prem, or (``online``) migrated to Exchange Online with ``capabilities``."""
    rng = random.Random(len(org.onprem.recipients) + len(org.online.recipients))
    for alias in aliases:
        record = make_mailbox(org.onprem, rng, name=alias, alias=alias, sam=alias, ou=["Users"], created=_CREATED)
        if online:
            migrate_mailbox(org, record, sync_mail_user(org.online, rng, record), list(capabilities))


def lab_org(onprem: Iterable[str] = (), online: Iterable[str] = (), unlicensed: Iterable[str] = ()) -> Org:
    """The lab's ``empty`` organisation plus on-prem mailboxes ``onprem``, Exchange Online mailboxes ``online``
    (Plan 2) and ``unlicensed`` (Exchange Online mailboxes on Plan 1)."""
    org = build_org("empty", time_scale=0.0)
    add_mailboxes(org, *onprem)
    add_mailboxes(org, *online, online=True)
    add_mailboxes(org, *unlicensed, online=True, capabilities=PLAN_1)
    return org


def _names(sent: SentPipeline) -> list[str]:
    identity = sent.pipeline.commands[0].param("Identity")
    return [str(i) for i in sent.input_items] + ([str(identity)] if identity is not None else [])


def _changes(session: InProcessSession) -> list[SentPipeline]:
    # The pipelines that change something: not the reads a verify or a plan made through the same session.
    return [s for s in session.sent if not all(c.cmdlet.startswith(("Get-", "Select-")) for c in s.pipeline.commands)]


def identities_sent(session: InProcessSession) -> list[str]:
    """The ``-Identity`` of each change sent through ``session`` (the ordered step loop's commands), in order."""
    return [str(s.pipeline.commands[0].param("Identity")) for s in _changes(session)]


def chunks_sent(session: InProcessSession) -> list[list[str]]:
    """The input items of each change pipeline sent through ``session`` (the chunked runner's chunks), in order."""
    return [[str(i) for i in s.input_items] for s in _changes(session)]


def when_sent(session: InProcessSession, identity: str, action: Callable[[SentPipeline], None]) -> None:
    """Call ``action`` before Exchange sees any pipeline for ``identity`` (its ``-Identity`` or an input item).

    Hooks add up: an earlier one on the session still runs first.
    """
    earlier = session.before_run

    def hook(sent: SentPipeline) -> None:
        if earlier is not None:
            earlier(sent)
        if identity.casefold() in (n.casefold() for n in _names(sent)):
            action(sent)

    session.before_run = hook


def fail_at(session: InProcessSession, identity: str, error: BaseException, *,
            applied: bool | Sequence[str] = False, wait: threading.Event | None = None) -> None:
    """Every pipeline for ``identity`` raises ``error`` (a ``TransportError``, an ``AuthError``, Ctrl-C).

    Args:
        applied: what Exchange had done when the error reached the caller: nothing (False: the request never got
            there); the whole pipeline (True: the change was made and the reply lost, so the step is in doubt);
            or the pipeline for these of its input items only (Ctrl-C in the middle of a chunk).
        wait: the error waits for this event first (another side's work under way).
    """
    twin: list[InProcessSession] = []

    def fail(sent: SentPipeline) -> None:
        if wait is not None:
            assert wait.wait(10), "the event the failure waits for never came"
        if applied is not False:
            # A second runspace on the same engine makes the change, as the interrupted request did in Exchange.
            if not twin:
                twin.append(InProcessSession(session.engine, session.endpoint, user=session.user))
            items = sent.input_items if applied is True else tuple(i for i in sent.input_items if i in applied)
            twin[0].run(sent.pipeline, list(items) or None)
        raise error

    when_sent(session, identity, fail)


def hang_until_cancelled(session: InProcessSession, *, after: int = 0) -> None:
    """Every pipeline after the first ``after`` stays in flight until the session is cancelled (Ctrl-C), then the
    session refuses it with ``KeyboardInterrupt`` as the bridge does.

    The narrowest stand-in the lab needs: its engine answers at once, so a pipeline Exchange is still working on
    when the person presses Ctrl-C is modelled by holding it here before the engine sees it.
    """
    seen: list[SentPipeline] = []
    earlier = session.before_run

    def hang(sent: SentPipeline) -> None:
        if earlier is not None:
            earlier(sent)
        seen.append(sent)
        deadline = time.monotonic() + 10
        while len(seen) > after and not session.cancelled:
            assert time.monotonic() < deadline, "the session was never cancelled"
            time.sleep(0.01)

    session.before_run = hang


def on_hold(session: PSSession, identities: Iterable[Any]) -> list[str]:
    """Which of these mailboxes show litigation hold live (one read: Get-Mailbox | Select-Object)."""
    wanted = [str(i) for i in identities]
    outcomes = session.run_items(HOLD_READ, wanted, key=lambda o: o.get("Alias"))
    return [str(o.item) for o in outcomes if o.ok and o.output and o.output[0].get("LitigationHoldEnabled")]
