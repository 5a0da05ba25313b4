"""``hybridkit demo``: the whole tool, end to end, against an embedded lab. No setup, no Exchange needed.

The demo starts the lab (HTTPS with its own CA, validated) on a free loopback port in a background thread,
connects through a ``lab`` profile, and runs ``STEPS`` in order: the foundation's (``foundation``: connection,
servers, databases, mailboxes by type), then one module per capability (``inventory``, ``cutover``, ``hold``,
``mailflow``, ``decommission``), each using its capability's public face only. A step gets a ``DemoContext``,
prints through ``ctx.console``, runs remote work through ``ctx.session`` (or ``ctx.open_session(Side.ONLINE)``),
keeps files under ``ctx.workdir`` and returns data for ``--output json``. A step that raises a ``HybridkitError``
is reported and makes the demo exit 1.

Capabilities never import the demo: it stands on top of them, at the CLI edge.
"""

from hybridkit.demo._command import demo
from hybridkit.demo._context import DemoContext, DemoStep
from hybridkit.demo._steps import STEPS

__all__ = ["DemoContext", "DemoStep", "STEPS", "demo"]
