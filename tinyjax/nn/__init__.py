"""Layers and combinators, grouped by family: each a pure ``(init, apply)`` pair (see docs/architecture.md)."""
