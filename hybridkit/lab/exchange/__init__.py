"""The lab's Exchange emulation: organisation state and the cmdlets that act on it, knowing nothing of WSMan.

The organisation model (``org``; the built-in organisations in ``orgs``, ``orgs_people``, ``orgs_demo``; state
files in ``_persist``), the engine that runs a pipeline (``engine``), Microsoft's cmdlet catalogue and parameter
binding (``catalogue``, ``conversion``), identity resolution (``identity``), OPATH filters (``filters``), object
shapes and sizes (``shapes``, ``objects``, ``sizes``), migration state over time (``migration_state``), Exchange's
error records (``exchange_errors``) and the cmdlet handlers (``cmdlets/``).

It is driven only through the seam, ``hybridkit.lab._types`` (``ExchangeEngine`` implements its ``Engine``
protocol); ``tests/lab/test_lab_layers.py`` fails if a module here imports ``hybridkit.lab.transport``.
"""
