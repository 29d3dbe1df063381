"""The juliacall bridge: NeuroFlow.jl kernels behind the same calls the NumPy reference answers.

Nothing here imports juliacall at module import time; :func:`load` does, once, on the first call of
any wrapper (or when called directly, which is how a program makes sure Julia starts before torch).

Conventions at the boundary
---------------------------
* Samples are rows in Python and columns in Julia: wrappers pass ``X.T``, a free Fortran-order view.
  Julia copies it once into a dense matrix so that its kernels run on BLAS; parameter vectors are
  copied the same way (they are small). Results come back as NumPy views of the Julia arrays.
* Arrays that the kernels update in place (crossbar weights, cycle states, random streams, maze
  state) are handed over as they are; juliacall wraps the NumPy buffers without copying.
* Indices: Python's 0-based device, state and cell indices become 1-based on the Julia side. Read-only
  index arrays are shifted in a small copy; the T-maze position, which the kernels update, is shifted
  in place and shifted back afterwards (also when the call fails).
* Ctrl-C: with ``PYTHON_JULIACALL_HANDLE_SIGNALS=yes`` (set here unless you chose otherwise) an
  interrupt reaches Julia as ``InterruptException``; ``train`` then ends the current phase with the
  reason ``"interrupted"`` and keeps the best point, and the other wrappers raise KeyboardInterrupt.
"""
from __future__ import annotations

import json
import os
import sys
import warnings
from pathlib import Path

import numpy as np

from neuroflow._utils import exception_reason
from neuroflow.julia import AFTER_TORCH_VAR, available, find_julia_executable

__all__ = ["load", "is_loaded", "JuliaStartError", "juliapkg_file", "julia_source_dir", "mlp_forward", "mlp_loss", "mlp_gradient",
           "mlp_loss_and_gradient", "mlp_hessian", "activations", "train", "crossbar_program", "td_step", "td_run",
           "JULIA_ODE_METHODS", "JULIA_OPTIM_METHODS"]

_HERE = Path(__file__).resolve().parent
#: Python-side method names the Julia ``train`` understands (compared case-insensitively)
JULIA_ODE_METHODS = ("auto", "RK45", "dp5", "rk4", "none")
JULIA_OPTIM_METHODS = ("auto", "newton", "trust-exact", "bfgs", "lbfgs", "none")

_STATE: dict = {"module": None}


def juliapkg_file() -> Path:
    """The ``juliapkg.json`` that declares NeuroFlow (a dev dependency with a path) for juliacall."""
    return _HERE / "juliapkg.json"


def julia_source_dir() -> Path:
    """Where the NeuroFlow.jl sources are, as the ``juliapkg.json`` says (resolved, may be a link target)."""
    spec = json.loads(juliapkg_file().read_text())["packages"]["NeuroFlow"]
    return (_HERE / spec["path"]).resolve()


def is_loaded() -> bool:
    """Whether :func:`load` has already started Julia in this process."""
    return _STATE["module"] is not None


def load():
    """Start Julia through juliacall (once) and return the ``NeuroFlow`` module.

    Refuses with RuntimeError when Julia is not usable (the reason says what is missing and how to
    install it) or when torch was imported before juliacall: both bundle LLVM and that order can crash
    the process, so call ``load()`` before anything imports torch (or set
    ``NEUROFLOW_JULIA_AFTER_TORCH=1`` to go ahead with a warning). Sets, unless already set:
    ``PYTHON_JULIAPKG_EXE`` to the Julia found by :func:`neuroflow.julia.available` (so juliapkg
    never downloads a Julia of its own) and ``PYTHON_JULIACALL_HANDLE_SIGNALS=yes`` (Julia threads
    and Ctrl-C need it). ``PYTHON_JULIACALL_THREADS`` is left to you.
    """
    if _STATE["module"] is not None:
        return _STATE["module"]
    ok, reason = available()
    if not ok and reason.startswith("torch was imported"):
        raise RuntimeError(reason)
    if not ok:
        raise RuntimeError(
            f"the Julia backend is not usable: {reason}. Install Julia (juliaup: "
            "https://julialang.org/install), then pip install \"neuroflow[julia]\"; `neuroflow info` shows "
            "what was found")
    if "juliacall" not in sys.modules and "torch" in sys.modules:
        message = ("torch was imported before juliacall; both load LLVM and this order can crash the process. "
                   "Call neuroflow.julia.bridge.load() before anything imports torch")
        if os.environ.get(AFTER_TORCH_VAR, "").lower() not in ("1", "yes", "true"):
            raise RuntimeError(message + f", or set {AFTER_TORCH_VAR}=1 to try anyway")
        warnings.warn(message, RuntimeWarning, stacklevel=2)
    os.environ.setdefault("PYTHON_JULIAPKG_EXE", find_julia_executable() or "julia")
    os.environ.setdefault("PYTHON_JULIACALL_HANDLE_SIGNALS", "yes")
    # juliapkg collects juliapkg.json files from the entries of sys.path and their direct
    # subfolders; ours sits one level deeper (neuroflow/julia/), so its folder is added, at the end
    # so that it shadows nothing.
    if str(_HERE) not in sys.path:
        sys.path.append(str(_HERE))
    try:
        from juliacall import Main as jl  # noqa: PLC0415 - the lazy import is the point

        jl.seval("using NeuroFlow")
    except Exception as exc:  # juliapkg's resolution, Julia failing to load NeuroFlow (not instantiated, no network)
        raise JuliaStartError(
            f"backend: 'julia' could not start NeuroFlow.jl ({exception_reason(exc, 200)}); it needs Julia >= 1.10 "
            f"and the package at {julia_source_dir()}; `neuroflow info` shows what was found") from None
    _STATE["module"] = jl.NeuroFlow
    return _STATE["module"]


class JuliaStartError(RuntimeError, ValueError):
    """Julia was found but did not start NeuroFlow.jl. A RuntimeError as :func:`load`'s other refusals, and a
    ValueError naming ``backend``, so that a command line says it in one line (it was a juliacall traceback)."""


# ----------------------------------------------------------------------------- conversions
def _vec(x) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.float64)


def _cols(A) -> np.ndarray:
    """Samples-in-rows (N, d) to samples-in-columns (d, N): the transpose, a Fortran-order view."""
    return np.asarray(A, dtype=np.float64).T


def _weights(weights):
    return None if weights is None else _vec(weights)


def _jl_net(net):
    """The Julia MLP for a Python ``neuroflow.MLP`` (cached on the Python object)."""
    cached = getattr(net, "_julia_net", None)
    if cached is not None:
        return cached
    nf = load()
    widths = np.array([w for (w, _, _) in net.layers], dtype=np.int64)
    acts = ",".join(a for (_, a, _) in net.layers)
    biases = np.array([b for (_, _, b) in net.layers], dtype=bool)
    jnet = nf.MLP(int(net.input_dim), widths, acts, biases)
    try:
        net._julia_net = jnet
    except AttributeError:  # a frozen or slotted object: no cache
        pass
    return jnet


def _field(result, name: str):
    """A field of a Julia NamedTuple (juliacall wraps it and exposes the fields as attributes)."""
    try:
        return getattr(result, name)
    except AttributeError:
        return result[name]


def _call(fn, *args, **kwargs):
    """Call into Julia; an InterruptException there becomes KeyboardInterrupt here."""
    try:
        return fn(*args, **kwargs)
    except Exception as exc:  # juliacall.JuliaError, imported lazily
        if type(exc).__name__ == "JuliaError" and "InterruptException" in str(exc):
            raise KeyboardInterrupt from exc
        raise


# ----------------------------------------------------------------------------- MLP kernels
def mlp_forward(net, theta, X, Y=None, weights=None):
    """Network outputs (N, output_dim); with ``Y``, the pair ``(outputs, loss)``."""
    nf = load()
    out = np.asarray(_call(nf.forward, _jl_net(net), _vec(theta), _cols(X))).T
    if Y is None:
        return out
    return out, mlp_loss(net, theta, X, Y, weights)


def mlp_loss(net, theta, X, Y, weights=None) -> float:
    """The (weighted) mean over samples of the summed squared error, as ``MLP.loss``."""
    nf = load()
    return float(_call(nf.loss, _jl_net(net), _vec(theta), _cols(X), _cols(Y), weights=_weights(weights)))


def mlp_gradient(net, theta, X, Y, weights=None) -> np.ndarray:
    """Gradient of :func:`mlp_loss` with respect to the flat parameters."""
    return mlp_loss_and_gradient(net, theta, X, Y, weights)[1]


def mlp_loss_and_gradient(net, theta, X, Y, weights=None) -> tuple[float, np.ndarray]:
    """``(loss, gradient)`` from one fused forward/backward pass."""
    nf = load()
    L, g = _call(nf.loss_and_gradient, _jl_net(net), _vec(theta), _cols(X), _cols(Y), weights=_weights(weights))
    return float(L), np.asarray(g)


def mlp_hessian(net, theta, X, Y, weights=None) -> np.ndarray:
    """Exact Hessian (n_params, n_params) of :func:`mlp_loss`."""
    nf = load()
    return np.asarray(_call(nf.hessian, _jl_net(net), _vec(theta), _cols(X), _cols(Y), weights=_weights(weights)))


def activations(name: str, x) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(f(x), f'(x), f''(x))`` of the Julia activation ``name`` (for comparisons with NumPy)."""
    nf = load()
    f, df, d2f = _call(nf.activate, str(name), _vec(np.atleast_1d(x)))
    return np.asarray(f), np.asarray(df), np.asarray(d2f)


# ----------------------------------------------------------------------------- train
def _check_method(value, name, choices):
    if not isinstance(value, str) or value.lower() not in {c.lower() for c in choices}:
        raise ValueError(
            f"{name}: the Julia backend offers {list(choices)} ('RK45' and 'dp5' are both Dormand-Prince 5(4)), "
            f"got {value!r}; use backend='numpy' for the other SciPy methods")
    return value


def train(net, theta0, X, Y, weights, options: dict):
    """Run ``NeuroFlow.train`` on an MLP and its data; returns the fields of a
    :class:`neuroflow.flow.TrainResult` (all but ``init``, ``n_params``, ``options`` and ``net``, which the engine adds).

    ``options`` are those of :func:`neuroflow.flow.train` (method_ode, method_optim, maxT,
    maxtime_ode, maxtime_optim, maxiterations_ode, maxiterations_optim, min_gnorm, min_loss, patience,
    maxnorm, reltol, abstol, n_trajectory, progress), already validated by it; a ``maxtime_*`` of None
    (no cap) is left to Julia's default, which is no cap either. The Julia backend integrates with
    Dormand–Prince 5(4) ("auto", "RK45", "dp5") or fixed-step RK4 ("rk4", with ``dt`` in options) and
    polishes with its trust-region Newton ("newton", "trust-exact"), BFGS or L-BFGS ("auto": Newton up
    to 1000 parameters, else L-BFGS, as the NumPy engine).

    Parameters
    ----------
    net : MLP
    theta0 : array (n_params,)
    X, Y : arrays
        Validated data, samples in rows.
    weights : array or None
    options : dict

    Returns
    -------
    dict
        The fields of a ``TrainResult`` as plain Python values.
    """
    opts = dict(options)
    opts.pop("backend", None)
    _check_method(opts.get("method_ode", "auto"), "method_ode", JULIA_ODE_METHODS)
    _check_method(opts.get("method_optim", "auto"), "method_optim", JULIA_OPTIM_METHODS)
    kwargs = {}
    for key in ("method_ode", "method_optim"):
        if key in opts:
            kwargs[key] = str(opts[key])
    for key in ("maxT", "maxtime_ode", "maxtime_optim", "min_gnorm", "min_loss", "maxnorm", "reltol", "abstol"):
        if opts.get(key) is not None:
            kwargs[key] = float(opts[key])
    for key in ("maxiterations_ode", "maxiterations_optim", "patience", "n_trajectory"):
        if key in opts:
            kwargs[key] = int(opts[key])
    if opts.get("dt") is not None:
        kwargs["dt"] = float(opts["dt"])
    kwargs["progress"] = bool(opts.get("progress", False))
    nf = load()
    theta0 = _vec(theta0)
    r = _call(nf.train, _jl_net(net), theta0, _cols(X), _cols(Y), weights=_weights(weights), **kwargs)
    P = int(net.n_params)
    f = {name: _field(r, name) for name in (
        "loss", "gnorm", "converged", "x", "ode_x", "ode_stopped_by", "optim_stopped_by", "ode_time_s",
        "optim_time_s", "ode_iterations", "optim_iterations", "trajectory", "loss_curve", "trajectory_t",
        "ode_loss", "ode_gnorm", "ode_t", "method_ode", "method_optim", "n_gradients", "n_hessians")}
    return dict(
        loss=float(f["loss"]), gnorm=float(f["gnorm"]), converged=bool(f["converged"]),
        x=np.array(f["x"], dtype=np.float64), ode_x=np.array(f["ode_x"], dtype=np.float64),
        ode_stopped_by=str(f["ode_stopped_by"]), optim_stopped_by=str(f["optim_stopped_by"]),
        ode_time_s=float(f["ode_time_s"]), optim_time_s=float(f["optim_time_s"]),
        ode_iterations=int(f["ode_iterations"]), optim_iterations=int(f["optim_iterations"]),
        trajectory=np.array(f["trajectory"], dtype=np.float64).reshape(-1, P),
        loss_curve=np.array(f["loss_curve"], dtype=np.float64).reshape(-1, 4),
        trajectory_t=np.array(f["trajectory_t"], dtype=np.float64), ode_loss=float(f["ode_loss"]),
        ode_gnorm=float(f["ode_gnorm"]), ode_t=float(f["ode_t"]), method_ode=f"{f['method_ode']} (julia)",
        method_optim=f"{f['method_optim']} (julia)", n_gradients=int(f["n_gradients"]),
        n_hessians=int(f["n_hessians"]))


# ----------------------------------------------------------------------------- memristors
def _one_based(a) -> np.ndarray:
    return np.asarray(a, dtype=np.int64) + 1


def crossbar_program(w, dw, cell_device, mode, n_pulses, ab, sigma, cycles, cstate, rng, min_update) -> np.ndarray:
    """``NeuroFlow.crossbar_program!`` with the arguments of ``neuroflow.memristor.kernels.crossbar_program``.

    ``w`` (n_seeds, n_cells), ``cstate`` and ``rng`` are updated in place; ``cell_device`` is 0-based
    here and shifted for Julia. Returns the signed pulse counts (n_seeds, n_cells).
    """
    nf = load()
    pulses = _call(nf.crossbar_program_b, w, np.asarray(dw, dtype=np.float64), _one_based(cell_device), int(mode),
                   int(n_pulses), np.asarray(ab, dtype=np.float64), np.asarray(sigma, dtype=np.float64),
                   np.asarray(cycles, dtype=np.float64), cstate, rng, float(min_update))
    return np.asarray(pulses)


# ----------------------------------------------------------------------------- mazes
_MAZES = ("tmaze", "watermaze")


def _maze_call(maze, run, args):
    """Call a Julia maze kernel with the arguments of the numba one: ``(e_end, params, tmap, devices, state)``
    (T-maze) or ``(e_end, params, centres, moves, devices, state)`` (water maze), where ``params``, ``devices``
    and ``state`` are the records of :mod:`neuroflow.rl.kernels`; they become the Julia structs of the same
    names (fields in the same order), with the index shifts of the module text."""
    if maze not in _MAZES:
        raise ValueError(f"maze: expected one of {list(_MAZES)}, got {maze!r}")
    nf = load()
    e_end, params, *env, devices, state = args
    if maze == "tmaze":                    # terminal, reward and start states are 1-based in Julia
        params = params._replace(terminal=params.terminal + 1, reward_state=params.reward_state + 1,
                                 start=params.start + 1)
        env = [_one_based(env[0])]
    jl_params = nf.TDParams(*params)
    jl_devices = nf.MazeDevices(devices.ab, devices.sigma, devices.cycles, _one_based(devices.dev_c),
                                _one_based(devices.dev_a))
    jl_state = nf.MazeState(*state)
    if maze == "tmaze":
        fn = nf.tmaze_run_b if run else nf.tmaze_td_step_b
    else:
        fn = nf.watermaze_run_b if run else nf.watermaze_td_step_b
    if maze == "tmaze":
        state.pos[...] += 1                # updated in place by Julia: shift there and back
    try:
        _call(fn, int(e_end), jl_params, *env, jl_devices, jl_state)
    finally:
        if maze == "tmaze":
            state.pos[...] -= 1


def td_step(maze: str, *args) -> None:
    """One batched actor-critic step (``NeuroFlow.tmaze_td_step!`` / ``watermaze_td_step!``) with the
    arguments of ``neuroflow.rl.kernels.tmaze_td_step`` / ``watermaze_td_step``; the state's arrays are
    updated in place."""
    _maze_call(maze, False, args)


def td_run(maze: str, *args) -> None:
    """Step every seed until it has finished ``e_end`` episodes, inside Julia (``tmaze_run!`` /
    ``watermaze_run!``; same arguments as :func:`td_step`, one call instead of one per step)."""
    _maze_call(maze, True, args)
