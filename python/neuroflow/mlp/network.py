"""The MLP specification, its flat parameter layout, and loss/gradient/Hessian on a chosen backend."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from neuroflow._utils import as_rng, check_array, check_memory, check_positive, short_repr
from neuroflow.backend import get_backend
from neuroflow.mlp import _numpy_kernels as npk
from neuroflow.mlp.activations import get_activation

__all__ = ["MLP", "BoundObjective"]


def _check_device(device) -> str:
    """``device`` if torch can compute there (a device string torch reads, of a kind this machine has), else
    ValueError naming it: torch itself fails only at the first evaluation, with an error about neither."""
    import torch

    if not isinstance(device, (str, torch.device)):
        raise ValueError(f"device: expected a torch device string such as 'cpu' or 'cuda:0', got {device!r}")
    try:
        dev = torch.device(device)
    except RuntimeError as exc:
        raise ValueError(f"device: {device!r} is not a torch device ({str(exc).splitlines()[0][:120]})") from None
    if dev.type == "cuda" and (not torch.cuda.is_available() or (dev.index or 0) >= torch.cuda.device_count()):
        have = torch.cuda.device_count() if torch.cuda.is_available() else 0
        raise ValueError(f"device: {device!r} is not available here ({have} CUDA device{'s' if have != 1 else ''})")
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device: expected 'cpu' or a CUDA device such as 'cuda:0', got {device!r}")
    return device


class MLP:
    """A multi-layer perceptron ``x -> f_L(W_L ... f_1(W_1 x + b_1) ... + b_L)``.

    Parameters
    ----------
    input_dim : int
        Number of inputs.
    layers : list of (width, activation, has_bias)
        One entry per layer, the last one being the output layer (usually ``"identity"``).
        Activation names are those of :data:`neuroflow.mlp.activations.ACTIVATIONS`.
    backend : "auto" | "numpy" | "torch" | "julia" or a :class:`neuroflow.backend.Backend`
        Where loss, gradient and Hessian are computed ("auto": Julia when usable, else NumPy); the
        attribute ``backend`` holds the chosen Backend object.
    device : str, optional
        Torch device for ``backend="torch"`` (default: "cuda" when available, else "cpu").

    Notes
    -----
    Parameters are one flat float64 vector in MLPGradientFlow.jl's layout: per layer a matrix of shape
    ``(out, in + has_bias)`` with the bias as last column, flattened column-major, layers concatenated.
    :meth:`pack` and :meth:`unpack` are the only code that knows it.

    The loss is the (weighted) mean over samples of the summed squared error over outputs,
    ``L = sum_n w_n sum_o (yhat_no - y_no)**2 / sum_n w_n`` (``w_n = 1`` without weights); gradient and
    Hessian are exact derivatives of that same function.
    """

    def __init__(self, input_dim: int, layers: Sequence, backend: str = "auto", *, device: str | None = None):
        check_positive(input_dim, "input_dim", integer=True)
        if isinstance(layers, (str, bytes)) or not isinstance(layers, Sequence) or len(layers) == 0:
            raise ValueError(f"layers: expected a non-empty list of (width, activation, has_bias), got {layers!r}")
        spec, clean = [], []
        d_in = int(input_dim)
        for i, layer in enumerate(layers):
            if not isinstance(layer, Sequence) or isinstance(layer, (str, bytes)) or len(layer) != 3:
                raise ValueError(f"layers[{i}]: expected (width, activation, has_bias), got {layer!r}")
            width, act, bias = layer
            check_positive(width, f"layers[{i}] width", integer=True)
            if not isinstance(bias, (bool, np.bool_)):
                raise ValueError(f"layers[{i}] has_bias: expected True or False, got {bias!r}")
            try:
                act = get_activation(act).name
            except ValueError as exc:
                raise ValueError(f"layers[{i}] {exc}") from None
            spec.append((d_in, int(width), act, bool(bias)))
            clean.append((int(width), act, bool(bias)))
            d_in = int(width)
        self.input_dim = int(input_dim)
        self.layers = clean
        self.output_dim = clean[-1][0]
        self.shapes = [(w, i + b) for (i, w, _, b) in spec]
        self.n_params = int(sum(o * i for o, i in self.shapes))
        self._spec = tuple(spec)
        self.backend = get_backend(backend)
        if device is not None and self.backend.name != "torch":   # was kept and ignored: the net ran on the CPU
            raise ValueError(f"device: only the torch backend places a net on a device; this net's backend is "
                             f"{self.backend.name!r} (got device={device!r}); use backend='torch' or drop device")
        self.device = None if device is None else _check_device(device)

    # ------------------------------------------------------------------ description
    def __repr__(self) -> str:
        return f"MLP(input_dim={self.input_dim}, layers={self.layers!r}, backend={self.backend.name!r})"

    @property
    def spec(self) -> tuple:
        """Per layer ``(in_dim, out_dim, activation, has_bias)``."""
        return self._spec

    def to_dict(self) -> dict:
        return {"input_dim": self.input_dim, "layers": [list(l) for l in self.layers], "n_params": self.n_params}

    @classmethod
    def from_dict(cls, d: dict, backend: str = "auto") -> "MLP":
        """The net :meth:`to_dict` describes (``TrainResult.net``); anything else is a ValueError naming ``d``
        (a dict without input_dim was a KeyError, a list a TypeError, input_dim "x" int()'s own message)."""
        if not isinstance(d, dict) or "input_dim" not in d or not isinstance(d.get("layers"), (list, tuple)):
            raise ValueError(f"d: expected a dict with input_dim and a list of layers (what MLP.to_dict() gives), "
                             f"got {short_repr(d)}")
        dim = d["input_dim"]
        if isinstance(dim, float) and dim.is_integer():  # a whole number read back as a float
            dim = int(dim)
        layers = [tuple(l) if isinstance(l, (list, tuple)) else l for l in d["layers"]]
        try:
            return cls(dim, layers, backend=backend)
        except ValueError as exc:
            if str(exc).startswith("backend:"):
                raise
            raise ValueError(f"d: {exc}") from None

    def with_backend(self, backend: str) -> "MLP":
        """The same architecture on another backend."""
        chosen = get_backend(backend)   # a device goes only to a torch net
        return MLP(self.input_dim, self.layers, backend=chosen, device=self.device if chosen.name == "torch" else None)

    # ------------------------------------------------------------------ layout
    def pack(self, matrices: Sequence) -> np.ndarray:
        """Flat parameters from per-layer matrices of shape ``(out, in + has_bias)`` (bias last column)."""
        if isinstance(matrices, (str, bytes)) or not hasattr(matrices, "__len__"):  # was "has no len()"
            raise ValueError(f"matrices: expected a list of {len(self.shapes)} layer matrices, got "
                             f"{short_repr(matrices)}")
        if len(matrices) != len(self.shapes):
            raise ValueError(f"matrices: expected {len(self.shapes)} layer matrices, got {len(matrices)}")
        parts = []
        for i, (m, shape) in enumerate(zip(matrices, self.shapes)):
            m = check_array(m, f"matrices[{i}]", shape=shape, finite=False)
            parts.append(m.ravel(order="F"))
        return np.concatenate(parts)

    def unpack(self, theta) -> list[np.ndarray]:
        """Per-layer matrices ``(out, in + has_bias)`` (bias last column) from flat parameters (copies)."""
        theta = self.check_theta(theta, finite=False)
        return [np.array(Wt.T) for Wt in npk.views(self._spec, theta)]

    def init_params(self, seed=None) -> np.ndarray:
        """Glorot-normal weights (std ``sqrt(2 / (fan_in + fan_out))``) and zero biases."""
        rng = as_rng(seed)
        check_memory(2 * 8 * self.n_params, "input_dim, layers")  # the matrices and the packed vector
        mats = []
        for (d_in, d_out, _, bias) in self._spec:
            W = rng.normal(0.0, np.sqrt(2.0 / (d_in + d_out)), size=(d_out, d_in))
            if bias:
                W = np.concatenate([W, np.zeros((d_out, 1))], axis=1)
            mats.append(W)
        return self.pack(mats)

    # ------------------------------------------------------------------ validation
    def check_theta(self, theta, *, finite: bool = True, name: str = "theta") -> np.ndarray:
        theta = check_array(theta, name, finite=False) if not isinstance(theta, np.ndarray) else theta
        if theta.ndim != 1 or theta.size != self.n_params:
            raise ValueError(f"{name}: expected a flat vector of length n_params={self.n_params}, got shape {theta.shape}")
        theta = check_array(theta, name, finite=finite)
        return np.ascontiguousarray(theta)

    def check_data(self, X, Y=None, weights=None):
        """Validate ``X`` (N, input_dim), ``Y`` (N, output_dim) and ``weights`` (N,); returns arrays and
        the normalised weights ``wbar``."""
        X = np.ascontiguousarray(check_array(X, "X", shape=(None, self.input_dim)))
        N = X.shape[0]
        if N == 0:
            raise ValueError("X: expected at least one sample, got 0 rows")
        if Y is not None:
            Y = check_array(Y, "Y", finite=False) if not isinstance(Y, np.ndarray) else Y
            if Y.ndim == 1 and self.output_dim == 1:
                Y = Y[:, None]
            Y = np.ascontiguousarray(check_array(Y, "Y", shape=(N, self.output_dim)))
        if weights is None:
            wbar = np.full(N, 1.0 / N)
        else:
            w = check_array(weights, "weights", shape=(N,))
            if np.any(w < 0) or not np.any(w > 0):
                raise ValueError(f"weights: expected non-negative per-sample weights with a positive sum, got min {w.min()}, sum {w.sum()}")
            with np.errstate(over="ignore"):
                overflows = not np.isfinite(w.sum())
            if overflows:  # only the ratios count: weights of 1e308 must not sum to inf (every wbar 0, loss 0);
                w = w / w.max()  # other weights keep their exact earlier result
            wbar = w / w.sum()
        return X, Y, wbar

    # ------------------------------------------------------------------ public kernels
    def forward(self, theta, X) -> np.ndarray:
        """Network outputs, shape (N, output_dim)."""
        theta = self.check_theta(theta)
        X, _, _ = self.check_data(X)
        return self._forward(theta, X)

    def loss(self, theta, X, Y, weights=None) -> float:
        theta = self.check_theta(theta)
        X, Y, wbar = self._check_targets(X, Y, weights)
        return self._loss(theta, X, Y, wbar, weights)

    def gradient(self, theta, X, Y, weights=None) -> np.ndarray:
        theta = self.check_theta(theta)
        X, Y, wbar = self._check_targets(X, Y, weights)
        return self._loss_and_gradient(theta, X, Y, wbar, weights)[1]

    def loss_and_gradient(self, theta, X, Y, weights=None) -> tuple[float, np.ndarray]:
        theta = self.check_theta(theta)
        X, Y, wbar = self._check_targets(X, Y, weights)
        return self._loss_and_gradient(theta, X, Y, wbar, weights)

    def hessian(self, theta, X, Y, weights=None) -> np.ndarray:
        """Exact Hessian of :meth:`loss` (P x P, symmetric)."""
        theta = self.check_theta(theta)
        X, Y, wbar = self._check_targets(X, Y, weights)
        self.check_hessian_memory(X.shape[0])
        return self._hessian(theta, X, Y, wbar, weights)

    def jacobian(self, theta, X) -> np.ndarray:
        """Per-sample Jacobian of the outputs, shape ``(N, output_dim, n_params)``: ``J[n, o, p]`` is the
        derivative of output ``o`` on sample ``n`` by parameter ``p`` (NumPy, whatever the backend; what a
        Gauss-Newton or Levenberg-Marquardt step needs, see :func:`neuroflow.flow.levenberg_marquardt`)."""
        theta = self.check_theta(theta)
        X, _, _ = self.check_data(X)
        # np.empty of the (N, out, P) result does not fail at once: 10^6 probes of a 1000-unit net filled 16 GB
        # for a minute before numpy's MemoryError for its 29.8 GiB
        check_memory(npk.jacobian_memory(self._spec, X.shape[0]), "X, layers (the Jacobian has N x outputs x "
                                                                    f"{self.n_params} entries)")
        return self._jacobian(theta, X)[0]

    def check_hessian_memory(self, n_samples: int, name: str | None = None) -> None:
        """ValueError naming ``name`` (default: X, layers) when the exact Hessian on ``n_samples`` samples needs
        more memory than this machine has (:meth:`hessian`, and :func:`neuroflow.flow.train` with a method that
        uses it)."""
        check_memory(npk.hessian_memory(self._spec, int(n_samples)),
                     name or f"X, layers (the Hessian has {self.n_params} x {self.n_params} entries)")

    def objective(self, X, Y, weights=None) -> "BoundObjective":
        """The loss on fixed data as an :class:`~neuroflow.flow.objective.Objective` (validated once)."""
        X, Y, wbar = self._check_targets(X, Y, weights)
        return BoundObjective(self, X, Y, wbar, weights)

    def _check_targets(self, X, Y, weights):
        """:meth:`check_data` where targets are needed (the loss and its derivatives): Y=None is refused by name."""
        if Y is None:
            raise ValueError(f"Y: expected targets of shape (N, {self.output_dim}), got None")
        return self.check_data(X, Y, weights)

    # ------------------------------------------------------------------ dispatch (trusted inputs)
    def _forward(self, theta, X):
        return self.backend.mlp_forward(self, theta, X)

    def _loss(self, theta, X, Y, wbar, weights=None) -> float:
        return self.backend.mlp_loss(self, theta, X, Y, wbar, weights)

    def _loss_and_gradient(self, theta, X, Y, wbar, weights=None, X1=None):
        return self.backend.mlp_loss_and_gradient(self, theta, X, Y, wbar, weights, X1)

    def _hessian(self, theta, X, Y, wbar, weights=None, X1=None):
        return self.backend.mlp_hessian(self, theta, X, Y, wbar, weights, X1)

    def _jacobian(self, theta, X):
        """(per-sample Jacobian, outputs) of one forward pass, NumPy (:meth:`jacobian`)."""
        return npk.jacobian(self._spec, theta, X)


class BoundObjective:
    """An MLP's loss on fixed data: ``loss(theta)``, ``gradient(theta)``, ``hessian(theta)``.

    Data are validated once at construction; ``theta`` is only checked for its length, so that an
    ODE that wanders into NaN gets NaN back instead of an exception.
    """

    def __init__(self, net: MLP, X, Y, wbar, weights=None):
        self.net = net
        self.X, self.Y, self.wbar, self.weights = X, Y, wbar, weights
        self.n_params = net.n_params
        self.n_samples = X.shape[0]
        # X with a ones column: lets the first layer's bias ride in the GEMMs (NumPy backend)
        self.X1 = np.concatenate([X, np.ones((X.shape[0], 1))], axis=1) if net.spec[0][3] else None

    def _theta(self, theta):
        return self.net.check_theta(theta, finite=False)

    def loss(self, theta) -> float:
        return self.net._loss(self._theta(theta), self.X, self.Y, self.wbar, self.weights)

    def gradient(self, theta) -> np.ndarray:
        return self.loss_and_gradient(theta)[1]

    def loss_and_gradient(self, theta):
        return self.net._loss_and_gradient(self._theta(theta), self.X, self.Y, self.wbar, self.weights, self.X1)

    def hessian(self, theta) -> np.ndarray:
        return self.net._hessian(self._theta(theta), self.X, self.Y, self.wbar, self.weights, self.X1)

    def __repr__(self) -> str:
        return f"BoundObjective({self.net!r}, n_samples={self.n_samples})"
