"""``TrainResult``: what one :func:`neuroflow.flow.train` run produced, with JSON round-trip."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from neuroflow._utils import exception_reason, is_integer, is_number, read_json, to_jsonable, write_text_atomic

__all__ = ["TrainResult", "LOSS_CURVE_COLUMNS"]

#: columns of ``TrainResult.loss_curve``
LOSS_CURVE_COLUMNS = ("time_s", "loss", "gnorm", "phase")

#: stop reasons that depend on the clock, not on the arguments: a run that ends on one of them is
#: not reproducible bit for bit
_CLOCK_REASONS = ("maxtime", "interrupted")


@dataclass
class TrainResult:
    """Everything a ``train`` run produced, in the spirit of SciPy's ``OptimizeResult``.

    Attributes
    ----------
    loss, gnorm : float
        Plain loss (no norm barrier) and infinity norm of its gradient at ``x``.
    converged : bool
        ``gnorm <= min_gnorm`` or ``loss <= min_loss``.
    x : array (n_params,)
        The best point seen (see :func:`neuroflow.flow.train` for how "best" is defined).
    init, ode_x : array (n_params,)
        The start, and where the ODE phase ended.
    ode_stopped_by, optim_stopped_by : str
        Which rule or budget ended each phase: ``"min_gnorm"``, ``"min_loss"``, ``"maxiterations"``
        (the step budget), ``"maxtime"`` (the optional wall-clock cap), ``"maxT"``, ``"patience"``,
        ``"interrupted"``, ``"diverged ..."``, ``"skipped ..."``, or a solver's message.
    ode_iterations, optim_iterations : int
        Accepted ODE steps and accepted polishing iterations.
    ode_time_s, optim_time_s : float
        Wall time per phase (informative only; nothing depends on it unless a ``maxtime`` cap is set).
    trajectory, trajectory_t : arrays
        Up to about ``2 n_trajectory`` parameter vectors of the ODE phase (rows) and their ODE times.
    loss_curve : array (n, 4)
        Rows ``(time_s, loss, gnorm, phase)``: wall time since the start, plain loss, gradient
        inf-norm, phase 1 (ODE) or 2 (polishing), thinned to at most ~4000 rows.
    ode_loss, ode_gnorm, ode_t : float
        Loss and gradient norm at ``ode_x`` and the ODE time reached.
    method_ode, method_optim : str
        The methods used (after "auto" was resolved).
    n_params : int
    n_gradients, n_hessians : int
        Evaluations of loss and gradient, and of the Hessian, over both phases (what the run cost, in the same
        numbers on any machine; the Julia backend counts its own; 0 in files saved before they were counted).
    options : dict
        The options ``train`` was called with.
    net : dict or None
        ``MLP.to_dict()`` of the trained net (None for an Objective).
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
    n_gradients: int = 0
    n_hessians: int = 0
    options: dict = field(default_factory=dict)
    net: dict | None = None

    @property
    def time_s(self) -> float:
        return self.ode_time_s + self.optim_time_s

    @property
    def gradient_equivalents(self) -> int:
        """What the run cost in gradient evaluations, a Hessian counted as ``n_params`` of them (what one costs by
        forward-over-reverse differentiation): a budget that gives another optimiser the same work in the same
        numbers on any machine (0 where the counts are not known: a file saved before they were counted)."""
        return int(self.n_gradients) + int(self.n_params) * int(self.n_hessians)

    def same_work(self) -> dict:
        """``maxiterations`` and ``maxtime`` that give :func:`~neuroflow.flow.adam` (or ``gradient_descent``) the work
        of this run: one step per :attr:`gradient_equivalents`, the same on any machine; where the counts are not
        known (a file saved before they were counted), as long as this run took, which varies with the machine."""
        budget = self.gradient_equivalents
        if budget > 0:
            return {"maxiterations": budget, "maxtime": None}
        return {"maxiterations": 10**9, "maxtime": max(self.time_s, 1e-3)}

    @property
    def loss_curve_columns(self) -> tuple[str, ...]:
        return LOSS_CURVE_COLUMNS

    @property
    def interrupted(self) -> bool:
        """True when Ctrl-C (or SIGTERM) ended a phase: ``train`` returns the point it had, so a caller running more
        than one run checks this before going on."""
        return "interrupted" in (self.ode_stopped_by, self.optim_stopped_by)

    @property
    def reproducible(self) -> bool:
        """True when no phase ended on the clock (a ``maxtime`` cap or Ctrl-C): the same arguments
        then give the same numbers on any load."""
        return not any(r.startswith(c) for r in (self.ode_stopped_by, self.optim_stopped_by)
                       for c in _CLOCK_REASONS)

    def to_dict(self) -> dict:
        d = {f: getattr(self, f) for f in self.__dataclass_fields__}
        d["time_s"] = self.time_s
        d["reproducible"] = self.reproducible
        d["loss_curve_columns"] = list(LOSS_CURVE_COLUMNS)
        return to_jsonable(d)

    def summary(self) -> dict:
        """The scalar fields only (what a CLI prints)."""
        keep = ("loss", "gnorm", "converged", "ode_stopped_by", "optim_stopped_by", "ode_time_s",
                "optim_time_s", "ode_iterations", "optim_iterations", "ode_loss", "ode_gnorm", "ode_t",
                "method_ode", "method_optim", "n_params", "n_gradients", "n_hessians")
        d = {k: getattr(self, k) for k in keep}
        d["time_s"] = self.time_s
        d["reproducible"] = self.reproducible
        return to_jsonable(d)

    def save(self, path) -> Path:
        """Write the result as JSON (arrays as lists, floats round-trip exactly).

        Parameters
        ----------
        path : str or Path
            The file to write (parent folders are created).

        Returns
        -------
        Path
        """
        path = Path(path)
        write_text_atomic(path, json.dumps(self.to_dict()))
        return path

    @classmethod
    def load(cls, path) -> "TrainResult":
        """Read a result written by :meth:`save`.

        Parameters
        ----------
        path : str or Path

        Returns
        -------
        TrainResult
        """
        d = read_json(path, "result file")  # unreadable, not UTF-8 or not JSON: ValueError naming the file
        try:
            return cls._from_dict(d)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:  # another JSON file, or a damaged one
            what = f"missing field {exc}" if isinstance(exc, KeyError) else exception_reason(exc)
            raise ValueError(f"{path}: not a TrainResult file written by save ({what})") from None

    @classmethod
    def _from_dict(cls, d: dict) -> "TrainResult":
        if not isinstance(d, dict):
            raise TypeError(f"expected a JSON object, got {type(d).__name__}")
        d = dict(d)
        for derived in ("time_s", "loss_curve_columns", "reproducible"):
            d.pop(derived, None)

        def num(v):
            if v is None:
                return float("nan")
            if isinstance(v, str) and v in ("inf", "-inf"):
                return float(v)
            return v

        # what save writes, field by field: a file edited or of another program gave a result of 3 parameters for a
        # net of 33, converged "yes", a loss read from text, or a negative iteration count, all without a word
        for k in ("x", "init", "ode_x", "trajectory_t"):
            d[k] = np.asarray(d[k], dtype=np.float64)
            if d[k].ndim != 1:
                raise ValueError(f"{k}: expected a list of numbers, got shape {d[k].shape}")
        P = len(d["x"])
        n_params = d.get("n_params", P)   # files of older versions lack n_params
        if not is_integer(n_params) or n_params != P or len(d["init"]) != P or len(d["ode_x"]) != P:
            raise ValueError(f"x, init, ode_x, n_params: expected n_params = {n_params!r} numbers in each, got "
                             f"{P}, {len(d['init'])}, {len(d['ode_x'])}")
        for k in ("loss", "gnorm", "ode_loss", "ode_gnorm", "ode_t", "ode_time_s", "optim_time_s"):
            if k in d and not (d[k] is None or is_number(d[k]) or d[k] in ("inf", "-inf")):
                raise ValueError(f"{k}: expected a number, got {d[k]!r}")
        d.setdefault("n_gradients", 0)   # files of older versions lack the counts
        d.setdefault("n_hessians", 0)
        for k in ("ode_iterations", "optim_iterations", "n_gradients", "n_hessians"):
            if not is_integer(d[k]) or d[k] < 0:
                raise ValueError(f"{k}: expected a non-negative integer, got {d[k]!r}")
        if not isinstance(d["converged"], bool):
            raise ValueError(f"converged: expected true or false, got {d['converged']!r}")
        for k in ("ode_stopped_by", "optim_stopped_by", "method_ode", "method_optim"):
            if k in d and not isinstance(d[k], str):
                raise ValueError(f"{k}: expected a string, got {d[k]!r}")
        d["trajectory"] = np.asarray(d["trajectory"], dtype=np.float64).reshape(-1, P)
        d["loss_curve"] = np.asarray([[num(v) for v in row] for row in d["loss_curve"]],
                                     dtype=np.float64).reshape(-1, len(LOSS_CURVE_COLUMNS))
        for k in ("loss", "gnorm", "ode_loss", "ode_gnorm", "ode_t"):
            d[k] = float(num(d[k]))
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})
