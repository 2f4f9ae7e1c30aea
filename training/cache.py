"""The decoded-image cache (`data.cache`): one copy in shared memory that every DataLoader worker fills and reads."""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import Callable

import torch

from pain3d.errors import Pain3DError


class SharedSlots:
    """Decoded tensors in shared memory, filled on first use; DataLoader workers share them."""

    def __init__(self, count: int, shape: tuple[int, ...], dtype: torch.dtype) -> None:
        need = count * math.prod(shape) * torch.empty((), dtype=dtype).element_size()
        free = shutil.disk_usage("/dev/shm").free if Path("/dev/shm").is_dir() else need
        if need > free:
            raise Pain3DError(f"the decoded-image cache needs {need / 2**30:.1f} GiB of shared memory and "
                              f"/dev/shm has {free / 2**30:.1f} GiB free; turn data.cache off")
        self.data = torch.empty((count, *shape), dtype=dtype).share_memory_()
        self.filled = torch.zeros(count, dtype=torch.bool).share_memory_()

    def get(self, slot: int, load: Callable[[], torch.Tensor]) -> torch.Tensor:
        """Slot `slot`, decoded by `load` the first time any process asks for it."""
        if not self.filled[slot]:
            self.data[slot] = load()
            self.filled[slot] = True  # after the data: a reader never sees half a slot as filled
        return self.data[slot]
