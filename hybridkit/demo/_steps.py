"""The demo's steps, in the order they run: the foundation's, then one per capability."""

from __future__ import annotations

from hybridkit.demo import cutover, decommission, hold, inventory, mailflow
from hybridkit.demo._context import DemoStep
from hybridkit.demo.foundation import connect_step, summary_step

__all__ = ["STEPS"]

STEPS: tuple[DemoStep, ...] = (
    DemoStep("Connect", connect_step),
    DemoStep("Organisation summary", summary_step),
    DemoStep(inventory.TITLE, inventory.step),
    DemoStep(cutover.TITLE, cutover.step),
    DemoStep(hold.TITLE, hold.step),
    DemoStep(mailflow.TITLE, mailflow.step),
    DemoStep(decommission.TITLE, decommission.step),
)
