"""PowerShell's own cmdlets that Exchange's remote runspace keeps public: here Select-Object.

Exchange's remote runspace (/PowerShell on-prem, and the full-language jump host for Exchange Online) keeps a few
of PowerShell's core cmdlets beside Exchange's own, and Select-Object is the real cmdlet there, not the
``RestrictedRemoteServer`` proxy with its eleven-name ValidateSet: Microsoft's KB 2922668 tells Exchange admins to
run ``Get-Mailbox -ResultSize Unlimited | Select-Object -Property Identity,DisplayName`` through a remote session,
and permission-export tools do the same against ``http://SERVER/PowerShell`` (sources in FIDELITY.md). These cmdlets
are not in Microsoft's Exchange catalogue, so their spec is built here and bound by the same binder.

No-language mode (on-prem): ``-Property`` takes property names only. A script block, or a hashtable (a calculated
property, whose ``Expression`` is script), is refused with the ParseException a NoLanguage runspace gives any
script, in Exchange's wording (pypsrp issue #103, against ``Microsoft.Exchange``).

Output shape of ``-Property``: a new PSCustomObject whose first type name is ``Selected.<original type>``, with
exactly the properties asked for, in that order (wildcards expand in the object's order; a missing property is
$null under the name as written). ``-ExpandProperty`` writes the property's value (each element of a collection).
``-First`` stops the whole pipeline once enough objects have passed (PowerShell 3.0+'s StopUpstreamCommands);
``-Last`` and ``-SkipLast`` hold their window until the input ends.
"""

from __future__ import annotations

import fnmatch
import functools
from typing import Any

from hybridkit.lab._types import LabCommand, LabError, LabObject, LabScriptBlock, LabTerminatingError
from hybridkit.lab.exchange.catalogue import ONLINE_PRODUCT, CmdletSpec, ParamSpec
from hybridkit.lab.exchange.cmdlets._registry import CmdletContext, cmdlet
from hybridkit.lab.exchange.conversion import enum_values_for

__all__ = ["CORE_CMDLETS", "StopUpstream", "check_no_language", "core_spec"]

_SELECT = "Select-Object"
_SELECT_CLASS = "Microsoft.PowerShell.Commands.SelectObjectCommand"
# Lower-cased name -> canonical name of the core cmdlets the lab emulates.
CORE_CMDLETS = {"select-object": _SELECT}
_WILDCARD = set("*?[")


class StopUpstream(Exception):
    """Raised by ``Select-Object -First`` once it has written enough: the engine ends the pipeline normally."""


# name, type, positions by set, sets (None = all), by_value
_SELECT_PARAMS: tuple[tuple[str, str, dict[str, int], tuple[str, ...] | None, bool], ...] = (
    ("InputObject", "PSObject", {}, None, True),
    ("Property", "Object[]", {"DefaultParameter": 0, "SkipLastParameter": 0},
     ("DefaultParameter", "SkipLastParameter"), False),
    ("ExcludeProperty", "String[]", {}, ("DefaultParameter", "SkipLastParameter"), False),
    ("ExpandProperty", "String", {}, ("DefaultParameter", "SkipLastParameter"), False),
    ("Unique", "SwitchParameter", {}, None, False),
    ("Last", "Int32", {}, ("DefaultParameter",), False),
    ("First", "Int32", {}, ("DefaultParameter",), False),
    ("Skip", "Int32", {}, ("DefaultParameter", "SkipLastParameter"), False),
    ("SkipLast", "Int32", {}, ("SkipLastParameter",), False),
    ("Wait", "SwitchParameter", {}, ("DefaultParameter", "IndexParameter"), False),
    ("Index", "Int32[]", {}, ("IndexParameter",), False),
)


@functools.lru_cache(maxsize=8)
def core_spec(name: str, product: str) -> CmdletSpec | None:
    """The spec of core cmdlet ``name`` (any case) as the endpoint of ``product`` has it, or None."""
    canonical = CORE_CMDLETS.get(name.lower())
    if canonical is None:
        return None
    from hybridkit.lab.exchange.catalogue import _COMMON

    params: dict[str, ParamSpec] = {}
    for pname, ptype, positions, sets, by_value in _SELECT_PARAMS:
        params[pname] = ParamSpec(pname, ptype, (), frozenset(sets or ["*"]), frozenset(), positions, by_value,
                                  False)
    for cname, (ctype, caliases) in _COMMON.items():
        if cname == "ProgressAction" and product != ONLINE_PRODUCT:
            continue
        params[cname] = ParamSpec(cname, ctype, caliases, frozenset(["*"]), frozenset(), {}, False, False,
                                  enum_values_for(ctype, []), common=True)
    return CmdletSpec(name=canonical, product=product, sets=("DefaultParameter", "SkipLastParameter", "IndexParameter"),
                      default_set="DefaultParameter", params=params, class_name=_SELECT_CLASS)


def _is_script_block(value: Any) -> bool:
    # LabScriptBlock from the wire, or anything else that says it is one (engine-level callers).
    return isinstance(value, LabScriptBlock) or type(value).__name__ in ("PSScriptBlock", "ScriptBlock")


def _no_language() -> LabError:
    return LabError(
        message="The syntax is not supported by this runspace. This can occur if the runspace is in no-language mode.",
        exception_type="System.Management.Automation.ParseException",
        fully_qualified_error_id="ScriptsNotAllowed",
        category="ParserError",
        reason="ParseException",
    )


def check_no_language(command: LabCommand) -> None:
    """Refuse script blocks and calculated-property hashtables in a core cmdlet's arguments (terminating)."""
    for _name, value in command.parameters:
        values = value if isinstance(value, (list, tuple)) else [value]
        for item in values:
            if isinstance(item, dict) or _is_script_block(item):
                raise LabTerminatingError(_no_language())


def _not_emulated(param: str) -> LabTerminatingError:
    return LabTerminatingError(LabError(
        message=f"The hybridkit lab does not emulate Select-Object -{param} yet.",
        exception_type="System.NotImplementedException",
        fully_qualified_error_id=f"LabParameterNotEmulated,{_SELECT_CLASS}",
        category="NotImplemented", reason="NotImplementedException", target=param))


def _selected(obj: Any, names: list[str]) -> LabObject:
    """``Select-Object -Property names`` of one input object."""
    if isinstance(obj, LabObject):
        source_type = obj.type_names[0] if obj.type_names else "System.Object"
        source = obj.properties
    else:
        source_type = {str: "System.String", bool: "System.Boolean", int: "System.Int32",
                       float: "System.Double"}.get(type(obj), "System.Object")
        source = {"Length": len(obj)} if isinstance(obj, str) else {}
    source_type = source_type.removeprefix("Deserialized.")
    props: dict[str, Any] = {}
    for name in names:
        if _WILDCARD & set(name):
            for key, value in source.items():
                if fnmatch.fnmatchcase(key.lower(), name.lower()) and key not in props:
                    props[key] = value
            continue
        key = name if name in source else _resolve(source, name)
        if key is None:
            if not any(k.lower() == name.lower() for k in props):
                props[name] = None
        elif key not in props:
            props[key] = source[key]
    return LabObject([f"Selected.{source_type}", "System.Management.Automation.PSCustomObject", "System.Object"],
                     props)


def _resolve(source: Any, name: str) -> str | None:
    """The property of ``source`` that ``name`` names in any case (a shaped object answers without a scan)."""
    resolve = getattr(source, "resolve", None)
    if resolve is not None:
        return resolve(name)  # type: ignore[no-any-return]
    lowered = name.lower()
    return next((k for k in source if k.lower() == lowered), None)


def _expand_not_found(name: str, item: Any) -> LabError:
    return LabError(
        message=f'Property "{name}" cannot be found.',
        exception_type="System.Management.Automation.PSArgumentException",
        fully_qualified_error_id=f"ExpandPropertyNotFound,{_SELECT_CLASS}",
        category="InvalidArgument", reason="PSArgumentException", target=item)


def _unique_key(value: Any) -> Any:
    if isinstance(value, LabObject):
        return tuple((k, repr(v)) for k, v in value.properties.items())
    if isinstance(value, (list, dict)):
        return repr(value)
    return value


@cmdlet(_SELECT)
def select_object(ctx: CmdletContext) -> None:
    """Select-Object: -Property, -ExpandProperty, -First, -Last, -Skip, -SkipLast, -Unique (both endpoints)."""
    for param in ("ExcludeProperty", "Index", "Wait"):
        if ctx.has(param):
            raise _not_emulated(param)
    if "InputObject" not in ctx.params:
        return  # no input: nothing to select
    item = ctx.params["InputObject"]
    state = ctx.state
    seen = state.setdefault("seen", 0)
    state["seen"] = seen + 1
    if seen < int(ctx.params.get("Skip") or 0):
        return
    names = [str(n) for n in (ctx.params.get("Property") or [])]
    expand = ctx.params.get("ExpandProperty")
    results: list[Any]
    if expand:
        if names and not isinstance(item, LabObject):
            raise _not_emulated("ExpandProperty with -Property on a non-object")
        found = item.get(expand, _MISSING) if isinstance(item, LabObject) else _MISSING
        if found is _MISSING:
            ctx.error(_expand_not_found(str(expand), item))
            return
        values = found if isinstance(found, list) else [found]
        results = []
        for value in values:
            if names and isinstance(value, LabObject):
                extra = _selected(item, names).properties
                value = LabObject(list(value.type_names), {**value.properties, **extra}, value.to_string)
            results.append(value)
    elif names:
        results = [_selected(item, names)]
    else:
        results = [item]
    last, skip_last = ctx.params.get("Last"), ctx.params.get("SkipLast")
    if last is not None or skip_last is not None:  # a window over the whole input, written by the end block
        window: list[Any] = state.setdefault("window", [])
        window.extend(results)
        if "end" not in state:
            def flush() -> None:
                kept = window[-int(last):] if last else ([] if last is not None else window)
                if skip_last:
                    kept = kept[:max(0, len(kept) - int(skip_last))]
                for value in kept:
                    ctx.output(value)
            ctx.at_end(flush)
        return
    first = ctx.params.get("First")
    for result in results:
        if ctx.params.get("Unique"):
            uniques: set[Any] = state.setdefault("unique", set())
            key = _unique_key(result)
            if key in uniques:
                continue
            uniques.add(key)
        if first is not None and state.get("written", 0) >= int(first):
            raise StopUpstream()
        ctx.output(result)
        state["written"] = state.get("written", 0) + 1
    if first is not None and state.get("written", 0) >= int(first):
        raise StopUpstream()


_MISSING = object()
