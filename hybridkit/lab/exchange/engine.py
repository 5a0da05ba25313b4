"""The lab's Exchange emulation: runs PSRP pipelines of cmdlets over the organisation state.

``ExchangeEngine`` implements ``hybridkit.lab._types.Engine`` for the protocol side. For every pipeline it:

1. refuses scripts on the on-prem endpoint (NoLanguage mode: ParseException ``ScriptsNotAllowed``);
2. on the Exchange Online endpoint, makes Exchange Online cmdlets exist only after ``Connect-ExchangeOnline``
   succeeded in that runspace (before that, as with the real module, they are "not recognized"; ``-Prefix`` and
   ``-CommandName`` of the connection are honoured);
3. checks each command against Microsoft's catalogue for the emulated product and binds its parameters
   (``hybridkit.lab.exchange.catalogue``); a binding failure fails the pipeline, as PowerShell's binder does;
4. streams objects through the commands: each output of command N is bound ByValue / ByPropertyName to command
   N+1 and its handler runs once per item; an item that cannot bind gets one non-terminating error;
5. applies ``-ErrorAction`` / ``-WarningAction`` (Stop makes an error terminating; SilentlyContinue/Ignore drop
   the record, as they do over remoting).

Handlers live in ``hybridkit.lab.exchange.cmdlets`` (the package imports each handler module, filling the
registry). A cmdlet the catalogue knows but no handler implements fails with a clear "not emulated" terminating
error, once its parameters have bound (an unknown or missing parameter fails first, with the binder's own words,
as it would in Exchange).

Besides Exchange's cmdlets, a NoLanguage remote runspace keeps a few of PowerShell's own (``cmdlets.core``:
Select-Object). They are recognised on both endpoints before the Exchange catalogue is consulted, bound by the
same binder from their own spec, and never reported as "not emulated"; Exchange cmdlets are checked as before.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from hybridkit.lab._types import EndpointKind, LabCommand, LabError, LabSession, LabTerminatingError, PipelineSink
from hybridkit.lab.exchange import catalogue, identity
from hybridkit.lab.exchange._persist import StateStore, load_org
from hybridkit.lab.exchange.cmdlets import core
from hybridkit.lab.exchange.cmdlets._registry import HANDLERS, CmdletContext
from hybridkit.lab.exchange.cmdlets.org_config import unregistered_thumbprint
from hybridkit.lab.exchange.org import Org

__all__ = ["EXO_MODULE_CMDLETS", "ExchangeEngine", "scripts_not_allowed"]

log = logging.getLogger(__name__)

# Cmdlets of the ExchangeOnlineManagement module itself: present before any connection.
EXO_MODULE_CMDLETS = frozenset({
    "connect-exchangeonline", "disconnect-exchangeonline", "get-connectioninformation", "get-exomailbox",
    "get-exomailboxpermission", "get-exomailboxstatistics", "get-exomailboxfolderpermission", "get-exorecipient",
    "get-exorecipientpermission", "get-exocasmailbox", "get-exomailboxfolderstatistics", "get-exomobiledevicestatistics",
})
_READ_VERBS = ("get-", "test-", "select-")
# Destructive cmdlets have "a built-in pause that forces you to acknowledge the command" (the catalogue's -Confirm
# text: Remove-* cmdlets; Complete-MigrationBatch's page says the same). A PSRP client without a host (pypsrp's
# default) cannot answer the prompt, so unless -Confirm:$false or -WhatIf is given the cmdlet fails at its first
# ShouldProcess call, as real Exchange does.
_CONFIRM_CMDLETS = frozenset({"add-recipientpermission", "complete-migrationbatch", "disable-remotemailbox",
                              "disconnect-exchangeonline", "stop-migrationbatch", "suspend-moverequest"})


def scripts_not_allowed() -> LabError:
    """The ParseException a NoLanguage runspace answers to any script."""
    return LabError(
        message="The syntax is not supported by this runspace. This can occur if the runspace is in no-language mode.",
        exception_type="System.Management.Automation.ParseException",
        fully_qualified_error_id="ScriptsNotAllowed",
        category="ParserError",
        reason="ParseException",
    )


def _needs_confirmation(name: str, params: dict[str, Any]) -> bool:
    lowered = name.lower()
    if not (lowered.startswith("remove-") or lowered in _CONFIRM_CMDLETS):
        return False
    return not params.get("WhatIf") and params.get("Confirm") is not False


def _prompt_refused(name: str, target: Any) -> LabError:
    shown = "" if target is None else str(target)
    return LabError(
        message="A command that prompts the user failed because the host program or the command type does not "
        "support user interaction. The host was attempting to request confirmation with the following message: "
        f"Are you sure you want to perform this action?\r\nPerforming the operation \"{name}\" on target \"{shown}\".",
        exception_type="System.Management.Automation.Host.HostException",
        fully_qualified_error_id="HostFunctionNotImplemented",
        category="NotImplemented",
        reason="HostException",
        target=target,
    )


def _not_emulated(name: str) -> LabError:
    return LabError(
        message=f"The hybridkit lab does not emulate the cmdlet '{name}' yet (it exists in Microsoft's catalogue "
        "for this product, but no lab handler implements it).",
        exception_type="System.NotImplementedException",
        fully_qualified_error_id=f"LabCmdletNotEmulated,{name}",
        category="NotImplemented",
        reason="NotImplementedException",
        target=name,
    )


class _SinkFailure(Exception):
    """An exception raised by the protocol's sink (e.g. the client stopped the pipeline): passed through as is."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(str(original))
        self.original = original


class _Stage:
    """One command of a running pipeline: bound parameters, handler, per-command state, downstream link."""

    def __init__(self, engine: ExchangeEngine, session: LabSession, bound: catalogue.BoundCommand,
                 sink: PipelineSink, product: str) -> None:
        self.engine = engine
        self.session = session
        self.bound = bound
        self.sink = sink
        self.product = product
        self.next: _Stage | None = None
        self.state: dict[str, Any] = {}
        self.handler = HANDLERS[bound.spec.name.lower()]
        error_action = str(bound.params.get("ErrorAction") or "Continue")
        self.error_action = error_action
        self.warning_action = str(bound.params.get("WarningAction") or "Continue")

    # The sink a handler writes to: output flows downstream, errors/warnings go to the client.
    def output(self, obj: Any) -> None:
        if self.next is None:
            self._to_sink(self.sink.output, obj)
        else:
            self.next.feed(obj)

    @staticmethod
    def _to_sink(write: Any, value: Any) -> None:
        try:
            write(value)
        except (LabTerminatingError, _SinkFailure):
            raise
        except Exception as exc:
            raise _SinkFailure(exc) from exc

    def error(self, err: LabError) -> None:
        if self.error_action == "Stop":
            raise LabTerminatingError(err)
        if self.error_action in ("SilentlyContinue", "Ignore"):
            return
        self._to_sink(self.sink.error, err)

    def warning(self, text: str) -> None:
        if self.warning_action == "Stop":
            raise LabTerminatingError(LabError(
                message=f'The running command stopped because the preference variable "WarningPreference" or common '
                f"parameter is set to Stop: {text}",
                exception_type="System.Management.Automation.ActionPreferenceStopException",
                fully_qualified_error_id=f"ActionPreferenceStop,{self.bound.spec.class_name}",
                category="OperationStopped", reason="ActionPreferenceStopException"))
        if self.warning_action in ("SilentlyContinue", "Ignore"):
            return
        self._to_sink(self.sink.warning, text)

    def feed(self, item: Any) -> None:
        """Process one pipeline input object."""
        try:
            params, _set = catalogue.bind_pipeline_item(self.bound, item)
        except catalogue.BindingError as exc:
            self.error(exc.error)
            return
        self.run(params, item)

    def run(self, params: dict[str, Any], item: Any) -> None:
        if _needs_confirmation(self.bound.spec.name, params):
            raise LabTerminatingError(_prompt_refused(self.bound.spec.name, params.get("Identity")))
        org = self.engine.org
        side = org.online if self.session.endpoint is EndpointKind.ONLINE else org.onprem
        ctx = CmdletContext(self.bound.spec.name, params, item, org, side, self.session, self.product, self,
                            self.state)
        try:
            self.handler(ctx)
        except (LabTerminatingError, _SinkFailure, core.StopUpstream):
            raise
        except Exception as exc:
            if self.engine.raise_internal_errors:
                raise
            log.exception("lab handler %s failed", self.bound.spec.name)
            raise LabTerminatingError(LabError(
                message=f"Lab internal error in {self.bound.spec.name}: {type(exc).__name__}: {exc}",
                exception_type="System.InvalidOperationException",
                fully_qualified_error_id=f"LabInternalError,{self.bound.spec.name}",
                category="NotSpecified", reason="InvalidOperationException")) from exc


class ExchangeEngine:
    """The Exchange emulation over one ``Org`` (both sides), optionally persisted to ``state_path``."""

    def __init__(self, org: Org, state_path: Path | None = None, *, raise_internal_errors: bool = False) -> None:
        self.org = org
        self.state_path = state_path
        self.raise_internal_errors = raise_internal_errors
        self._lock = threading.RLock()
        # With a state file every change is journaled before its pipeline completes (hybridkit.lab.exchange._persist).
        self._store = StateStore(org, state_path) if state_path is not None else None

    @classmethod
    def create(cls, org: str = "demo", state: Path | None = None, version: str = "2019",
               time_scale: float = 1.0, **kwargs: Any) -> ExchangeEngine:
        """Load the state file if it exists, else build ``org`` (``demo``, ``synthetic:N``, ``empty``)."""
        from hybridkit.lab.exchange.orgs import build_org

        if state is not None and Path(state).exists():
            built = load_org(Path(state), time_scale)
        else:
            built = build_org(org, version, time_scale)
        return cls(built, Path(state) if state is not None else None, **kwargs)

    def save(self) -> None:
        """Write the whole state file and empty its journal (no-op without one)."""
        if self._store is not None:
            with self._lock:
                self._store.flush()
                self._store.snapshot()
                self._store.close()

    @property
    def online_app(self) -> dict[str, str]:
        """The ``AppId`` / ``CertificateThumbprint`` / ``Organization`` Connect-ExchangeOnline accepts (and a thumbprint
        it refuses with AADSTS700027)."""
        app = self.org.online.settings.get("connect_app") or {}
        return {"app_id": str(app.get("app_id", "")),
                "certificate_thumbprint": str(app.get("certificate_thumbprint", "")),
                "organization": str(app.get("organization", "")),
                # a certificate on the jump host the app registration does not know (Connect gives AADSTS700027)
                "unregistered_certificate_thumbprint": unregistered_thumbprint(app)}

    @property
    def product_onprem(self) -> str:
        return catalogue.product_for(False, self.org.version)

    def open_session(self, session: LabSession) -> None:
        session.data.setdefault("exo_connected", False)

    def close_session(self, session: LabSession) -> None:
        session.data.clear()

    def _resolve_name(self, session: LabSession, name: str) -> str | None:
        """The catalogue name a command refers to on this endpoint, or None if it is not recognised here."""
        if session.endpoint is EndpointKind.ONPREM:
            return name
        lowered = name.lower()
        if lowered in EXO_MODULE_CMDLETS:
            return name
        if not session.data.get("exo_connected"):
            return None
        prefix = str(session.data.get("exo_prefix") or "")
        if prefix:
            verb, _, noun = name.partition("-")
            if not noun.lower().startswith(prefix.lower()):
                return None
            name = f"{verb}-{noun[len(prefix):]}"
        allowed = session.data.get("exo_commands")
        if allowed is not None and name.lower() not in allowed:
            return None
        return name

    def _bind(self, session: LabSession, command: LabCommand, expects_input: bool) -> catalogue.BoundCommand:
        online = session.endpoint is EndpointKind.ONLINE
        product = catalogue.product_for(online, self.org.version)
        core_spec = core.core_spec(command.name, product)
        if core_spec is not None:  # PowerShell's own cmdlet: exists on both endpoints, whatever EXO loaded
            core.check_no_language(command)
            try:
                return catalogue.bind_command(core_spec, command.parameters, expects_input)
            except catalogue.BindingError as exc:
                raise LabTerminatingError(exc.error) from None
        name = self._resolve_name(session, command.name)
        spec = catalogue.lookup(name, product) if name else None
        if spec is None:
            raise LabTerminatingError(catalogue.command_not_found(command.name))
        try:  # bound first: a wrong parameter fails as Exchange's binder says, emulated or not
            bound = catalogue.bind_command(spec, command.parameters, expects_input)
        except catalogue.BindingError as exc:
            raise LabTerminatingError(exc.error) from None
        if spec.name.lower() not in HANDLERS:
            raise LabTerminatingError(_not_emulated(spec.name))
        return bound

    def invoke(self, session: LabSession, commands: list[LabCommand], input_items: list[Any],
               sink: PipelineSink) -> None:
        """Run one pipeline to completion; raise ``LabTerminatingError`` to fail it."""
        if not commands:
            return
        if any(c.is_script for c in commands):
            if session.endpoint is EndpointKind.ONPREM:
                raise LabTerminatingError(scripts_not_allowed())
            raise LabTerminatingError(LabError(
                message="The hybridkit lab runs cmdlets only; it does not interpret PowerShell script text.",
                exception_type="System.NotSupportedException", fully_qualified_error_id="LabScriptNotSupported",
                category="NotImplemented", reason="NotSupportedException"))
        online = session.endpoint is EndpointKind.ONLINE
        product = catalogue.product_for(online, self.org.version)
        with self._lock:
            stages: list[_Stage] = []
            for index, command in enumerate(commands):
                bound = self._bind(session, command, expects_input=index > 0 or bool(input_items))
                stage = _Stage(self, session, bound, sink, product)
                if stages:
                    stages[-1].next = stage
                stages.append(stage)
            first = stages[0]
            try:
                if input_items:
                    for item in input_items:
                        first.feed(item)
                else:
                    first.run(dict(first.bound.params), None)
                for stage in stages:  # end blocks, upstream first: what they write still flows downstream
                    end = stage.state.pop("end", None)
                    if end is not None:
                        end()
            except core.StopUpstream:
                pass  # Select-Object -First has what it needs: the pipeline ends normally
            except _SinkFailure as failure:
                raise failure.original from None
            finally:
                if any(not s.bound.spec.name.lower().startswith(_READ_VERBS) for s in stages):
                    identity.invalidate(self.org.onprem)
                    identity.invalidate(self.org.online)
                if self._store is not None:  # before the client can see the pipeline finish
                    self._store.flush()
