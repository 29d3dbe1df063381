"""Training the over-parameterised students, in parallel through joblib.

Two engines share one entry point, :func:`train_students`:

* ``"flow"`` -- :func:`neuroflow.train` (gradient-flow ODE, then Newton trust region or BFGS) on the
  MLP kernels; exact and fast for small students.
* ``"torch"`` -- minibatch Adam (float32), then full-batch float64 L-BFGS in torch, for large or deep
  students; optionally polished by :func:`neuroflow.train`.

Deep identification re-trains the same students with their lower, already reconstructed layers frozen
(``frozen_layers``): :class:`~neuroflow.identify.objectives.FixedParamsObjective` for the flow engine,
frozen tensors for torch.

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
              frozen_layers: int = 0, adam_steps: int = 0, batch_size: int = 256, lr: float = 3e-3,
              lr_end: float = 3e-5, seed: int = 0) -> tuple[np.ndarray, float, str]:
    """Train the MLP loss in torch; returns (theta, loss, why the last phase stopped).

    Two phases: ``adam_steps`` steps of minibatch Adam in float32 (``batch_size`` probes per step,
    learning rate decaying geometrically from ``lr`` to ``lr_end``; minibatches drawn with ``seed``),
    then full-batch float64 L-BFGS (strong Wolfe line search) for up to ``max_iter`` iterations or
    ``maxtime`` seconds. Minibatch Adam does the bulk of the work on large students: from a random start
    it finds the target's neurons many times faster per second than full-batch L-BFGS, which then
    polishes. ``frozen_layers`` keeps the first that many layers at ``theta0``'s values (their output
    is computed once).
    """
    import torch

    torch.set_num_threads(max(1, int(threads)))
    mats = [np.ascontiguousarray(m) for m in net.unpack(theta0)]
    acts = [torch_activation(a) for (_, a, _) in net.layers]
    biases = [b for (_, _, b) in net.layers]

    def apply(h, ms, layer0):
        for m, act, has_b in zip(ms, acts[layer0:], biases[layer0:]):
            h = h @ m[:, :-1].T + m[:, -1] if has_b else h @ m.T
            h = act(h)
        return h

    with torch.no_grad():  # the frozen layers' output, once
        H = apply(torch.tensor(np.asarray(X), dtype=torch.float64),
                  [torch.tensor(m, dtype=torch.float64) for m in mats[:frozen_layers]], 0)
    Yt = torch.tensor(np.asarray(Y), dtype=torch.float64)
    n = H.shape[0]
    t0, why = time.perf_counter(), "adam"
    if adam_steps > 0:
        gen = torch.Generator().manual_seed(int(seed))
        free32 = [torch.nn.Parameter(torch.tensor(m, dtype=torch.float32)) for m in mats[frozen_layers:]]
        H32, Y32 = H.float(), Yt.float()
        opt = torch.optim.Adam(free32, lr=lr)
        bs = int(min(batch_size, n))
        decay = (lr_end / lr) ** (1.0 / max(1, adam_steps))
        perm, pos = torch.randperm(n, generator=gen), 0
        for step in range(int(adam_steps)):
            if pos + bs > n:
                perm, pos = torch.randperm(n, generator=gen), 0
            idx = perm[pos:pos + bs]
            pos += bs
            opt.param_groups[0]["lr"] = lr * decay ** step
            opt.zero_grad()
            loss = ((apply(H32[idx], free32, frozen_layers) - Y32[idx]) ** 2).sum() / bs
            loss.backward()
            opt.step()
        if all(bool(torch.isfinite(p).all()) for p in free32):
            mats[frozen_layers:] = [p.detach().double().numpy() for p in free32]
        else:
            why = "adam-nonfinite"
    free = [torch.nn.Parameter(torch.tensor(m, dtype=torch.float64)) for m in mats[frozen_layers:]]

    def objective():
        return ((apply(H, free, frozen_layers) - Yt) ** 2).sum() / n

    if max_iter > 0:
        opt = torch.optim.LBFGS(free, lr=1.0, max_iter=20, history_size=100, line_search_fn="strong_wolfe",
                                tolerance_grad=1e-14, tolerance_change=1e-20)

        def closure():
            opt.zero_grad()
            loss = objective()
            loss.backward()
            return loss

        t1, why, last = time.perf_counter(), "max_iter", math.inf
        for _ in range(max(1, max_iter // 20)):
            loss = float(opt.step(closure).detach())
            if not math.isfinite(loss):
                why = "nonfinite"
                break
            if loss < 1e-28 or abs(last - loss) <= 1e-16 * max(loss, 1e-300):
                why = "converged"
                break
            last = loss
            if time.perf_counter() - t1 > maxtime:
                why = "maxtime"
                break
    with torch.no_grad():
        final = float(objective())
    theta = net.pack(mats[:frozen_layers] + [p.detach().numpy().copy() for p in free])
    return theta, final, why


def free_mask(net, frozen_layers: int) -> np.ndarray:
    """Boolean mask over ``net``'s flat parameters: True for the layers from ``frozen_layers`` on."""
    sizes = [m.size for m in net.unpack(np.zeros(net.n_params))]
    mask = np.ones(net.n_params, dtype=bool)
    mask[: int(sum(sizes[:frozen_layers]))] = False
    return mask


# ---------------------------------------------------------------------- one student
def _fit_one(index, seed, input_dim, layers, X, Y, engine, train_options, torch_options, backend,
             theta0=None, frozen_layers=0, polish_options=None):
    from neuroflow.identify.objectives import FixedParamsObjective
    from neuroflow.mlp import MLP

    t0 = time.perf_counter()
    net = MLP(input_dim, layers, backend=backend)
    theta = net.init_params(seed=seed) if theta0 is None else np.array(theta0, dtype=float)
    if engine == "auto":
        engine = "torch" if net.n_params > TORCH_THRESHOLD else "flow"
    free = free_mask(net, frozen_layers)

    def flow_fit(theta, options):
        """neuroflow.train on the free parameters (the fixed-parameter objective when layers are frozen)."""
        if not frozen_layers:
            res = flow_train()(net, theta, X, Y, **options)
            return res.x, res
        obj = FixedParamsObjective(net.objective(X, Y), theta, free)
        res = flow_train()(obj, theta[free], **options)
        return obj.full(res.x), res

    stopped = ""
    if engine == "torch":
        opts = {"seed": int(seed), **(torch_options or {})}
        theta, _, stopped = torch_fit(net, theta, X, Y, frozen_layers=frozen_layers, **opts)
        if polish_options:
            theta, res = flow_fit(theta, dict(polish_options))
            stopped = f"{stopped}+{res.optim_stopped_by}"
        loss = float(net.loss(theta, X, Y))
        gnorm = float(np.max(np.abs(net.gradient(theta, X, Y)[free])))
        converged = False
    else:
        theta, res = flow_fit(theta, dict(train_options or {}))
        loss, gnorm, converged = float(res.loss), float(res.gnorm), bool(res.converged)
        stopped = f"{res.ode_stopped_by}/{res.optim_stopped_by}"
    return StudentFit(index, int(seed), np.asarray(theta, dtype=float), loss, gnorm, converged, engine,
                      time.perf_counter() - t0, str(stopped))


def train_students(input_dim: int, layers, X, Y, seeds, *, engine: str = "auto", train_options=None,
                   torch_options=None, n_jobs: int = 1, backend: str = "numpy", progress: bool = False,
                   theta0s=None, frozen_layers: int = 0, polish_options=None) -> list[StudentFit]:
    """Train one student per seed (network ``MLP(input_dim, layers)``) on (X, Y), ``n_jobs`` in parallel.

    ``theta0s`` (one flat vector per student) replaces the random initialisation; ``frozen_layers``
    keeps the first that many layers of each student fixed and trains the rest (the fixed-parameter
    objective). ``polish_options`` (torch engine only): a final :func:`neuroflow.train` run with them.
    """
    from joblib import Parallel, delayed

    from neuroflow._utils import progress as bar

    if engine not in ENGINES:
        raise ValueError(f"engine: expected one of {list(ENGINES)}, got {engine!r}")
    if theta0s is not None and len(theta0s) != len(seeds):
        raise ValueError(f"theta0s: expected one initial vector per seed ({len(seeds)}), got {len(theta0s)}")
    starts = [None] * len(seeds) if theta0s is None else list(theta0s)
    jobs = (delayed(_fit_one)(i, s, input_dim, layers, X, Y, engine, train_options, torch_options, backend,
                              starts[i], frozen_layers, polish_options)
            for i, s in enumerate(seeds))
    if n_jobs == 1:
        return [job[0](*job[1], **job[2]) for job in bar(list(jobs), enabled=progress, desc="students")]
    out = Parallel(n_jobs=n_jobs, return_as="generator")(jobs)
    return list(bar(out, enabled=progress, total=len(seeds), desc="students"))
