"""torch.device and the CPU-only device checks."""

from __future__ import annotations

from .messages import CUDA_MISSING

class _Device:
    def __init__(self, type="cpu", index=None):
        if isinstance(type, _Device):
            type, index = type.type, type.index
        type = str(type)
        if ":" in type:
            type, index = type.split(":")[0], int(type.split(":")[1])
        self.type = type
        self.index = index

    def __repr__(self):
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other):
        if isinstance(other, str):
            other = _Device(other)
        return isinstance(other, _Device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))


CPU = _Device("cpu")


def _check_device(device):
    if device is None:
        return
    kind = device.type if isinstance(device, _Device) else str(device).split(":")[0]
    if kind == "cuda":
        raise AssertionError(CUDA_MISSING)
    if kind != "cpu":
        raise RuntimeError(f"Expected one of cpu, cuda device type at start of device string: {device}")
