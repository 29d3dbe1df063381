"""Place-cell encodings of the maze observations."""
from __future__ import annotations

import numpy as np

from neuroflow._utils import check_array, check_choice, check_memory, check_positive

__all__ = ["PlaceCells"]


class PlaceCells:
    """State encoding. ``PlaceCells.one_hot(9)`` for the T-maze; ``PlaceCells.grid()`` for the water maze:
    11 x 11 Gaussian fields, centres ``linspace(-6, 6, 11)`` in x and y, width sigma = 0.75, amplitude
    ``1 / (sigma sqrt(2 pi))``. Call the object on one observation or a batch (rows)."""

    def __init__(self, kind: str = "grid", *, n: int = 11, extent: float = 6.0, sigma: float = 0.75,
                 n_states: int | None = None):
        check_choice(kind, "kind", ["grid", "one_hot"])
        self.kind = kind
        if kind == "one_hot":
            check_positive(n_states, "n_states", integer=True)
            self.n_features = int(n_states)
            self.centres = None
            return
        check_positive(n, "n", integer=True)
        check_positive(extent, "extent")
        check_positive(sigma, "sigma")
        check_memory(3 * 8 * int(n) ** 2, "n")  # n x n centres (and the meshgrid's two grids): n = 1e6 asked for 7 TiB
        axis = np.linspace(-extent, extent, n)
        gx, gy = np.meshgrid(axis, axis, indexing="xy")
        self.centres = np.column_stack([gx.ravel(), gy.ravel()])
        self.sigma = float(sigma)
        self.scale = 1.0 / (sigma * np.sqrt(2.0 * np.pi))
        self.n_features = self.centres.shape[0]

    @classmethod
    def one_hot(cls, n_states: int) -> "PlaceCells":
        return cls("one_hot", n_states=n_states)

    @classmethod
    def grid(cls, n: int = 11, extent: float = 6.0, sigma: float = 0.75) -> "PlaceCells":
        return cls("grid", n=n, extent=extent, sigma=sigma)

    def __call__(self, obs) -> np.ndarray:
        if self.kind == "one_hot":
            idx = np.asarray(obs)
            if not np.issubdtype(idx.dtype, np.integer) or np.any((idx < 0) | (idx >= self.n_features)):
                raise ValueError(f"obs: expected state indices in [0, {self.n_features - 1}], got {obs!r}")
            # the rows asked for, not np.eye(n)[idx]: one_hot(200000)(3) allocated 298 GiB (numpy's MemoryError)
            check_memory(8 * (idx.size + 1) * self.n_features, "obs")
            out = np.zeros(idx.shape + (self.n_features,))
            np.put_along_axis(out, idx[..., None], 1.0, axis=-1)
            return out
        pos = check_array(obs, "obs")
        if pos.shape[-1] != 2:
            raise ValueError(f"obs: expected (x, y) positions, got shape {pos.shape}")
        d2 = ((pos[..., None, :] - self.centres) ** 2).sum(-1)
        return self.scale * np.exp(-d2 / (2.0 * self.sigma ** 2))

    def __repr__(self):
        if self.kind == "one_hot":
            return f"PlaceCells.one_hot({self.n_features})"
        return f"PlaceCells.grid(n={int(np.sqrt(self.n_features))}, sigma={self.sigma})"
