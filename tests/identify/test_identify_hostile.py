"""Hostile and careless use of `neuroflow identify ...` and of the identify / parallel API (seventh pass): settings
of no use named before any student trains, suite runs refusing what they cannot run or write before any problem
runs, and problems of no use refused where they are made."""
import numpy as np
import pytest

from neuroflow.identify import ExpandAndCluster
from neuroflow.identify.problems import make_teacher


def _no_training(monkeypatch):
    """Any student trained fails the test (what is refused must be refused before)."""
    import neuroflow.identify.estimator as E

    def trained(*args, **kwargs):
        raise AssertionError("a student was trained")

    monkeypatch.setattr(E, "train_students", trained)


@pytest.mark.parametrize("kwargs, start", [
    ({"finetune_options": {"maxiterations_ode": float("nan")}},
     "finetune_options maxiterations_ode: expected a non-negative integer, got nan"),
    ({"finetune_options": {"reltol": -1.0}}, "finetune_options reltol: expected a positive number, got -1.0"),
    ({"train_options": {"maxiterations_optim": 2.5}},
     "train_options maxiterations_optim: expected a non-negative integer, got 2.5"),
    ({"train_options": {"method_ode": "euler"}}, "train_options method_ode: expected one of"),
])
def test_step_budgets_and_options_of_no_use_are_named_before_any_student_trains(kwargs, start, monkeypatch):
    """A NaN step budget in finetune_options was taken, every student trained, and the fine-tune then failed with
    "cannot convert float NaN to integer" (no argument named); train_options' values were named without saying they
    were train_options'."""
    _no_training(monkeypatch)
    t = make_teacher(3, 2, "tanh", seed=0)
    X = np.random.default_rng(0).normal(size=(100, 3))
    est = ExpandAndCluster(n_students=4, hidden_sizes=[2], seed=0, **kwargs)
    with pytest.raises(ValueError) as info:
        est.fit(X, t.forward(X))
    assert str(info.value).startswith(start), info.value
