"""Tables of mailflow and decommission at 80 columns (and piped): every cell wraps, nothing is cropped."""

from __future__ import annotations

import io
import re

from rich.console import Console

from hybridkit.decommission._model import Discovery, HybridObject, Kind as DKind
from hybridkit.decommission._plan import plan_decommission
from hybridkit.decommission._render import print_plan, print_restore
from hybridkit.decommission import RestoreAction, RestoreOutcome, RestoreResult
from hybridkit.mailflow._model import DesiredObject, Kind, MailflowSpec, ObservedObject
from hybridkit.mailflow._plan import plan_mailflow
from hybridkit.mailflow import plan_table
from hybridkit.outcomes import Outcome

LONG = "Outbound-to-Office-365-" + "x" * 70 + "-end"


def rendered(draw) -> str:  # type: ignore[no-untyped-def]
    buffer = io.StringIO()
    console = Console(file=buffer, width=80, force_terminal=False, color_system=None)
    draw(console)
    text = buffer.getvalue()
    # table lines fit; commands outside tables stay unwrapped, so they paste
    assert all(len(line) <= 80 for line in text.splitlines() if "│" in line or "┃" in line)
    return text


def joined(text: str) -> str:
    """Each table column's fragments joined top to bottom, spaces dropped, so a folded cell reads whole again;
    the columns one after the other (text outside tables kept as it is)."""
    columns: dict[int, str] = {}
    rest = []
    for line in text.splitlines():
        if "│" in line or "┃" in line:
            for index, cell in enumerate(re.split(r"[│┃]", line)[1:-1]):
                columns[index] = columns.get(index, "") + cell.strip()
        else:
            rest.append(line)
    return "|".join(columns.values()).replace(" ", "") + "|" + "".join(rest).replace(" ", "")


def test_mailflow_plan_table_folds_long_names_and_values() -> None:
    spec = MailflowSpec((DesiredObject(Kind.OUTBOUND_CONNECTOR, LONG, (("Name", LONG), ("ConnectorType", "OnPremises"),
                                                                         ("SmartHosts", [LONG + ".contoso.com"]))),))
    observed = [ObservedObject.of(Kind.OUTBOUND_CONNECTOR, {"Name": LONG, "ConnectorType": "Partner",
                                                            "SmartHosts": ["old.contoso.com"]})]
    text = rendered(lambda c: c.print(plan_table(plan_mailflow(spec, observed))))
    assert "…" not in text
    flat = joined(text)
    for word in (LONG, LONG + ".contoso.com", "OutboundConnector", "online", "update", "Partner->OnPremises"):
        assert word in flat, word


def test_decommission_tables_fold_long_names() -> None:
    obj = HybridObject("online", DKind.OUTBOUND_CONNECTOR, LONG, (("ConnectorSource", "HybridWizard"),))
    plan = plan_decommission(Discovery((obj,)))
    text = rendered(lambda c: print_plan(c, plan))
    assert "…" not in text and LONG in joined(text)
    assert "Remove-OutboundConnector-Identity'" + LONG + "'-Confirm:$false" in joined(text)
    outcome = RestoreOutcome(None, [RestoreResult(obj, RestoreAction.CREATE, Outcome.FAILED, (), "Exchange's own long message " * 5)],
                             what_if=False)
    text = rendered(lambda c: print_restore(c, outcome))
    assert "…" not in text and LONG in joined(text)
    assert "Exchange's own long message " * 5 in " ".join(text.split()) + " "
