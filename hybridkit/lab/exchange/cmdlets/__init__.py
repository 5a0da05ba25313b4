"""Cmdlet handlers of the lab, one module per area.

Importing this package (or any module in it) registers every handler in ``_registry.HANDLERS`` and every demo
seeder. The handler modules are listed here, not found by walking the folder: a module that fails to import fails
the lab's start with its own traceback instead of leaving its cmdlets quietly "not emulated", and
``tests/lab/test_lab_layers.py`` fails if a handler module of this folder is missing from the list.
"""

from hybridkit.lab.exchange.cmdlets import (  # noqa: F401  (importing a module registers its handlers)
    connectors,
    core,
    hold,
    hybrid,
    migration,
    migration_endpoints,
    migration_moves,
    migration_users,
    org_config,
    permission_grants,
    permissions,
    recipients,
    remote_mailboxes,
)
