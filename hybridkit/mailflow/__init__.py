"""Mail-flow connectors as declared state: ``hybridkit mailflow plan|apply|scaffold``.

Other code (the demo) uses it through this face::

    from hybridkit.mailflow import apply_file, plan_file, plan_table, scaffold_text

    run = plan_file(Path("mailflow.toml"), onprem_profile, online_profile)   # read + check once, then plan
    outcome = apply_file(run)            # journaled, resumable; outcome.items: each object's typed outcome

Rooms: ``_read`` (mailflow.toml from disk, validated with line numbers), ``_discover`` (live objects and the
on-prem release), ``_plan`` (pure: declared vs observed), ``_apply`` (through ``hybridkit.runner``), ``_render``
(table, JSON, runbook), ``_service`` (the functions the CLI calls), ``cli``.
"""

from hybridkit.mailflow._apply import ApplyOutcome
from hybridkit.mailflow._model import Action, ChangeOutcome, Kind, MailflowSpec, Plan, Side
from hybridkit.mailflow._read import MailflowConfigError, parse_spec
from hybridkit.mailflow._render import plan_table, render_runbook
from hybridkit.mailflow._scaffold import SCENARIOS, scaffold_text
from hybridkit.mailflow._service import MailflowRun, apply_file, plan_file

__all__ = [
    "SCENARIOS",
    "Action",
    "ApplyOutcome",
    "ChangeOutcome",
    "Kind",
    "MailflowConfigError",
    "MailflowRun",
    "MailflowSpec",
    "Plan",
    "Side",
    "apply_file",
    "parse_spec",
    "plan_file",
    "plan_table",
    "render_runbook",
    "scaffold_text",
]
