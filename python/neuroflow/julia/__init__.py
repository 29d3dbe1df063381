"""Bridge to the Julia package NeuroFlow.jl (julia/NeuroFlow in the repository).

Detection is side-effect free: :func:`available` looks for the juliacall module with
``importlib.util.find_spec`` and for a Julia executable (``PYTHON_JULIACALL_EXE``,
``PYTHON_JULIAPKG_EXE`` or ``julia`` on PATH) and never imports juliacall, so nothing can trigger
juliapkg's download of a Julia runtime. It also answers no when torch was imported before juliacall
(that order can crash the process), so that ``backend="auto"`` falls back to NumPy instead of failing.

The kernels themselves are reached through :mod:`neuroflow.julia.bridge` (imported lazily).
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import sys

__all__ = ["available", "find_julia_executable", "torch_came_first", "AFTER_TORCH_VAR"]

_ENV_VARS = ("PYTHON_JULIACALL_EXE", "PYTHON_JULIAPKG_EXE")
#: set to 1 to start Julia even though torch was imported first (at your own risk)
AFTER_TORCH_VAR = "NEUROFLOW_JULIA_AFTER_TORCH"


def torch_came_first() -> bool:
    """True when torch is imported and juliacall is not (and the override variable is not set)."""
    if os.environ.get(AFTER_TORCH_VAR, "").lower() in ("1", "yes", "true"):
        return False
    return "torch" in sys.modules and "juliacall" not in sys.modules


def _executable(exe: str) -> str | None:
    """``exe`` (a path or a name on PATH) as the path of an executable file, or None."""
    return shutil.which(exe) or (exe if os.path.isfile(exe) and os.access(exe, os.X_OK) else None)


def find_julia_executable() -> str | None:
    """Path of a Julia executable from the juliacall variables or PATH, or None."""
    for var in _ENV_VARS:
        exe = os.environ.get(var)
        if exe:
            found = _executable(exe)
            if found:
                return found
    return shutil.which("julia")


def available() -> tuple[bool, str]:
    """``(True, description)`` when the Julia backend can be used, else ``(False, reason)``.

    Never imports juliacall and never downloads anything.
    """
    if importlib.util.find_spec("juliacall") is None:
        return False, 'the juliacall package is not installed (pip install "neuroflow[julia]")'
    for var in _ENV_VARS:  # one set to no usable program was passed over for `julia` on PATH, or for nothing
        value = os.environ.get(var)
        if value and not _executable(value):
            return False, (f"environment variable {var}={value!r} is not an executable file; point it at the "
                           f"julia program or unset it")
    exe = find_julia_executable()
    if exe is None:
        return False, (
            "no Julia executable found: set PYTHON_JULIACALL_EXE or put `julia` on PATH "
            "(install Julia with juliaup); neuroflow never lets juliacall download one"
        )
    if torch_came_first():
        return False, (
            "torch was imported before juliacall, and both load LLVM (this order can crash the process): "
            "call neuroflow.julia.bridge.load() before anything imports torch, or set "
            f"{AFTER_TORCH_VAR}=1 to try anyway")
    return True, f"juliacall with Julia at {exe}"
