"""GradFlow's outermost analysis puts off the summaries it asks before any analysis has ended
(gradflow/__init__.py, `_analyse`): its facts are the ones the nested way gives (`_run_nested`:
a summary asked then starts another analysis), with fewer walks of the file."""

from __future__ import annotations

import sys

import libcst as cst
import pytest

from varlint.analysis import gradflow
from varlint.rule import FileContext

TRUE_AND_FALSE = """
import torch
def total(x):
    return torch.mean(x)
def pair(x):
    return x
def chained(x):
    y = total(x)
    return y * 2
w = torch.ones(3, requires_grad=True)
a = total(w)
b = pair(w)
c = chained(w)
for v in a:
    pass
"""

FALSE_ONLY = """
import torch
def pair(x):
    return x
def other(x):
    return pair(x).sum(0)
w = torch.ones(3, requires_grad=True)
b = pair(w)
c = other(w) + b
"""

NESTED_TRUE = """
import torch
def inner(x):
    return torch.mean(x)
def outer(x):
    return inner(x) + inner(x * 2)
class Model:
    def loss(self, x):
        return outer(x)
    def step(self, x):
        value = self.loss(x)
        return value
w = torch.zeros(2, requires_grad=True)
z = outer(w)
"""


def contexts(source: str) -> tuple[FileContext, FileContext]:
    module = cst.parse_module(source)
    return tuple(FileContext("snippet.py", module, cst.MetadataWrapper(module, unsafe_skip_copy=True)) for _ in "ab")


def counted_runs(monkeypatch) -> list[int]:
    runs: list[int] = []
    original = gradflow.Analysis.run
    monkeypatch.setattr(gradflow.Analysis, "run", lambda self: runs.append(self.context.gradflow.running) or original(self))
    return runs


def assert_same_facts(deferring: FileContext, nested: FileContext) -> None:
    first = deferring.gradflow.facts(deferring.module.body[-1])
    nested.gradflow._run_nested()
    assert nested.gradflow.facts(nested.module.body[-1]) == first
    assert set(deferring.gradflow._values) == set(nested.gradflow._values)
    for node in deferring.gradflow._values:
        assert deferring.gradflow.facts(node) == nested.gradflow.facts(node)
    assert deferring.summaries._zero_dim == nested.summaries._zero_dim


@pytest.mark.parametrize(("source", "deferring_runs", "nested_runs"), [
    (TRUE_AND_FALSE, [1, 1], [1, 2, 3]),  # `total` is 0-dim: the analysis that asked it walks again
    (FALSE_ONLY, [1], [1, 2, 3]),  # every summary False: one walk
    (NESTED_TRUE, [1, 1, 1], [1, 2, 3, 4]),  # `inner`, then `outer` 0-dim: two walks again
])
def test_the_facts_are_the_nested_ones_with_fewer_walks(monkeypatch, source, deferring_runs, nested_runs):
    runs = counted_runs(monkeypatch)
    deferring, nested = contexts(source)
    deferring.gradflow.facts(deferring.module.body[-1])
    assert runs == deferring_runs
    runs.clear()
    assert_same_facts(deferring, nested)
    assert runs == nested_runs


def test_a_zero_dim_summary_reaches_the_call():
    deferring, _ = contexts(TRUE_AND_FALSE)
    loop = deferring.module.body[-1]
    facts = deferring.gradflow.facts(loop.iter)
    assert facts.is_tensor and facts.shape == ()


def test_code_too_deep_after_a_put_off_summary_is_analysed_the_nested_way(monkeypatch):
    nested_ways: list[int] = []
    original = gradflow.GradFlow._run_nested
    monkeypatch.setattr(gradflow.GradFlow, "_run_nested", lambda self: nested_ways.append(self.running) or original(self))
    source = TRUE_AND_FALSE + "y = " + " + ".join(["w"] * 200) + "\n"
    deferring, nested = contexts(source)
    for context in (deferring, nested):
        for metadata in ("positions", "parents", "names"):
            getattr(context, metadata)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(300)
    try:
        facts = deferring.gradflow.facts(deferring.module.body[-1].body[0].value)
        assert nested_ways[0] == 0  # the deferring analysis gave up and ran the nested way
        nested.gradflow._run_nested()
        assert nested.gradflow.facts(nested.module.body[-1].body[0].value) == facts
        assert deferring.gradflow.last_failed == nested.gradflow.last_failed
        assert deferring.gradflow._values == nested.gradflow._values
    finally:
        sys.setrecursionlimit(limit)
