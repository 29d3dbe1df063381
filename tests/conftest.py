"""Shared test configuration: the `julia` marker skips (with the reason) where no Julia runtime is usable."""
from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def pytest_configure(config):
    # Julia must start before any test imports torch (the reverse order can crash the process), so
    # where a runtime is usable it is loaded here, once, before collection.
    from neuroflow.julia import available

    if available()[0]:
        from neuroflow.julia.bridge import load

        load()


def pytest_collection_modifyitems(config, items):
    from neuroflow.julia import available

    ok, reason = available()
    if ok:
        return
    skip = pytest.mark.skip(reason=f"needs a Julia runtime: {reason}")
    for item in items:
        # the marker, not item.keywords: keywords also hold folder names such as tests/julia/
        if item.get_closest_marker("julia") is not None:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared beside the checkout (notes and measured data); tests that need it skip without it."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not present beside the checkout")
    return SHARED


@pytest.fixture
def interruptible_popen():
    """``subprocess.Popen`` for a command that a test stops with SIGINT, as Ctrl-C in a terminal would: the
    child starts with SIGINT at its default whatever the runner inherited (a suite started as a background
    job of a non-interactive shell ignores SIGINT, and Python then never turns it into KeyboardInterrupt)."""
    import signal
    import subprocess

    def popen(argv, **kwargs):
        return subprocess.Popen(argv, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL), **kwargs)

    return popen


@pytest.fixture(autouse=True)
def _signal_handlers_restored():
    """A script's ``main()`` run in-process (the benchmarks' ``cliutil.record_interrupts``) leaves its SIGINT handler
    installed, as a script that ends with its process may: the runner's handlers are put back after each test, so the
    next test starts as the suite did (a demo test that checks the demo restores Python's handler failed after one)."""
    import signal

    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    if saved[signal.SIGINT] is signal.SIG_IGN:  # a suite started as a background job of a non-interactive shell:
        # Python's own handler for the test, so the tests of Ctrl-C (a SIGINT sent to this process) hold there too
        signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    for s, handler in saved.items():
        if handler is not None and signal.getsignal(s) is not handler:
            signal.signal(s, handler)
