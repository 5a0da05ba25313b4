"""Cmdlet handlers of the lab, one module per area."""
