"""What an asset check reports when the run gave it nothing to judge.

A check declared on an ``@asset`` must yield a result on every run (its output is required; only a
subsettable multi-asset may leave it out and show as "skipped"), but a check computed over an empty
set passes vacuously: ``colourful_enough`` said "colourised photos are above the floor" when no photo
was colourised. So such a check passes, says plainly in its description that it did not apply and
why, and carries ``applicable: false`` in its metadata for anyone filtering check results.
"""
from __future__ import annotations

from typing import Any

import dagster as dg


def not_applicable(check_name: str, reason: str, **metadata: Any) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=check_name,
        passed=True,
        description=f"not applicable: {reason}",
        metadata={"applicable": False, "reason": reason, **metadata},
    )
