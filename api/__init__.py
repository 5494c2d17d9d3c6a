"""Concord's edges: settings, wiring, the command line (and, later, HTTP)."""
