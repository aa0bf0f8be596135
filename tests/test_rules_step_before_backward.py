"""VL307 (step-before-backward): the shapes it reports and the ones it must stay silent on,
each a small program that also runs, so what it does is checked, not assumed.

Every case is linted with VL307 alone and its `# expect: VL307` lines compared. Then it runs
on the reference runtime and, when PyTorch is installed, on PyTorch 2.13:

- `crash`: the program dies at the annotated line of M18 on both, with the same text, and the
  runtime records the step-before-backward event there (related: the step's line);
- `runs`: the program runs to the end on both (the silence is right);
- `not-known`: varlint stays silent although the program crashes (the step may not run as far
  as the analysis can tell, or runs in a helper): precision first; the crash is asserted so
  that the case documents a real limit, not a guess.

The GAN fixtures (fixtures/VL307, fixtures/clean/gan_update_orders.py) go through the generic
fixture and confirmation suites as well.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from runtime_harness import expected_diagnostics, run_with_runtime, run_with_torch, torch_available
from varlint import engine

HEADER = """\
import torch
import torch.nn as nn

torch.manual_seed(0)
D = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1), nn.Sigmoid())
G = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 3))
opt_d = torch.optim.SGD(D.parameters(), lr=0.1)
opt_g = torch.optim.SGD(G.parameters(), lr=0.1)
real = torch.randn(5, 3)
z = torch.randn(5, 2)
"""

CASES: dict[str, tuple[str, str]] = {
    "kept graph reused after the step": ("crash", """
        fake = G(z)
        out = D(fake)
        d_loss = (D(real) - out).mean()
        d_loss.backward(retain_graph=True)
        opt_d.step()
        g_loss = -out.mean()
        g_loss.backward()  # expect: VL307
        print("unreachable")
        """),
    "torch.autograd.backward form": ("crash", """
        out = D(real)
        torch.autograd.backward(out.mean(), retain_graph=True)
        opt_d.step()
        torch.autograd.backward(out.sum())  # expect: VL307
        """),
    "convolutions save their weight": ("crash", """
        C = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Conv2d(2, 1, 3)).to("cpu")
        opt_c = torch.optim.Adam(C.parameters(), lr=0.01)
        score = C(torch.randn(1, 1, 6, 6)).mean()
        score.backward(retain_graph=True)
        opt_c.step()
        (score * 2).backward()  # expect: VL307
        """),
    "a separate graph recorded before the step": ("crash", """
        fake = G(z)
        g_out = D(fake)
        d_loss = D(real).mean() - D(fake.detach()).mean()
        d_loss.backward()
        opt_d.step()
        g_out.mean().backward()  # expect: VL307
        """),
    "both backward calls before the step": ("runs", """
        out = D(G(z))
        out.mean().backward(retain_graph=True)
        out.sum().backward()
        opt_d.step()
        opt_g.step()
        print("done")
        """),
    "recomputed after the step": ("runs", """
        fake = G(z)
        d_loss = D(real).mean() - D(fake.detach()).mean()
        d_loss.backward()
        opt_d.step()
        g_loss = -D(fake).mean()
        g_loss.backward()
        opt_g.step()
        print("done")
        """),
    "the other network was stepped": ("runs", """
        d_real = D(real)
        out = D(G(z))
        (out.mean() + d_real.mean()).backward(retain_graph=True)
        opt_g.step()
        d_real.sum().backward()
        print("done")
        """),
    "one linear layer on detached input saves no weight": ("runs", """
        L = nn.Linear(3, 1)
        opt_l = torch.optim.SGD(L.parameters(), lr=0.1)
        fake = G(z)
        first = L(fake.detach()).mean()
        second = L(fake.detach()).sum()
        first.backward()
        opt_l.step()
        second.backward()
        print("done")
        """),
    "gradients reset before the step: it changes nothing": ("runs", """
        out = D(real)
        out.mean().backward(retain_graph=True)
        opt_d.zero_grad()
        opt_d.step()
        out.sum().backward()
        print("done")
        """),
    "a step that may not run": ("not-known", """
        out = D(real)
        for i in range(2):
            out.mean().backward(retain_graph=True)
            if i % 2 == 0:
                opt_d.step()
            out.sum().backward(retain_graph=True)
        """),
    "a step in a helper": ("not-known", """
        def update():
            opt_d.step()

        out = D(real)
        out.mean().backward(retain_graph=True)
        update()
        out.sum().backward()
        """),
}


def program(name: str, tmp_path: Path) -> Path:
    path = tmp_path / "case.py"
    path.write_text(HEADER + textwrap.dedent(CASES[name][1]).lstrip("\n"), encoding="utf-8")
    return path


def test_cases_cover_each_outcome():
    assert {outcome for outcome, _ in CASES.values()} == {"crash", "runs", "not-known"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_diagnostics_match_annotations(name: str, tmp_path: Path):
    path = program(name, tmp_path)
    reported = engine.lint_text(str(path), path.read_text(), frozenset({"VL307"}))
    assert sorted((d.start.row, d.code) for d in reported) == expected_diagnostics(path)
    for diagnostic in reported:
        assert "optimizer steps are in-place" in diagnostic.message
        assert "one of the variables needed for gradient computation has been modified by an inplace operation" in diagnostic.message


@pytest.mark.parametrize("name", sorted(CASES))
def test_runtime_does_what_the_case_says(name: str, tmp_path: Path):
    outcome = CASES[name][0]
    path = program(name, tmp_path)
    result = run_with_runtime(path)
    if outcome == "runs":
        assert result.returncode == 0, result.stderr
        assert result.stdout.endswith("done\n")
        assert not [e for e in result.events if e["kind"] == "step-before-backward"]
        return
    assert result.exception and result.exception.startswith(
        "RuntimeError: one of the variables needed for gradient computation has been modified by an inplace operation"
    ), result.stderr
    events = [e for e in result.events if e["kind"] == "step-before-backward"]
    assert len(events) == 1
    if outcome == "crash":
        [(line, _)] = expected_diagnostics(path)
        assert events[0]["line"] == line
        source_lines = path.read_text().splitlines()
        assert any("step()" in source_lines[related - 1] for related in events[0]["related"])


@pytest.mark.skipif(not torch_available(), reason="PyTorch is not installed")
@pytest.mark.parametrize("name", sorted(CASES))
def test_pytorch_agrees_with_the_runtime(name: str, tmp_path: Path):
    path = program(name, tmp_path)
    on_torch, on_runtime = run_with_torch(path), run_with_runtime(path)
    assert (on_torch.stdout, on_torch.exception) == (on_runtime.stdout, on_runtime.exception)


MODELS = """\
import torch.nn as nn


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))

    def forward(self, x):
        return self.main(x)


class OneLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 1)

    def forward(self, x):
        return self.fc(x)
"""

TRAIN = """\
import torch
{import_line}

netD = {model}()
optimizerD = torch.optim.SGD(netD.parameters(), lr=0.1)
out = netD(torch.randn(2, 3))
out.mean().backward(retain_graph=True)
optimizerD.step()
out.sum().backward()
print("done")
"""


@pytest.mark.parametrize(
    ("import_line", "model", "crashes"),
    [
        ("from models import Discriminator", "Discriminator", True),
        ("from models import *", "Discriminator", True),
        ("import models", "models.Discriminator", True),
        ("from models import OneLayer", "OneLayer", False),  # one layer on data: no weight saved
    ],
)
def test_module_classes_of_other_files_are_read(tmp_path: Path, import_line: str, model: str, crashes: bool):
    from varlint.config import Settings

    (tmp_path / "models.py").write_text(MODELS, encoding="utf-8")
    train = tmp_path / "train.py"
    train.write_text(TRAIN.format(import_line=import_line, model=model), encoding="utf-8")
    _, result = engine.check_paths([str(tmp_path / "models.py"), str(train)], Settings(select=("VL307",)), jobs=1)
    assert [d.start.row for d in result.diagnostics] == ([9] if crashes else [])
    run = run_with_runtime(train)
    assert (run.exception is not None) == crashes, run.stderr
