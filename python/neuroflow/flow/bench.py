"""Benchmarks behind ``neuroflow flow bench`` and the scripts in ``benchmarks/``.

* :func:`gradient_benchmark`: gradient and exact-Hessian speed of the NumPy kernels against torch
  (``loss.backward()`` and ``torch.autograd.functional.hessian``), float64, one thread each side.
* :func:`flow_vs_adam`: ``train`` (gradient flow + Newton, on its default step budgets) against
  full-batch Adam given the same work in steps (or a fixed number of steps), on a teacher-student problem.
"""
from __future__ import annotations

import platform
import statistics
import time

import numpy as np

from neuroflow._utils import as_list, check_positive
from neuroflow.mlp import MLP


def _median_time(fn, repeats: int, budget_s: float) -> float:
    fn()  # warm-up (allocations, caches)
    times = []
    t_start = time.perf_counter()
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if time.perf_counter() - t_start > budget_s and len(times) >= 3:
            break
    return statistics.median(times)


def _torch_loss_fn(net: MLP, X, Y):
    """A plain torch model with separate weight tensors (not neuroflow's flat layout)."""
    import torch

    Xt = torch.as_tensor(X)
    Yt = torch.as_tensor(Y)
    act = torch.nn.functional.softplus

    def forward(params):
        a = Xt
        for i, (W, b) in enumerate(zip(params[0::2], params[1::2])):
            a = a @ W.T + b
            if i < len(params) // 2 - 1:
                a = act(a)
        r = a - Yt
        return (r * r).sum(dim=1).mean()

    return forward


def _torch_params(net: MLP, theta, requires_grad=True):
    import torch

    out = []
    for M in net.unpack(theta):
        W = torch.tensor(M[:, :-1].copy(), requires_grad=requires_grad)
        b = torch.tensor(M[:, -1].copy(), requires_grad=requires_grad)
        out += [W, b]
    return out


def bench_point(hidden: list[int], n: int, *, hessian: bool, repeats: int, budget_s: float, seed: int = 0) -> dict:
    """Time gradient (and Hessian) for one architecture and sample size, both sides, same data.

    Parameters
    ----------
    hidden : list of int
        Hidden widths (softplus, with biases), input dim 2, one linear output.
    n : int
        Samples.
    hessian : bool
        Also time the Hessian.
    repeats : int
        Timed repetitions (median).
    budget_s : float
        Stop repeating after this many seconds (at least 3 repetitions).
    seed : int

    Returns
    -------
    dict
        Times of both sides, speed-ups and the largest relative differences of the results.
    """
    import torch

    rng = np.random.default_rng(seed)
    layers = [(k, "softplus", True) for k in hidden] + [(1, "identity", True)]
    net = MLP(2, layers, backend="numpy")
    theta = net.init_params(seed=seed)
    X = rng.normal(size=(n, 2))
    Y = rng.normal(size=(n, 1))
    obj = net.objective(X, Y)
    fwd = _torch_loss_fn(net, X, Y)

    # --- gradient
    params = _torch_params(net, theta)

    def torch_grad():
        for p in params:
            p.grad = None
        fwd(params).backward()

    t_nf = _median_time(lambda: obj.loss_and_gradient(theta), repeats, budget_s)
    t_th = _median_time(torch_grad, repeats, budget_s)
    # correctness of what was timed
    torch_grad()
    g_torch = net.pack([np.concatenate([W.grad.numpy(), b.grad.numpy()[:, None]], axis=1)
                        for W, b in zip(params[0::2], params[1::2])])
    g_nf = obj.gradient(theta)
    point = {"hidden": hidden, "n_samples": n, "n_params": net.n_params,
             "gradient_neuroflow_s": t_nf, "gradient_torch_backward_s": t_th,
             "gradient_speedup": t_th / t_nf,
             "gradient_max_rel_diff": float(np.max(np.abs(g_nf - g_torch)) / np.max(np.abs(g_torch)))}
    if hessian:
        flat = torch.tensor(theta)
        shapes = [(o, i) for o, i in net.shapes]

        def flat_loss(v):
            ps, start = [], 0
            for o, i in shapes:
                M = v[start:start + o * i].reshape(i, o).T  # column-major (out, in+1)
                ps += [M[:, :-1], M[:, -1]]
                start += o * i
            return fwd(ps)

        t_hnf = _median_time(lambda: obj.hessian(theta), repeats, budget_s)
        t_hth = _median_time(lambda: torch.autograd.functional.hessian(flat_loss, flat), max(1, repeats // 3),
                             budget_s)
        H_t = torch.autograd.functional.hessian(flat_loss, flat).numpy()
        H_nf = obj.hessian(theta)
        point.update({"hessian_neuroflow_s": t_hnf, "hessian_torch_autograd_s": t_hth,
                      "hessian_speedup": t_hth / t_hnf,
                      "hessian_max_rel_diff": float(np.max(np.abs(H_nf - H_t)) / np.max(np.abs(H_t)))})
    return point


def gradient_benchmark(quick: bool = False, repeats: int = 7, budget_s: float = 3.0, on_point=None) -> dict:
    """Gradient and Hessian speed against torch over a grid of widths and sample sizes.

    Parameters
    ----------
    quick : bool
        The small grid (k in {10, 50}, N in {1e2, 1e3}) instead of the full one of
        ``benchmarks/gradients.py``.
    repeats : int
        Timed repetitions per point (the median is reported).
    budget_s : float
        Stop repeating a point after this many seconds (at least 3 repetitions).
    on_point : callable, optional
        Called with each finished point (e.g. to print progress).

    Returns
    -------
    dict
        JSON-able: settings, ``summary`` (minimum speed-ups, largest relative difference, targets)
        and ``points``.
    """
    check_positive(repeats, "repeats", integer=True)
    check_positive(budget_s, "budget_s")
    _check_callback(on_point, "on_point")  # -1 ended, after the first point, in "'int' object is not callable"
    import torch
    from threadpoolctl import threadpool_limits

    torch_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    grid = []
    widths = [10, 50] if quick else [10, 50, 100]
    sizes = [100, 1000] if quick else [100, 1000, 10_000, 100_000]
    for k in widths:
        for n in sizes:
            grid.append(([k], n, n <= 10_000))
    for n in ([100, 1000] if quick else [100, 1000, 10_000]):
        grid.append(([20, 20], n, True))
    results = []
    try:  # the caller's torch threads back also after Ctrl-C or an error (they stayed at 1)
        with threadpool_limits(limits=1):
            for hidden, n, hess in grid:
                point = bench_point(hidden, n, hessian=hess, repeats=repeats, budget_s=budget_s)
                results.append(point)
                if on_point is not None:
                    on_point(point)
    finally:
        torch.set_num_threads(torch_threads)
    one = [p for p in results if len(p["hidden"]) == 1]
    two = [p for p in results if len(p["hidden"]) == 2]
    summary = {
        "min_gradient_speedup": min(p["gradient_speedup"] for p in results),
        "min_hessian_speedup_one_hidden": min(p["hessian_speedup"] for p in one if "hessian_speedup" in p),
        "min_hessian_speedup_two_hidden": min(p["hessian_speedup"] for p in two if "hessian_speedup" in p),
        "max_rel_diff": max(max(p["gradient_max_rel_diff"], p.get("hessian_max_rel_diff", 0.0)) for p in results),
    }
    summary["targets"] = {"gradient_speedup>=1.5": summary["min_gradient_speedup"] >= 1.5,
                          "hessian_speedup_one_hidden>=20": summary["min_hessian_speedup_one_hidden"] >= 20,
                          "hessian_speedup_two_hidden>=10": summary["min_hessian_speedup_two_hidden"] >= 10}
    return {"benchmark": "gradients", "quick": quick, "threads": {"torch": 1, "blas": 1},
            "dtype": "float64", "torch": torch.__version__, "numpy": np.__version__,
            "machine": platform.processor() or platform.machine(), "repeats": repeats,
            "summary": summary, "points": results}


# ----------------------------------------------------------------------------- flow vs Adam
def _check_callback(fn, name: str) -> None:
    if fn is not None and not callable(fn):
        raise ValueError(f"{name}: expected None or a callable, got {type(fn).__name__}")


def _adam_budget(tr, adam_steps, budget_s) -> dict:
    """``maxiterations`` and ``maxtime`` for Adam after a ``train`` run ``tr``."""
    if budget_s is not None:
        return {"maxiterations": 10**9, "maxtime": budget_s}
    if adam_steps is not None:
        return {"maxiterations": adam_steps, "maxtime": None}
    return tr.same_work()


def _flow_vs_adam_summary(runs: list) -> dict:
    if not runs:
        return {"n_seeds": 0, "fixed_points": 0, "targets": {}}
    ratios = [r["loss_ratio_adam_over_train"] for r in runs]
    summary = {"median_loss_ratio": float(np.median(ratios)), "min_loss_ratio": float(np.min(ratios)),
               "fixed_points": int(sum(r["train_fixed_point"] for r in runs)), "n_seeds": len(runs),
               "max_train_gnorm": float(max(r["train_gnorm"] for r in runs)),
               "train_gradient_equivalents": [r["train_gradient_equivalents"] for r in runs],
               "adam_steps": [r["adam_steps"] for r in runs]}
    summary["targets"] = {"all_fixed_points(gnorm<=1e-10)": summary["fixed_points"] == len(runs),
                          "loss_ratio>=100_every_seed": summary["min_loss_ratio"] >= 100}
    return summary


def flow_vs_adam(seeds=(0, 1, 2, 3, 4), *, n_samples: int = 10_000, input_dim: int = 2, teacher_width: int = 4,
                 student_width: int = 8, activation: str = "softplus", adam_steps: int | None = None,
                 budget_s: float | None = None, lr: float = 1e-3, on_run=None) -> dict:
    """``train`` against full-batch Adam (lr ``lr``) from the same start, per seed.

    ``train`` runs on its default step budgets and stops at a fixed point; Adam gets, by default, the same work in
    steps: one step per gradient evaluation ``train`` made, a Hessian counted as ``n_params`` of them
    (:meth:`TrainResult.same_work`), or ``adam_steps`` steps. Both budgets count work, not seconds, so the report is
    the same on any machine and load, its ``*_time_s`` fields apart. ``budget_s`` gives Adam wall-clock seconds
    instead (the older comparison at equal wall time, which depends on the load). Both use the same NumPy kernels,
    one BLAS thread.

    Parameters
    ----------
    seeds : sequence of int
        One teacher, data set and student start per seed.
    n_samples, input_dim, teacher_width, student_width : int
    activation : str
    adam_steps : int, optional
        Adam's steps per seed (None: the work of that seed's ``train`` run).
    budget_s : float, optional
        Adam's wall-clock seconds per seed instead of a step budget (not reproducible; not with ``adam_steps``).
    lr : float
        Adam's step size.
    on_run : callable, optional
        Called with each finished seed's record.

    Returns
    -------
    dict
        JSON-able: settings (``adam_budget``: "same_work", "steps" or "wall_time"), ``summary`` (loss ratios, fixed
        points reached, targets) and ``runs``; ``reproducible`` is False with a wall-clock budget or after Ctrl-C.
        Ctrl-C stops at the seed it lands in and returns the finished seeds, with ``interrupted``: True.
    """
    from threadpoolctl import threadpool_limits

    from neuroflow.flow.baselines import adam
    from neuroflow.flow.engine import train
    from neuroflow.flow.teacher_student import teacher_student_problem
    from neuroflow.mlp.activations import get_activation

    # checked here, under these names: they were met inside the first seed's run as "layers[0] width",
    # "layers[0] activation" (the student MLP's), "maxtime" (adam's) or "'int' object is not iterable"
    seeds = as_list(seeds, "seeds", "seeds")
    for name, value in (("n_samples", n_samples), ("input_dim", input_dim), ("teacher_width", teacher_width),
                        ("student_width", student_width)):
        check_positive(value, name, integer=True)
    get_activation(activation)
    if adam_steps is not None:
        check_positive(adam_steps, "adam_steps", integer=True)
    if budget_s is not None:
        check_positive(budget_s, "budget_s")
    if adam_steps is not None and budget_s is not None:
        raise ValueError(f"adam_steps, budget_s: give Adam one budget, steps or seconds; got {adam_steps!r} steps "
                         f"and {budget_s!r} s")
    check_positive(lr, "lr")
    _check_callback(on_run, "on_run")
    kind = "wall_time" if budget_s is not None else "steps" if adam_steps is not None else "same_work"
    runs = []
    interrupted = False
    try:
        with threadpool_limits(limits=1):
            for seed in seeds:
                _, _, X, Y = teacher_student_problem(input_dim, teacher_width, n_samples, activation, seed=seed)
                student = MLP(input_dim, [(student_width, activation, True), (1, "identity", True)],
                              backend="numpy")
                theta0 = student.init_params(seed=10_000 + seed)
                tr = train(student, theta0, X, Y)
                if tr.interrupted:  # train returned what it had at Ctrl-C: Adam would run on a half-run's count
                    raise KeyboardInterrupt
                ad = adam(student, theta0, X, Y, lr=lr, **_adam_budget(tr, adam_steps, budget_s))
                if ad.stopped_by == "interrupted":
                    raise KeyboardInterrupt
                ev = np.linalg.eigvalsh(student.hessian(tr.x, X, Y))
                run = {"seed": int(seed), "train_loss": tr.loss, "train_gnorm": tr.gnorm, "train_time_s": tr.time_s,
                       "train_converged": tr.converged, "train_fixed_point": bool(tr.gnorm <= 1e-10),
                       "ode_iterations": tr.ode_iterations, "optim_iterations": tr.optim_iterations,
                       "ode_stopped_by": tr.ode_stopped_by, "optim_stopped_by": tr.optim_stopped_by,
                       "train_n_params": tr.n_params, "train_n_gradients": tr.n_gradients,
                       "train_n_hessians": tr.n_hessians, "train_gradient_equivalents": tr.gradient_equivalents,
                       "train_hessian_min_eig": float(ev[0]), "train_hessian_max_eig": float(ev[-1]),
                       "adam_loss": ad.loss, "adam_gnorm": ad.gnorm, "adam_time_s": ad.time_s,
                       "adam_steps": ad.iterations, "adam_stopped_by": ad.stopped_by,
                       "loss_ratio_adam_over_train": ad.loss / max(tr.loss, 1e-300)}
                runs.append(run)
                if on_run is not None:
                    on_run(run)
    except KeyboardInterrupt:  # the seed it landed in is dropped; the finished ones are returned
        interrupted = True
    budget = {"same_work": "train's work per seed: n_gradients + n_params * n_hessians steps",
              "steps": f"{adam_steps} steps per seed",
              "wall_time": f"{budget_s} s of wall time per seed (depends on the machine's load)"}[kind]
    report = {"benchmark": "flow_vs_adam", "n_samples": n_samples, "input_dim": input_dim,
              "teacher_width": teacher_width, "student_width": student_width, "activation": activation,
              "adam_budget": kind, "adam_budget_note": budget, "adam_fixed_steps": adam_steps,
              "adam_budget_s": budget_s,
              "train_budgets": "defaults (step budgets, no time cap)", "adam_lr": lr, "threads": {"blas": 1},
              "reproducible": kind != "wall_time" and not interrupted,
              "timing_fields": ["train_time_s", "adam_time_s"],
              "summary": _flow_vs_adam_summary(runs), "runs": runs}
    if interrupted:
        report["interrupted"] = True
    return report
