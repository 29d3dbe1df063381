"""Lazy attribute exports for package ``__init__`` modules (PEP 562), so importing a package stays cheap."""
from __future__ import annotations

import importlib


def lazy_exports(package: str, namespace: dict, exports: dict[str, str]):
    """``(__getattr__, __dir__)`` for ``package`` that import ``exports[name]`` (a module path) on first
    access of ``name`` and cache the value in ``namespace`` (the package's ``globals()``)."""

    def __getattr__(name: str):
        if name in exports:
            value = getattr(importlib.import_module(exports[name]), name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__
