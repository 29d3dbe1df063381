"""``train``: gradient flow (ODE) to the neighbourhood of a fixed point, then Newton/BFGS polishing.

Phase 1 integrates ``d(theta)/dt = -grad (L + R)(theta)`` with one of SciPy's ``solve_ivp`` solvers
(RK45, DOP853, Radau, BDF, LSODA; the stiff ones get the exact Hessian as Jacobian). We drive the
solver object step by step, as ``solve_ivp`` does internally, so that a step budget, a patience rule,
a divergence (NaN), an optional wall-clock cap or Ctrl-C can end the phase cleanly with the reason
recorded. Phase 2 (:mod:`neuroflow.flow.polish`) polishes the best point: a Newton trust-region
method with the exact Hessian for small nets, ``scipy.optimize.minimize`` L-BFGS for larger ones.

Budgets count solver steps and optimiser iterations, so the same arguments give the same numbers
on a busy or a quiet machine; ``maxtime_ode`` / ``maxtime_optim`` are optional wall-clock caps
(``None``: none), and a phase they end says ``"maxtime"`` (``TrainResult.reproducible`` is then False).

``R`` is MLPGradientFlow.jl's norm barrier, ``R = (|theta|^2 / 2 - maxnorm)^2`` where
``|theta|^2 / 2 > maxnorm`` and 0 elsewhere (off by default, ``maxnorm=inf``). Reported losses and
gradient norms are those of the plain loss ``L``; how the best point is chosen is described in
:mod:`neuroflow.flow._tracking`.
"""
from __future__ import annotations

import math
import time
import warnings

import numpy as np
import scipy.integrate


from neuroflow._utils import check_array, check_choice, check_memory, check_positive
from neuroflow.backend import get_backend, serial
from neuroflow.flow._tracking import PhaseProgress, Problem, Thinned
from neuroflow.flow.objective import check_objective
from neuroflow.flow.polish import OPTIM_METHODS, optim_phase
from neuroflow.flow.result import TrainResult

__all__ = ["train", "TrainResult", "default_methods", "square_matrix_methods", "exact_hessian_methods", "ODE_METHODS",
           "OPTIM_METHODS"]

ODE_METHODS = ("RK45", "DOP853", "RK23", "Radau", "BDF", "LSODA")
_STIFF = ("Radau", "BDF", "LSODA")
#: polishers that keep a P x P matrix: the exact Hessian, or BFGS's dense estimate of its inverse
_HESSIAN_OPTIM = ("newton", "trust-exact", "trust-krylov", "bfgs")
#: above this many parameters "auto" integrates with DOP853 instead of LSODA
AUTO_STIFF_MAX_PARAMS = 500
#: above this many parameters "auto" polishes with L-BFGS instead of Newton (mirrored in Julia)
AUTO_NEWTON_MAX_PARAMS = 1000


def default_methods(n_params: int) -> tuple[str, str]:
    """The (ODE, optimiser) pair chosen by parameter count, in the spirit of MLPGradientFlow.jl.

    A stiffness-switching solver with the exact Hessian as Jacobian (LSODA) and Newton for small
    nets, explicit Runge-Kutta and L-BFGS for large ones. LSODA was picked over Radau and BDF on the
    teacher-student benchmark (4 -> 8 softplus units, N = 1e4): it reached gradient norms of 1e-10
    within seconds where Radau needed minutes. SciPy's dense BFGS update costs O(P^3) per iteration
    (seconds at P ~ 3000), so large nets get L-BFGS.

    Parameters
    ----------
    n_params : int

    Returns
    -------
    (str, str)
        ``(method_ode, method_optim)``.
    """
    ode = "LSODA" if n_params <= AUTO_STIFF_MAX_PARAMS else "DOP853"
    optim = "newton" if n_params <= AUTO_NEWTON_MAX_PARAMS else "lbfgs"
    return ode, optim


def square_matrix_methods(n_params: int, method_ode: str, method_optim: str) -> list[str]:
    """The methods of a run (after "auto" is resolved by :func:`default_methods`) that keep an
    ``n_params x n_params`` matrix: a stiff ODE solver's Jacobian or a polisher's exact Hessian (or BFGS's
    dense estimate of its inverse)."""
    auto_ode, auto_optim = default_methods(n_params)
    ode = auto_ode if method_ode == "auto" else method_ode
    optim = auto_optim if method_optim == "auto" else method_optim
    return [m for m, keeps in ((ode, ode in _STIFF), (optim, optim in _HESSIAN_OPTIM)) if keeps]


def exact_hessian_methods(n_params: int, method_ode: str, method_optim: str) -> list[str]:
    """Those of :func:`square_matrix_methods` that evaluate the exact Hessian (with its working arrays over the
    samples): all but BFGS, which keeps only its own estimate."""
    return [m for m in square_matrix_methods(n_params, method_ode, method_optim) if m != "bfgs"]


# ----------------------------------------------------------------------------- phase 1
def _ode_phase(prob: Problem, theta0, *, method, maxT, maxtime, maxiterations, min_gnorm, min_loss,
               patience, rtol, atol, n_trajectory, show_progress):
    start = time.perf_counter()

    def rhs(t, y):
        _, g = prob.total(y)
        return -g

    kwargs = dict(rtol=rtol, atol=atol)
    if method in _STIFF:
        kwargs["jac"] = lambda t, y: -prob.total_hessian(y)
    traj = Thinned(n_trajectory)
    L, g = prob.evaluate(theta0)
    gn = prob.record(theta0, L, g)
    traj.add((0.0, np.array(theta0, copy=True)))

    def done(reason, steps=0, t=0.0, x=theta0):
        L, g = prob.evaluate(x)
        return dict(x=np.array(x, copy=True), reason=reason, steps=steps, t=float(t), traj=traj, loss=L,
                    gnorm=float(np.max(np.abs(g))) if g.size else 0.0, time=time.perf_counter() - start)

    if not (math.isfinite(L) and math.isfinite(gn)):
        return done("diverged (loss or gradient is NaN/inf at theta0)")
    if gn <= min_gnorm or L <= min_loss:
        return done("min_gnorm" if gn <= min_gnorm else "min_loss")
    solver_cls = getattr(scipy.integrate, method)
    reason, steps, x, t = None, 0, np.array(theta0, copy=True), 0.0
    best_loss, since_best = L, 0
    bar = PhaseProgress(show_progress, "gradient flow", gn, min_gnorm, maxiterations, "step")
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            # LSODA warns on its own retries; a real failure ends the phase with its message as reason
            warnings.filterwarnings("ignore", message="lsoda:", category=UserWarning)
            solver = solver_cls(rhs, 0.0, np.array(theta0, copy=True), maxT, **kwargs)
            while reason is None:
                msg = solver.step()
                steps += 1
                if solver.status == "failed":
                    reason = f"solver failed: {msg}"
                    break
                x_new, t = solver.y, solver.t
                L, g = prob.evaluate(x_new)
                gn = prob.record(x_new, L, g)
                if not (math.isfinite(L) and math.isfinite(gn)) or not np.all(np.isfinite(x_new)):
                    reason = "diverged (NaN/inf in loss, gradient or parameters)"
                    break
                x = np.array(x_new, copy=True)
                traj.add((t, x))
                if L < best_loss * (1 - 1e-9) - 1e-300:
                    best_loss, since_best = L, 0
                else:
                    since_best += 1
                bar.update(steps, L, gn, prob.best[1])
                if gn <= min_gnorm:
                    reason = "min_gnorm"
                elif L <= min_loss:
                    reason = "min_loss"
                elif solver.status == "finished":
                    reason = "maxT"
                elif steps >= maxiterations:
                    reason = "maxiterations"
                elif maxtime is not None and time.perf_counter() - start >= maxtime:
                    reason = "maxtime"
                elif since_best >= patience:
                    reason = "patience"
    except KeyboardInterrupt:
        reason = "interrupted"
    except (ArithmeticError, ValueError, np.linalg.LinAlgError) as exc:  # e.g. a singular iteration matrix
        if isinstance(exc, ValueError) and str(exc).startswith(prob.name):
            raise  # the objective returned a wrongly shaped Hessian: the user's error, not the solver's
        reason = f"solver error: {type(exc).__name__}: {exc}"
    finally:
        bar.close()
    if traj.items and traj.items[-1][0] != t:
        traj.add((t, x), force=True)
    return done(reason, steps, t, x)


# ----------------------------------------------------------------------------- validation
def _check_options(o: dict) -> None:
    """Validate every option of :func:`train` (before anything is passed to a backend)."""
    check_choice(o["method_ode"], "method_ode", ["auto", *ODE_METHODS, "none"])
    check_choice(o["method_optim"], "method_optim", ["auto", *OPTIM_METHODS])
    for name in ("maxT", "reltol", "abstol"):
        check_positive(o[name], name)
    for name in ("maxtime_ode", "maxtime_optim"):
        if o[name] is not None:
            check_positive(o[name], name, allow_zero=True)
    for name in ("maxiterations_ode", "maxiterations_optim"):
        check_positive(o[name], name, integer=True, allow_zero=True)
    for name in ("patience", "n_trajectory"):
        check_positive(o[name], name, integer=True)
    check_positive(o["min_gnorm"], "min_gnorm", allow_zero=True)
    min_loss = o["min_loss"]
    if isinstance(min_loss, bool) or not isinstance(min_loss, (int, float, np.integer, np.floating)) \
            or math.isnan(min_loss) or min_loss == math.inf:
        raise ValueError(f"min_loss: expected a number or -inf, got {min_loss!r}")
    maxnorm = o["maxnorm"]
    if isinstance(maxnorm, bool) or not isinstance(maxnorm, (int, float, np.integer, np.floating)) \
            or not maxnorm > 0:
        raise ValueError(f"maxnorm: expected a positive number or inf, got {maxnorm!r}")
    if not isinstance(o["progress"], (bool, np.bool_)):
        raise ValueError(f"progress: expected True or False, got {o['progress']!r}")


# ----------------------------------------------------------------------------- public entry point
def train(net_or_objective, theta0, X=None, Y=None, *, weights=None, method_ode: str = "auto",
          method_optim: str = "auto", maxT: float = 1e10, maxiterations_ode: int = 10**5,
          maxiterations_optim: int = 10**5, maxtime_ode: float | None = None, maxtime_optim: float | None = None,
          min_gnorm: float = 1e-10, min_loss: float = -math.inf, patience: int = 10**4, maxnorm: float = math.inf,
          reltol: float = 1e-3, abstol: float = 1e-6, n_trajectory: int = 100, progress: bool = False,
          backend: str | None = None) -> TrainResult:
    """Train to a fixed point: gradient-flow ODE, then Newton / BFGS polishing.

    Every phase stops on a rule (``min_gnorm``, ``min_loss``, ``maxT``, ``patience``) or on its step
    budget, so the same arguments give the same numbers on any machine load; wall-clock caps are
    optional.

    Parameters
    ----------
    net_or_objective : MLP or Objective
        An :class:`neuroflow.mlp.MLP` (then ``X`` and ``Y`` are required) or anything following the
        :class:`~neuroflow.flow.objective.Objective` protocol (then ``X``/``Y`` must be None). The shapes
        an objective returns (scalar loss, gradient ``(n_params,)``, Hessian ``(n_params, n_params)``) are
        checked on their first evaluation.
    theta0 : array (n_params,)
        Initial parameters in the flat layout.
    X, Y, weights : arrays
        Inputs (N, d_in), targets (N, d_out), optional per-sample weights (N,).
    method_ode : "auto" | "RK45" | "DOP853" | "RK23" | "Radau" | "BDF" | "LSODA" | "none"
        SciPy ``solve_ivp`` solver for phase 1 ("none" skips it). "auto" follows :func:`default_methods`.
    method_optim : "auto" | "newton" | "trust-exact" | "trust-krylov" | "bfgs" | "lbfgs" | "none"
        Phase 2 polisher: "newton" is a trust-region Newton method with the exact Hessian, solved in
        the Hessian's eigenbasis (small nets); the others are SciPy ``minimize`` methods (BFGS and
        L-BFGS-B for large nets); "none" skips it.
    maxT : float
        Integration horizon of the gradient flow.
    maxiterations_ode, maxiterations_optim : int
        Step budgets: accepted solver steps of phase 1 and accepted optimiser iterations of phase 2
        (0 skips the phase). Converging flows need hundreds to a few thousand steps; 1e5 ends one that
        creeps (e.g. a relu unit dying in d = 1, where the vector field jumps) within a minute or so.
    maxtime_ode, maxtime_optim : float or None
        Optional wall-clock caps per phase, seconds (None: no cap). A phase a cap ends is not
        reproducible on another machine load; its ``*_stopped_by`` says ``"maxtime"``.
    min_gnorm, min_loss : float
        Stop (and call it converged) when the gradient's infinity norm or the loss falls to these
        (``min_loss`` is off by default). ``min_gnorm`` is absolute: on flat, nearly linear problems
        (small weights) a gradient of 1e-10 can still mean a relative loss of ~1e-11 and parameters a
        few degrees from the exact minimum; pass ``min_gnorm=0`` with a ``min_loss`` to polish further.
    patience : int
        End the ODE phase after this many steps without a lower loss.
    maxnorm : float
        Norm barrier: adds ``(|theta|^2/2 - maxnorm)^2`` where ``|theta|^2/2 > maxnorm`` (inf: off).
    reltol, abstol : float
        ODE solver tolerances (both > 0).
    n_trajectory : int
        About this many (up to twice) ODE points are kept in ``trajectory``.
    progress : bool
        Show tqdm progress bars (in decades of the gradient norm down to ``min_gnorm``).
    backend : str, optional
        Backend for an MLP ("auto", "numpy", "torch", "julia"); default: the net's own. A backend with
        its own pipeline (Julia) runs the whole of ``train`` natively. Refused with an Objective, which
        computes with whatever it was built on.

    Returns
    -------
    TrainResult
        ``x`` is the best point seen: the lowest loss, except that losses within their resolution
        (1e-9 relative, or both below ``sqrt(eps)`` times the initial loss) are a tie that the smaller
        gradient decides (:mod:`neuroflow.flow._tracking`). Polishing therefore never returns a point
        worse than the one it started from.
    """
    from neuroflow.mlp import MLP

    options = dict(method_ode=method_ode, method_optim=method_optim, maxT=maxT, maxtime_ode=maxtime_ode,
                   maxtime_optim=maxtime_optim, maxiterations_ode=maxiterations_ode,
                   maxiterations_optim=maxiterations_optim, min_gnorm=min_gnorm, min_loss=min_loss,
                   patience=patience, maxnorm=maxnorm, reltol=reltol, abstol=abstol, n_trajectory=n_trajectory,
                   progress=progress)
    _check_options(options)
    options.pop("progress")
    net_dict = None
    if isinstance(net_or_objective, MLP):
        net = net_or_objective
        if X is None or Y is None:
            raise ValueError("X, Y: train(net, theta0, X, Y) needs data when given an MLP; got None")
        if backend is not None:
            chosen = get_backend(backend)
            if chosen is not net.backend:
                net = net.with_backend(chosen)
        net_dict = net.to_dict()
        theta0 = net.check_theta(theta0, name="theta0")
        if net.backend.native_train is not None:  # the whole pipeline runs in the backend (Julia)
            Xc, Yc, _ = net.check_data(X, Y, weights)
            fields = net.backend.native_train(net, theta0, Xc, Yc, weights, dict(options, progress=progress))
            return TrainResult(**fields, init=theta0.copy(), n_params=net.n_params, options=dict(options),
                               net=net_dict)
        objective = net.objective(X, Y, weights)
    else:
        if X is not None or Y is not None or weights is not None:
            raise ValueError("X, Y, weights: an Objective carries its own data; pass X=Y=weights=None")
        if backend is not None:   # was ignored: backend="torch" ran on whatever the objective computes with
            raise ValueError(f"backend: an Objective computes its own loss, gradient and Hessian; a backend "
                             f"(got {backend!r}) is chosen only for an MLP: train(net, theta0, X, Y, backend=...) "
                             f"or net.with_backend(...).objective(X, Y)")
        objective = check_objective(net_or_objective)
        theta0 = check_array(theta0, "theta0", shape=(int(objective.n_params),))
    P = int(objective.n_params)
    auto_ode, auto_optim = default_methods(P)
    method_ode = auto_ode if method_ode == "auto" else method_ode
    method_optim = auto_optim if method_optim == "auto" else method_optim
    used = (method_ode if maxiterations_ode > 0 and maxtime_ode != 0 else "none",
            method_optim if maxiterations_optim > 0 and maxtime_optim != 0 else "none")
    hessian_users = square_matrix_methods(P, *used)
    if hessian_users and isinstance(net_or_objective, MLP):  # a P x P matrix per step: refused before any step
        name = (f"method_ode, method_optim ({' and '.join(hessian_users)} build{'s' if len(hessian_users) == 1 else ''}"
                f" a {P} x {P} matrix from the {objective.n_samples} samples; RK45, DOP853 and lbfgs do not)")
        if exact_hessian_methods(P, *used):
            net.check_hessian_memory(objective.n_samples, name)
        else:  # BFGS's estimate (and its update's temporaries), no exact Hessian
            check_memory(8 * 3 * P * P, name)

    theta0 = np.array(theta0, dtype=np.float64, copy=True)
    # one BLAS thread, whatever the caller's: the order of a product's sums depends on the thread count, and over
    # hundreds of steps last-bit differences grow into another end point (20 000 probes, a 64-40-20-10 net:
    # relative loss 0.86 on one thread and 0.77 on two after 300 L-BFGS steps), so a run would differ from one
    # machine to the next; on a busy machine extra threads only wait for each other (the README snippet: 3.0 s
    # instead of 21 s at load 12 on 2 cores); a torch net also keeps torch's own threads at one
    with serial(objective):
        return _run(objective, theta0, P, options, net_dict, method_ode=method_ode, method_optim=method_optim,
                    maxT=maxT, maxtime_ode=maxtime_ode, maxtime_optim=maxtime_optim,
                    maxiterations_ode=maxiterations_ode, maxiterations_optim=maxiterations_optim,
                    min_gnorm=min_gnorm, min_loss=min_loss, patience=patience, maxnorm=maxnorm, reltol=reltol,
                    abstol=abstol, n_trajectory=n_trajectory, progress=progress)


def _run(objective, theta0, P, options, net_dict, *, method_ode, method_optim, maxT, maxtime_ode, maxtime_optim,
         maxiterations_ode, maxiterations_optim, min_gnorm, min_loss, patience, maxnorm, reltol, abstol,
         n_trajectory, progress) -> TrainResult:
    """Both phases of :func:`train` on validated arguments ("auto" methods resolved)."""
    curve = Thinned(2000)
    prob = Problem(objective, float(maxnorm), time.perf_counter(), curve)

    # ---- phase 1
    if method_ode != "none" and maxtime_ode != 0 and maxiterations_ode > 0:
        ode = _ode_phase(prob, theta0, method=method_ode, maxT=float(maxT),
                         maxtime=None if maxtime_ode is None else float(maxtime_ode),
                         maxiterations=int(maxiterations_ode), min_gnorm=float(min_gnorm),
                         min_loss=float(min_loss), patience=int(patience), rtol=float(reltol),
                         atol=float(abstol), n_trajectory=int(n_trajectory), show_progress=progress)
    else:
        L, g = prob.evaluate(theta0)
        gn = prob.record(theta0, L, g)
        t = Thinned(1)
        t.add((0.0, theta0.copy()))
        ode = dict(x=theta0.copy(), reason="skipped", steps=0, t=0.0, traj=t, loss=L, gnorm=gn, time=0.0)

    # ---- phase 2 (from the best point so far)
    start_x = prob.best[2]
    skip_reason = None
    if method_optim == "none" or maxtime_optim == 0 or maxiterations_optim <= 0:
        skip_reason = "skipped"
    elif ode["reason"] in ("min_gnorm", "min_loss"):
        skip_reason = f"skipped ({ode['reason']} reached in the ODE phase)"
    elif ode["reason"] == "interrupted":
        skip_reason = "skipped (interrupted)"
    elif start_x is None or not np.all(np.isfinite(start_x)):
        skip_reason = "skipped (no finite starting point)"
    if skip_reason is None:
        opt = optim_phase(prob, start_x, method=OPTIM_METHODS[method_optim],
                          maxtime=None if maxtime_optim is None else float(maxtime_optim),
                          maxiterations=int(maxiterations_optim), min_gnorm=float(min_gnorm),
                          min_loss=float(min_loss), show_progress=progress)
    else:
        opt = dict(reason=skip_reason, steps=0, time=0.0)

    best_loss, best_gnorm, best_x = prob.best
    if best_x is None:  # nothing finite was ever seen
        best_x, best_loss, best_gnorm = ode["x"], float("nan"), float("nan")
    converged = bool(best_gnorm <= min_gnorm or best_loss <= min_loss)
    traj_t = np.array([t for t, _ in ode["traj"].items])
    traj = np.array([x for _, x in ode["traj"].items]).reshape(-1, P)
    return TrainResult(
        loss=float(best_loss), gnorm=float(best_gnorm), converged=converged, x=best_x, init=theta0,
        ode_x=ode["x"], ode_stopped_by=ode["reason"], optim_stopped_by=opt["reason"], ode_time_s=ode["time"],
        optim_time_s=opt["time"], ode_iterations=int(ode["steps"]), optim_iterations=int(opt["steps"]),
        trajectory=traj, loss_curve=np.array(curve.items, dtype=np.float64).reshape(-1, 4), trajectory_t=traj_t,
        ode_loss=float(ode["loss"]), ode_gnorm=float(ode["gnorm"]), ode_t=float(ode["t"]), method_ode=method_ode,
        method_optim=method_optim, n_params=P, n_gradients=prob.n_evals, n_hessians=prob.n_hessians, options=options,
        net=net_dict)
