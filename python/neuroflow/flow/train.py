"""``train``: gradient flow (ODE) to the neighbourhood of a fixed point, then Newton/BFGS polishing.

Phase 1 integrates ``d(theta)/dt = -grad (L + R)(theta)`` with one of SciPy's ``solve_ivp`` solvers
(RK45, DOP853, Radau, BDF, LSODA; the stiff ones get the exact Hessian as Jacobian). We drive the
solver object step by step, as ``solve_ivp`` does internally, so that a wall-time budget, a patience
rule, a divergence (NaN) or Ctrl-C can end the phase cleanly with the reason recorded.
Phase 2 polishes the best point: a Newton trust-region method with the exact Hessian (solved in the
Hessian's eigenbasis, judged by the gradient where the loss is below round-off) for small nets,
``scipy.optimize.minimize`` L-BFGS for larger ones (BFGS on request).

``R`` is MLPGradientFlow.jl's norm barrier, ``R = (|theta|^2 / 2 - maxnorm)^2`` where
``|theta|^2 / 2 > maxnorm`` and 0 elsewhere (off by default, ``maxnorm=inf``). Reported losses and
gradient norms are those of the plain loss ``L``.
"""
from __future__ import annotations

import json
import math
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.integrate
import scipy.optimize

from neuroflow._utils import check_array, check_choice, check_positive, to_jsonable
from neuroflow.backend import get_backend
from neuroflow._utils import progress as _progress_bar
from neuroflow.flow.objective import check_objective, loss_and_gradient

__all__ = ["train", "TrainResult", "default_methods", "ODE_METHODS", "OPTIM_METHODS"]

ODE_METHODS = ("RK45", "DOP853", "RK23", "Radau", "BDF", "LSODA")
_STIFF = ("Radau", "BDF", "LSODA")
#: friendly name -> scipy.optimize.minimize method
OPTIM_METHODS = {"newton": "newton-eig", "trust-exact": "trust-exact", "trust-krylov": "trust-krylov",
                 "bfgs": "BFGS", "lbfgs": "L-BFGS-B", "none": None}
_LOSS_CURVE_COLUMNS = ("time_s", "loss", "gnorm", "phase")


def default_methods(n_params: int) -> tuple[str, str]:
    """The (ODE, optimiser) pair chosen by parameter count, in the spirit of MLPGradientFlow.jl:
    a stiffness-switching solver with the exact Hessian as Jacobian (LSODA) and Newton for small
    nets, explicit Runge-Kutta and L-BFGS for large ones.

    LSODA was picked over Radau and BDF on the teacher-student benchmark (4 -> 8 softplus units,
    N = 1e4): it reached gradient norms of 1e-10 within seconds where Radau needed minutes."""
    ode = "LSODA" if n_params <= 500 else "DOP853"
    # SciPy's dense BFGS update costs O(P^3) per iteration (seconds at P ~ 3000), so large nets get L-BFGS
    optim = "newton" if n_params <= 1000 else "lbfgs"
    return ode, optim


# ----------------------------------------------------------------------------- result
@dataclass
class TrainResult:
    """Everything a ``train`` run produced, in the spirit of SciPy's ``OptimizeResult``.

    ``x`` is the best point found (lowest loss, ties broken by the smaller gradient), ``ode_x`` where
    the ODE phase ended. ``gnorm`` is the infinity norm of the loss gradient at ``x``. ``converged``
    is ``gnorm <= min_gnorm`` (or ``loss <= min_loss``). ``trajectory`` holds up to
    ``n_trajectory`` parameter vectors of the ODE phase (rows) at times ``trajectory_t``;
    ``loss_curve`` has rows ``(time_s, loss, gnorm, phase)`` (wall time since the start, phase 1 = ODE,
    2 = polishing).
    """

    loss: float
    gnorm: float
    converged: bool
    x: np.ndarray
    init: np.ndarray
    ode_x: np.ndarray
    ode_stopped_by: str
    optim_stopped_by: str
    ode_time_s: float
    optim_time_s: float
    ode_iterations: int
    optim_iterations: int
    trajectory: np.ndarray
    loss_curve: np.ndarray
    trajectory_t: np.ndarray = field(default_factory=lambda: np.zeros(0))
    ode_loss: float = float("nan")
    ode_gnorm: float = float("nan")
    ode_t: float = 0.0
    method_ode: str = ""
    method_optim: str = ""
    n_params: int = 0
    options: dict = field(default_factory=dict)
    net: dict | None = None

    @property
    def time_s(self) -> float:
        return self.ode_time_s + self.optim_time_s

    @property
    def loss_curve_columns(self) -> tuple[str, ...]:
        return _LOSS_CURVE_COLUMNS

    def to_dict(self) -> dict:
        d = {f: getattr(self, f) for f in self.__dataclass_fields__}
        d["time_s"] = self.time_s
        d["loss_curve_columns"] = list(_LOSS_CURVE_COLUMNS)
        return to_jsonable(d)

    def summary(self) -> dict:
        """The scalar fields only (what a CLI prints)."""
        keep = ("loss", "gnorm", "converged", "ode_stopped_by", "optim_stopped_by", "ode_time_s",
                "optim_time_s", "ode_iterations", "optim_iterations", "ode_loss", "ode_t", "method_ode",
                "method_optim", "n_params")
        d = {k: getattr(self, k) for k in keep}
        d["time_s"] = self.time_s
        return to_jsonable(d)

    def save(self, path) -> Path:
        """Write the result as JSON (arrays as lists, floats round-trip exactly)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict()))
        return path

    @classmethod
    def load(cls, path) -> "TrainResult":
        d = json.loads(Path(path).read_text())
        d.pop("time_s", None)
        d.pop("loss_curve_columns", None)

        def num(v):
            if v is None:
                return float("nan")
            if isinstance(v, str) and v in ("inf", "-inf"):
                return float(v)
            return v

        for k in ("x", "init", "ode_x", "trajectory_t"):
            d[k] = np.asarray(d[k], dtype=np.float64)
        P = len(d["x"])
        d["trajectory"] = np.asarray(d["trajectory"], dtype=np.float64).reshape(-1, P)
        d["loss_curve"] = np.asarray([[num(v) for v in row] for row in d["loss_curve"]],
                                     dtype=np.float64).reshape(-1, len(_LOSS_CURVE_COLUMNS))
        for k in ("loss", "gnorm", "ode_loss", "ode_gnorm", "ode_t"):
            d[k] = float(num(d[k]))
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


# ----------------------------------------------------------------------------- helpers
class _Stop(Exception):
    """Raised inside a phase to end it; carries the reason."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class _Thinned:
    """Keeps at most ~2n evenly spaced entries of a stream of unknown length (halving as it grows)."""

    def __init__(self, n: int):
        self.n = max(int(n), 1)
        self.items: list = []
        self.stride = 1
        self.count = 0

    def add(self, item, force: bool = False):
        if force or self.count % self.stride == 0:
            self.items.append(item)
            if len(self.items) >= 2 * self.n:
                self.items = self.items[::2]
                self.stride *= 2
        self.count += 1


class _Problem:
    """The objective plus the norm barrier, with a one-entry cache and best-point tracking."""

    def __init__(self, objective, maxnorm: float, t0: float, curve: _Thinned):
        self.obj = objective
        self.maxnorm = maxnorm
        self.t0 = t0
        self.curve = curve
        self.phase = 1
        self.cache_x = None
        self.cache = None
        self.best = (math.inf, math.inf, None)  # loss, gnorm, x
        self.loss_scale = None  # |loss| at the first finite point, for the round-off floor
        self.best_total = math.inf  # loss + barrier at the best point
        self.best_total_gnorm = math.inf
        self.n_evals = 0

    def evaluate(self, x: np.ndarray):
        """(loss, gradient) of the plain loss at x, cached for the last point."""
        if self.cache_x is not None and np.array_equal(self.cache_x, x):
            return self.cache
        L, g = loss_and_gradient(self.obj, x)
        self.n_evals += 1
        self.cache_x = np.array(x, copy=True)
        self.cache = (L, g)
        return L, g

    def record(self, x: np.ndarray, L: float, g: np.ndarray):
        gn = float(np.max(np.abs(g))) if g.size else 0.0
        R, gR = self.barrier(x)
        total = L + R
        gt = gn if gR is None else float(np.max(np.abs(g + gR)))
        bt, bgt = self.best_total, self.best_total_gnorm
        if math.isfinite(total) and math.isfinite(gt):
            if self.loss_scale is None:
                self.loss_scale = abs(total)
            # lower loss wins; within round-off of the best loss, the smaller gradient wins. The
            # absolute floor (round-off relative to the initial loss) matters for objectives whose
            # loss is a difference of large terms (the infinite-data Gaussian loss): near zero loss
            # their values are noise, and the gradient is the better judge.
            tol = max(1e-12 * abs(bt), 64 * np.finfo(float).eps * self.loss_scale) if math.isfinite(bt) else 0.0
            if total < bt - tol or (total <= bt + tol and gt < bgt):
                self.best = (L, gn, np.array(x, copy=True))
                self.best_total, self.best_total_gnorm = total, gt
        self.curve.add((time.perf_counter() - self.t0, L, gn, self.phase))
        return gn

    # barrier R = (|x|^2/2 - c)^2 where |x|^2/2 > c
    def barrier(self, x):
        if not math.isfinite(self.maxnorm):
            return 0.0, None
        s = 0.5 * float(x @ x) - self.maxnorm
        if s <= 0:
            return 0.0, None
        return s * s, 2.0 * s * x

    def total(self, x):
        L, g = self.evaluate(x)
        R, gR = self.barrier(x)
        if gR is not None:
            return L + R, g + gR
        return L, g

    def total_hessian(self, x):
        H = np.asarray(self.obj.hessian(x), dtype=np.float64)
        if math.isfinite(self.maxnorm):
            s = 0.5 * float(x @ x) - self.maxnorm
            if s > 0:
                H = H + 2.0 * s * np.eye(x.size) + 2.0 * np.outer(x, x)
        return H


# ----------------------------------------------------------------------------- phases
def _ode_phase(prob: _Problem, theta0, *, method, maxT, maxtime, maxiterations, min_gnorm, min_loss,
               patience, rtol, atol, n_trajectory, show_progress):
    start = time.perf_counter()

    def rhs(t, y):
        _, g = prob.total(y)
        return -g

    kwargs = dict(rtol=rtol, atol=atol)
    if method in _STIFF:
        kwargs["jac"] = lambda t, y: -prob.total_hessian(y)
    traj = _Thinned(n_trajectory)
    L, g = prob.evaluate(theta0)
    gn = prob.record(theta0, L, g)
    traj.add((0.0, np.array(theta0, copy=True)))
    if not (math.isfinite(L) and math.isfinite(gn)):
        return dict(x=np.array(theta0), reason="diverged (loss or gradient is NaN/inf at theta0)", steps=0,
                    t=0.0, traj=traj, loss=L, gnorm=gn, time=time.perf_counter() - start)
    if gn <= min_gnorm or L <= min_loss:
        return dict(x=np.array(theta0), reason="min_gnorm" if gn <= min_gnorm else "min_loss", steps=0, t=0.0,
                    traj=traj, loss=L, gnorm=gn, time=time.perf_counter() - start)
    solver_cls = getattr(scipy.integrate, method)
    reason, steps, x, t = None, 0, np.array(theta0, copy=True), 0.0
    best_loss, since_best = L, 0
    bar = _progress_bar(total=None, enabled=show_progress, desc="gradient flow", unit="step", leave=False)
    last_bar = start
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
                now = time.perf_counter()
                if show_progress and now - last_bar > 0.3:
                    bar.update(steps - bar.n)
                    bar.set_postfix(loss=f"{L:.3e}", gnorm=f"{gn:.2e}", t=f"{t:.3g}")
                    last_bar = now
                if gn <= min_gnorm:
                    reason = "min_gnorm"
                elif L <= min_loss:
                    reason = "min_loss"
                elif solver.status == "finished":
                    reason = "maxT"
                elif steps >= maxiterations:
                    reason = "maxiterations"
                elif now - start >= maxtime:
                    reason = "maxtime"
                elif since_best >= patience:
                    reason = "patience"
    except KeyboardInterrupt:
        reason = "interrupted"
    except (ArithmeticError, ValueError, np.linalg.LinAlgError) as exc:  # e.g. a singular iteration matrix
        reason = f"solver error: {type(exc).__name__}: {exc}"
    finally:
        bar.close()
    if traj.items and traj.items[-1][0] != t:
        traj.add((t, x), force=True)
    L, g = prob.evaluate(x)
    return dict(x=x, reason=reason, steps=steps, t=float(t), traj=traj, loss=L,
                gnorm=float(np.max(np.abs(g))) if g.size else 0.0, time=time.perf_counter() - start)


def _tr_step(ev, c, radius):
    """Exact trust-region step in the eigenbasis of the Hessian: minimise ``c.p + p.diag(ev).p / 2``
    over ``|p| <= radius`` (Moré-Sorensen, solved on the secular equation)."""
    lam_min = float(ev[0])
    if lam_min > 0:
        p = -c / ev
        if np.linalg.norm(p) <= radius:
            return p, 0.0
    lo = max(0.0, -lam_min)
    shifted = ev - lam_min
    # hard case: no gradient component along the lowest eigenvector(s)
    small = shifted <= 1e-12 * max(1.0, float(np.abs(ev).max()))
    if lam_min <= 0 and np.all(np.abs(c[small]) <= 1e-300):
        p = np.zeros_like(c)
        big = ~small
        p[big] = -c[big] / (ev[big] - lam_min)
        rest = radius**2 - float(p @ p)
        if rest > 0:
            p[np.argmax(small)] = math.sqrt(rest)
            return p, lo
    # secular equation 1/|p(lam)| = 1/radius, monotone in lam > lo
    def pnorm(lam):
        return float(np.linalg.norm(c / (ev + lam)))

    hi = lo + float(np.linalg.norm(c)) / radius + 1.0
    while pnorm(hi) > radius:
        hi *= 2.0
    lam = hi
    a, b = lo, hi
    for _ in range(100):
        lam = 0.5 * (a + b) if b - a > 1e-15 * max(1.0, b) else b
        if pnorm(lam) > radius:
            a = lam
        else:
            b = lam
        if b - a <= 1e-14 * max(1.0, b):
            break
    lam = b
    return -c / (ev + lam), lam


def _newton_eig(fun, hess, x0, *, maxiterations, callback):
    """Newton trust region with the exact Hessian, solved in the Hessian's eigenbasis.

    Small nets only (one eigendecomposition per iteration). Where the loss no longer resolves the
    predicted decrease (round-off near a minimum), a step is judged by the gradient norm instead, so
    that the last quadratically convergent steps are not rejected as noise.
    """
    x = np.array(x0, dtype=np.float64, copy=True)
    L, g = fun(x)
    radius = max(1.0, float(np.linalg.norm(x))) * 0.1
    for it in range(maxiterations):
        H = hess(x)
        ev, V = np.linalg.eigh(0.5 * (H + H.T))
        c = V.T @ g
        while True:
            pt, _ = _tr_step(ev, c, radius)
            p = V @ pt
            pred = float(c @ pt + 0.5 * (ev * pt) @ pt)  # predicted change (negative)
            Ln, gn = fun(x + p)
            noise = 1e-9 * abs(L) + 1e-300
            if -pred <= noise:  # the loss cannot tell: accept if the gradient shrinks
                ok = np.max(np.abs(gn)) < np.max(np.abs(g))
                rho = 1.0 if ok else 0.0
            else:
                rho = (Ln - L) / pred if math.isfinite(Ln) else -1.0
                ok = rho > 1e-4
            step = float(np.linalg.norm(pt))
            if rho < 0.25:
                radius = 0.25 * step
            elif rho > 0.75 and step >= 0.99 * radius:
                radius = 2.0 * radius
            if ok:
                x, L, g = x + p, Ln, gn
                break
            if radius < 1e-300:
                raise _Stop("trust region collapsed")
        callback(None)
    return x


def _optim_phase(prob: _Problem, x0, *, method, maxtime, maxiterations, min_gnorm, min_loss, show_progress):
    start = time.perf_counter()
    prob.phase = 2
    iters = [0]
    bar = _progress_bar(total=maxiterations, enabled=show_progress, desc=f"polish ({method})", unit="it", leave=False)

    def fun(x):
        if time.perf_counter() - start >= maxtime:
            raise _Stop("maxtime")
        L, g = prob.evaluate(x)
        gn = prob.record(x, L, g)
        if not (math.isfinite(L) and math.isfinite(gn)):
            raise _Stop("diverged (NaN/inf in loss or gradient)")
        if gn <= min_gnorm:
            raise _Stop("min_gnorm")
        if L <= min_loss:
            raise _Stop("min_loss")
        return prob.total(x)

    def callback(intermediate_result):
        iters[0] += 1
        bar.update(1)
        if show_progress:
            bar.set_postfix(loss=f"{prob.best[0]:.3e}", gnorm=f"{prob.best[1]:.2e}")
        if time.perf_counter() - start >= maxtime:
            raise StopIteration

    options: dict[str, Any] = {"maxiter": int(maxiterations)}
    kwargs: dict[str, Any] = {}
    if method in ("trust-exact", "trust-krylov", "trust-ncg"):
        kwargs["hess"] = prob.total_hessian
        options["gtol"] = min_gnorm
    elif method == "BFGS":
        options.update(gtol=min_gnorm, norm=np.inf)
    elif method == "L-BFGS-B":
        options.update(gtol=min_gnorm, ftol=0.0, maxfun=10 * int(maxiterations) + 100, maxcor=20)
    reason = None
    try:
        if method == "newton-eig":
            with np.errstate(all="ignore"):
                _newton_eig(fun, prob.total_hessian, x0, maxiterations=int(maxiterations),
                            callback=callback)
            reason = "maxiterations"
            raise _Stop(reason)
        with np.errstate(all="ignore"):
            res = scipy.optimize.minimize(fun, x0, jac=True, method=method, callback=callback, options=options,
                                          **kwargs)
        if res.status == 99 or "callback" in str(res.message).lower():
            reason = "maxtime"
        elif res.success:
            reason = "converged: " + str(res.message)
        else:
            reason = str(res.message)
    except (_Stop, StopIteration) as stop:
        reason = stop.reason if isinstance(stop, _Stop) else "maxtime"
    except KeyboardInterrupt:
        reason = "interrupted"
    except np.linalg.LinAlgError as exc:
        reason = f"linear algebra failure: {exc}"
    finally:
        bar.close()
    if iters[0] >= maxiterations and reason and not reason.startswith(("min_", "converged")):
        reason = "maxiterations"
    return dict(reason=reason, steps=iters[0], time=time.perf_counter() - start)


# ----------------------------------------------------------------------------- public entry point
def train(net_or_objective, theta0, X=None, Y=None, *, weights=None, method_ode: str = "auto",
          method_optim: str = "auto", maxT: float = 1e10, maxtime_ode: float = 60.0,
          maxtime_optim: float = 60.0, maxiterations_ode: int = 10**6, maxiterations_optim: int = 10**5,
          min_gnorm: float = 1e-10, min_loss: float = -math.inf, patience: int = 10**4, maxnorm: float = math.inf,
          reltol: float = 1e-3, abstol: float = 1e-6, n_trajectory: int = 100, progress: bool = False,
          backend: str | None = None) -> TrainResult:
    """Train to a fixed point: gradient-flow ODE, then Newton / BFGS polishing.

    Parameters
    ----------
    net_or_objective : MLP or Objective
        An :class:`neuroflow.mlp.MLP` (then ``X`` and ``Y`` are required) or anything following the
        :class:`~neuroflow.flow.objective.Objective` protocol (then ``X``/``Y`` must be None).
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
    maxtime_ode, maxtime_optim : float
        Wall-time budget per phase, seconds.
    maxiterations_ode, maxiterations_optim : int
        Solver steps / optimiser iterations per phase.
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
        ODE solver tolerances.
    n_trajectory : int
        About this many (up to twice) ODE points are kept in ``trajectory``.
    progress : bool
        Show tqdm progress bars.
    backend : str, optional
        Backend for an MLP ("auto", "numpy", "torch", "julia"); default: the net's own. With "julia",
        the whole run happens in Julia through ``neuroflow.julia.bridge.train``.

    Returns
    -------
    TrainResult
    """
    from neuroflow.mlp import MLP

    options = dict(method_ode=method_ode, method_optim=method_optim, maxT=maxT, maxtime_ode=maxtime_ode,
                   maxtime_optim=maxtime_optim, maxiterations_ode=maxiterations_ode,
                   maxiterations_optim=maxiterations_optim, min_gnorm=min_gnorm, min_loss=min_loss,
                   patience=patience, maxnorm=maxnorm, reltol=reltol, abstol=abstol, n_trajectory=n_trajectory)
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
        objective = check_objective(net_or_objective)
        theta0 = check_array(theta0, "theta0", shape=(int(objective.n_params),))
    P = int(objective.n_params)
    auto_ode, auto_optim = default_methods(P)
    method_ode = auto_ode if method_ode == "auto" else method_ode
    method_optim = auto_optim if method_optim == "auto" else method_optim
    check_choice(method_ode, "method_ode", [*ODE_METHODS, "none"])
    check_choice(method_optim, "method_optim", list(OPTIM_METHODS))
    for name, value in (("maxtime_ode", maxtime_ode), ("maxtime_optim", maxtime_optim), ("maxT", maxT),
                        ("reltol", reltol), ("abstol", abstol)):
        check_positive(value, name, allow_zero=name.startswith("maxtime"))
    for name, value in (("maxiterations_ode", maxiterations_ode), ("maxiterations_optim", maxiterations_optim),
                        ("patience", patience), ("n_trajectory", n_trajectory)):
        check_positive(value, name, integer=True, allow_zero=name.startswith("maxiterations"))
    check_positive(min_gnorm, "min_gnorm", allow_zero=True)
    if not isinstance(min_loss, (int, float)) or math.isnan(min_loss):
        raise ValueError(f"min_loss: expected a number, got {min_loss!r}")
    if not (isinstance(maxnorm, (int, float)) and maxnorm > 0):
        raise ValueError(f"maxnorm: expected a positive number or inf, got {maxnorm!r}")

    theta0 = np.array(theta0, dtype=np.float64, copy=True)
    t_start = time.perf_counter()
    curve = _Thinned(2000)
    prob = _Problem(objective, float(maxnorm), t_start, curve)

    # ---- phase 1
    if method_ode != "none" and maxtime_ode > 0 and maxiterations_ode > 0:
        ode = _ode_phase(prob, theta0, method=method_ode, maxT=float(maxT), maxtime=float(maxtime_ode),
                         maxiterations=int(maxiterations_ode), min_gnorm=float(min_gnorm),
                         min_loss=float(min_loss), patience=int(patience), rtol=float(reltol),
                         atol=float(abstol), n_trajectory=int(n_trajectory), show_progress=progress)
    else:
        L, g = prob.evaluate(theta0)
        gn = prob.record(theta0, L, g)
        t = _Thinned(1)
        t.add((0.0, theta0.copy()))
        ode = dict(x=theta0.copy(), reason="skipped", steps=0, t=0.0, traj=t, loss=L, gnorm=gn, time=0.0)

    # ---- phase 2 (from the best point so far)
    start_x = prob.best[2] if prob.best[2] is not None else ode["x"]
    skip_reason = None
    if method_optim == "none" or maxtime_optim <= 0 or maxiterations_optim <= 0:
        skip_reason = "skipped"
    elif ode["reason"] in ("min_gnorm", "min_loss", "interrupted"):
        skip_reason = f"skipped ({ode['reason']} reached in the ODE phase)" if ode["reason"] != "interrupted" \
            else "skipped (interrupted)"
    elif not np.all(np.isfinite(start_x)) or prob.best[2] is None:
        skip_reason = "skipped (no finite starting point)"
    if skip_reason is None:
        opt = _optim_phase(prob, start_x, method=OPTIM_METHODS[method_optim], maxtime=float(maxtime_optim),
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
        method_optim=method_optim, n_params=P, options=options, net=net_dict)
