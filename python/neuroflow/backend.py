"""The compute backend, chosen once: NumPy (the reference), torch, or Julia.

:func:`get_backend` turns ``"auto" | "numpy" | "torch" | "julia"`` (or ``None``, which reads the
``NEUROFLOW_BACKEND`` variable) into one :class:`Backend` object. The engine calls through that object
and never tests a backend's name: this module is the only place that knows which implementation sits
behind a name. A backend provides

* the MLP kernels: ``mlp_forward``, ``mlp_loss``, ``mlp_loss_and_gradient``, ``mlp_hessian``;
* ``serial()``: a context in which those kernels compute on one thread (iterative solvers run inside it, so
  that their numbers do not depend on the machine's core count);
* ``native_train``: ``None`` where :func:`neuroflow.flow.train` runs its own SciPy loop, or a function
  that runs the whole ODE + polish pipeline natively and returns the fields of a ``TrainResult`` as a
  plain dict (Julia);
* ``crossbar_program``: pulse programming of a crossbar (arguments of
  :func:`neuroflow.memristor.kernels.crossbar_program`);
* ``td_run`` / ``td_step``: the batched actor-critic maze kernels (arguments of
  :mod:`neuroflow.rl.kernels`).

Kernels take trusted inputs (validated once by the public API) and return plain data; the engine builds
its own results. torch has no crossbar or maze kernels of its own and uses the NumPy (numba) ones.

``"auto"`` never installs or downloads anything: it takes Julia only when :func:`neuroflow.julia.available`
says so, otherwise NumPy.
"""
from __future__ import annotations

import importlib.util
import os

import numpy as np

__all__ = ["Backend", "NumpyBackend", "TorchBackend", "JuliaBackend", "get_backend", "resolve_backend",
           "available_backends", "julia_status", "torch_available", "serial", "BACKENDS"]

BACKENDS = ("numpy", "torch", "julia")


def torch_available() -> bool:
    return importlib.util.find_spec("torch") is not None


def julia_status() -> tuple[bool, str]:
    from neuroflow.julia import available

    return available()


def available_backends() -> dict[str, bool]:
    """Which backends are usable here, without importing torch or juliacall."""
    return {"numpy": True, "torch": torch_available(), "julia": julia_status()[0]}


class Backend:
    """The NumPy reference backend (hand-written NumPy kernels, numba for crossbars and mazes).

    Subclasses override what they implement differently; everything else falls back to these.
    """

    name = "numpy"
    #: ``None``: :func:`neuroflow.flow.train` runs its own loop over the MLP kernels
    native_train = None

    def __repr__(self) -> str:
        return f"<neuroflow backend {self.name!r}>"

    def __reduce__(self):  # pickles as its name, so joblib workers get the same backend
        return (get_backend, (self.name,))

    def device(self, net) -> str:
        """Where this backend computes ``net`` (results record it: a GPU rounds otherwise than a CPU)."""
        return "cpu"

    def serial(self):
        """A context in which this backend's MLP kernels compute on one thread: a reduction's order, and so its
        last bits, depend on the thread count, and an iterative solver turns those into another result."""
        from neuroflow._utils import serial_blas

        return serial_blas()

    # ------------------------------------------------------------------ MLP kernels
    def mlp_forward(self, net, theta, X) -> np.ndarray:
        from neuroflow.mlp import _numpy_kernels

        return _numpy_kernels.forward(net.spec, theta, X)

    def mlp_loss(self, net, theta, X, Y, wbar, weights=None) -> float:
        from neuroflow.mlp import _fused

        return _fused.loss(net.spec, theta, X, Y, wbar)

    def mlp_loss_and_gradient(self, net, theta, X, Y, wbar, weights=None, X1=None):
        from neuroflow.mlp import _fused

        return _fused.loss_and_gradient(net.spec, theta, X, Y, wbar, X1)

    def mlp_hessian(self, net, theta, X, Y, wbar, weights=None, X1=None) -> np.ndarray:
        from neuroflow.mlp import _numpy_kernels

        return _numpy_kernels.hessian(net.spec, theta, X, Y, wbar, X1)

    # ------------------------------------------------------------------ memristor crossbar
    def crossbar_program(self, *args) -> np.ndarray:
        from neuroflow.memristor import kernels

        return kernels.crossbar_program(*args)

    # ------------------------------------------------------------------ maze actor-critic
    def td_run(self, task: str, *args) -> None:
        """Step every seed to ``e_end`` episodes: ``args`` are ``(e_end, TDParams, tmap, MazeDevices, MazeState)``
        (T-maze) or ``(e_end, TDParams, centres, moves, MazeDevices, MazeState)`` (water maze), the records of
        :mod:`neuroflow.rl.kernels`; the state is updated in place."""
        from neuroflow.rl import kernels

        (kernels.tmaze_run if task == "tmaze" else kernels.watermaze_run)(*args)

    def td_step(self, task: str, *args) -> None:
        """One step of every seed below ``e_end`` episodes (the arguments of :meth:`td_run`)."""
        from neuroflow.rl import kernels

        (kernels.tmaze_td_step if task == "tmaze" else kernels.watermaze_td_step)(*args)


NumpyBackend = Backend


class TorchBackend(Backend):
    """MLP kernels in float64 torch through autograd (CPU or GPU): a cross-check of the NumPy kernels."""

    name = "torch"

    @staticmethod
    def _k():
        from neuroflow.mlp import _torch_kernels

        return _torch_kernels

    def device(self, net) -> str:
        """The net's ``device``, or where torch puts it by default: the first GPU where there is one."""
        return str(self._k().device_of(net))

    def serial(self):
        """BLAS and torch's own intra-op threads on one thread. torch's default is one thread per core, which
        BLAS limits do not reach: ``flow train --backend torch`` on 50 000 probes ended 200 LSODA steps at
        loss 1.6011043e-09 on one thread and 1.6011042e-09 on two."""
        import contextlib

        @contextlib.contextmanager
        def one_thread():
            import torch
            from neuroflow._utils import serial_blas

            previous = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                with serial_blas():
                    yield
            finally:
                torch.set_num_threads(previous)

        return one_thread()

    def mlp_forward(self, net, theta, X):
        return self._k().forward(net, theta, X)

    def mlp_loss(self, net, theta, X, Y, wbar, weights=None):
        return self._k().loss(net, theta, X, Y, wbar)

    def mlp_loss_and_gradient(self, net, theta, X, Y, wbar, weights=None, X1=None):
        return self._k().loss_and_gradient(net, theta, X, Y, wbar)

    def mlp_hessian(self, net, theta, X, Y, wbar, weights=None, X1=None):
        return self._k().hessian(net, theta, X, Y, wbar)


class JuliaBackend(Backend):
    """Everything in the Julia package NeuroFlow through :mod:`neuroflow.julia.bridge` (loaded on first use)."""

    name = "julia"

    def mlp_forward(self, net, theta, X):
        from neuroflow.julia import bridge  # lazy: juliacall is imported only when Julia is used

        return np.asarray(bridge.mlp_forward(net, theta, X))

    def mlp_loss(self, net, theta, X, Y, wbar, weights=None):
        from neuroflow.julia import bridge

        return float(bridge.mlp_loss(net, theta, X, Y, weights))

    def mlp_loss_and_gradient(self, net, theta, X, Y, wbar, weights=None, X1=None):
        from neuroflow.julia import bridge

        L, g = bridge.mlp_loss_and_gradient(net, theta, X, Y, weights)  # one Julia call, not two
        return float(L), np.asarray(g, dtype=np.float64)

    def mlp_hessian(self, net, theta, X, Y, wbar, weights=None, X1=None):
        from neuroflow.julia import bridge

        return np.asarray(bridge.mlp_hessian(net, theta, X, Y, weights), dtype=np.float64)

    def native_train(self, net, theta0, X, Y, weights, options: dict) -> dict:
        from neuroflow.julia import bridge

        return bridge.train(net, theta0, X, Y, weights, options)

    def crossbar_program(self, *args):
        from neuroflow.julia import bridge

        return bridge.crossbar_program(*args)

    def td_run(self, task, *args):
        from neuroflow.julia import bridge

        bridge.td_run(task, *args)

    def td_step(self, task, *args):
        from neuroflow.julia import bridge

        bridge.td_step(task, *args)


_CLASSES = {"numpy": NumpyBackend, "torch": TorchBackend, "julia": JuliaBackend}
_INSTANCES: dict[str, Backend] = {}


def resolve_backend(backend: str | None = "auto") -> str:
    """The name of the usable backend for a request ("auto", "numpy", "torch", "julia" or None).

    An explicit backend that is not usable raises ValueError saying how to get it.
    """
    if isinstance(backend, Backend):
        return backend.name
    name = "backend"
    if backend is None or backend == "auto":
        backend = os.environ.get("NEUROFLOW_BACKEND", "auto") or "auto"
        if backend == "auto":
            return "julia" if julia_status()[0] else "numpy"
        name = "environment variable NEUROFLOW_BACKEND"  # what set it: the caller gave no backend
    if backend not in BACKENDS:
        raise ValueError(f"{name}: expected one of {['auto', *BACKENDS]}, got {backend!r}")
    if backend == "torch" and not torch_available():
        raise ValueError(f"{name}: 'torch' was requested but torch is not installed (pip install torch==2.13.0)")
    if backend == "julia":
        ok, reason = julia_status()
        if not ok:
            raise ValueError(
                f"{name}: 'julia' was requested but is not usable: {reason}. "
                'Install Julia (https://julialang.org/install, juliaup), then pip install "neuroflow[julia]"; '
                "`neuroflow info` shows what was found"
            )
    return backend


def get_backend(backend: str | Backend | None = "auto") -> Backend:
    """The :class:`Backend` object for a request (a name, ``None``/"auto", or a Backend, returned as is)."""
    if isinstance(backend, Backend):
        return backend
    name = resolve_backend(backend)
    if name not in _INSTANCES:
        _INSTANCES[name] = _CLASSES[name]()
    return _INSTANCES[name]


def serial(net_or_objective):
    """The one-thread context (:meth:`Backend.serial`) of what an iterative solver is about to evaluate: an
    MLP's backend, the backend of the net behind an MLP's ``objective(X, Y)``, else (any other Objective)
    BLAS on one thread."""
    for holder in (net_or_objective, getattr(net_or_objective, "net", None)):  # read by duck type: the MLP module
        backend = getattr(holder, "backend", None)                               # imports this one
        if isinstance(backend, Backend):
            return backend.serial()
    return get_backend("numpy").serial()
