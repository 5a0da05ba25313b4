"""Inventory crawl: mailboxes, sizes and permissions from both sides, written as the files batch planning reads.

What other code (the demo) uses: ``export_inventory(sessions, out_dir, includes=INCLUDES, journal=...)`` returns
the ``Manifest`` it wrote beside the exports.
"""

from hybridkit.inventory._model import INCLUDES, Manifest, parse_include
from hybridkit.inventory._run import export_inventory

__all__ = ["INCLUDES", "Manifest", "export_inventory", "parse_include"]
