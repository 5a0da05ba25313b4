"""A tiny Engine for protocol tests: echo, Get-Date-like, error/warning emitters, a slow writer."""

from __future__ import annotations

import datetime
import threading
import time
from typing import Any

from hybridkit.lab._types import (
    EndpointKind,
    LabCommand,
    LabError,
    LabObject,
    LabSession,
    LabTerminatingError,
    PipelineSink,
)

SCRIPTS_NOT_ALLOWED = LabError(
    message="The syntax is not supported by this runspace. This can occur if the runspace is in no-language mode.",
    exception_type="System.Management.Automation.ParseException",
    fully_qualified_error_id="ScriptsNotAllowed",
    category="ParserError",
    reason="ParseException",
)


class FakeEngine:
    """Implements the Engine protocol with a handful of test cmdlets."""

    def __init__(self) -> None:
        self.sessions: list[LabSession] = []
        self.closed: list[LabSession] = []
        self.calls: list[tuple[list[LabCommand], list[Any]]] = []
        self.running = 0
        self.max_running = 0
        self._lock = threading.Lock()

    def open_session(self, session: LabSession) -> None:
        self.sessions.append(session)

    def close_session(self, session: LabSession) -> None:
        self.closed.append(session)

    def invoke(self, session: LabSession, commands: list[LabCommand], input_items: list[Any], sink: PipelineSink) -> None:
        with self._lock:
            self.calls.append((commands, list(input_items)))
            self.running += 1
            self.max_running = max(self.max_running, self.running)
        try:
            self._invoke(session, commands, input_items, sink)
        finally:
            with self._lock:
                self.running -= 1

    def _invoke(self, session: LabSession, commands: list[LabCommand], items: list[Any], sink: PipelineSink) -> None:
        if any(c.is_script for c in commands) and session.endpoint is EndpointKind.ONPREM:
            raise LabTerminatingError(SCRIPTS_NOT_ALLOWED)
        cmd = commands[0]
        params = {name.lower(): value for name, value in cmd.parameters if name}
        name = cmd.name.lower()
        if name == "write-echo":
            for value in items or [params.get("value")]:
                sink.output(value)
        elif name == "get-date":
            sink.output(datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc))
        elif name == "get-thing":
            for item in items or [params.get("identity", "thing")]:
                if str(item).startswith("bad"):
                    sink.error(LabError(
                        message=f"The operation couldn't be performed because object '{item}' couldn't be found on 'DC01.contoso.local'.",
                        exception_type="Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
                        fully_qualified_error_id="[Server=EX01] 6A8B4D2F,Microsoft.Exchange.Management.RecipientTasks.GetMailbox",
                        category="NotSpecified", reason="ManagementObjectNotFoundException", target=str(item)))
                    continue
                sink.output(LabObject(
                    type_names=["Microsoft.Exchange.Data.Directory.Management.Mailbox",
                                "Microsoft.Exchange.Data.Directory.ADObject"],
                    properties={"Name": str(item), "Size": "4.243 GB (4,555,456,537 bytes)",
                                "EmailAddresses": [f"SMTP:{item}@contoso.com", f"smtp:{item}@contoso.mail.onmicrosoft.com"],
                                "Params": {k: v for k, v in params.items() if k != "password"}},
                    to_string=str(item)))
            if "warn" in params:  # a bare switch arrives as None, like $null: presence is what counts
                sink.warning("By default, only the first 1000 items are returned.")
        elif name == "get-slow":
            for i in range(int(params.get("count", 100))):
                sink.output(i)
                time.sleep(float(params.get("delay", 0.05)))
        elif name == "crash-me":
            raise RuntimeError("engine bug")
        elif name == "fail-now":
            raise LabTerminatingError(LabError(message="boom", exception_type="System.InvalidOperationException",
                                               fully_qualified_error_id="Boom", category="InvalidOperation"))
        else:
            raise LabTerminatingError(LabError(
                message=(f"The term '{cmd.name}' is not recognized as the name of a cmdlet, function, script file, "
                         "or operable program."),
                exception_type="System.Management.Automation.CommandNotFoundException",
                fully_qualified_error_id="CommandNotFoundException", category="ObjectNotFound",
                reason="CommandNotFoundException", target=cmd.name))
