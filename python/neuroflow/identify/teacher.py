"""Target ("teacher") networks: a small dataclass, conversion to the flat MLP layout, and the `.npz` file format.

File format (read by :func:`load_teacher`, written by :func:`save_teacher`): an ``.npz`` holding
``activation`` (a string, the hidden layers' activation; the last layer is linear) and
``weight_0, bias_0, weight_1, bias_1, ...`` where ``weight_l`` has shape (out, in) and a missing
``bias_l`` means that layer has no bias.
"""
from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neuroflow._utils import NOT_A_REGULAR_FILE, atomic_output, check_array, check_memory, exception_reason
from neuroflow.identify.lstsq import constant_outputs

#: activations whose networks cannot be identified neuron by neuron (linear or polynomial units mix freely)
NOT_IDENTIFIABLE = ("identity", "square", "cube")


def _activation_names() -> list[str]:
    from neuroflow.mlp.activations import ACTIVATIONS

    return sorted(ACTIVATIONS)


def check_activation(name, argname: str = "activation") -> str:
    """Validate an activation name for identification (known to the MLP engine, not linear/polynomial)."""
    names = _activation_names()
    if not isinstance(name, str) or name not in names:
        raise ValueError(f"{argname}: unknown activation {name!r}; expected one of {names}")
    if name in NOT_IDENTIFIABLE:
        raise ValueError(
            f"{argname}: {name!r} networks are not identifiable neuron by neuron (a linear or polynomial unit "
            f"can be rewritten as a mix of others); use a nonlinear activation such as tanh, sigmoid, softplus, relu or g"
        )
    return name


@dataclass
class Teacher:
    """A fully connected network: hidden layers share ``activation``, the output layer is linear.

    ``weights[l]`` has shape (out, in); ``biases[l]`` is a vector of length out, or None (no bias).
    """

    activation: str
    weights: list[np.ndarray]
    biases: list[np.ndarray | None]

    def __post_init__(self):
        check_activation(self.activation, "teacher activation")
        for name, value in (("weights", self.weights), ("biases", self.biases)):   # 5: "object of type 'int' has no len()"
            if not isinstance(value, (list, tuple)):
                raise ValueError(f"teacher {name}: expected a list with one entry per layer, got {type(value).__name__}")
        if len(self.weights) < 2:
            raise ValueError(f"teacher weights: expected at least 2 layers (one hidden layer), got {len(self.weights)}")
        if len(self.biases) != len(self.weights):
            raise ValueError(f"teacher biases: expected {len(self.weights)} entries (None for no bias), got {len(self.biases)}")
        ws, bs = [], []
        for l, (w, b) in enumerate(zip(self.weights, self.biases)):
            w = check_array(w, f"weight_{l}", ndim=2)
            if w.shape[0] == 0:
                what = "the output layer" if l == len(self.weights) - 1 else f"hidden layer {l}"
                raise ValueError(f"weight_{l}: {what} has no units (shape {w.shape})")
            if l == 0 and w.shape[1] == 0:
                raise ValueError(f"weight_0: the network has no inputs (shape {w.shape})")
            if l > 0 and w.shape[1] != ws[-1].shape[0]:
                raise ValueError(
                    f"weight_{l}: expected {ws[-1].shape[0]} input columns (weight_{l - 1} has "
                    f"{ws[-1].shape[0]} rows), got shape {w.shape}"
                )
            if b is not None:
                b = check_array(b, f"bias_{l}")
                if sum(d != 1 for d in b.shape) > 1:  # a (2, 2) bias was read as 4 units' biases, row by row
                    raise ValueError(f"bias_{l}: expected a vector of length {w.shape[0]} (rows of weight_{l}), got "
                                     f"shape {b.shape}")
                b = b.reshape(-1)
                if b.shape[0] != w.shape[0]:
                    raise ValueError(f"bias_{l}: expected length {w.shape[0]} (rows of weight_{l}), got {b.shape[0]}")
            ws.append(w)
            bs.append(b)
        self.weights, self.biases = ws, bs

    # ------------------------------------------------------------------ shape
    @property
    def input_dim(self) -> int:
        return int(self.weights[0].shape[1])

    @property
    def output_dim(self) -> int:
        return int(self.weights[-1].shape[0])

    @property
    def hidden_sizes(self) -> list[int]:
        return [int(w.shape[0]) for w in self.weights[:-1]]

    @property
    def n_params(self) -> int:
        return int(sum(w.size + (0 if b is None else b.size) for w, b in zip(self.weights, self.biases)))

    def incoming(self, layer: int) -> np.ndarray:
        """Incoming vectors of hidden layer ``layer``: rows [w | b] (b = 0 where the layer has no bias)."""
        n = len(self.hidden_sizes)
        # -1 gave the output layer's weights as a hidden layer's, 5 an IndexError
        if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)) or not 0 <= layer < n:
            raise ValueError(f"layer: expected an integer in [0, {n - 1}] (a hidden layer), got {layer!r}")
        w, b = self.weights[layer], self.biases[layer]
        return np.hstack([w, (np.zeros(w.shape[0]) if b is None else b)[:, None]])

    # ------------------------------------------------------------------ function
    def forward(self, X) -> np.ndarray:
        from neuroflow.mlp.activations import get_activation

        act = get_activation(self.activation)
        h = check_array(X, "X", shape=(None, self.input_dim))
        for l, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = h @ w.T
            if b is not None:
                h = h + b
            if l < len(self.weights) - 1:
                h = act.f(h)
        return h

    __call__ = forward

    def hidden(self, X, layer: int) -> np.ndarray:
        """Post-activation values of hidden layer ``layer`` on inputs X (rows)."""
        from neuroflow.mlp.activations import get_activation

        act = get_activation(self.activation)
        h = np.asarray(X, dtype=float)
        for l in range(layer + 1):
            h = h @ self.weights[l].T
            if self.biases[l] is not None:
                h = h + self.biases[l]
            h = act.f(h)
        return h

    # ------------------------------------------------------------------ MLP layout
    def mlp_layers(self) -> list[tuple[int, str, bool]]:
        n = len(self.weights)
        return [(int(w.shape[0]), self.activation if l < n - 1 else "identity", b is not None)
                for l, (w, b) in enumerate(zip(self.weights, self.biases))]

    def to_mlp(self, backend: str = "numpy"):
        """``(net, theta)``: a :class:`neuroflow.MLP` and the flat parameter vector of this teacher."""
        from neuroflow.mlp import MLP

        net = MLP(self.input_dim, self.mlp_layers(), backend=backend)
        mats = [w if b is None else np.hstack([w, b[:, None]]) for w, b in zip(self.weights, self.biases)]
        return net, net.pack(mats)

    @classmethod
    def from_mlp(cls, net, theta) -> "Teacher":
        from neuroflow.mlp import MLP

        if not isinstance(net, MLP):
            raise ValueError(f"net: expected a neuroflow.MLP, got {type(net).__name__}")
        theta = net.check_theta(theta, name="theta")
        acts = {a for (_, a, _) in net.layers[:-1]}
        if len(acts) != 1 or net.layers[-1][1] != "identity":
            raise ValueError("net: expected one hidden activation and a linear output layer, "
                             f"got layers {net.layers}")
        ws, bs = [], []
        for (width, _, has_bias), m in zip(net.layers, net.unpack(theta)):
            ws.append(np.array(m[:, :-1] if has_bias else m))
            bs.append(np.array(m[:, -1]) if has_bias else None)
        return cls(acts.pop(), ws, bs)

    def to_dict(self) -> dict:
        return {"activation": self.activation, "sizes": [self.input_dim, *self.hidden_sizes, self.output_dim],
                "n_params": self.n_params}


# ---------------------------------------------------------------------- file format
def save_teacher(teacher: Teacher, path) -> Path:
    """Write ``teacher`` as an ``.npz`` (activation, weight_l (out, in), bias_l where the layer has one)."""
    if not isinstance(teacher, Teacher):
        raise ValueError(f"teacher: expected a Teacher, got {type(teacher).__name__}")
    from neuroflow.cliutil import check_output_file

    # a folder ended in IsADirectoryError, a .txt or suffix-less name was written where the CLI takes only .npz
    path = check_output_file(path, "path", (".npz",))
    problem = output_problem(teacher)
    if problem:   # a teacher load_teacher refuses (zero weights, overflowing outputs) is not written
        raise ValueError(f"teacher: {problem}")
    arrays = {"activation": np.array(teacher.activation)}
    for l, (w, b) in enumerate(zip(teacher.weights, teacher.biases)):
        arrays[f"weight_{l}"] = w
        if b is not None:
            arrays[f"bias_{l}"] = b
    with atomic_output(path, "wb") as fh:  # a file handle keeps numpy from appending a second ".npz"
        np.savez(fh, **arrays)
    return path


def _entry(data, key: str, path: Path) -> np.ndarray:
    """One entry of an open teacher ``.npz``; members are decoded only now, so a damaged one (bad CRC,
    broken compression, not an array, an object array) fails here, named."""
    try:
        return data[key]
    except Exception as exc:  # BadZipFile, zlib.error, EOFError, ValueError of the .npy reader, ...
        raise ValueError(f"teacher: {str(path)!r}: entry {key!r} cannot be read ({exception_reason(exc)})") from None


def _check_unpacked_size(path: Path) -> None:
    """Refuse, before anything is unpacked, a teacher whose arrays would not fit in memory: a 7 MB archive of zeros
    that unpacks to 7 GB was read for 51 s at a 15 GB peak (the arrays, their float64 copies and the teacher's own:
    about three times the unpacked size). A zip the reader cannot list is left to ``np.load``'s own error."""
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return
    check_memory(3 * unpacked, f"teacher: {str(path)!r} (its arrays unpack to {unpacked / 2**30:.1f} GiB)")


def load_teacher(path) -> Teacher:
    """Read a teacher ``.npz``; errors name the file and the key that is wrong."""
    path = Path(path)
    if not path.is_file():
        if path.exists() and not path.is_dir():  # a named pipe would be read for ever; "no such file" was wrong
            raise ValueError(f"teacher: {str(path)!r} {NOT_A_REGULAR_FILE}")
        raise FileNotFoundError(f"teacher: no such file {str(path)!r}")
    try:
        with open(path, "rb") as fh:
            magic = fh.read(6)
    except OSError as exc:
        raise ValueError(f"teacher: {str(path)!r}: cannot be read ({exc.strerror or exc})") from None
    if magic == b"\x93NUMPY":  # np.load would hand back the array itself
        raise ValueError(f"teacher: {str(path)!r}: not a teacher .npz archive (a single .npy array)")
    if not magic.startswith(b"PK"):  # np.load would try pickle and suggest allow_pickle
        raise ValueError(f"teacher: {str(path)!r}: not a valid .npz archive (a zip of .npy arrays)")
    _check_unpacked_size(path)
    try:
        data = np.load(path, allow_pickle=False)
    except Exception as exc:  # a damaged zip
        raise ValueError(f"teacher: {str(path)!r} is not a readable .npz file ({exception_reason(exc)})") from None
    with data:
        keys = set(data.files)
        if "activation" not in keys:
            raise ValueError(f"teacher: {str(path)!r} has no 'activation' entry (keys: {sorted(keys)})")
        n = 0
        while f"weight_{n}" in keys:
            n += 1
        if n == 0:
            raise ValueError(f"teacher: {str(path)!r} has no 'weight_0' entry (keys: {sorted(keys)})")
        known = {"activation"} | {f"weight_{l}" for l in range(n)} | {f"bias_{l}" for l in range(n)}
        if keys - known:
            raise ValueError(f"teacher: {str(path)!r} has unexpected entries {sorted(keys - known)} "
                             f"(layers are numbered 0..{n - 1} without gaps)")
        act = _entry(data, "activation", path)
        if act.ndim != 0 or act.dtype.kind != "U":
            raise ValueError(f"teacher: {str(path)!r}: entry 'activation': expected a string (the hidden layers' "
                             f"activation), got an array of dtype {act.dtype} and shape {act.shape}")
        activation = str(act)
        arrays = {k: _entry(data, k, path) for k in sorted(keys - {"activation"})}
    for key, a in arrays.items():
        if a.dtype.kind == "c":
            raise ValueError(f"teacher: {str(path)!r}: entry {key!r} holds complex numbers; expected real weights")
    try:  # text arrays instead of numbers
        weights = [np.array(arrays[f"weight_{l}"], dtype=float) for l in range(n)]
        biases = [np.array(arrays[f"bias_{l}"], dtype=float) if f"bias_{l}" in arrays else None for l in range(n)]
    except (ValueError, TypeError) as exc:
        raise ValueError(f"teacher: {str(path)!r} holds weights that are not numbers ({exc})") from None
    try:
        teacher = Teacher(activation, weights, biases)
    except ValueError as exc:
        raise ValueError(f"teacher {str(path)!r}: {exc}") from None
    _check_outputs(teacher, path)
    return teacher


def output_problem(teacher: Teacher) -> str | None:
    """What makes ``teacher`` of no use to identify, or None: weights so large that its outputs on Gaussian probes,
    or the norms of its incoming vectors (which the report's angles divide by), overflow, or outputs that do not
    vary over the probes. Read by :func:`load_teacher` and by :func:`neuroflow.identify.problems.make_teacher`,
    which wrote teachers of ``weight_scale=1e-17`` that every run then refused."""
    X = np.random.default_rng(0).standard_normal((64, teacher.input_dim))
    try:
        with np.errstate(over="raise", invalid="raise"):
            Y = teacher.forward(X)
            for l in range(len(teacher.weights) - 1):
                np.sum(teacher.incoming(l) ** 2, axis=1)
    except FloatingPointError:
        Y = None
    if Y is None or not np.all(np.isfinite(Y)):
        big = max(float(np.max(np.abs(a), initial=0.0)) for a in teacher.weights + teacher.biases if a is not None)
        return (f"weights too large (largest magnitude {big:.3g}): its outputs on Gaussian probes or the norms of its "
                "incoming vectors overflow")
    if constant_outputs(Y):  # zero weights, or every unit dead: relative losses would divide by a zero variance
        return ("its outputs are the same on every Gaussian probe (to float precision; weights of zero or every unit "
                "dead?): a constant function has no neurons to identify")
    return None


def _check_outputs(teacher: Teacher, path: Path) -> None:
    """Refuse (ValueError naming the file) a teacher of no use to identify (:func:`output_problem`)."""
    problem = output_problem(teacher)
    if problem:
        raise ValueError(f"teacher: {str(path)!r}: {problem}")
