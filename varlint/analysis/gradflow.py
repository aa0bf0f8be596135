"""The shared requires-grad / leaf / shape dataflow (see rules.md, "VL1xx" intro).

PLACEHOLDER API: the implementation is being written; every value is UNKNOWN for now, which
keeps every semantic rule silent (precision first).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import libcst as cst


class RequiresGrad(enum.Enum):
    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


class Leaf(enum.Enum):
    LEAF = "leaf"
    NONLEAF = "nonleaf"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class NoGradReason:
    """Why a value does not require grad, so a message can point at the cause."""

    kind: str  # "no-trainable-leaf" | "no-grad" | "detach" | "data" | "item" | "integer" | ...
    line: int | None = None  # where the graph was cut / the no_grad block starts

    def describe(self) -> str:
        return self.kind


@dataclass(frozen=True)
class ValueFacts:
    requires_grad: RequiresGrad = RequiresGrad.UNKNOWN
    leaf: Leaf = Leaf.UNKNOWN
    # None: unknown shape; (): 0-dim; (2, 3): known shape.
    shape: tuple[int, ...] | None = None
    reason: NoGradReason | None = None


UNKNOWN = ValueFacts()


class GradFlow:
    def __init__(self, context) -> None:
        self.context = context

    def facts(self, expression: cst.BaseExpression) -> ValueFacts:
        """What is known about the value of `expression` where it is evaluated."""
        return UNKNOWN
