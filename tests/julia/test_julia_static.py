"""Static checks of the Julia sources (no Julia runtime needed): every file parses with
tree-sitter-julia, every call resolves to a definition or a known Base/stdlib function, every export is
defined and documented, the bridge calls only exported functions, and package names/UUIDs agree."""
from __future__ import annotations

import ast
import json
import re
import tomllib
from functools import lru_cache
from pathlib import Path

import pytest

tree_sitter = pytest.importorskip("tree_sitter")
tree_sitter_julia = pytest.importorskip("tree_sitter_julia")

REPO = Path(__file__).resolve().parents[2]
PKG = REPO / "julia" / "NeuroFlow"
SRC = PKG / "src"
BRIDGE = REPO / "python" / "neuroflow" / "julia" / "bridge.py"
JULIAPKG = REPO / "python" / "neuroflow" / "julia" / "juliapkg.json"
JL_FILES = sorted(PKG.rglob("*.jl"))

# Base / standard-library functions the sources call. A name outside this list, the package's own
# definitions and the local parameters is most likely a typo: add it here only after checking that
# it exists in Julia 1.10.
BASE_CALLS = {
    "ArgumentError", "Diagonal", "Dict", "DimensionMismatch", "MersenneTwister", "Ref", "String", "Symbol",
    "Symmetric", "abs", "all", "axes", "clamp", "collect", "copy", "copysign", "copyto!", "cos", "diag", "dot",
    "eachindex", "eigen!", "enumerate", "eps", "exp", "isnan", "log10", "mod1", "fill", "fill!", "first", "floor", "get", "hcat", "include",
    "isempty", "isfinite", "issorted", "join", "length", "log", "log1p", "lowercase", "max", "maximum", "min",
    "mul!", "new", "norm", "ones", "print", "println", "push!", "rand", "randn", "randn!", "range", "repr",
    "reshape", "rethrow", "round", "searchsortedlast", "similar", "size", "split", "sqrt", "startswith",
    "string", "strip", "sum", "sum!", "tanh", "throw", "time", "transpose", "trunc", "view", "zeros", "zip",
    "Float64", "Int", "Bool", "Vector", "Matrix", "Array", "Tuple", "UInt64",
}


@lru_cache(maxsize=None)
def _parser():
    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_julia.language()))


@lru_cache(maxsize=None)
def _tree(path: Path):
    return _parser().parse(path.read_bytes())


def _walk(node):
    yield node
    for child in node.children:
        yield from _walk(child)


def _callee(call) -> str | None:
    head = call.children[0]
    return head.text.decode() if head.type == "identifier" else None


def _signature_call(node):
    for sig in node.children:
        if sig.type == "signature":
            for n in _walk(sig):
                if n.type == "call_expression":
                    return n
    return None


def _defined_name(node) -> str | None:
    """The name a top-level definition node defines (function, short function, type, const, enum)."""
    if node.type == "function_definition":
        call = _signature_call(node)
        return _callee(call) if call is not None else None
    if node.type == "assignment" and node.children[0].type == "call_expression":
        return _callee(node.children[0])
    if node.type in ("struct_definition", "abstract_definition"):
        for head in node.children:
            if head.type == "type_head":
                for n in _walk(head):
                    if n.type == "identifier":
                        return n.text.decode()
    if node.type == "const_statement":
        for n in node.children:
            if n.type == "assignment" and n.children[0].type == "identifier":
                return n.children[0].text.decode()
    if node.type == "macrocall_expression":
        macro = node.children[0].text.decode()
        args = [c for c in node.children if c.type == "macro_argument_list"]
        if args and macro == "@enum":
            ids = [c for c in args[0].children if c.type == "identifier"]
            return ids[0].text.decode() if ids else None
        if args:
            for c in args[0].children:
                name = _defined_name(c)
                if name:
                    return name
    return None


@lru_cache(maxsize=None)
def _inventory():
    """(definitions, enum values, parameters and locals, calls name -> file, exports, documented names)."""
    defs, params, exports, documented = set(), set(), set(), set()
    calls: dict[str, str] = {}
    for path in JL_FILES:
        root = _tree(path).root_node
        top = list(_walk(root))
        for n in top:
            name = _defined_name(n)
            if name:
                defs.add(name)
            if n.type == "function_definition":
                call = _signature_call(n)
                if call is not None:
                    params.update(a.text.decode() for a in _walk(call) if a.type == "identifier")
            elif n.type == "assignment":
                lhs = n.children[0]
                scope = lhs.children[1] if lhs.type == "call_expression" else lhs
                params.update(a.text.decode() for a in _walk(scope) if a.type == "identifier")
            elif n.type == "macrocall_expression" and n.children[0].text.decode() == "@enum":
                params.update(a.text.decode() for a in _walk(n) if a.type == "identifier")
                defs.update(a.text.decode() for a in _walk(n) if a.type == "identifier" and a.text != b"enum")
            elif n.type == "export_statement":
                exports.update(c.text.decode() for c in n.children if c.type == "identifier")
            elif n.type == "call_expression":
                name = _callee(n)
                if name:
                    calls.setdefault(name, path.name)
        # docstrings: a string literal directly followed by the definition it documents
        for scope in [root] + [n for n in top if n.type == "module_definition"]:
            kids = [c for c in scope.children if c.type not in ("comment", "line_comment", "block_comment")]
            for doc, node in zip(kids, kids[1:]):
                if doc.type == "string_literal" and doc.text.startswith(b'"""'):
                    name = _defined_name(node)
                    if name:
                        documented.add(name)
    return defs, params, calls, exports, documented


def _bridge_calls() -> set[str]:
    """Julia names the bridge calls: attributes of the module object ``nf`` (juliacall spells ! as _b)."""
    tree = ast.parse(BRIDGE.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "nf":
            attr = node.attr
            names.add(attr[:-2] + "!" if attr.endswith("_b") else attr)
    return names


# ----------------------------------------------------------------------------- parsing
def test_julia_files_exist():
    names = {p.name for p in JL_FILES}
    assert {"NeuroFlow.jl", "runtests.jl"} <= names
    assert len(JL_FILES) >= 8


@pytest.mark.parametrize("path", JL_FILES, ids=lambda p: str(p.relative_to(PKG)))
def test_julia_file_parses_without_errors(path):
    bad = [n for n in _walk(_tree(path).root_node) if n.type == "ERROR" or n.is_missing]
    where = [f"line {n.start_point[0] + 1}: {n.text[:60]!r}" for n in bad[:5]]
    assert not bad, f"{path.name}: {len(bad)} ERROR/MISSING nodes, first at {where}"


def test_module_includes_every_source_file_once():
    text = (SRC / "NeuroFlow.jl").read_text()
    included = re.findall(r'include\("([^"]+)"\)', text)
    assert sorted(included) == sorted(p.name for p in SRC.glob("*.jl") if p.name != "NeuroFlow.jl")
    assert len(included) == len(set(included))
    assert re.search(r"^module NeuroFlow$", text, re.M) and text.rstrip().endswith("end # module")


def test_inbounds_only_where_indices_are_proven():
    """Every @inbounds loop runs over eachindex/axes of the arrays it indexes, or says why it is safe."""
    for path in SRC.glob("*.jl"):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if "@inbounds" in line:
                assert "eachindex(" in line or "axes(" in line or "#" in line.split("@inbounds", 1)[1], \
                    f"{path.name}:{number}: @inbounds without eachindex/axes or a justification: {line.strip()}"


def test_wheel_and_sdist_include_the_julia_sources():
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["neuroflow"]
    assert {"julia/NeuroFlow/**/*.jl", "julia/NeuroFlow/**/*.toml", "**/*.json"} <= set(patterns)
    link = REPO / "python" / "neuroflow" / "julia" / "NeuroFlow"
    assert link.resolve() == PKG.resolve() and (link / "src" / "NeuroFlow.jl").is_file()
    manifest = (REPO / "MANIFEST.in").read_text().split("\n")
    assert "graft julia" in manifest and "include Project.toml" in manifest


def test_standard_library_only():
    used = set()
    for path in JL_FILES:
        if path.parent.name == "src":
            used.update(re.findall(r"^\s*(?:using|import)\s+([A-Za-z_.]+)", path.read_text(), re.M))
    assert used <= {"LinearAlgebra", "Printf", "Random"}, used


# ----------------------------------------------------------------------------- names
def test_every_call_resolves():
    defs, params, calls, _, _ = _inventory()
    unknown = {name: f for name, f in calls.items() if name not in defs | params | BASE_CALLS}
    assert not unknown, f"calls to names defined nowhere (typos?): {unknown}"


def test_internal_helpers_are_defined():
    defs, _, calls, _, _ = _inventory()
    missing = {n: f for n, f in calls.items() if n.startswith("_") and n not in defs}
    assert not missing, missing


def test_exports_are_defined_and_documented():
    defs, _, _, exports, documented = _inventory()
    assert exports, "no export statement found"
    assert not exports - defs, f"exported but not defined: {sorted(exports - defs)}"
    assert not exports - documented, f"exported without a docstring: {sorted(exports - documented)}"


def test_issue_api_is_exported():
    _, _, _, exports, _ = _inventory()
    required = {"MLP", "loss", "gradient!", "hessian!", "gradient_flow", "newton", "bfgs", "train",
                "crossbar_program!", "td_step!"}
    assert required <= exports, required - exports


def test_bridge_calls_only_exported_functions():
    defs, _, _, exports, _ = _inventory()
    called = _bridge_calls()
    assert {"forward", "loss", "loss_and_gradient", "hessian", "train", "crossbar_program!", "MLP"} <= called
    assert not called - exports, f"bridge calls names that NeuroFlow does not export: {sorted(called - exports)}"
    assert called <= defs


def test_activation_names_match_python():
    from neuroflow.mlp.activations import ACTIVATIONS

    text = (SRC / "activations.jl").read_text()
    block = re.search(r"const ACTIVATION_NAMES = \(([^)]*)\)", text, re.S).group(1)
    names = re.findall(r'"([a-z_]+)"', block)
    assert names == list(ACTIVATIONS), (names, list(ACTIVATIONS))
    enum = re.search(r"@enum ActivationKind begin(.*?)end", text, re.S).group(1).split()
    assert len(enum) == len(names)
    for name in names:   # every activation has its derivative triple
        assert re.search(r"fdd\(::\w+, x::Float64\)", text)
    assert len(re.findall(r"^@inline (?:function )?fdd\(", text, re.M)) == len(names)


# ----------------------------------------------------------------------------- manifests
def test_project_files_and_juliapkg_agree():
    pkg = tomllib.loads((PKG / "Project.toml").read_text())
    root = tomllib.loads((REPO / "Project.toml").read_text())
    jpkg = json.loads(JULIAPKG.read_text())
    uuid = pkg["uuid"]
    assert pkg["name"] == "NeuroFlow"
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", uuid)
    assert root["deps"]["NeuroFlow"] == uuid
    assert (REPO / root["sources"]["NeuroFlow"]["path"] / "Project.toml").is_file()
    spec = jpkg["packages"]["NeuroFlow"]
    assert spec["uuid"] == uuid and spec["dev"] is True
    target = (JULIAPKG.parent / spec["path"]).resolve()
    assert target == PKG.resolve(), f"juliapkg.json path resolves to {target}, not {PKG}"
    assert tomllib.loads((target / "Project.toml").read_text())["uuid"] == uuid
    # compat: Julia 1.10 everywhere, stdlib deps bounded, test-only Test in extras
    assert pkg["compat"]["julia"] == "1.10" == root["compat"]["julia"] == jpkg["julia"]
    assert set(pkg["deps"]) == {"LinearAlgebra", "Printf", "Random"}
    assert set(pkg["deps"]) | {"Test", "julia"} == set(pkg["compat"])
    assert pkg["targets"]["test"] == ["Test"] and "Test" in pkg["extras"]


def test_stdlib_uuids_are_the_registered_ones():
    pkg = tomllib.loads((PKG / "Project.toml").read_text())
    known = {"LinearAlgebra": "37e2e46d-f89d-539d-b4ee-838fcccc9c8e", "Printf": "de0858da-6303-5e67-8744-51eddd9d2ae7",
             "Random": "9a3f8284-a2c9-5f02-9a11-845980a1fd5c", "Test": "8dfed614-e22c-5e08-85e1-65c5234f0b40"}
    for name, uuid in {**pkg["deps"], **pkg["extras"]}.items():
        assert known[name] == uuid, name


def test_bridge_knows_the_package_sources():
    from neuroflow.julia import bridge

    assert bridge.juliapkg_file() == JULIAPKG
    assert bridge.julia_source_dir() == PKG.resolve()


# ----------------------------------------------------------------------------- call signatures
def _params(arglist):
    """(required positional, optional positional, has vararg, keyword names, has kw splat) of a signature."""
    req = opt = 0
    vararg = kwsplat = False
    kws: set[str] = set()
    after_semicolon = False
    for c in arglist.children:
        if c.type == ";":
            after_semicolon = True
        elif c.type in ("(", ")", ",", "comment", "line_comment"):
            continue
        elif after_semicolon:
            if c.type == "splat_expression":
                kwsplat = True
            else:
                ident = next(n for n in _walk(c) if n.type == "identifier")
                kws.add(ident.text.decode())
        elif c.type == "splat_expression":
            vararg = True
        elif c.type == "named_argument":
            opt += 1
        else:
            req += 1
    return req, opt, vararg, kws, kwsplat


def _call_args(arglist):
    """(positional count, keyword names, has splat) at a call site."""
    npos = 0
    kws: set[str] = set()
    splat = False
    after_semicolon = False
    for c in arglist.children:
        if c.type == ";":
            after_semicolon = True
        elif c.type in ("(", ")", ",", "comment", "line_comment"):
            continue
        elif c.type == "splat_expression":
            splat = True
        elif c.type == "named_argument" or after_semicolon:
            ident = next((n for n in _walk(c) if n.type == "identifier"), None)
            if ident is not None:
                kws.add(ident.text.decode())
        else:
            npos += 1
    return npos, kws, splat


@lru_cache(maxsize=None)
def _methods():
    """Top-level function name -> list of signatures, over the package sources."""
    methods: dict[str, list] = {}
    for path in SRC.glob("*.jl"):
        root = _tree(path).root_node
        scopes = [root] + [n for n in _walk(root) if n.type == "module_definition"]
        for scope in scopes:
            for node in scope.children:
                target = node
                if node.type == "macrocall_expression":
                    args = [c for c in node.children if c.type == "macro_argument_list"]
                    target = args[0].children[0] if args and args[0].children else node
                call = None
                if target.type == "function_definition":
                    call = _signature_call(target)
                elif target.type == "assignment" and target.children[0].type == "call_expression":
                    call = target.children[0]
                if call is not None and _callee(call):
                    methods.setdefault(_callee(call), []).append(_params(call.children[1]))
                if node.type == "struct_definition":
                    name = _defined_name(node)
                    inner = [c for c in node.children if c.type == "function_definition"]
                    for fn in inner:
                        methods.setdefault(name, []).append(_params(_signature_call(fn).children[1]))
                    if not inner:   # the default constructor takes every field
                        fields = [c for c in node.children if c.type in ("identifier", "typed_expression")]
                        methods.setdefault(name, []).append((len(fields), 0, False, set(), False))
    return methods


def _accepts(sig, npos, kws):
    req, opt, vararg, kwnames, kwsplat = sig
    arity_ok = npos >= req and (vararg or npos <= req + opt)
    return arity_ok and (kwsplat or kws <= kwnames)


def test_calls_match_a_method_signature():
    """Every call of a package function (in src and test) matches some method's arity and keywords."""
    methods = _methods()
    assert {"gradient!", "train", "gradient_flow", "crossbar_program!"} <= set(methods)
    bad = []
    for path in JL_FILES:
        for node in _walk(_tree(path).root_node):
            if node.type != "call_expression" or _callee(node) not in methods:
                continue
            parent = node.parent
            if parent is not None and parent.type in ("signature", "where_expression", "typed_expression") or \
                    (parent is not None and parent.type == "assignment" and parent.children[0] == node):
                continue   # a definition, not a call
            npos, kws, splat = _call_args(node.children[1])
            if splat:
                continue
            if not any(_accepts(sig, npos, kws) for sig in methods[_callee(node)]):
                bad.append(f"{path.name}:{node.start_point[0] + 1}: {node.text.decode()[:90]}")
    assert not bad, "calls that match no method:\n" + "\n".join(bad)


def test_bridge_calls_match_julia_signatures():
    """Positional counts and keyword names of the bridge's calls fit a Julia method (juliacall passes
    Python keywords as Julia keywords)."""
    methods = _methods()
    tree = ast.parse(BRIDGE.read_text())
    checked = 0
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func, args = node.func, list(node.args)
        if isinstance(func, ast.Name) and func.id == "_call" and args and isinstance(args[0], ast.Attribute):
            func, args = args[0], args[1:]          # _call(nf.name, *args, **kwargs)
        if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "nf"):
            continue
        name = func.attr[:-2] + "!" if func.attr.endswith("_b") else func.attr
        if any(isinstance(a, ast.Starred) for a in args):
            continue
        kws = {k.arg for k in node.keywords if k.arg is not None}
        assert any(_accepts(sig, len(args), kws) for sig in methods[name]), \
            f"bridge line {node.lineno}: {name} with {len(args)} positional arguments and keywords {kws}"
        checked += 1
    assert checked >= 8


def test_julia_train_accepts_every_option_of_the_python_train():
    import inspect

    from neuroflow.flow.engine import train

    python_options = set(inspect.signature(train).parameters) - {
        "net_or_objective", "theta0", "X", "Y", "weights", "backend"}
    julia_kws = set().union(*(sig[3] for sig in _methods()["train"]))
    assert python_options <= julia_kws, python_options - julia_kws
    assert "weights" in julia_kws and "dt" in julia_kws


def test_train_result_fields_agree():
    """The NamedTuple NeuroFlow.train returns has every field of Python's TrainResult (and every field
    the bridge reads)."""
    import dataclasses

    from neuroflow.flow.result import TrainResult

    text = (SRC / "train.jl").read_text()
    ret = text[text.rindex("return (loss="):]
    julia_fields = set(re.findall(r"[(,]\s*([a-z_]+)=", ret[: ret.index("\nend")]))
    python_fields = {f.name for f in dataclasses.fields(TrainResult)} - {"options", "net"}
    assert python_fields <= julia_fields, python_fields - julia_fields
    tree = ast.parse(BRIDGE.read_text())
    read = {c.value for node in ast.walk(tree) if isinstance(node, ast.Tuple)
            for c in node.elts if isinstance(c, ast.Constant) and isinstance(c.value, str)}
    assert {"loss", "gnorm", "trajectory", "loss_curve", "ode_stopped_by"} <= read
    assert (read & python_fields) <= julia_fields


# ----------------------------------------------------------------------------- undefined variables
# Base values and types the sources use as plain names (not calls)
BASE_VALUES = {
    "I", "Inf", "NaN", "nothing", "undef", "stderr", "π", "end", "abs2", "InterruptException", "NTuple", "Nothing",
    "Union", "Any", "Real", "Integer", "AbstractFloat", "AbstractVector", "AbstractMatrix", "AbstractArray",
    "AbstractString", "AbstractRNG", "IO", "Type", "Function", "Ref", "Symbol", "Float64", "Int", "Bool", "String",
    "Vector", "Matrix", "Array", "Tuple", "UInt64", "Int64", "DimensionMismatch", "ArgumentError",
}


def _bound_targets(node) -> set[str]:
    if node.type == "identifier":
        return {node.text.decode()}
    if node.type in ("tuple_expression", "open_tuple", "bare_tuple", "parenthesized_expression"):
        return set().union(*(_bound_targets(c) for c in node.children)) if node.children else set()
    if node.type == "typed_expression":
        return _bound_targets(node.children[0])
    return set()


def _globals() -> set[str]:
    names = set(_inventory()[0])
    for path in JL_FILES:
        for n in _walk(_tree(path).root_node):
            if n.type == "const_statement":
                for a in n.children:
                    if a.type == "assignment":
                        names |= _bound_targets(a.children[0])
            elif n.type == "macrocall_expression" and n.children[0].text == b"@enum":
                names |= {a.text.decode() for a in _walk(n) if a.type == "identifier"}
    return names


def test_no_undefined_variables():
    """Inside every function, each name read is a parameter, a local assigned somewhere in the function
    (loops, destructuring and closures included), a package global, or a known Base name: catches typos
    in variable names, which parsing alone does not."""
    known = _globals() | BASE_CALLS | BASE_VALUES
    problems = []
    for path in JL_FILES:
        for fn in _walk(_tree(path).root_node):
            short = fn.type == "assignment" and fn.children[0].type == "call_expression" and \
                fn.parent is not None and fn.parent.type in ("source_file", "module_definition", "macro_argument_list")
            if fn.type != "function_definition" and not short:
                continue
            bound: set[str] = set()
            for n in _walk(fn):
                if n.type == "signature":
                    bound |= {a.text.decode() for a in _walk(n) if a.type == "identifier"}
                elif n.type == "assignment":
                    lhs = n.children[0]
                    if lhs.type == "call_expression":
                        bound |= {a.text.decode() for a in _walk(lhs) if a.type == "identifier"}
                    else:
                        bound |= _bound_targets(lhs)
                elif n.type == "for_binding":
                    bound |= _bound_targets(n.children[0])
                elif n.type == "arrow_function_expression":
                    bound |= {a.text.decode() for a in _walk(n.children[0]) if a.type == "identifier"}
                elif n.type in ("local_statement", "catch_clause") and len(n.children) > 1:
                    bound |= {a.text.decode() for a in _walk(n.children[1]) if a.type == "identifier"}
            for n in _walk(fn):
                if n.type != "identifier":
                    continue
                parent = n.parent
                if parent.type == "field_expression" and parent.children[-1] == n:
                    continue                                  # a.field
                if parent.type in ("macro_identifier", "quote_expression"):
                    continue                                  # @macro, :symbol
                if parent.type in ("named_argument", "named_field") and parent.children[0] == n:
                    continue                                  # keyword / NamedTuple key
                name = n.text.decode()
                if name not in bound and name not in known:
                    problems.append(f"{path.name}:{n.start_point[0] + 1}: {name}")
    assert not problems, "names read but never defined:\n" + "\n".join(sorted(set(problems)))


def test_no_local_variable_shadows_a_called_function():
    """A function that assigns a local named like a function it also calls would call the local
    (an UndefVarError or a MethodError at run time)."""
    package_functions = set(_methods())
    problems = []
    for path in JL_FILES:
        for fn in _walk(_tree(path).root_node):
            if fn.type != "function_definition":
                continue
            assigned, called = set(), set()
            for n in _walk(fn):
                if n.type == "assignment" and n.children[0].type != "call_expression":
                    assigned |= _bound_targets(n.children[0])
                elif n.type == "for_binding":
                    assigned |= _bound_targets(n.children[0])
                elif n.type == "call_expression" and _callee(n):
                    called.add(_callee(n))
            clash = assigned & called & package_functions
            if clash:
                problems.append(f"{path.name}:{fn.start_point[0] + 1}: {sorted(clash)}")
    assert not problems, problems


def test_package_tests_use_only_defined_names():
    """runtests.jl (one scope: the testsets) reads only names it binds, the package exports, NeuroFlow
    internals through `NF.`, or Base/stdlib names."""
    root = _tree(PKG / "test" / "runtests.jl").root_node
    known = _globals() | BASE_CALLS | BASE_VALUES | _inventory()[3] | {"NeuroFlow", "LinearAlgebra", "Random", "Test"}
    bound: set[str] = set()
    for n in _walk(root):
        if n.type == "signature":
            bound |= {a.text.decode() for a in _walk(n) if a.type == "identifier"}
        elif n.type == "assignment":
            lhs = n.children[0]
            bound |= ({a.text.decode() for a in _walk(lhs) if a.type == "identifier"}
                      if lhs.type == "call_expression" else _bound_targets(lhs))
        elif n.type == "for_binding":
            bound |= _bound_targets(n.children[0])
        elif n.type == "arrow_function_expression":
            bound |= {a.text.decode() for a in _walk(n.children[0]) if a.type == "identifier"}
    unknown = set()
    for n in _walk(root):
        if n.type != "identifier":
            continue
        parent = n.parent
        if (parent.type == "field_expression" and parent.children[-1] == n) or \
                parent.type in ("macro_identifier", "quote_expression") or \
                (parent.type in ("named_argument", "named_field") and parent.children[0] == n):
            continue
        if n.text.decode() not in bound | known:
            unknown.add(f"line {n.start_point[0] + 1}: {n.text.decode()}")
    internals = {n.children[-1].text.decode() for n in _walk(root)
                 if n.type == "field_expression" and n.children[0].text == b"NF"}
    assert internals and internals <= _globals(), sorted(internals - _globals())
    assert not unknown, sorted(unknown)
