"""Unknown widths and depth: grow the students until they reach the loss floor.

When the target's layer sizes are unknown (``hidden_sizes=None``), the estimator trains its students at
widths 2, 4, 8, ... (every hidden layer equally wide, up to ``max_width``) and takes the first width at
which at least ``ceil(gamma * n_students)`` students -- as many as a cluster needs -- reach the loss floor,
relative loss ``<= search_tol``. A student narrower than the target cannot represent it (it stalls well
above the floor), so the chosen students are between one and two times as wide as the target's widest
layer: over-parameterised, as Expand-and-Cluster needs, and clustered as usual. The default floor, 1e-10,
lies below what a narrower student reaches on the near-linear problems of the paper suite and above what
students at the target's width reach when they find it (median 2e-12, worst 1e-9 over the 150 problems'
recorded students, whose training stops at 1e-14 relative loss).

A width is given up as soon as its first ``n_students - need + 1`` students all miss the floor (the rest
could not make up the count), which spares the failing widths a third or more of their training.

With the depth unknown too (``depth=None``), depths 1, 2, ..., ``max_depth`` are tried in turn, each with
its width search, and the smallest depth whose students reach the floor is chosen.

A configuration whose students would have more parameters than the probes give equations (probes times
outputs) is not tried: such students can fit any data, so reaching the floor would say nothing about the
target, and their clusters would not be identifiable. The widths a depth skips for this are listed in
:attr:`SearchResult.skipped`; too few probes for even the narrowest configuration is an error.

A search that never reaches the floor warns, says so in :attr:`SearchResult.message`, and goes on with the
configuration whose students came closest (lowest median relative loss): the best result so far, never a
silent guess.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

__all__ = ["SearchStep", "SearchResult", "width_schedule", "search_sizes"]


@dataclass
class SearchStep:
    """One configuration tried: ``depth`` hidden layers of ``width`` units, the students' relative losses,
    and how many reached the floor."""

    depth: int
    width: int
    rel_losses: list
    n_reached: int
    reached: bool

    def to_dict(self) -> dict:
        return {"depth": self.depth, "width": self.width, "n_reached": self.n_reached, "reached": self.reached,
                "median_rel_loss": float(np.median(self.rel_losses)), "rel_losses": list(self.rel_losses)}


@dataclass
class SearchResult:
    """What the search tried (``steps``), what it chose (``depth``, ``width``), whether the chosen students
    reached the floor, and a sentence saying so (``message``)."""

    steps: list = field(default_factory=list)
    depth: int = 0
    width: int = 0
    reached_floor: bool = False
    floor: float = 0.0
    need: int = 0
    message: str = ""
    skipped: list = field(default_factory=list)

    @property
    def widths_tried(self) -> list:
        return [(s.depth, s.width) for s in self.steps]

    def to_dict(self) -> dict:
        return {"depth": self.depth, "width": self.width, "reached_floor": self.reached_floor, "floor": self.floor,
                "students_needed": self.need, "message": self.message, "steps": [s.to_dict() for s in self.steps],
                "skipped": [list(c) for c in self.skipped]}


def width_schedule(max_width: int, start: int = 2) -> list[int]:
    """Widths ``start, 2 start, 4 start, ...`` up to ``max_width`` (which is always the last one)."""
    widths, w = [], int(start)
    while w < max_width:
        widths.append(w)
        w *= 2
    return widths + [int(max_width)]


def search_sizes(train, depths, widths, *, need: int, floor: float, y_var: float, n_params=None,
                 max_params: int | None = None):
    """Find the smallest depth, and at it the smallest width, whose students reach the floor.

    Parameters
    ----------
    train : callable
        ``train(depth, width) -> list of StudentFit``: the students of that configuration.
    depths, widths : lists of int
        Tried in this order (depths outer).
    need : int
        How many students must reach the floor.
    floor : float
        Relative loss (loss / ``y_var``) that counts as reaching the target.
    y_var : float
        The targets' variance.
    n_params, max_params : callable and int, optional
        ``n_params(depth, width)``, a student's parameter count; configurations above ``max_params`` (the
        number of equations the probes give) are skipped.

    Returns
    -------
    (SearchResult, fits) : the search and the chosen configuration's students.
    """
    result = SearchResult(floor=float(floor), need=int(need))
    configs = [(int(d), int(w)) for d in depths for w in widths]
    if max_params is not None:
        result.skipped = [c for c in configs if n_params(*c) > max_params]
        configs = [c for c in configs if c not in result.skipped]
        if not configs:
            d, w = result.skipped[0]
            raise ValueError(f"X: {max_params} probe outputs are fewer than the {n_params(d, w)} parameters of the "
                             f"narrowest student ({d} hidden layer(s) of {w} units); give more probes")
    best = None
    for depth, width in configs:
        fits = train(depth, width)
        rel = [float(f.loss) / max(y_var, 1e-300) for f in fits]
        n_ok = int(sum(r <= floor for r in rel))
        step = SearchStep(depth, width, rel, n_ok, n_ok >= need)
        result.steps.append(step)
        if best is None or np.median(rel) < np.median(best[0].rel_losses):
            best = (step, fits)
        if step.reached:
            result.depth, result.width, result.reached_floor = step.depth, step.width, True
            result.message = (f"chose {depth} hidden layer(s) of {width} units: the first configuration "
                              f"where {n_ok} of {len(fits)} students reached relative loss <= {floor:g} "
                              f"(tried {', '.join(f'{d}x{w}' for d, w in result.widths_tried)})")
            return result, fits
    step, fits = best
    result.depth, result.width = step.depth, step.width
    skipped = (f"; not tried, having more parameters than the {max_params} probe outputs: "
               f"{', '.join(f'{d}x{w}' for d, w in result.skipped)}" if result.skipped else "")
    result.message = (f"no configuration reached the floor (relative loss <= {floor:g} for {need} students; "
                      f"tried {', '.join(f'{d}x{w}' for d, w in result.widths_tried)}{skipped}); continuing with "
                      f"the best, {step.depth} hidden layer(s) of {step.width} units (median relative loss "
                      f"{np.median(step.rel_losses):.2e}): raise max_width / max_depth, train longer or add probes")
    warnings.warn(result.message, RuntimeWarning, stacklevel=3)
    return result, fits
