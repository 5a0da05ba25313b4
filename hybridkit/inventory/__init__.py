"""Inventory crawl: mailboxes, sizes and permissions from both sides, written as the files batch planning reads.

Other code (the demo, the benchmark) uses it through this face::

    from hybridkit.inventory import INCLUDES, export_inventory

    manifest = export_inventory({Side.ONPREM: session}, Path("inv"), includes=frozenset(INCLUDES), journal=journal)

Rooms: ``_read`` (the ``--mailboxes`` list from disk), ``_discover`` (the crawl's reads: the listing, and each
stage's pipelines turned into rows per mailbox), ``_plan`` (pure: the pipelines, the steps and their journal
payloads, and the plan read back from an earlier run), ``_rows`` (pure: Exchange objects -> export rows),
``_crawl`` (the steps through ``hybridkit.runner``: nothing is changed, so no ``_apply``), ``_render`` (the
export files, manifest.json, table and JSON), ``_service`` (the functions the CLI calls), ``cli``.
"""

from hybridkit.inventory._model import INCLUDES, Export, Failure, Manifest, Stage, parse_include
from hybridkit.inventory._service import export_from_profiles, export_inventory

__all__ = ["INCLUDES", "Export", "Failure", "Manifest", "Stage", "export_from_profiles", "export_inventory",
           "parse_include"]
