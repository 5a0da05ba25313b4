"""Renamed ``_discover`` (state from Exchange, as every capability names it); this alias keeps code written
against the old name running until it is updated. New code imports ``hybridkit.cutover._discover``."""

from hybridkit.cutover._discover import *  # noqa: F403
from hybridkit.cutover._discover import __all__, _move_state, as_int  # noqa: F401
