"""The bridge without a Julia runtime: detection never imports juliacall, load() refuses clearly (and
when torch came first), and the wrappers' boundary logic (transposes, 1-based indices, in-place state,
TrainResult) checked against a stand-in for the NeuroFlow module."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from neuroflow.julia import available, bridge, find_julia_executable


@pytest.fixture
def fresh_bridge(monkeypatch):
    """The bridge with no module loaded, restored afterwards."""
    monkeypatch.setitem(bridge._STATE, "module", None)
    return bridge


def _fake_exe(tmp_path: Path) -> Path:
    exe = tmp_path / "julia"
    exe.write_text("#!/bin/sh\nexit 0\n")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return exe


# ----------------------------------------------------------------------------- detection
def test_importing_the_bridge_does_not_import_juliacall():
    code = ("import sys, neuroflow.julia, neuroflow.julia.bridge, neuroflow.backend as b; b.available_backends(); "
            "print('juliacall' in sys.modules, 'juliapkg' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]


def test_available_reports_a_reason_without_importing(monkeypatch, tmp_path):
    before = "juliacall" in sys.modules
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("PYTHON_JULIACALL_EXE", raising=False)
    monkeypatch.delenv("PYTHON_JULIAPKG_EXE", raising=False)
    ok, reason = available()
    assert not ok and ("juliacall" in reason or "no Julia executable" in reason)
    assert ("juliacall" in sys.modules) == before


def test_find_julia_executable_prefers_the_juliacall_variables(monkeypatch, tmp_path):
    exe = _fake_exe(tmp_path)
    monkeypatch.setenv("PYTHON_JULIACALL_EXE", str(exe))
    assert find_julia_executable() == str(exe)
    monkeypatch.delenv("PYTHON_JULIACALL_EXE")
    monkeypatch.setenv("PYTHON_JULIAPKG_EXE", str(exe))
    assert find_julia_executable() == str(exe)
    monkeypatch.setenv("PYTHON_JULIAPKG_EXE", str(tmp_path / "missing"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert find_julia_executable() is None


def test_load_refuses_clearly_without_julia(fresh_bridge, monkeypatch):
    monkeypatch.setattr(bridge, "available", lambda: (False, "no Julia executable found: set PYTHON_JULIACALL_EXE"))
    with pytest.raises(RuntimeError, match=r"not usable: no Julia executable.*juliaup.*neuroflow\[julia\]"):
        bridge.load()


def test_explicit_julia_backend_without_julia_says_how_to_install(monkeypatch):
    from neuroflow.mlp import MLP

    monkeypatch.setattr("neuroflow.backend.julia_status", lambda: (False, "the juliacall package is not installed"))
    with pytest.raises(ValueError, match="backend: 'julia'.*juliaup"):
        MLP(2, [(1, "identity", True)], backend="julia")


# ----------------------------------------------------------------------------- load() with a stand-in juliacall
@pytest.fixture
def fake_juliacall(tmp_path, monkeypatch):
    """A juliacall stand-in importable from tmp_path (so that it is *not* yet in sys.modules)."""
    (tmp_path / "juliacall.py").write_text(
        "import types\n"
        "class _Main:\n"
        "    NeuroFlow = types.SimpleNamespace(name='NeuroFlow')\n"
        "    evaluated = []\n"
        "    def seval(self, code):\n"
        "        self.evaluated.append(code)\n"
        "Main = _Main()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "juliacall", raising=False)
    yield tmp_path
    sys.modules.pop("juliacall", None)


def test_load_refuses_when_torch_came_first(fresh_bridge, fake_juliacall, monkeypatch):
    monkeypatch.setattr(bridge, "available", lambda: (True, "stand-in"))
    monkeypatch.setitem(sys.modules, "torch", types.ModuleType("torch"))
    monkeypatch.delenv("NEUROFLOW_JULIA_AFTER_TORCH", raising=False)
    with pytest.raises(RuntimeError, match="torch was imported before juliacall"):
        bridge.load()
    assert "juliacall" not in sys.modules


def test_load_sets_the_environment_and_activates_neuroflow(fresh_bridge, fake_juliacall, monkeypatch, tmp_path):
    exe = _fake_exe(tmp_path)
    monkeypatch.setenv("PYTHON_JULIACALL_EXE", str(exe))
    monkeypatch.delenv("PYTHON_JULIAPKG_EXE", raising=False)
    monkeypatch.delenv("PYTHON_JULIACALL_HANDLE_SIGNALS", raising=False)
    monkeypatch.setattr(bridge, "available", lambda: (True, "stand-in"))
    monkeypatch.setitem(sys.modules, "torch", types.ModuleType("torch"))
    monkeypatch.setenv("NEUROFLOW_JULIA_AFTER_TORCH", "1")
    monkeypatch.setattr(sys, "path", list(sys.path))
    with pytest.warns(RuntimeWarning, match="torch was imported before juliacall"):
        module = bridge.load()
    main = sys.modules["juliacall"].Main
    assert module is main.NeuroFlow
    assert main.evaluated == ["using NeuroFlow"]
    assert os.environ["PYTHON_JULIAPKG_EXE"] == str(exe)          # juliapkg never downloads a Julia
    assert os.environ["PYTHON_JULIACALL_HANDLE_SIGNALS"] == "yes"
    assert str(bridge.juliapkg_file().parent) == sys.path[-1]    # juliapkg finds our juliapkg.json there
    assert bridge.is_loaded() and bridge.load() is module and main.evaluated == ["using NeuroFlow"]


# ----------------------------------------------------------------------------- wrappers against a stand-in module
class _StandIn:
    """Records what the bridge hands to Julia and answers like NeuroFlow would (samples in columns)."""

    def __init__(self):
        self.calls = []

    def MLP(self, input_dim, widths, acts, biases):
        self.calls.append(("MLP", input_dim, list(widths), acts, list(biases)))
        return ("jlnet", input_dim)

    def forward(self, jnet, theta, Xc):
        self.calls.append(("forward", Xc.shape, Xc.flags["F_CONTIGUOUS"]))
        return np.asfortranarray(np.full((2, Xc.shape[1]), 3.0))

    def loss_and_gradient(self, jnet, theta, Xc, Yc, weights=None):
        self.calls.append(("loss_and_gradient", Xc.shape, Yc.shape, weights))
        return 1.5, np.arange(theta.size, dtype=float)

    def crossbar_program_b(self, w, dw, cell_device, mode, n_pulses, ab, sigma, cycles, cstate, rng, min_update):
        self.calls.append(("crossbar", list(cell_device)))
        w += 0.25                       # in place, as Julia would through the wrapped buffer
        rng += np.uint64(1)
        return np.ones_like(w)

    def TDParams(self, *fields):
        return types.SimpleNamespace(fields=fields)

    def MazeDevices(self, ab, sigma, cycles, dev_c, dev_a):
        return types.SimpleNamespace(dev_c=dev_c, dev_a=dev_a)

    def MazeState(self, *arrays):
        return arrays

    def tmaze_td_step_b(self, e_end, params, tmap, devices, state):
        from neuroflow.rl.kernels import MazeState, TDParams

        p = TDParams(*params.fields)
        st = MazeState(*state)
        self.calls.append(("tmaze", p, tmap.tolist(), list(devices.dev_c), st.pos.tolist()))
        st.pos[:] = p.start             # 1-based start state
        st.ep[:] += 1

    def train(self, jnet, theta0, Xc, Yc, weights=None, **kw):
        self.calls.append(("train", Xc.shape, kw))
        P = theta0.size
        return types.SimpleNamespace(
            loss=0.5, gnorm=1e-13, converged=True, x=theta0 + 1, ode_x=theta0 + 0.5, ode_stopped_by="min_gnorm",
            optim_stopped_by="skipped (min_gnorm reached in the ODE phase)", ode_time_s=0.1, optim_time_s=0.0,
            ode_iterations=7, optim_iterations=0, trajectory=np.zeros((3, P), order="F"),
            loss_curve=np.zeros((4, 4), order="F"), trajectory_t=np.arange(3.0), ode_loss=0.5, ode_gnorm=1e-13,
            ode_t=2.0, method_ode="dp5", method_optim="newton", n_gradients=40, n_hessians=3)


@pytest.fixture
def stand_in(monkeypatch):
    module = _StandIn()
    monkeypatch.setitem(bridge._STATE, "module", module)
    return module


def _net():
    from neuroflow.mlp import MLP

    return MLP(3, [(4, "tanh", True), (2, "identity", False)], backend="numpy")


def test_mlp_wrappers_transpose_and_cache_the_net(stand_in):
    net = _net()
    X = np.random.default_rng(0).normal(size=(5, 3))
    out = bridge.mlp_forward(net, net.init_params(0), X)
    assert out.shape == (5, 2) and np.all(out == 3.0)
    assert stand_in.calls[0] == ("MLP", 3, [4, 2], "tanh,identity", [True, False])
    assert stand_in.calls[1] == ("forward", (3, 5), True)      # X.T: a Fortran-order view, no copy
    L, g = bridge.mlp_loss_and_gradient(net, net.init_params(0), X, np.zeros((5, 2)), np.ones(5))
    assert L == 1.5 and g.shape == (net.n_params,)
    assert [c[0] for c in stand_in.calls].count("MLP") == 1       # the Julia net is cached on the object
    assert stand_in.calls[-1][1:3] == ((3, 5), (2, 5))


def test_train_wrapper_validates_methods_and_returns_plain_fields(stand_in):
    from neuroflow.flow import TrainResult

    net = _net()
    theta0 = net.init_params(0)
    X, Y = np.zeros((6, 3)), np.zeros((6, 2))
    with pytest.raises(ValueError, match="method_ode: the Julia backend offers"):
        bridge.train(net, theta0, X, Y, None, {"method_ode": "Radau"})
    with pytest.raises(ValueError, match="method_optim"):
        bridge.train(net, theta0, X, Y, None, {"method_optim": "trust-krylov"})
    options = dict(method_ode="RK45", method_optim="auto", maxT=10.0, maxtime_ode=5, maxtime_optim=None,
                   patience=10, progress=False)
    fields = bridge.train(net, theta0, X, Y, None, options)
    assert isinstance(fields, dict)  # plain data: the engine builds the result
    r = TrainResult(**fields, init=theta0.copy(), n_params=net.n_params, options=options, net=net.to_dict())
    kw = stand_in.calls[-1][2]
    assert kw["method_ode"] == "RK45" and isinstance(kw["maxtime_ode"], float) and isinstance(kw["patience"], int)
    assert "maxtime_optim" not in kw  # None (no cap) is Julia's default: not passed on
    assert stand_in.calls[-1][1] == (3, 6)
    assert r.converged and r.ode_iterations == 7 and r.method_ode == "dp5 (julia)"
    assert (r.n_gradients, r.n_hessians) == (40, 3) and r.same_work() == {"maxiterations": 40 + 3 * net.n_params,
                                                                          "maxtime": None}
    np.testing.assert_array_equal(r.x, theta0 + 1)
    np.testing.assert_array_equal(r.init, theta0)
    assert r.trajectory.shape == (3, net.n_params) and r.loss_curve.shape == (4, 4)
    json.dumps(r.to_dict())


def test_crossbar_wrapper_shifts_devices_and_updates_in_place(stand_in):
    w = np.zeros((1, 3))
    rng = np.array([5], dtype=np.uint64)
    pulses = bridge.crossbar_program(w, np.ones((1, 3)), np.array([0, 2, 1]), 1, 200, np.zeros((3, 4)),
                                     np.zeros((3, 2)), np.zeros((3, 0, 10)), np.zeros((1, 3, 4), np.int64), rng, 0.0)
    assert stand_in.calls[-1] == ("crossbar", [1, 3, 2])
    assert np.all(w == 0.25) and rng[0] == 6 and pulses.shape == (1, 3)


def test_tmaze_wrapper_shifts_indices_and_restores_positions(stand_in):
    from neuroflow.rl.agent import ActorCritic

    agent = ActorCritic("tmaze", synapse="memristor")
    st = agent.init_state(2, 5, seed=0)
    st.pos[:] = [0, 2]
    e_end, params, tmap, devices, _ = agent._args(5, st)
    bridge.td_step("tmaze", e_end, params, tmap, devices, st)
    _, p1, tmap1, devc1, pos_seen = stand_in.calls[-1]
    assert (p1.terminal, p1.reward_state, p1.start) == (7, 7, 1)
    assert (p1.alpha, p1.synapse, p1.mode) == (params.alpha, params.synapse, params.mode)
    assert tmap1 == (tmap + 1).tolist() and devc1 == (devices.dev_c + 1).tolist() and pos_seen == [1, 3]
    assert st.pos.tolist() == [0, 0] and st.ep.tolist() == [1, 1]    # back to 0-based: the start state
    assert params.start == 0 and tmap.min() == 0                      # the caller's records are untouched
    with pytest.raises(ValueError, match="maze: expected one of"):
        bridge.td_step("labyrinth", e_end, params, tmap, devices, st)


def test_available_says_no_when_torch_came_first(monkeypatch, tmp_path):
    """So that backend="auto" falls back to NumPy instead of failing later in load()."""
    import importlib.util

    import neuroflow.julia as nj

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: object() if name == "juliacall" else real_find_spec(name, *a))
    monkeypatch.setenv("PYTHON_JULIACALL_EXE", str(_fake_exe(tmp_path)))
    monkeypatch.setitem(sys.modules, "torch", types.ModuleType("torch"))
    monkeypatch.delitem(sys.modules, "juliacall", raising=False)
    monkeypatch.delenv(nj.AFTER_TORCH_VAR, raising=False)
    ok, reason = nj.available()
    assert not ok and reason.startswith("torch was imported before juliacall")
    from neuroflow.backend import resolve_backend

    monkeypatch.delenv("NEUROFLOW_BACKEND", raising=False)
    assert resolve_backend("auto") == "numpy"
    monkeypatch.setenv(nj.AFTER_TORCH_VAR, "1")
    assert nj.available()[0] is True


def test_every_bridge_function_the_package_calls_exists():
    """The Python modules that route to Julia call only functions the bridge defines, with arities it takes."""
    import ast
    import inspect

    root = Path(bridge.__file__).resolve().parents[1]
    seen = set()
    for path in root.rglob("*.py"):
        if path.parent.name == "julia":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "bridge"):
                name = node.func.attr
                assert name in bridge.__all__, f"{path.name}:{node.lineno} calls bridge.{name}, which does not exist"
                if not any(isinstance(a, ast.Starred) for a in node.args):
                    inspect.signature(getattr(bridge, name)).bind(*range(len(node.args)))
                seen.add(name)
    assert {"mlp_forward", "mlp_loss", "train"} <= seen


@pytest.mark.parametrize("value", ["missing", "not-executable"])
def test_a_julia_variable_set_to_no_program_is_named(value, monkeypatch, tmp_path):
    import importlib.util

    exe = _fake_exe(tmp_path)  # `julia` on PATH: the variable was passed over for it without a word
    (tmp_path / "not-executable").write_text("")
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("PYTHON_JULIACALL_EXE", str(tmp_path / value))
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object() if name == "juliacall" else
                        real(name, *a))  # as if juliacall were installed (it is never imported)
    before = "juliacall" in sys.modules
    ok, reason = available()
    assert not ok and reason == (f"environment variable PYTHON_JULIACALL_EXE={str(tmp_path / value)!r} is not an "
                                 f"executable file; point it at the julia program or unset it"), reason
    assert ("juliacall" in sys.modules) == before
    monkeypatch.setenv("PYTHON_JULIACALL_EXE", str(exe))
    monkeypatch.setenv("NEUROFLOW_JULIA_AFTER_TORCH", "1")  # whether or not another test imported torch
    assert available()[1] == f"juliacall with Julia at {exe}"


def test_a_julia_that_cannot_load_neuroflow_is_one_line_naming_the_backend(fresh_bridge, monkeypatch, capsys):
    """Julia found, but `using NeuroFlow` failing in it (or juliapkg failing to resolve) ended flow train --backend
    julia in a juliacall traceback; load() now raises JuliaStartError (a RuntimeError as its other refusals, and a
    ValueError naming backend), which the command line says in one line naming --backend."""
    from neuroflow import cli

    class JuliaError(Exception):
        pass

    def seval(code):
        raise JuliaError("ArgumentError: Package NeuroFlow not found in current path.\n- Run `import Pkg`")

    fake = types.ModuleType("juliacall")
    fake.Main = types.SimpleNamespace(seval=seval)
    monkeypatch.setitem(sys.modules, "juliacall", fake)   # imported already: load's torch-order check is satisfied
    monkeypatch.setattr(bridge, "available", lambda: (True, "stand-in"))
    monkeypatch.setattr("neuroflow.backend.julia_status", lambda: (True, "stand-in"))
    with pytest.raises(RuntimeError, match="^backend: 'julia' could not start NeuroFlow.jl \\(JuliaError: "
                                           "ArgumentError: Package NeuroFlow not found in current path\\.\\)"):
        bridge.load()
    assert not bridge.is_loaded()
    assert cli.main(["flow", "train", "--quiet", "--backend", "julia", "--n-samples", "20"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("neuroflow: error: --backend: 'julia' could not start"), err
