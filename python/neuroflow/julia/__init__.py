"""Bridge to the Julia package NeuroFlow.jl (julia/NeuroFlow in the repository).

Detection is side-effect free: :func:`available` looks for the juliacall module with
``importlib.util.find_spec`` and for a Julia executable (``PYTHON_JULIACALL_EXE``,
``PYTHON_JULIAPKG_EXE`` or ``julia`` on PATH) and never imports juliacall, so nothing can trigger
juliapkg's download of a Julia runtime.
"""
from __future__ import annotations

import importlib.util
import os
import shutil

__all__ = ["available", "find_julia_executable"]

_ENV_VARS = ("PYTHON_JULIACALL_EXE", "PYTHON_JULIAPKG_EXE")


def find_julia_executable() -> str | None:
    """Path of a Julia executable from the juliacall variables or PATH, or None."""
    for var in _ENV_VARS:
        exe = os.environ.get(var)
        if exe:
            found = shutil.which(exe) or (exe if os.path.isfile(exe) and os.access(exe, os.X_OK) else None)
            if found:
                return found
    return shutil.which("julia")


def available() -> tuple[bool, str]:
    """``(True, description)`` when the Julia backend can be used, else ``(False, reason)``.

    Never imports juliacall and never downloads anything.
    """
    if importlib.util.find_spec("juliacall") is None:
        return False, 'the juliacall package is not installed (pip install "neuroflow[julia]")'
    exe = find_julia_executable()
    if exe is None:
        return False, (
            "no Julia executable found: set PYTHON_JULIACALL_EXE or put `julia` on PATH "
            "(install Julia with juliaup); neuroflow never lets juliacall download one"
        )
    return True, f"juliacall with Julia at {exe}"
