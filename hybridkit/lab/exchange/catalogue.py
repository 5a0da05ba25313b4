"""Microsoft's Exchange cmdlet catalogue, and PowerShell's parameter binding checked against it.

The vendored ``data/exchange-cmdlets.json`` (CC BY 4.0, see ``data/README.md``) is loaded once, lazily. For one
emulated product (``Exchange Server 2019``, ``Exchange Online`` ...) a cmdlet exists only if the catalogue lists
the product for it, and a parameter only if the parameter's own ``applicable`` list names the product.

``bind_command`` does what PowerShell's parameter binder does before a cmdlet's process block runs: resolve names
(case-insensitive, aliases, unambiguous prefixes), bind positional arguments by ``position_by_set``, convert
values to the parameter types (``conversion``), narrow the parameter sets and check mandatory parameters.
``bind_pipeline_item`` binds one input object ByValue / ByPropertyName. Every failure raises ``BindingError``
carrying a ``LabError`` with PowerShell's message, error id and category.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from importlib import resources
from typing import Any

from hybridkit.lab._types import LabError, LabObject
from hybridkit.lab.exchange.conversion import ConversionError, convert_value, enum_values_for

__all__ = [
    "BindingError",
    "BoundCommand",
    "CmdletSpec",
    "ParamSpec",
    "bind_command",
    "bind_pipeline_item",
    "command_not_found",
    "load_catalogue",
    "lookup",
    "product_for",
]

ONLINE_PRODUCT = "Exchange Online"
ALL_SETS = "__AllParameterSets"

# PowerShell's common parameters and their aliases (Windows PowerShell 5.1; ProgressAction only exists in 7.4+,
# which the EXO jump host may run but an Exchange server never does).
_COMMON: dict[str, tuple[str, tuple[str, ...]]] = {
    "Debug": ("SwitchParameter", ("db",)),
    "ErrorAction": ("ActionPreference", ("ea",)),
    "ErrorVariable": ("String", ("ev",)),
    "InformationAction": ("ActionPreference", ("infa",)),
    "InformationVariable": ("String", ("iv",)),
    "OutBuffer": ("Int32", ("ob",)),
    "OutVariable": ("String", ("ov",)),
    "PipelineVariable": ("String", ("pv",)),
    "ProgressAction": ("ActionPreference", ("proga",)),
    "Verbose": ("SwitchParameter", ("vb",)),
    "WarningAction": ("ActionPreference", ("wa",)),
    "WarningVariable": ("String", ("wv",)),
}


def product_for(online: bool, version: str = "2019") -> str:
    """The catalogue's product name for an endpoint: ``Exchange Online`` or ``Exchange Server <version>``."""
    if online:
        return ONLINE_PRODUCT
    return "Exchange Server SE" if version.upper() == "SE" else f"Exchange Server {version}"


@functools.lru_cache(maxsize=1)
def load_catalogue() -> dict[str, Any]:
    """The raw catalogue JSON (loaded once)."""
    text = resources.files("hybridkit.lab").joinpath("data/exchange-cmdlets.json").read_text(encoding="utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


@functools.lru_cache(maxsize=1)
def _names() -> dict[str, str]:
    return {name.lower(): name for name in load_catalogue()["cmdlets"]}


@dataclasses.dataclass(frozen=True)
class ParamSpec:
    """One parameter of one cmdlet as this product sees it."""

    name: str
    type: str
    aliases: tuple[str, ...]
    sets: frozenset[str]  # parameter sets it belongs to ("*" = all sets)
    mandatory_in: frozenset[str]
    position_by_set: dict[str, int]
    by_value: bool
    by_property_name: bool
    values: tuple[str, ...] = ()  # documented enum values, if it is an enum
    common: bool = False

    def in_set(self, set_name: str) -> bool:
        return "*" in self.sets or set_name in self.sets


@dataclasses.dataclass(frozen=True)
class CmdletSpec:
    """A cmdlet as one product sees it: only the parameters applicable to that product."""

    name: str
    product: str
    sets: tuple[str, ...]
    default_set: str | None
    params: dict[str, ParamSpec]  # by canonical name, in catalogue order
    class_name: str  # what FullyQualifiedErrorId names after the comma

    def all_names(self) -> list[tuple[str, ParamSpec]]:
        """(name or alias, spec) pairs, canonical names first."""
        pairs = [(p.name, p) for p in self.params.values()]
        pairs += [(a, p) for p in self.params.values() for a in p.aliases]
        return pairs


class BindingError(Exception):
    """A parameter binding failure; ``error`` is the ErrorRecord PowerShell would write."""

    def __init__(self, error: LabError) -> None:
        super().__init__(error.message)
        self.error = error


def _pipeline_kinds(name: str, info: dict[str, Any]) -> tuple[bool, bool]:
    api = info.get("accept_pipeline_input") or {}
    if not api.get("accepts"):
        return False, False
    kinds = api.get("kinds") or []
    if kinds:
        return "ByValue" in kinds, "ByPropertyName" in kinds
    # The docs say only "True". Real identity parameters take strings (and objects) by value and objects with an
    # Identity property by name; other parameters are taken by property name (field notes, "Pipeline binding").
    if name == "Identity":
        return True, True
    return False, True


def _cmdlet_class(name: str, online: bool) -> str:
    if online:
        # In Exchange Online the cmdlets are functions of the ExchangeOnlineManagement module (REST proxies).
        return name
    from hybridkit.lab.exchange.exchange_errors import cmdlet_class

    return cmdlet_class(name)


@functools.lru_cache(maxsize=4096)
def lookup(name: str, product: str) -> CmdletSpec | None:
    """The cmdlet named ``name`` (any case) on ``product``, or None if the product has no such cmdlet."""
    canonical = _names().get(name.lower())
    if canonical is None:
        return None
    raw = load_catalogue()["cmdlets"][canonical]
    if product not in raw.get("applicable", []):
        return None
    # A set whose mandatory parameters don't exist on this product (derived_applicable) doesn't exist there either.
    set_names = tuple(ps["name"] for ps in raw["parameter_sets"]
                      if product in (ps.get("derived_applicable") or raw["applicable"]))
    if not set_names:
        set_names = tuple(ps["name"] for ps in raw["parameter_sets"])
    mandatory: dict[str, set[str]] = {}
    for ps in raw["parameter_sets"]:
        for pname in ps.get("mandatory", []):
            mandatory.setdefault(pname, set()).add(ps["name"])
    params: dict[str, ParamSpec] = {}
    for pname, info in raw["parameters"].items():
        if product not in info.get("applicable", []):
            continue
        sets = frozenset(info.get("parameter_sets") or ["*"])
        if ALL_SETS in sets or not sets:
            sets = frozenset(["*"])
        positions = {s: v for s, v in (info.get("position_by_set") or {}).items() if isinstance(v, int)}
        by_value, by_name = _pipeline_kinds(pname, info)
        params[pname] = ParamSpec(
            name=pname,
            type=info.get("type") or "String",
            aliases=tuple(info.get("aliases") or ()),
            sets=sets,
            mandatory_in=frozenset(mandatory.get(pname, set())),
            position_by_set=positions,
            by_value=by_value,
            by_property_name=by_name,
            values=enum_values_for(info.get("type") or "", info.get("documented_values_heuristic") or []),
        )
    online = product == ONLINE_PRODUCT
    for cname, (ctype, caliases) in _COMMON.items():
        if cname == "ProgressAction" and not online:
            continue
        if cname not in params:
            params[cname] = ParamSpec(cname, ctype, caliases, frozenset(["*"]), frozenset(), {}, False, False,
                                      enum_values_for(ctype, []), common=True)
    return CmdletSpec(
        name=canonical,
        product=product,
        sets=set_names,
        default_set=raw.get("default_parameter_set"),
        params=params,
        class_name=_cmdlet_class(canonical, online),
    )


def command_not_found(name: str) -> LabError:
    """PowerShell's CommandNotFoundException for an unknown command."""
    return LabError(
        message=(
            f"The term '{name}' is not recognized as the name of a cmdlet, function, script file, or operable "
            "program. Check the spelling of the name, or if a path was included, verify that the path is correct "
            "and try again."
        ),
        exception_type="System.Management.Automation.CommandNotFoundException",
        fully_qualified_error_id="CommandNotFoundException",
        category="ObjectNotFound",
        reason="CommandNotFoundException",
        target=name,
    )


def _binding_error(spec: CmdletSpec, error_id: str, message: str, target: Any = None,
                   exception_type: str = "System.Management.Automation.ParameterBindingException") -> BindingError:
    return BindingError(
        LabError(
            message=message,
            exception_type=exception_type,
            fully_qualified_error_id=f"{error_id},{spec.class_name}",
            category="InvalidArgument",
            reason=exception_type.rsplit(".", 1)[-1],
            target=target,
        )
    )


def resolve_parameter(spec: CmdletSpec, given: str) -> ParamSpec:
    """A parameter by name, alias or unambiguous prefix, as PowerShell resolves it."""
    lowered = given.lower()
    for name, param in spec.all_names():
        if name.lower() == lowered:
            return param
    matches: list[ParamSpec] = []
    for name, param in spec.all_names():
        if name.lower().startswith(lowered) and param not in matches:
            matches.append(param)
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        listing = " ".join(f"-{m.name}" for m in matches)
        raise _binding_error(
            spec,
            "AmbiguousParameter",
            f"Parameter cannot be processed because the parameter name '{given}' is ambiguous. "
            f"Possible matches include: {listing}.",
            target=given,
        )
    raise _binding_error(spec, "NamedParameterNotFound",
                         f"A parameter cannot be found that matches parameter name '{given}'.", target=given)


def _convert(spec: CmdletSpec, param: ParamSpec, value: Any) -> Any:
    try:
        return convert_value(param.type, value, param.values, param.name)
    except ConversionError as exc:
        raise _binding_error(spec, exc.error_id, exc.message, target=value,
                             exception_type=exc.exception_type) from None


@dataclasses.dataclass
class BoundCommand:
    """The result of binding one command's parameters (before pipeline input).

    ``candidate_sets`` are the parameter sets still possible; ``pipeline_params`` the parameters that can take
    pipeline input in those sets, in catalogue order.
    """

    spec: CmdletSpec
    params: dict[str, Any]
    candidate_sets: list[str]
    pipeline_params: list[ParamSpec]
    expects_input: bool

    @property
    def parameter_set(self) -> str:
        return self.candidate_sets[0] if self.candidate_sets else ALL_SETS


def _sets_for(spec: CmdletSpec, bound: dict[str, Any]) -> list[str]:
    sets = list(spec.sets)
    for name in bound:
        param = spec.params[name]
        if param.common:
            continue
        sets = [s for s in sets if param.in_set(s)]
    return sets


def _choose_default(spec: CmdletSpec, sets: list[str], bound: dict[str, Any], pipeline: bool = False) -> list[str]:
    """Narrow several possible sets the way PowerShell does when nothing else decides.

    With ``pipeline`` (input is still to come), a mandatory parameter that takes pipeline input counts as
    satisfiable, so ``Get-MoveRequest | Get-MoveRequestStatistics`` keeps the Identity sets.
    """
    if len(sets) <= 1:
        return sets
    satisfied = [s for s in sets if all(n in bound or (pipeline and (p.by_value or p.by_property_name))
                                        for n, p in spec.params.items() if s in p.mandatory_in)]
    pool = satisfied or sets
    if spec.default_set in pool:
        return [spec.default_set] + [s for s in pool if s != spec.default_set]
    # Some pages split one set per platform (IdentityOnPremises / IdentityCloud): take this product's.
    hint = "cloud" if spec.product == ONLINE_PRODUCT else "onpremises"
    pool = sorted(pool, key=lambda s: 0 if hint in s.lower() else 1)
    # The catalogue rarely records DefaultParameterSetName (the docs don't show it). The real cmdlets default to
    # their Identity set; otherwise keep the documented order.
    for preferred in ("Identity", "Default", "DefaultParameterSet"):
        if preferred in pool:
            return [preferred] + [s for s in pool if s != preferred]
    return pool


def bind_command(spec: CmdletSpec, parameters: list[tuple[str | None, Any]], expects_input: bool) -> BoundCommand:
    """Bind a command's named and positional arguments; raise ``BindingError`` as PowerShell would."""
    bound: dict[str, Any] = {}
    positional: list[Any] = []
    for given, value in parameters:
        if given is None:
            positional.append(value)
            continue
        param = resolve_parameter(spec, given.lstrip("-"))
        if param.name in bound:
            raise _binding_error(
                spec,
                "ParameterAlreadyBound",
                f"Cannot bind parameter because parameter '{param.name}' is specified more than once. To provide "
                "multiple values to parameters that can accept multiple values, use the array syntax. For example, "
                '"-parameter value1,value2,value3".',
                target=given,
            )
        if value is None and param.type == "SwitchParameter":
            value = True  # `-Name` with no argument (a Nil on the wire): the switch is on
        bound[param.name] = _convert(spec, param, value)
    sets = _sets_for(spec, bound)
    if not sets and spec.sets:
        raise _binding_error(spec, "AmbiguousParameterSet",
                             "Parameter set cannot be resolved using the specified named parameters.")
    for index, value in enumerate(positional):
        target: ParamSpec | None = None
        for param in spec.params.values():
            if param.name in bound:
                continue
            if any(param.position_by_set.get(s) == index for s in sets):
                target = param
                break
        if target is None:
            raise _binding_error(
                spec,
                "PositionalParameterNotFound",
                f"A positional parameter cannot be found that accepts argument '{_display(value)}'.",
                target=value,
            )
        bound[target.name] = _convert(spec, target, value)
        sets = [s for s in sets if target.in_set(s)]
    pipeline = [p for p in spec.params.values() if (p.by_value or p.by_property_name)]
    if expects_input:
        # Sets that a pipeline parameter could still satisfy stay possible; pick among them per item.
        sets = _choose_default(spec, sets, bound, pipeline=True) if len(sets) > 1 else sets
        pipeline = [p for p in pipeline if p.name not in bound and any(p.in_set(s) for s in sets)]
        if sets:
            # A mandatory parameter no input object can supply is missing before any input arrives.
            unfillable = [n for n in _missing(spec, sets[0], bound) if not (spec.params[n].by_value
                                                                           or spec.params[n].by_property_name)]
            if unfillable:
                raise _binding_error(
                    spec, "MissingMandatoryParameter",
                    "Cannot process command because of one or more missing mandatory parameters: "
                    + " ".join(unfillable) + ".")
    else:
        sets = _choose_default(spec, sets, bound)
        _check_mandatory(spec, sets, bound)
        pipeline = []
    _check_null_mandatory(spec, sets, bound)
    return BoundCommand(spec, bound, sets, pipeline, expects_input)


def _check_null_mandatory(spec: CmdletSpec, sets: list[str], bound: dict[str, Any]) -> None:
    """PowerShell refuses $null / '' for a mandatory parameter (no AllowNull/AllowEmptyString on Exchange's)."""
    for name, value in bound.items():
        param = spec.params[name]
        if value is None or value == "":
            if sets and sets[0] in param.mandatory_in:
                kind = "null" if value is None else "an empty string"
                raise BindingError(LabError(
                    message=f"Cannot bind argument to parameter '{name}' because it is {kind}.",
                    exception_type="System.Management.Automation.ParameterBindingValidationException",
                    fully_qualified_error_id=(
                        "ParameterArgumentValidationErrorNullNotAllowed" if value is None
                        else "ParameterArgumentValidationErrorEmptyStringNotAllowed") + f",{spec.class_name}",
                    category="InvalidData",
                    reason="ParameterBindingValidationException",
                    target=value,
                ))


def _display(value: Any) -> str:
    if isinstance(value, LabObject):
        return value.to_string or value.type_names[0] if value.type_names else ""
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def _missing(spec: CmdletSpec, set_name: str, bound: dict[str, Any]) -> list[str]:
    return [p.name for p in spec.params.values() if set_name in p.mandatory_in and p.name not in bound]


def _check_mandatory(spec: CmdletSpec, sets: list[str], bound: dict[str, Any]) -> None:
    if not sets:
        return
    missing = _missing(spec, sets[0], bound)
    if missing:
        raise _binding_error(
            spec,
            "MissingMandatoryParameter",
            "Cannot process command because of one or more missing mandatory parameters: " + " ".join(missing) + ".",
        )


def _property(item: Any, names: tuple[str, ...]) -> tuple[bool, Any]:
    if isinstance(item, LabObject):
        for name in names:
            marker = object()
            value = item.get(name, marker)
            if value is not marker:
                return True, value
    return False, None


_NOT_BOUND = (
    "The input object cannot be bound to any parameters for the command either because the command does not take "
    "pipeline input or the input and its properties do not match any of the parameters that take pipeline input."
)


def bind_pipeline_item(bound: BoundCommand, item: Any) -> tuple[dict[str, Any], str]:
    """Bind one pipeline input object; returns (params for this item, parameter set).

    Like PowerShell: first ByValue (one parameter), then ByPropertyName for every remaining parameter of the
    still-possible sets. Nothing bound raises ``BindingError`` (InputObjectNotBound, written by the engine as a
    non-terminating error targeted at the item).
    """
    spec = bound.spec
    params = dict(bound.params)
    sets = list(bound.candidate_sets)
    bound_any = False
    for param in bound.pipeline_params:
        if not param.by_value or not any(param.in_set(s) for s in sets):
            continue
        try:
            value = _convert(spec, param, _by_value(param, item))
        except (BindingError, ConversionError):
            continue
        params[param.name] = value
        sets = [s for s in sets if param.in_set(s)]
        bound_any = True
        break
    for param in bound.pipeline_params:
        if not param.by_property_name or param.name in params or not any(param.in_set(s) for s in sets):
            continue
        found, value = _property(item, (param.name, *param.aliases))
        if not found:
            continue
        try:
            params[param.name] = _convert(spec, param, value)
        except BindingError:
            continue
        sets = [s for s in sets if param.in_set(s)]
        bound_any = True
    if not bound_any:
        raise _binding_error(spec, "InputObjectNotBound", _NOT_BOUND, target=item)
    sets = _choose_default(spec, sets, params)
    if not sets and spec.sets:
        raise _binding_error(spec, "AmbiguousParameterSet",
                             "Parameter set cannot be resolved using the specified named parameters.", target=item)
    _check_mandatory(spec, sets, params)
    return params, sets[0] if sets else ALL_SETS


def _by_value(param: ParamSpec, item: Any) -> Any:
    """What a ByValue binding passes: identity parameter types accept Exchange objects through their Identity."""
    if param.type == "PSObject":  # a core cmdlet's -InputObject takes the object itself
        return item
    if isinstance(item, LabObject):
        if param.type.endswith("IdParameter") or param.name == "Identity":
            identity = item.get("Identity")
            if identity is None:
                raise ConversionError("no Identity")
            return identity
        raise ConversionError("not bindable by value")
    return item
