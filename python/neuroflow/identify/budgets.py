"""Step budgets of every training stage of Expand-and-Cluster, and the one call into :func:`neuroflow.train`.

Every stage stops on counts -- ODE solver steps and optimiser iterations for :func:`neuroflow.train`,
Adam steps and L-BFGS iterations for the torch engine -- never on wall-clock seconds, so the same data,
settings and seed give the same students, clusters and reconstruction on a busy or a quiet machine. A
wall-clock limit is there only as a cap a user asks for (``maxtime_ode`` / ``maxtime_optim`` in
``train_options`` or ``finetune_options``, ``maxtime`` in ``torch_options``); results say which budget
stopped each phase (:attr:`StudentFit.stopped_by`, ``TrainResult.ode_stopped_by`` / ``optim_stopped_by``).

The numbers replace the earlier wall-time budgets. They were chosen by counting the steps those budgets
reached on a quiet machine: the budget patched to count CPU seconds of one thread
(``benchmarks/identify.py budgets``; ``benchmarks/results/identify_budgets.json``), taking about the
upper quartile of the counts of runs that the time budget stopped, so that recovery does not drop.
"""
from __future__ import annotations

__all__ = ["STUDENT_TRAIN_OPTIONS", "STUDENT_MIN_GNORM", "BENCH_STUDENT_OPTIONS", "QUICK_STUDENT_OPTIONS", "FINETUNE_OPTIONS", "SUBSET_SHARE", "PRUNE_SHARE", "POLISH_OPTIONS",
           "POLISH_FALLBACK", "TORCH_OPTIONS", "shorter", "run_train"]

#: students (:func:`neuroflow.train` on the MLP), per student (was 6 s + 12 s); they also stop at a
#: negligible loss or gradient, which on the paper suite's students took at most 1034 ODE steps
STUDENT_TRAIN_OPTIONS = {"maxiterations_ode": 4000, "maxiterations_optim": 2000, "progress": False}
#: the students' gradient-norm stop, for a target of unit variance; it is scaled by the targets' variance when
#: that is below one (never loosened above it). The engine's default (this value, absolute) ended students of
#: small targets early: on p020 of the paper suite (sigmoid, output variance 0.036) every student from width 8
#: to 64 stopped on it at relative loss 6e-10 to 2e-9, above the width search's floor of 1e-10, so the search
#: never ended; scaled, they reach it at width 8
STUDENT_MIN_GNORM = 1e-10
#: the problem suites' students (was 1.5 s + 2.5 s: the few students that budget stopped had taken 662-858
#: ODE steps and 824 Newton iterations)
BENCH_STUDENT_OPTIONS = {"maxiterations_ode": 2000, "maxiterations_optim": 1000}
#: tiny problems in examples, the demo and tests (was 1 s + 2 s: at most 815 ODE steps were taken)
QUICK_STUDENT_OPTIONS = {"maxiterations_ode": 1000, "maxiterations_optim": 500}
#: the final fine-tuning of the reduced network (was 5 s + 30 s, far more than it took: at most 382 ODE steps
#: and 6 Newton iterations over the measured problems)
FINETUNE_OPTIONS = {"maxiterations_ode": 4000, "maxiterations_optim": 5000, "progress": False}
#: shorter fine-tunes, as shares (ODE, optimiser) of the fine-tuning budget: the check of the least-squares
#: subset of last-layer clusters (was 2 s + 10 s: at most 361 ODE steps, no optimiser iteration), and each
#: trial removal while pruning (was 2 s + 6 s; 1658 ODE steps at most; the optimiser phase only runs when the
#: ODE phase stalls above zero loss -- a removal that fails -- where 5 of 208 trials ran into the time limit
#: after 2883-8074 Newton iterations: their count depends on the net's size, tens of seconds each on a small
#: deep net, so the share here keeps a failing trial short)
SUBSET_SHARE = (0.4, 0.2)
PRUNE_SHARE = (0.4, 0.1)
#: the last step for a reduced network that fine-tuned to (near) zero loss: trust-region Newton with the
#: exact Hessian and no gradient-norm stop (the engine's default ``min_gnorm`` 1e-10 is absolute: on a flat,
#: near-linear problem it ends a fine-tune at relative loss ~1e-11, degrees away from the zero-loss point),
#: until the relative loss is at rounding level; if Newton stalls (very ill-conditioned Hessians take it
#: through long flat valleys), BFGS continues from there. A polish that converges does so in a few Newton
#: iterations (<= 27 in 93 of the 96 measured polishes, 1010 in one); the two that the earlier 8 s stopped
#: after 4835 and 11226 iterations were on problems it did not recover anyway
POLISH_OPTIONS = {"method_ode": "none", "method_optim": "newton", "min_gnorm": 0.0, "maxiterations_optim": 1500,
                  "progress": False}
POLISH_FALLBACK = {**POLISH_OPTIONS, "method_optim": "bfgs"}
#: the torch engine (large or deep students): Adam steps, then L-BFGS iterations (and, only when
#: ``lm_steps`` is given, Levenberg-Marquardt steps: the deep suite's setting)
TORCH_OPTIONS = {"adam_steps": 40000, "batch_size": 128, "lr": 3e-3, "lr_end": 3e-4, "max_iter": 200, "threads": 1}


def shorter(options: dict, share) -> dict:
    """``options`` with its iteration budgets (ODE, optimiser) scaled by ``share`` (at least one step each)."""
    out = dict(options)
    for key, s in zip(("maxiterations_ode", "maxiterations_optim"), share):
        if key in out:
            out[key] = max(1, int(round(s * out[key])))
    return out


def run_train(target, theta0, X=None, Y=None, **options):
    """:func:`neuroflow.train`, letting Ctrl-C through.

    ``train`` ends a phase cleanly on ``KeyboardInterrupt`` and reports it as stopped by "interrupted";
    a stage cut short that way must never count as finished, so it is raised again here.
    """
    from neuroflow.flow import train

    res = train(target, theta0, X, Y, **options)
    if "interrupted" in str(res.ode_stopped_by) or "interrupted" in str(res.optim_stopped_by):
        raise KeyboardInterrupt
    return res
