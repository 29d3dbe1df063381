"""Which point ``train`` reports. In the gradient flow: the lowest loss, unless losses tie within their
resolution (1e-9 relative, or both below the round-off floor sqrt(eps) |L0|), where the smaller gradient
wins. In polishing: a smaller gradient at a loss no higher. Polishing therefore never hands back a point
worse than the best it saw."""
from __future__ import annotations

import math

import numpy as np
import pytest

from neuroflow.flow import train
from neuroflow.flow._tracking import LOSS_RTOL, ROUNDOFF, PhaseProgress, Problem, Thinned, better
from neuroflow.mlp import MLP


@pytest.mark.parametrize("L, g, best_L, best_g, floor, wins", [
    (0.5, 1.0, 1.0, 1e-3, 0.0, True),                       # clearly lower loss wins, whatever the gradient
    (1.0 - 0.5 * LOSS_RTOL, 1e-4, 1.0, 1e-3, 0.0, True),    # a tie within 1e-9 relative: smaller gradient
    (1.0 - 0.5 * LOSS_RTOL, 1e-2, 1.0, 1e-3, 0.0, False),   # ... and a larger one loses
    (1.0 + 0.5 * LOSS_RTOL, 1e-4, 1.0, 1e-3, 0.0, True),
    (1.0 + 2.0 * LOSS_RTOL, 1e-9, 1.0, 1e-3, 0.0, False),   # clearly higher loss loses
    (5e-12, 2.5e-7, 1e-11, 1e-8, 1e-9, False),              # the reported Newton step, below the floor
    (2e-11, 1e-9, 1e-11, 1e-8, 1e-9, True),                 # below the floor the gradient decides
    (2e-9, 1e-12, 1e-11, 1e-8, 1e-9, False),                # above the floor: the loss decides again
    (math.nan, 0.0, 1.0, 1.0, 0.0, False), (0.1, math.inf, 1.0, 1.0, 0.0, False),
    (1.0, 1.0, math.inf, math.inf, 0.0, True),
    (-2.0, 1.0, -1.0, 1e-3, 0.5, True),                     # negative losses: the floor is on |L|
])
def test_better_in_the_gradient_flow(L, g, best_L, best_g, floor, wins):
    assert better(L, g, best_L, best_g, floor) is wins


@pytest.mark.parametrize("L, g, best_L, best_g, floor, wins", [
    (2.44e-8, 2.9e-5, 2.61e-8, 9.9e-8, 9.3e-9, False),      # the run that motivated it: lower loss, larger gradient
    (2.61e-8, 1e-9, 2.61e-8, 9.9e-8, 9.3e-9, True),          # the next Newton step: converging
    (3e-8, 1e-9, 2.61e-8, 9.9e-8, 9.3e-9, True),             # a loss higher only within the floor
    (0.5, 1e-9, 0.4, 1e-3, 1e-9, False),                     # a clearly higher loss never wins
    (0.4 * (1 + 0.5 * LOSS_RTOL), 1e-9, 0.4, 1e-3, 0.0, True),
    (0.1, 1e-2, 0.4, 1e-3, 0.0, False),                      # a lower loss with a larger gradient does not win
    (math.nan, 0.0, 1.0, 1.0, 0.0, False),
])
def test_better_in_polishing(L, g, best_L, best_g, floor, wins):
    assert better(L, g, best_L, best_g, floor, polishing=True) is wins


def test_a_polishing_step_that_lowers_a_near_zero_loss_but_raises_the_gradient_is_not_reported():
    class Known:
        n_params = 1

    prob = Problem(Known(), math.inf, 0.0, Thinned(10))
    prob.record(np.array([0.0]), 0.3, np.array([1e-1]))
    prob.record(np.array([1.0]), 1e-11, np.array([1e-8]))
    assert prob.floor == pytest.approx(ROUNDOFF * 0.3) and prob.best[2][0] == 1.0
    prob.phase = 2
    prob.record(np.array([2.0]), 5e-12, np.array([2.5e-7]))  # Newton: lower loss, 25x the gradient
    assert prob.best[0] == 1e-11 and prob.best[1] == 1e-8 and prob.best[2][0] == 1.0
    prob.record(np.array([3.0]), 1.2e-11, np.array([1e-12]))
    assert prob.best[2][0] == 3.0


def test_polish_never_returns_a_worse_point_than_it_saw():
    """End to end: an ODE cut short near a zero-loss fit (gnorm 1e-7, loss 2.6e-8), then three Newton
    iterations, which lower the loss while the gradient first grows 300-fold."""
    rng = np.random.default_rng(0)
    teacher = MLP(2, [(2, "softplus", True), (1, "identity", True)], backend="numpy")
    X = rng.normal(size=(400, 2))
    Y = teacher.forward(teacher.init_params(seed=1), X)
    student = MLP(2, [(4, "softplus", True), (1, "identity", True)], backend="numpy")
    th = student.init_params(seed=2)
    short = train(student, th, X, Y, maxiterations_optim=0, min_gnorm=1e-7)
    res = train(student, th, X, Y, maxiterations_ode=short.ode_iterations, maxiterations_optim=3, min_gnorm=0.0)
    polish = res.loss_curve[res.loss_curve[:, 3] == 2]
    assert polish[:, 2].max() > 100 * res.ode_gnorm and polish[:, 1].min() < res.ode_loss  # the trap is there
    assert res.gnorm <= res.ode_gnorm and res.loss <= res.ode_loss * (1 + 1e-9) + ROUNDOFF * res.loss_curve[0, 1]
    assert res.gnorm == pytest.approx(np.max(np.abs(student.gradient(res.x, X, Y))), rel=1e-9)
    assert res.loss == pytest.approx(student.loss(res.x, X, Y), rel=1e-12)


def test_progress_counts_decades_of_the_gradient_norm():
    bar = PhaseProgress(False, "x", 1e-1, 1e-10, 10**6, "step")
    assert bar.bar.total == pytest.approx(9.0)
    bar.close()
    bar = PhaseProgress(False, "x", 1e-1, 0.0, 500, "it")  # no target: the step budget
    assert bar.bar.total == 500
    bar.close()
