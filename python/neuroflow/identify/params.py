"""Checking :class:`~neuroflow.identify.estimator.ExpandAndCluster`'s settings once, at the start of a fit.

Every bad value raises a ``ValueError`` that names the argument, the value and what was expected.
"""
from __future__ import annotations

import inspect

import numpy as np

from neuroflow._utils import check_array, check_bool, check_choice, check_positive, is_integer, is_number
from neuroflow.identify.budgets import FINETUNE_OPTIONS, STUDENT_TRAIN_OPTIONS, TORCH_OPTIONS
from neuroflow.identify.clustering import CLUSTERERS, check_beta, min_students
from neuroflow.identify.lstsq import constant_outputs, output_variance
from neuroflow.identify.students import ENGINES
from neuroflow.identify.symmetry import symmetry_class
from neuroflow.identify.teacher import check_activation

__all__ = ["check_estimator_params", "check_data", "torch_options_per_layer"]

_TORCH_KEYS = ("adam_steps", "batch_size", "lr", "lr_end", "max_iter", "maxtime", "threads", "lm_steps")


def _check_fraction(value, name, *, lo_open=True, hi_open=False, what="a fraction in (0, 1]"):
    ok = (is_number(value, finite=True) and (value > 0 if lo_open else value >= 0)
          and (value < 1 if hi_open else value <= 1))
    if not ok:
        raise ValueError(f"{name}: expected {what}, got {value!r}")


def _check_options(options, name, allowed) -> None:
    if options is None:
        return
    if not isinstance(options, dict):
        raise ValueError(f"{name}: expected None or a dict of options, got {options!r}")
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(f"{name}: unknown option(s) {unknown}; expected some of {sorted(allowed)}")


def _train_defaults() -> dict:
    """:func:`neuroflow.train`'s keyword-only options and their defaults."""
    from neuroflow.flow import train

    return {k: p.default for k, p in inspect.signature(inspect.unwrap(train)).parameters.items()
            if p.kind is p.KEYWORD_ONLY}


def _train_keys() -> list[str]:
    return list(_train_defaults())


def _check_train_values(options, name, base: dict) -> None:
    """The values of ``options`` (``train_options`` / ``finetune_options``, merged over ``base``) as
    :func:`neuroflow.train` checks them, named: a NaN step budget of ``finetune_options`` failed only after every
    student had trained, as "cannot convert float NaN to integer"; one of ``train_options`` named no argument."""
    from neuroflow.flow.engine import _check_options as check_train

    try:
        check_train({**_train_defaults(), **base, **(options or {})})
    except ValueError as exc:
        raise ValueError(f"{name} {exc}") from None


def check_estimator_params(est) -> None:
    """Raise ValueError naming the first bad setting of ``est``."""
    check_positive(est.n_students, "n_students", integer=True)
    if not (is_number(est.expansion, finite=True) and est.expansion >= 1):
        raise ValueError(f"expansion: expected a number >= 1 (students at least as wide as the guess), "
                         f"got {est.expansion!r}")
    v = est.max_expansion
    if v is not None and not (is_number(v, finite=True) and v >= est.expansion):
        raise ValueError(f"max_expansion: expected None (no growth) or a number >= expansion ({est.expansion!r}), "
                         f"got {v!r}")
    v = est.max_students
    if v is not None and not (is_integer(v) and v >= est.n_students):
        raise ValueError(f"max_students: expected None (no second fit) or an integer >= n_students "
                         f"({est.n_students!r}), got {v!r}")
    _check_fraction(est.gamma, "gamma")
    min_students(est.gamma, est.n_students)
    check_beta(est.beta)
    check_choice(est.clusterer, "clusterer", CLUSTERERS)
    check_choice(est.engine, "engine", ENGINES)
    check_activation(est.activation, "activation")
    symmetry_class(est.activation)
    if not (is_integer(est.n_jobs) and (est.n_jobs >= 1 or est.n_jobs == -1)):
        raise ValueError(f"n_jobs: expected a positive integer or -1 (all cores), got {est.n_jobs!r}")
    seed = est.seed
    if not (seed is None or isinstance(seed, np.random.Generator) or (is_integer(seed) and seed >= 0)):
        raise ValueError(f"seed: expected None, a non-negative integer or a numpy Generator, got {seed!r}")
    guess = est.hidden_sizes
    if guess is not None:
        items = [guess] if is_integer(guess) else guess
        if not isinstance(items, (list, tuple)) or not items or not all(is_integer(g) and g >= 1 for g in items):
            raise ValueError(f"hidden_sizes: expected None (unknown: search), a positive integer or a non-empty "
                             f"list of positive integers (one per hidden layer), got {guess!r}")
    for name in ("depth",):
        v = getattr(est, name)
        if v is not None and not (is_integer(v) and v >= 1):
            raise ValueError(f"{name}: expected None (search) or a positive integer, got {v!r}")
    for name in ("max_width", "max_depth"):
        v = getattr(est, name)
        if not (is_integer(v) and v >= 1):
            raise ValueError(f"{name}: expected a positive integer, got {v!r}")
    if est.max_width < 2:
        raise ValueError(f"max_width: expected an integer >= 2 (the search starts at width 2), got {est.max_width!r}")
    for name in ("search_tol", "loss_tol", "prune_tol_rel"):
        check_positive(getattr(est, name), name)
    v = est.prune_tol
    if not (is_number(v) and 0 <= v < 1):
        raise ValueError(f"prune_tol: expected a number in [0, 1), got {v!r}")
    _check_fraction(est.layer_probes, "layer_probes", lo_open=False, hi_open=True,
                    what="a fraction in [0, 1) of the probes to redesign for a deep net's later layers")
    if not (is_integer(est.refine_rounds) and est.refine_rounds >= 0):
        raise ValueError(f"refine_rounds: expected a non-negative integer (0: never), got {est.refine_rounds!r}")
    for name in ("finetune", "polish", "prune", "progress", "recut"):
        check_bool(getattr(est, name), name)
    keys = _train_keys()
    _check_options(est.train_options, "train_options", keys)
    _check_options(est.finetune_options, "finetune_options", keys)
    _check_train_values(est.train_options, "train_options", STUDENT_TRAIN_OPTIONS)
    _check_train_values(est.finetune_options, "finetune_options", FINETUNE_OPTIONS)
    opts = est.torch_options
    for o in (opts if isinstance(opts, (list, tuple)) else [opts]):
        if o is not None and not isinstance(o, dict):
            raise ValueError(f"torch_options: expected None, a dict, or a list of dicts (one per hidden layer), "
                             f"got {opts!r}")
        _check_options(o, "torch_options", _TORCH_KEYS)
        for key, value in (o or {}).items():  # torch said "Invalid learning rate: nan"; a batch of 0 gave NaN losses
            if key == "maxtime" and value is None:
                continue
            integer = key in ("adam_steps", "batch_size", "max_iter", "threads", "lm_steps")
            check_positive(value, f"torch_options {key}", integer=integer,
                           allow_zero=key in ("adam_steps", "max_iter", "lm_steps"))
    from neuroflow.backend import resolve_backend

    resolve_backend(est.backend)
    if est.checkpoint is not None:
        from neuroflow.cliutil import check_output_dir

        check_output_dir(est.checkpoint, "checkpoint")
    if est.scheduler is not None and (not isinstance(est.scheduler, str) or not est.scheduler.strip()):
        raise ValueError(f"scheduler: expected None or a Dask scheduler address such as 'tcp://127.0.0.1:8786', "
                         f"got {est.scheduler!r}")


def check_data(X, Y) -> tuple[np.ndarray, np.ndarray]:
    """Probes X (N, d_in) and targets Y (N, d_out) (a vector Y is one output), finite."""
    X = check_array(X, "X", ndim=2)
    Y = check_array(Y, "Y")
    if Y.ndim == 1:
        Y = Y[:, None]
    if Y.ndim != 2 or Y.shape[0] != X.shape[0]:
        raise ValueError(f"Y: expected {X.shape[0]} rows (one per probe in X), got shape {Y.shape}")
    with np.errstate(over="ignore", invalid="ignore"):
        overflows = not np.isfinite(output_variance(Y))
    if overflows:  # relative losses divide by it: every student would look perfect, or NaN
        raise ValueError(f"Y: targets too large (largest magnitude {float(np.max(np.abs(Y))):.3g}): their squared "
                         "deviations overflow")
    if constant_outputs(Y):
        raise ValueError(f"Y: the targets are the same on all {Y.shape[0]} probes (to float precision); a constant "
                         "function has no neurons to identify")
    return X, Y


def torch_options_per_layer(options, n_layers: int) -> list[dict]:
    """``torch_options`` (None, a dict, or one dict per hidden layer) as one dict per hidden layer, merged
    into :data:`~neuroflow.identify.budgets.TORCH_OPTIONS`."""
    if options is None or isinstance(options, dict):
        return [{**TORCH_OPTIONS, **(options or {})}] * n_layers
    if isinstance(options, (list, tuple)) and len(options) == n_layers and all(isinstance(o, dict) for o in options):
        return [{**TORCH_OPTIONS, **o} for o in options]
    raise ValueError(f"torch_options: expected None, a dict, or a list of {n_layers} dicts (one per hidden "
                     f"layer), got {options!r}")
