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

With a width guess, the same rule can grow the expansion (``max_expansion`` above ``expansion``): the
students, ``expansion`` times as wide as the guess, are retrained twice as wide (up to ``max_expansion``)
while fewer than ``need`` of them reach the floor. Students that stall above it sit in local minima that more
training does not leave (on the deep suite's failing teachers, 8000 more Levenberg-Marquardt steps took their
first-stage students from relative loss 3e-7 to 2e-7); wider ones reach it (a softplus 4-9-4-3-1 teacher:
median 5.6e-7 at twice its widths, 4.0e-11 at four times). Reaching the floor is necessary, not sufficient:
on that teacher the wider students' neurons did not coincide
(``benchmarks/results/identify_deep_growth.json``). Only the first stage grows, as the width search does;
the later stages keep its expansion.

A search that never reaches the floor warns, says so in :attr:`SearchResult.message`, and goes on with the
configuration whose students came closest (lowest median relative loss): the best result so far, never a
silent guess.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

__all__ = ["SearchStep", "SearchResult", "doubling", "search_sizes", "first_at_floor", "describe_sizes"]


@dataclass
class SearchStep:
    """One configuration tried: its hidden layers' widths ``sizes``, the students' relative losses, and how many
    reached the floor."""

    sizes: tuple
    rel_losses: list
    n_reached: int
    reached: bool

    @property
    def depth(self) -> int:
        return len(self.sizes)

    @property
    def width(self) -> int:
        return max(self.sizes)

    def to_dict(self) -> dict:
        return {"sizes": list(self.sizes), "depth": self.depth, "width": self.width, "n_reached": self.n_reached,
                "reached": self.reached, "median_rel_loss": float(np.median(self.rel_losses)),
                "rel_losses": list(self.rel_losses)}


@dataclass
class SearchResult:
    """What the search tried (``steps``), what it chose (``sizes``), whether the chosen students reached the
    floor, and a sentence saying so (``message``)."""

    steps: list = field(default_factory=list)
    sizes: tuple = ()
    reached_floor: bool = False
    floor: float = 0.0
    need: int = 0
    message: str = ""
    skipped: list = field(default_factory=list)

    @property
    def depth(self) -> int:
        return len(self.sizes)

    @property
    def width(self) -> int:
        return max(self.sizes) if self.sizes else 0

    @property
    def widths_tried(self) -> list:
        return [(s.depth, s.width) for s in self.steps]

    def to_dict(self) -> dict:
        return {"sizes": list(self.sizes), "depth": self.depth, "width": self.width,
                "reached_floor": self.reached_floor, "floor": self.floor, "students_needed": self.need,
                "message": self.message, "steps": [s.to_dict() for s in self.steps],
                "skipped": [list(c) for c in self.skipped]}


def doubling(start, stop) -> list:
    """``start, 2 start, 4 start, ...`` below ``stop``, then ``stop`` itself: the widths of the width search
    (``doubling(2, max_width)``) and the expansions of the expansion search."""
    out, v = [], start
    while v < stop:
        out.append(v)
        v *= 2
    return out + [stop]


def expanded_width(expansion, width) -> int:
    """A student's width for ``expansion`` x the guessed ``width``: ``ceil(expansion * width)``, at least 1; a product
    past the float range (an expansion of 1e308) is still that whole number (exactly), not an OverflowError."""
    v = expansion * width
    return max(1, int(math.ceil(v)) if math.isfinite(v) else math.ceil(Fraction(expansion) * width))


def describe_sizes(sizes) -> str:
    """``"2 hidden layer(s) of 8 units"`` for equal widths, else ``"hidden layers of 8, 4 units"``."""
    sizes = [int(s) for s in sizes]
    if len(set(sizes)) == 1:
        return f"{len(sizes)} hidden layer(s) of {sizes[0]} units"
    return f"hidden layers of {', '.join(map(str, sizes))} units"


def _short(sizes) -> str:
    sizes = [int(s) for s in sizes]
    return f"{len(sizes)}x{sizes[0]}" if len(set(sizes)) == 1 else "-".join(map(str, sizes))


def search_sizes(train, depths, widths, *, need: int, floor: float, y_var: float, n_params=None,
                 max_params: int | None = None):
    """Find the smallest depth, and at it the smallest width, whose students reach the floor:
    :func:`first_at_floor` over ``depth`` hidden layers of ``width`` units (depths outer); ``train`` and
    ``n_params`` take the sizes, a tuple of widths."""
    configs = [(int(w),) * int(d) for d in depths for w in widths]
    return first_at_floor(train, configs, need=need, floor=floor, y_var=y_var, n_params=n_params,
                          max_params=max_params)


def first_at_floor(train, configs, *, need: int, floor: float, y_var: float, n_params=None,
                   max_params: int | None = None, describe=describe_sizes, advice: str = "raise max_width / "
                   "max_depth, train longer or add probes"):
    """The first configuration (in the order given) whose students reach the floor.

    Parameters
    ----------
    train : callable
        ``train(sizes) -> list of StudentFit``: the students whose hidden layers have widths ``sizes``.
    configs : list of tuples of int
        The hidden sizes to try, in order.
    need : int
        How many students must reach the floor.
    floor : float
        Relative loss (loss / ``y_var``) that counts as reaching the target.
    y_var : float
        The targets' variance.
    n_params, max_params : callable and int, optional
        ``n_params(sizes)``, a student's parameter count; configurations above ``max_params`` (the number of
        equations the probes give) are skipped.
    describe : callable
        ``describe(sizes) -> str`` for the messages.
    advice : str
        What to do when no configuration reaches the floor (ends the warning).

    Returns
    -------
    (SearchResult, fits) : the search and the chosen configuration's students.
    """
    result = SearchResult(floor=float(floor), need=int(need))
    # configurations are taken one at a time (a long search is never held as a list), those with more parameters
    # than the probe outputs listed as skipped
    best = None
    for sizes in (tuple(int(w) for w in c) for c in configs):
        if max_params is not None and n_params(sizes) > max_params:
            result.skipped.append(sizes)
            continue
        fits = train(sizes)
        rel = [float(f.loss) / max(y_var, 1e-300) for f in fits]
        n_ok = int(sum(r <= floor for r in rel))
        step = SearchStep(sizes, rel, n_ok, n_ok >= need)
        result.steps.append(step)
        if best is None or np.median(rel) < np.median(best[0].rel_losses):
            best = (step, fits)
        if step.reached:
            result.sizes, result.reached_floor = sizes, True
            result.message = (f"chose {describe(sizes)}: the first configuration where {n_ok} of {len(fits)} "
                              f"students reached relative loss <= {floor:g} "
                              f"(tried {', '.join(_short(s.sizes) for s in result.steps)})")
            return result, fits
    if best is None:
        if not result.skipped:
            raise ValueError("configs: expected at least one configuration of hidden sizes to try, got none")
        c = result.skipped[0]
        raise ValueError(f"X: {max_params} probe outputs are fewer than the {n_params(c)} parameters of the "
                         f"narrowest student ({describe(c)}); give more probes")
    step, fits = best
    result.sizes = step.sizes
    skipped = (f"; not tried, having more parameters than the {max_params} probe outputs: "
               f"{', '.join(_short(c) for c in result.skipped)}" if result.skipped else "")
    result.message = (f"no configuration reached the floor (relative loss <= {floor:g} for {need} students; "
                      f"tried {', '.join(_short(s.sizes) for s in result.steps)}{skipped}); continuing with "
                      f"the best, {describe(step.sizes)} (median relative loss "
                      f"{np.median(step.rel_losses):.2e}): {advice}")
    warnings.warn(result.message, RuntimeWarning, stacklevel=3)
    return result, fits
