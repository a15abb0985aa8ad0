"""Optional steps: parts of a restoration that a photo can be published without, for now.

Colour (DeOldify) is the first; scratch repair, LaMa inpainting and DDColor will be others. The rule
for all of them: when a step cannot run because its model's weights are not there (not installed,
no internet to download them), the photo is restored without that step and published, marked
"<step> pending" with the reason and the detail of how to fix it. The stage that skipped the step
records an ``OptionalStep`` in its record under ``optional_steps``; ``published`` gathers those of
every stage above it, so one record says what a published restoration still lacks.

Nothing needs to remember to redo the step: the missing weights are part of the stage's fingerprint
(``lineage.weights_signatures``), so when they appear the fingerprint changes and the sensor (or
``restore-photos run``) re-runs the photo from that stage.

Weights that are there but wrong or corrupt are not "missing": they fail the photo with the error.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Iterable

RECORD_FIELD = "optional_steps"  # the key in a stage record's metadata
PENDING = "pending"
WEIGHTS_MISSING = "weights missing"


@dataclass(frozen=True)
class OptionalStep:
    """One optional step a restoration went without, and why.

    ``step`` is what a person calls it ("colour"); ``state`` is "pending" (redone automatically when
    the cause goes away); ``reason`` is a few words ("weights missing"); ``detail`` is the full
    explanation for the owner (which file, where to put it, where to get it): it may name server
    paths and environment variables, so it is never shown to share-link visitors. ``model`` and
    ``weights`` name the model and its weights file.
    """

    step: str
    state: str
    reason: str
    detail: str = ""
    model: str = ""
    weights: str = ""

    @property
    def headline(self) -> str:
        """One line for lists and logs: "colour pending: weights missing"."""
        return f"{self.step} {self.state}: {self.reason}"

    def to_json(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> "OptionalStep | None":
        """The step a record holds; None for anything malformed (a hand-edited or older record)."""
        if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in ("step", "state", "reason")):
            return None
        fields = {k: str(data.get(k) or "") for k in cls.__dataclass_fields__}
        return cls(**fields)


def weights_missing(step: str, model: str, weights: str, detail: str) -> OptionalStep:
    return OptionalStep(step, PENDING, WEIGHTS_MISSING, detail, model, weights)


def steps_of(metadata: dict | None) -> list[OptionalStep]:
    """The optional steps one stage record's metadata lists."""
    raw = (metadata or {}).get(RECORD_FIELD) or []
    steps = [OptionalStep.from_json(item) for item in raw] if isinstance(raw, list) else []
    return [s for s in steps if s is not None]


def pending_steps(records: Iterable[Any]) -> list[OptionalStep]:
    """Every pending step the given stage records (``lineage.StageRecord`` or None) list, once each."""
    seen: dict[str, OptionalStep] = {}
    for record in records:
        if record is None:
            continue
        for step in steps_of(record.metadata):
            if step.state == PENDING:
                seen.setdefault(step.step, step)
    return list(seen.values())


def pending_label(steps: Iterable[OptionalStep]) -> str:
    """The state of a published photo that lacks ``steps``: "colour pending", "colour and scratch repair pending"."""
    names = [s.step for s in steps]
    if not names:
        return ""
    joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"{joined} {PENDING}"
