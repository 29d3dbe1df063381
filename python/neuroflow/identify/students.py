"""Training the over-parameterised students, in parallel through joblib.

Two engines share one entry point, :func:`train_students`:

* ``"flow"`` -- :func:`neuroflow.train` (gradient-flow ODE, then Newton trust region or BFGS) on the
  MLP kernels; exact and fast for small students.
* ``"torch"`` -- full-batch float64 L-BFGS in torch for large or deep students, optionally polished
  by :func:`neuroflow.train` (L-BFGS phase only).

Work is dispatched with ``joblib.Parallel(n_jobs=...)``, so a Dask or Ray cluster can take over through
``joblib.parallel_backend`` when one machine is not enough.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

ENGINES = ("auto", "flow", "torch")
#: students with more parameters than this go to torch under engine="auto"
TORCH_THRESHOLD = 3000


@dataclass
class StudentFit:
    """One trained student: its flat parameters (MLP layout), final loss, and how the run went."""

    index: int
    seed: int
    theta: np.ndarray
    loss: float
    gnorm: float
    converged: bool
    engine: str
    time_s: float
    stopped_by: str = ""

    def to_dict(self) -> dict:
        return {"index": self.index, "seed": self.seed, "loss": self.loss, "gnorm": self.gnorm,
                "converged": self.converged, "engine": self.engine, "time_s": self.time_s,
                "stopped_by": self.stopped_by}


def flow_train():
    """:func:`neuroflow.flow.train` (robust to a submodule of the same name shadowing the function)."""
    import neuroflow.flow as flow

    fn = flow.train
    return fn if callable(fn) else fn.train


# ---------------------------------------------------------------------- torch engine
def torch_activation(name: str):
    """A torch function for an activation of :mod:`neuroflow.mlp.activations` (same definitions)."""
    import torch
    import torch.nn.functional as F

    rt2 = math.sqrt(2.0)
    table = {
        "identity": lambda x: x,
        "relu": torch.relu,
        "tanh": torch.tanh,
        "sigmoid": torch.sigmoid,
        "softplus": lambda x: torch.logaddexp(torch.zeros_like(x), x),
        "erf": lambda x: torch.erf(x / rt2),
        "normal_cdf": lambda x: 0.5 * (1.0 + torch.erf(x / rt2)),
        "gelu": lambda x: 0.5 * x * (1.0 + torch.erf(x / rt2)),
        "silu": F.silu,
        "square": lambda x: 0.5 * x * x,
        "cube": lambda x: x ** 3,
        "g": lambda x: torch.sigmoid(4.0 * x) + torch.logaddexp(torch.zeros_like(x), x),
    }
    if name not in table:
        raise ValueError(f"activation: no torch version of {name!r}; expected one of {sorted(table)}")
    return table[name]


def torch_fit(net, theta0, X, Y, *, max_iter: int = 5000, maxtime: float = 60.0, threads: int = 1,
              frozen_layers: int = 0) -> tuple[np.ndarray, float, str]:
    """Full-batch float64 L-BFGS (strong Wolfe line search) on the MLP loss; returns (theta, loss, why).

    ``frozen_layers`` keeps the first that many layers at ``theta0``'s values.
    """
    import torch

    torch.set_num_threads(max(1, int(threads)))
    mats = [torch.tensor(np.ascontiguousarray(m), dtype=torch.float64) for m in net.unpack(theta0)]
    params = [torch.nn.Parameter(m) if l >= frozen_layers else m for l, m in enumerate(mats)]
    acts = [torch_activation(a) for (_, a, _) in net.layers]
    biases = [b for (_, _, b) in net.layers]
    Xt = torch.tensor(np.asarray(X), dtype=torch.float64)
    Yt = torch.tensor(np.asarray(Y), dtype=torch.float64)
    n = Xt.shape[0]

    def forward():
        h = Xt
        for m, act, has_b in zip(params, acts, biases):
            h = h @ m[:, :-1].T + m[:, -1] if has_b else h @ m.T
            h = act(h)
        return h

    free = [p for p in params if isinstance(p, torch.nn.Parameter)]
    opt = torch.optim.LBFGS(free, lr=1.0, max_iter=20, history_size=100, line_search_fn="strong_wolfe",
                            tolerance_grad=1e-14, tolerance_change=1e-20)

    def closure():
        opt.zero_grad()
        loss = ((forward() - Yt) ** 2).sum() / n
        loss.backward()
        return loss

    t0, why, last = time.perf_counter(), "max_iter", math.inf
    for _ in range(max(1, max_iter // 20)):
        loss = float(opt.step(closure).detach())
        if not math.isfinite(loss):
            why = "nonfinite"
            break
        if loss < 1e-28 or abs(last - loss) <= 1e-16 * max(loss, 1e-300):
            why = "converged"
            break
        last = loss
        if time.perf_counter() - t0 > maxtime:
            why = "maxtime"
            break
    with torch.no_grad():
        final = float(((forward() - Yt) ** 2).sum() / n)
    theta = net.pack([p.detach().numpy().copy() for p in params])
    return theta, final, why


# ---------------------------------------------------------------------- one student
def _fit_one(index, seed, input_dim, layers, X, Y, engine, train_options, torch_options, backend):
    from neuroflow.mlp import MLP

    t0 = time.perf_counter()
    net = MLP(input_dim, layers, backend=backend)
    theta = net.init_params(seed=seed)
    if engine == "auto":
        engine = "torch" if net.n_params > TORCH_THRESHOLD else "flow"
    stopped = ""
    if engine == "torch":
        theta, _, stopped = torch_fit(net, theta, X, Y, **(torch_options or {}))
        polish = dict(train_options or {})
        if polish:
            res = flow_train()(net, theta, X, Y, **polish)
            theta, stopped = res.x, f"{stopped}+{res.optim_stopped_by}"
        loss = float(net.loss(theta, X, Y))
        gnorm = float(np.max(np.abs(net.gradient(theta, X, Y))))
        converged = False
    else:
        res = flow_train()(net, theta, X, Y, **(train_options or {}))
        theta, loss, gnorm, converged = res.x, float(res.loss), float(res.gnorm), bool(res.converged)
        stopped = f"{res.ode_stopped_by}/{res.optim_stopped_by}"
    return StudentFit(index, int(seed), np.asarray(theta, dtype=float), loss, gnorm, converged, engine,
                      time.perf_counter() - t0, str(stopped))


def train_students(input_dim: int, layers, X, Y, seeds, *, engine: str = "auto", train_options=None,
                   torch_options=None, n_jobs: int = 1, backend: str = "numpy",
                   progress: bool = False) -> list[StudentFit]:
    """Train one student per seed (network ``MLP(input_dim, layers)``) on (X, Y), ``n_jobs`` in parallel."""
    from joblib import Parallel, delayed

    from neuroflow._utils import progress as bar

    if engine not in ENGINES:
        raise ValueError(f"engine: expected one of {list(ENGINES)}, got {engine!r}")
    jobs = (delayed(_fit_one)(i, s, input_dim, layers, X, Y, engine, train_options, torch_options, backend)
            for i, s in enumerate(seeds))
    if n_jobs == 1:
        return [job[0](*job[1], **job[2]) for job in bar(list(jobs), enabled=progress, desc="students")]
    out = Parallel(n_jobs=n_jobs, return_as="generator")(jobs)
    return list(bar(out, enabled=progress, total=len(seeds), desc="students"))
