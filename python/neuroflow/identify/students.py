"""Training the over-parameterised students, in parallel through joblib.

Two engines share one entry point, :func:`train_students`:

* ``"flow"`` -- :func:`neuroflow.train` (gradient-flow ODE, then Newton trust region or BFGS) on the
  MLP kernels; exact and fast for small students.
* ``"torch"`` -- minibatch Adam (float32), then full-batch float64 L-BFGS in torch, for large or deep
  students; optionally polished by :func:`neuroflow.train`.

Deep identification re-trains the same students with their lower, already reconstructed layers frozen
(``frozen_layers``): :class:`~neuroflow.identify.objectives.FixedParamsObjective` for the flow engine,
frozen tensors for torch.

Every phase stops on a step budget (:mod:`neuroflow.identify.budgets`), so a student is the same on any
machine. Students run through :func:`neuroflow.parallel.parallel_map`: ``n_jobs`` local processes, or the
workers of a Dask cluster (``scheduler``); each one takes its randomness from its own seed and starting point,
so the numbers do not depend on where it ran. ``on_result`` sees each student as soon as it is collected (the
estimator's checkpoint saves it there).
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
    steps: tuple = ()

    def to_dict(self) -> dict:
        """JSON-ready fields; ``steps`` are the counts per phase (flow: ODE steps, optimiser iterations;
        torch: Adam steps, L-BFGS iterations) and ``stopped_by`` what ended each phase."""
        return {"index": self.index, "seed": self.seed, "loss": self.loss, "gnorm": self.gnorm,
                "converged": self.converged, "engine": self.engine, "stopped_by": self.stopped_by,
                "steps": list(self.steps), "time_s": self.time_s}


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


def torch_fit(net, theta0, X, Y, *, max_iter: int = 5000, maxtime: float | None = None, threads: int = 1,
              frozen_layers: int = 0, adam_steps: int = 0, batch_size: int = 256, lr: float = 3e-3,
              lr_end: float = 3e-5, seed: int = 0, lm_steps: int = 0) -> tuple[np.ndarray, float, str, tuple]:
    """Train the MLP loss in torch; returns (theta, loss, why the last phase stopped, (Adam steps, L-BFGS
    iterations[, Levenberg-Marquardt steps])).

    Two phases: ``adam_steps`` steps of minibatch Adam in float32 (``batch_size`` probes per step,
    learning rate decaying geometrically from ``lr`` to ``lr_end``; minibatches drawn with ``seed``),
    then full-batch float64 L-BFGS (strong Wolfe line search) for up to ``max_iter`` iterations (in
    blocks of 20; and, only if given, ``maxtime`` seconds: an optional cap, which makes the result depend on
    the machine's load). Minibatch Adam does the bulk of the work on large students: from a random start it
    finds the target's neurons many times faster per second than full-batch L-BFGS, which then polishes. ``frozen_layers`` keeps the first that many layers at ``theta0``'s values (their output
    is computed once). ``lm_steps`` > 0 adds a third phase, Levenberg-Marquardt on the free layers
    (:func:`neuroflow.flow.lm.mlp_least_squares`, NumPy, float64) until the loss is 1e-20 of the targets'
    variance: it takes students that L-BFGS leaves in a flat valley at relative loss 1e-6..1e-4 to zero.
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
    why, n_adam, n_lbfgs = "adam", 0, 0
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
            n_adam += 1
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
            n_lbfgs = int(opt.state[free[0]].get("n_iter", 0))
            if not math.isfinite(loss):
                why = "nonfinite"
                break
            if loss < 1e-28 or abs(last - loss) <= 1e-16 * max(loss, 1e-300):
                why = "converged"
                break
            last = loss
            if maxtime is not None and time.perf_counter() - t1 > maxtime:
                why = "maxtime"
                break
    upper = [p.detach().numpy().copy() for p in free]
    steps = (n_adam, n_lbfgs)
    if lm_steps > 0 and why != "nonfinite":
        from neuroflow.flow.lm import mlp_least_squares
        from neuroflow.mlp import MLP

        sub = MLP(H.shape[1], net.layers[frozen_layers:], backend="numpy")
        Yn = np.asarray(Y, dtype=float).reshape(H.shape[0], -1)
        res = mlp_least_squares(sub, sub.pack(upper), H.numpy(), Yn, max_iter=int(lm_steps),
                                min_loss=1e-20 * float(np.mean(np.var(Yn, axis=0))))
        upper, why, steps = sub.unpack(res.x), f"{why}+lm:{res.stopped_by}", (*steps, res.iterations)
        with torch.no_grad():
            for p, m in zip(free, upper):
                p.copy_(torch.tensor(m, dtype=torch.float64))
    with torch.no_grad():
        final = float(objective())
    theta = net.pack(mats[:frozen_layers] + upper)
    return theta, final, why, steps


def free_mask(net, frozen_layers: int) -> np.ndarray:
    """Boolean mask over ``net``'s flat parameters: True for the layers from ``frozen_layers`` on."""
    sizes = [m.size for m in net.unpack(np.zeros(net.n_params))]
    mask = np.ones(net.n_params, dtype=bool)
    mask[: int(sum(sizes[:frozen_layers]))] = False
    return mask


def warm_starts(student_mats, H, H_next, layer: int, incoming, activation: str) -> list[list[np.ndarray]]:
    """Each student (its layers ``student_mats``) with hidden layer ``layer`` replaced by the reconstructed
    layers ``incoming`` (fixed from now on; ``H`` and ``H_next``: that layer's input and reconstructed units
    on the probes): the next layer's weights become the least-squares map from the reconstructed units to the
    student's own next-layer pre-activations; the layers above stay the student's."""
    from neuroflow.identify.selection import next_preactivations

    F = np.hstack([H_next, np.ones((H_next.shape[0], 1))])
    starts = []
    for mats in student_mats:
        coef, *_ = np.linalg.lstsq(F, next_preactivations(mats, H, layer, activation), rcond=None)
        starts.append([c.copy() for c in incoming] + [coef.T] + mats[layer + 2:])
    return starts


# ---------------------------------------------------------------------- one student
def _fit_one(index, seed, input_dim, layers, X, Y, engine, train_options, torch_options, backend, theta0,
             frozen_layers=0, polish_options=None) -> StudentFit:
    from neuroflow.identify.budgets import run_train
    from neuroflow.identify.objectives import FixedParamsObjective
    from neuroflow.mlp import MLP

    t0 = time.perf_counter()
    net = MLP(input_dim, layers, backend=backend)
    theta = np.array(theta0, dtype=float)
    if engine == "auto":
        engine = "torch" if net.n_params > TORCH_THRESHOLD else "flow"
    free = free_mask(net, frozen_layers)

    def flow_fit(theta, options):
        """neuroflow.train on the free parameters (the fixed-parameter objective when layers are frozen)."""
        if not frozen_layers:
            res = run_train(net, theta, X, Y, **options)
            return res.x, res
        obj = FixedParamsObjective(net.objective(X, Y), theta, free)
        res = run_train(obj, theta[free], **options)
        return obj.full(res.x), res

    if engine == "torch":
        opts = {"seed": int(seed), **(torch_options or {})}
        theta, _, stopped, steps = torch_fit(net, theta, X, Y, frozen_layers=frozen_layers, **opts)
        if polish_options:
            theta, res = flow_fit(theta, dict(polish_options))
            stopped = f"{stopped}+{res.optim_stopped_by}"
            steps = (*steps, res.optim_iterations)
        loss = float(net.loss(theta, X, Y))
        gnorm = float(np.max(np.abs(net.gradient(theta, X, Y)[free])))
        converged = False
    else:
        theta, res = flow_fit(theta, dict(train_options or {}))
        loss, gnorm, converged = float(res.loss), float(res.gnorm), bool(res.converged)
        stopped = f"{res.ode_stopped_by}/{res.optim_stopped_by}"
        steps = (res.ode_iterations, res.optim_iterations)
    return StudentFit(index, int(seed), np.asarray(theta, dtype=float), loss, gnorm, converged, engine,
                      time.perf_counter() - t0, str(stopped), tuple(int(s) for s in steps))


def train_students(input_dim: int, layers, X, Y, seeds, theta0s, *, indices=None, engine: str = "auto",
                   train_options=None, torch_options=None, n_jobs: int = 1, scheduler: str | None = None,
                   backend: str = "numpy", progress: bool = False, frozen_layers: int = 0, polish_options=None,
                   on_result=None) -> list[StudentFit]:
    """Train one student per seed (network ``MLP(input_dim, layers)``, starting at ``theta0s``) on (X, Y).

    Parameters
    ----------
    input_dim, layers
        The students' network (:class:`neuroflow.MLP` arguments).
    X, Y : arrays
        Probes and targets.
    seeds : list of int
        One per student (the torch engine's minibatches).
    theta0s : list of arrays
        Each student's starting point (flat MLP layout).
    indices : list of int, optional
        The students' numbers (default 0, 1, ...): which of them to train, e.g. the ones a checkpoint lacks.
    engine : "auto", "flow" or "torch"
    train_options, torch_options : dict
        Options of :func:`neuroflow.train` and :func:`torch_fit`.
    n_jobs, scheduler
        Where students run (:func:`neuroflow.parallel.parallel_map`).
    frozen_layers : int
        Keep the first that many layers at their starting values (the fixed-parameter objective).
    polish_options : dict, optional
        Torch engine only: a final :func:`neuroflow.train` run with them.
    on_result : callable, optional
        ``on_result(fit)`` as each student is collected.

    Returns
    -------
    list of StudentFit, in the order of ``indices``.
    """
    from neuroflow._utils import progress as bar
    from neuroflow.parallel import parallel_map

    if engine not in ENGINES:
        raise ValueError(f"engine: expected one of {list(ENGINES)}, got {engine!r}")
    if len(theta0s) != len(seeds):
        raise ValueError(f"theta0s: expected one initial vector per seed ({len(seeds)}), got {len(theta0s)}")
    indices = list(range(len(seeds))) if indices is None else list(indices)
    jobs = [(i, int(seeds[i]), input_dim, layers, X, Y, engine, train_options, torch_options, backend,
             theta0s[i], frozen_layers, polish_options) for i in indices]
    with bar(total=len(jobs), enabled=progress, desc="students", unit="student") as pbar:
        def collected(_, fit):
            pbar.update(1)
            if on_result is not None:
                on_result(fit)

        return parallel_map(_fit_one, jobs, n_jobs=n_jobs, scheduler=scheduler, on_result=collected)
