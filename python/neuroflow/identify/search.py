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

    @property
    def widths_tried(self) -> list:
        return [(s.depth, s.width) for s in self.steps]

    def to_dict(self) -> dict:
        return {"depth": self.depth, "width": self.width, "reached_floor": self.reached_floor, "floor": self.floor,
                "students_needed": self.need, "message": self.message, "steps": [s.to_dict() for s in self.steps]}


def width_schedule(max_width: int, start: int = 2) -> list[int]:
    """Widths ``start, 2 start, 4 start, ...`` up to ``max_width`` (which is always the last one)."""
    widths, w = [], int(start)
    while w < max_width:
        widths.append(w)
        w *= 2
    return widths + [int(max_width)]


def search_sizes(train, depths, widths, *, need: int, floor: float, y_var: float):
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

    Returns
    -------
    (SearchResult, fits) : the search and the chosen configuration's students.
    """
    result = SearchResult(floor=float(floor), need=int(need))
    best = None
    for depth in depths:
        for width in widths:
            fits = train(depth, width)
            rel = [float(f.loss) / max(y_var, 1e-300) for f in fits]
            n_ok = int(sum(r <= floor for r in rel))
            step = SearchStep(int(depth), int(width), rel, n_ok, n_ok >= need)
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
    result.message = (f"no configuration reached the floor (relative loss <= {floor:g} for {need} students; "
                      f"tried {', '.join(f'{d}x{w}' for d, w in result.widths_tried)}); continuing with the best, "
                      f"{step.depth} hidden layer(s) of {step.width} units (median relative loss "
                      f"{np.median(step.rel_losses):.2e}): raise max_width / max_depth, train longer or add probes")
    warnings.warn(result.message, RuntimeWarning, stacklevel=3)
    return result, fits
