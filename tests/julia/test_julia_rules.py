"""Static rules over the Julia sources that catch the defects a line-by-line read found (no Julia
runtime needed): Julia's ``train`` has the Python defaults, "auto" switches to L-BFGS where Python does,
every positive tolerance is checked before it is used or passed on, and the erfc coefficient table gives
erfc to ~5e-16 (evaluated here in Python, exactly as the Julia code does)."""
from __future__ import annotations

import inspect
import math
import re
from pathlib import Path

import numpy as np
import pytest

tree_sitter = pytest.importorskip("tree_sitter")
tree_sitter_julia = pytest.importorskip("tree_sitter_julia")

SRC = Path(__file__).resolve().parents[2] / "julia" / "NeuroFlow" / "src"
#: keyword arguments that must be > 0 wherever a function takes them
POSITIVE = ("rtol", "atol", "reltol", "abstol")


def _parser():
    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_julia.language()))


def _walk(node):
    yield node
    for child in node.children:
        yield from _walk(child)


def _statement_text(node) -> str:
    """A statement's source without its comments."""
    cut = [(c.start_byte, c.end_byte) for c in _walk(node) if "comment" in c.type]
    text = node.text
    for a, b in sorted(cut, reverse=True):
        text = text[:a - node.start_byte] + text[b - node.start_byte:]
    return text.decode()


def _functions():
    """(file, name, signature text, body statements without comments) of every long-form function."""
    out = []
    for path in sorted(SRC.glob("*.jl")):
        root = _parser().parse(path.read_bytes()).root_node
        for node in _walk(root):
            if node.type != "function_definition":
                continue
            sig = next((c for c in node.children if c.type == "signature"), None)
            if sig is None:
                continue
            name = re.match(r"\s*([\w!]+)", sig.text.decode())
            body = [_statement_text(c) for c in node.children
                    if c.start_byte >= sig.end_byte and c.is_named and "comment" not in c.type]
            out.append((path.name, name.group(1) if name else "", sig.text.decode(), body))
    return out


def _top_level_split(text: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in text:
        depth += ch in "({[" 
        depth -= ch in ")}]"
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    return parts + [cur]


def _julia_train_defaults() -> dict[str, str]:
    sig = next(s for f, n, s, _ in _functions() if f == "train.jl" and n == "train" and "fg!::F" in s)
    kw = sig.split(";", 1)[1].rsplit(")", 1)[0]
    out = {}
    for item in _top_level_split(kw):
        m = re.fullmatch(r"\s*(\w+)(?:::.+?)?=(.+?)\s*", item, re.S)
        if m:
            out[m.group(1)] = m.group(2).strip()
    return out


def _as_julia(value) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, float) and math.isinf(value):
        return "Inf" if value > 0 else "-Inf"
    return repr(value)


def _same(julia: str, python) -> bool:
    if julia == _as_julia(python):
        return True
    m = re.fullmatch(r"10\^(\d+)", julia)
    if m:
        return python == 10 ** int(m.group(1))
    try:
        return float(julia) == float(python)
    except (TypeError, ValueError):
        return False


def test_julia_train_has_the_python_defaults():
    """train.jl's defaults (min_gnorm 1e-12, min_loss 0) once differed from what its docstring promised."""
    from neuroflow.flow import train

    julia = _julia_train_defaults()
    python = {k: p.default for k, p in inspect.signature(train).parameters.items()
              if p.default is not inspect.Parameter.empty and k not in ("X", "Y", "weights", "backend")}
    assert set(python) <= set(julia), set(python) - set(julia)
    wrong = {k: (julia[k], python[k]) for k in python if not _same(julia[k], python[k])}
    assert not wrong, f"Julia default != Python default: {wrong}"
    doc = (SRC / "train.jl").read_text()
    doc = doc[doc.index('    train(net::MLP'):doc.index('"""\nfunction train(')]
    for key in ("min_gnorm", "min_loss", "maxtime_ode", "maxiterations_ode"):
        assert f"`{key} = {julia[key]}`" in doc, f"the docstring does not state {key} = {julia[key]}"


def test_auto_polisher_switch_matches_python():
    from neuroflow.flow.engine import AUTO_NEWTON_MAX_PARAMS, default_methods

    text = (SRC / "train.jl").read_text()
    assert int(re.search(r"const AUTO_NEWTON_MAX_PARAMS = (\d+)", text).group(1)) == AUTO_NEWTON_MAX_PARAMS
    rule = re.search(r'P <= AUTO_NEWTON_MAX_PARAMS \? "(\w+)" : "(\w+)"', text)
    assert rule and rule.groups() == (default_methods(AUTO_NEWTON_MAX_PARAMS)[1],
                                      default_methods(AUTO_NEWTON_MAX_PARAMS + 1)[1])


def _checked_before_use(name: str, body: list[str], checkers: dict[str, str]) -> bool:
    """Whether the first statement of ``body`` that mentions ``name`` checks ``name > 0`` (or hands it to
    a ``_check*`` function that does)."""
    for statement in body:
        if not re.search(rf"\b{name}\b", statement):
            continue
        if re.search(rf"\b{name} > 0", statement):
            return True
        call = re.search(r"\b(_check\w*)\(", statement)
        return bool(call and re.search(rf"\b{name} > 0", checkers.get(call.group(1), "")))
    return True  # never used


def test_positive_tolerances_are_checked_before_use():
    """gradient_flow accepted atol = 0 (``atol >= 0``), and train passed abstol on unchecked: a zero
    parameter then gave a NaN first step and an endless loop. Every function taking a tolerance checks
    it is > 0 before any other use."""
    functions = _functions()
    checkers = {n: "\n".join(b) for _, n, _, b in functions if n.startswith("_check")}
    bad = []
    for file, name, sig, body in functions:
        kws = sig.split(";", 1)[1] if ";" in sig else ""
        for tol in POSITIVE:
            if re.search(rf"\b{tol}\b", kws) and not _checked_before_use(tol, body, checkers):
                bad.append(f"{file}: {name}({tol})")
    assert not bad, f"tolerances used before a > 0 check: {bad}"
    assert any(n == "gradient_flow" for _, n, _, _ in functions)


def test_the_rule_would_have_caught_the_atol_defect():
    old = ["rtol > 0 && atol >= 0 || throw(ArgumentError(\"rtol, atol\"))", "y = step(atol)"]
    assert not _checked_before_use("atol", old, {})
    assert _checked_before_use("rtol", old, {})
    passed_on = ["flow = gradient_flow(obj, x; rtol=reltol, atol=abstol)"]  # the old train
    assert not _checked_before_use("abstol", passed_on, {})


# ----------------------------------------------------------------------------- erfc
def _julia_erfc():
    """erfc exactly as activations.jl computes it, from the constants in the file."""
    text = (SRC / "activations.jl").read_text()
    const = {k: float(v) for k, v in re.findall(r"const (_ERF_LOW|_ERF_SWITCH) = ([0-9.e+-]+)", text)}
    terms = int(re.search(r"const _ERFC_TERMS = (\d+)", text).group(1))
    table = re.search(r"const _ERFCX_CHEB = \((.*?)\n\)", text, re.S).group(1)
    cheb = [float(v) for v in re.findall(r"-?[0-9.]+(?:e[+-]?\d+)?", table)]
    low, switch = const["_ERF_LOW"], const["_ERF_SWITCH"]

    def exp_minus_square(ax):
        c = 134217729.0 * ax
        h = c - (c - ax)
        lo = ax - h
        return math.exp(-h * h) * math.exp(-(2.0 * h + lo) * lo)

    def erfcx(ax):
        t = (2.0 * ax - (low + switch)) / (switch - low)
        b1 = b2 = 0.0
        for c in cheb[:0:-1]:
            b1, b2 = 2.0 * t * b1 - b2 + c, b1
        return t * b1 - b2 + cheb[0]

    def fraction(ax):
        t = ax
        for k in range(terms, 0, -1):
            t = ax + (0.5 * k) / t
        return 0.5641895835477563 * exp_minus_square(ax) / t

    def erfc(x):
        ax = abs(x)
        if ax < low:
            return None  # the series branch: 1 - erf(x) with erfc >= 0.47, no cancellation
        r = exp_minus_square(ax) * erfcx(ax) if ax < switch else fraction(ax)
        return r if x > 0 else 2.0 - r

    return erfc, len(cheb)


def test_erfc_table_gives_full_precision():
    erfc, n = _julia_erfc()
    assert n == 23
    xs = np.r_[np.linspace(0.5, 8.0, 1501), -np.linspace(0.5, 3.0, 51)]
    try:
        import mpmath
    except ImportError:  # pragma: no cover - mpmath comes with sympy; scipy is accurate to ~1e-14 here
        from scipy.special import erfc as reference
        rtol = 2e-14
    else:
        mpmath.mp.dps = 30

        def reference(x):
            return float(mpmath.erfc(mpmath.mpf(float(x))))
        rtol = 1e-15
    err = max(abs(erfc(x) - reference(x)) / reference(x) for x in xs)
    assert err < rtol, f"max relative error {err:.2e}"
