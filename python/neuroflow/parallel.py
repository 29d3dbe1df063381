"""Independent jobs on local processes or a Dask cluster, with the same numbers either way.

:func:`parallel_map` is the one way neuroflow runs independent jobs (students, problems, scenes, grid
points) side by side. It goes through :class:`joblib.Parallel`; with ``scheduler="tcp://host:8786"``
(the address of a ``dask.distributed`` scheduler) the jobs run on that cluster through joblib's Dask
backend instead. Each job must take its randomness from its own arguments (a seed), never from global
state, and BLAS is held to one thread inside every job, so a job gives bit-identical results wherever
it runs.

Results come back in input order. ``on_result(index, result)`` is called as each finished job is
collected (in input order), so a caller can write it to disk at once: an interrupted or failed run
keeps every result that was collected before the failure.
"""
from __future__ import annotations

import contextlib
import os
import threading
import warnings
from typing import Any, Callable, Iterable

from neuroflow._utils import exception_reason, is_integer, is_number

__all__ = ["parallel_map", "connect", "SchedulerError", "DEFAULT_TIMEOUT_S"]

#: seconds to wait for a scheduler before giving up
DEFAULT_TIMEOUT_S = 10.0


class SchedulerError(ValueError):
    """The Dask scheduler could not be reached (or dask.distributed is not installed)."""


def _check_timeout(timeout) -> None:
    """0, -1 or NaN said "no scheduler answered within -1 s"; past threading's limit (1e12) the socket raised
    OverflowError "timestamp out of range for platform time_t"."""
    if not is_number(timeout, finite=True) or not 0 < timeout <= threading.TIMEOUT_MAX:
        raise ValueError(f"timeout: expected a positive number of seconds up to {threading.TIMEOUT_MAX:.4g}, got "
                         f"{timeout!r}")


def connect(address: str, timeout: float = DEFAULT_TIMEOUT_S):
    """A ``distributed.Client`` connected to the scheduler at ``address``, or :class:`SchedulerError`
    naming the address within about ``timeout`` seconds."""
    if not isinstance(address, str) or not address.strip():
        raise SchedulerError(f"scheduler: expected an address such as 'tcp://127.0.0.1:8786', got {address!r}")
    _check_timeout(timeout)
    try:
        from distributed import Client
    except ImportError:
        raise SchedulerError('scheduler: dask.distributed is not installed (pip install "neuroflow[dask]")') from None
    _check_listening(address, timeout)
    try:
        return Client(address, timeout=f"{float(timeout)}s", set_as_default=False)
    except Exception as exc:  # noqa: BLE001 - whatever answered there, it is not a usable scheduler
        raise SchedulerError(f"scheduler: no Dask scheduler answered at {address!r} within {timeout:g} s "
                             f"({exception_reason(exc)})") from None


def _check_listening(address: str, timeout: float) -> None:
    """SchedulerError unless something accepts a TCP connection at ``address`` (``[scheme://]host:port``; other
    schemes, e.g. ``inproc://``, are left to Dask). A Dask client given an address where nothing listens, or
    where another service answers, can be left half-built, and its clean-up then hangs and prints a traceback."""
    import socket

    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest = "tcp", address
    if scheme not in ("tcp", "tls"):
        return
    host, _, port = rest.rstrip("/").rpartition(":")
    if not host or not port.isdigit():
        raise SchedulerError(f"scheduler: expected an address such as 'tcp://127.0.0.1:8786', got {address!r}")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=float(timeout)).close()
    except (OSError, ValueError) as exc:
        raise SchedulerError(f"scheduler: no Dask scheduler answered at {address!r} within {timeout:g} s "
                             f"({exception_reason(exc)})") from None


def _single_threaded(fn: Callable, args: tuple, kwargs: dict):
    """Run ``fn`` with BLAS/OpenMP held to one thread (same numbers on any worker)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return fn(*args, **kwargs)


#: set in a local worker process once it has been prepared (:func:`_local_worker`)
_LOCAL_WORKER = False


def _local_worker(parent: int) -> None:
    """Prepare a local worker process (joblib's loky) once, as it starts (``parent``: the id of the process that
    started it, read there: a worker still starting when that process was killed is already an orphan here).

    - Ctrl-C is left to that process, which stops the run and ends its workers;
    - tqdm's lock is a thread lock: its default, a multiprocessing lock (a named semaphore), was left behind by every
      worker ended mid-job, and Python's resource tracker reported them after each Ctrl-C of a parallel run ("There
      appear to be 2 leaked semaphore objects to clean up at shutdown", two lines after the run's last);
    - the worker ends within a second once that process is gone: after ``kill -9`` workers lived on for loky's idle
      timeout (five minutes), holding the command's output pipe open, so whatever read it waited for them.
    """
    global _LOCAL_WORKER
    if _LOCAL_WORKER or os.getpid() == parent:   # (a thread of that process: joblib's threading backend)
        return
    _LOCAL_WORKER = True
    import signal
    import time

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(ImportError):
        from tqdm import tqdm

        tqdm.set_lock(threading.RLock())

    def watch():
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="neuroflow-parent-watch", daemon=True).start()


def _initializer() -> dict:
    """``Parallel``'s keywords that run :func:`_local_worker` as each local worker starts, where the backend is loky
    (the default) and this joblib passes them on to it; else each worker is prepared at its first job."""
    import inspect

    from joblib import Parallel

    try:  # joblib's private modules: where another joblib moved them, each worker is prepared at its first job
        from joblib._parallel_backends import LokyBackend
        from joblib.parallel import get_active_backend

        loky = isinstance(get_active_backend()[0], LokyBackend)
    except (ImportError, AttributeError, TypeError, IndexError):
        return {}
    takes = any(p.kind is p.VAR_KEYWORD for p in inspect.signature(Parallel).parameters.values())
    return {"initializer": _local_worker, "initargs": (os.getpid(),)} if takes and loky else {}


def _in_worker(fn: Callable, args: tuple, kwargs: dict, local: int | None = None):
    """:func:`_single_threaded` in a worker process: ``(result, warnings)``, the warnings it raised as ``(message,
    category)`` for this process to raise again (a worker printed them itself, in Python's two-line format).
    ``local``: a worker process of this machine, started by the process of this id, prepared by :func:`_local_worker`
    (if its start did not)."""
    if local is not None:
        _local_worker(local)
    with warnings.catch_warnings(record=True) as caught:
        result = _single_threaded(fn, args, kwargs)
    return result, [(str(w.message), w.category) for w in caught]


def parallel_map(fn: Callable[..., Any], jobs: Iterable, *, n_jobs: int = 1, scheduler: str | None = None,
                 on_result: Callable[[int, Any], None] | None = None, timeout: float = DEFAULT_TIMEOUT_S) -> list:
    """``[fn(*args, **kwargs) for args, kwargs in jobs]``, run by ``n_jobs`` local processes or on a Dask cluster.

    Parameters
    ----------
    fn : callable
        A module-level function (it is pickled to the workers).
    jobs : iterable of tuple or (tuple, dict)
        Positional arguments per job, or ``(args, kwargs)`` pairs.
    n_jobs : int
        Local worker processes (1: in this process, no pickling). Ignored with ``scheduler``, where every
        worker of the cluster takes jobs.
    scheduler : str, optional
        Address of a ``dask.distributed`` scheduler (``tcp://host:port``).
    on_result : callable, optional
        Called as ``on_result(index, result)`` for each job, in input order, as soon as it is collected.
    timeout : float
        Seconds to wait for the scheduler.
    """
    from joblib import Parallel, delayed, parallel_config

    if isinstance(jobs, (str, bytes)) or not hasattr(jobs, "__iter__"):   # None or 5: "'int' object is not iterable"
        raise ValueError(f"jobs: expected an iterable of argument tuples (or (args, kwargs) pairs), got "
                         f"{type(jobs).__name__}")
    items = []
    for job in jobs:
        if isinstance(job, tuple) and len(job) == 2 and isinstance(job[0], tuple) and isinstance(job[1], dict):
            items.append(job)
        else:
            items.append((tuple(job) if isinstance(job, (tuple, list)) else (job,), {}))
    # a numpy integer too: ExpandAndCluster and maze_sweep accept n_jobs=np.int64(2), which was refused here, after
    # their checks, as "expected a positive integer ..., got np.int64(2)"
    if not is_integer(n_jobs) or n_jobs == 0 or n_jobs < -1:
        raise ValueError(f"n_jobs: expected a positive integer or -1 (all cores), got {n_jobs!r}")
    n_jobs = int(n_jobs)
    _check_timeout(timeout)  # also without a scheduler, where it is not used: a NaN there was taken
    for name, f in (("fn", fn), ("on_result", on_result)):   # on_result=5 failed only once the first job had run
        if not callable(f) and not (name == "on_result" and f is None):
            raise ValueError(f"{name}: expected a callable{' or None' if name == 'on_result' else ''}, got "
                             f"{type(f).__name__}")
    results: list = []
    client = connect(scheduler, timeout) if scheduler is not None else None
    with contextlib.ExitStack() as stack:
        if client is not None:
            stack.callback(client.close)
            stack.enter_context(parallel_config(backend="dask", client=client, wait_for_workers_timeout=timeout))
            n = -1
        else:  # more processes than jobs or cores only cost start-up time and memory (results are the same)
            n = max(1, min(len(items), os.cpu_count() or 1, len(items) if n_jobs == -1 else n_jobs))
        if n == 1:
            stream = (_single_threaded(fn, a, k) for a, k in items)
        else:
            local = os.getpid() if client is None else None
            stream = Parallel(n_jobs=n, return_as="generator", **(_initializer() if local else {}))(
                delayed(_in_worker)(fn, a, k, local) for a, k in items)
        try:
            for i, res in enumerate(stream):
                if n != 1:  # a worker's warnings, raised here: one line each on the command line, like this process's
                    res, notes = res
                    for message, category in notes:
                        warnings.warn(message, category, stacklevel=2)
                results.append(res)
                if on_result is not None:
                    on_result(i, res)
        finally:  # stopped early (Ctrl-C, a failed job): joblib would warn of jobs unused or cancelled
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=r"(?s).*(but not used|have been cancelled)")
                stream.close()
    return results
