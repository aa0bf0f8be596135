"""The random numbers every random op draws (factories, in-place fills, dropout, nn.init).

One generator for the whole runtime; `torch.manual_seed` replaces it.
"""

from __future__ import annotations

import numpy as np

_rng = [np.random.default_rng()]


def random_generator() -> np.random.Generator:
    """The generator every random op draws from (torch.manual_seed replaces it)."""
    return _rng[0]


def manual_seed(seed: int) -> None:
    _rng[0] = np.random.default_rng(int(seed))
