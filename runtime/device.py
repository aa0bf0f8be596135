"""torch.device and the device checks.

The runtime computes on the CPU only, and treats CUDA placements as the CPU: `.cuda()`,
`.to("cuda")`, `device="cuda"` and `torch.device("cuda:1")` arguments run the program on the
CPU (the tensors stay `device(type='cpu')`), so that a 2017 script that moves its model to the
GPU unconditionally still runs. `torch.cuda.is_available()` is False, as on a CPU-only PyTorch
(whose CUDA calls raise "Torch not compiled with CUDA enabled" instead).
"""

from __future__ import annotations

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
    """A device argument of a CPU or CUDA type is fine (CUDA runs on the CPU); others raise."""
    if device is None or isinstance(device, int):  # an int is a CUDA ordinal (`.cuda(0)`, `device=0`)
        return
    kind = device.type if isinstance(device, _Device) else str(device).split(":")[0]
    if kind not in ("cpu", "cuda"):
        raise RuntimeError(f"Expected one of cpu, cuda device type at start of device string: {device}")
