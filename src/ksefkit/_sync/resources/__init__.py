# GENERATED from src/ksefkit/_async by scripts/unasync.py: do not edit by hand.
"""Thin 1:1 wrappers over the API: one module per area, one method per operation."""
