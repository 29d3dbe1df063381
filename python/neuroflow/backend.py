"""One place that picks the compute backend: "numpy" (reference), "torch", "julia" or "auto".

``backend="auto"`` (or the ``NEUROFLOW_BACKEND`` variable) never installs or downloads anything:
it takes Julia only when :func:`neuroflow.julia.available` says so, otherwise NumPy.
"""
from __future__ import annotations

import importlib.util
import os

BACKENDS = ("numpy", "torch", "julia")


def torch_available() -> bool:
    return importlib.util.find_spec("torch") is not None


def julia_status() -> tuple[bool, str]:
    from neuroflow.julia import available

    return available()


def available_backends() -> dict[str, bool]:
    """Which backends are usable here, without importing torch or juliacall."""
    return {"numpy": True, "torch": torch_available(), "julia": julia_status()[0]}


def resolve_backend(backend: str | None = "auto") -> str:
    """Turn a requested backend ("auto", "numpy", "torch", "julia" or None) into a usable one.

    An explicit backend that is not usable raises ValueError saying how to get it.
    """
    if backend is None or backend == "auto":
        backend = os.environ.get("NEUROFLOW_BACKEND", "auto") or "auto"
        if backend == "auto":
            return "julia" if julia_status()[0] else "numpy"
    if backend not in BACKENDS:
        raise ValueError(f"backend: expected one of {['auto', *BACKENDS]}, got {backend!r}")
    if backend == "torch" and not torch_available():
        raise ValueError("backend: 'torch' was requested but torch is not installed (pip install torch==2.13.0)")
    if backend == "julia":
        ok, reason = julia_status()
        if not ok:
            raise ValueError(
                f"backend: 'julia' was requested but is not usable: {reason}. "
                'Install Julia (https://julialang.org/install, juliaup), then pip install "neuroflow[julia]"; '
                "`neuroflow info` shows what was found"
            )
    return backend
