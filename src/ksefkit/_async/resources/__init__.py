"""Thin 1:1 wrappers over the API: one module per area, one method per operation."""
