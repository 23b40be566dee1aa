"""Family `dmc` (see shared/DOMAINS.md)."""

from __future__ import annotations


def register() -> None:
    """Register this family's ids (none yet)."""
