"""Gradient and exact-Hessian speed: neuroflow's NumPy kernels against torch, side by side.

Grid (issue 2): input dim 2, one hidden softplus layer with bias, width k in {10, 50, 100}, linear
output, N in {1e2, 1e3, 1e4} (and 1e5 for gradients); plus a 2-hidden-layer 20-20 softplus net.
Float64, one thread on both sides (BLAS through threadpoolctl, torch.set_num_threads(1)).

Peers: the gradient against torch's ``loss.backward()`` (forward included on both sides), the Hessian
against ``torch.autograd.functional.hessian``. Each timing is the median of repeated runs.
Prints one JSON document on stdout.

    python benchmarks/gradients.py [--quick] [--repeats R] [--out FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from neuroflow.mlp import MLP  # noqa: E402


def _median_time(fn, repeats: int, budget_s: float) -> float:
    fn()  # warm-up (allocations, caches)
    times = []
    t_start = time.perf_counter()
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if time.perf_counter() - t_start > budget_s and len(times) >= 3:
            break
    return statistics.median(times)


def _torch_loss_fn(net: MLP, X, Y):
    """A plain torch model with separate weight tensors (not neuroflow's flat layout)."""
    Xt = torch.as_tensor(X)
    Yt = torch.as_tensor(Y)
    act = torch.nn.functional.softplus

    def forward(params):
        a = Xt
        for i, (W, b) in enumerate(zip(params[0::2], params[1::2])):
            a = a @ W.T + b
            if i < len(params) // 2 - 1:
                a = act(a)
        r = a - Yt
        return (r * r).sum(dim=1).mean()

    return forward


def _torch_params(net: MLP, theta, requires_grad=True):
    out = []
    for M in net.unpack(theta):
        W = torch.tensor(M[:, :-1].copy(), requires_grad=requires_grad)
        b = torch.tensor(M[:, -1].copy(), requires_grad=requires_grad)
        out += [W, b]
    return out


def bench_point(hidden: list[int], n: int, *, hessian: bool, repeats: int, budget_s: float, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    layers = [(k, "softplus", True) for k in hidden] + [(1, "identity", True)]
    net = MLP(2, layers, backend="numpy")
    theta = net.init_params(seed=seed)
    X = rng.normal(size=(n, 2))
    Y = rng.normal(size=(n, 1))
    obj = net.objective(X, Y)
    fwd = _torch_loss_fn(net, X, Y)

    # --- gradient
    params = _torch_params(net, theta)

    def torch_grad():
        for p in params:
            p.grad = None
        fwd(params).backward()

    t_nf = _median_time(lambda: obj.loss_and_gradient(theta), repeats, budget_s)
    t_th = _median_time(torch_grad, repeats, budget_s)
    # correctness of what was timed
    torch_grad()
    g_torch = net.pack([np.concatenate([W.grad.numpy(), b.grad.numpy()[:, None]], axis=1)
                        for W, b in zip(params[0::2], params[1::2])])
    g_nf = obj.gradient(theta)
    point = {"hidden": hidden, "n_samples": n, "n_params": net.n_params,
             "gradient_neuroflow_s": t_nf, "gradient_torch_backward_s": t_th,
             "gradient_speedup": t_th / t_nf,
             "gradient_max_rel_diff": float(np.max(np.abs(g_nf - g_torch)) / np.max(np.abs(g_torch)))}
    if hessian:
        flat = torch.tensor(theta)
        shapes = [(o, i) for o, i in net.shapes]

        def flat_loss(v):
            ps, start = [], 0
            for o, i in shapes:
                M = v[start:start + o * i].reshape(i, o).T  # column-major (out, in+1)
                ps += [M[:, :-1], M[:, -1]]
                start += o * i
            return fwd(ps)

        t_hnf = _median_time(lambda: obj.hessian(theta), repeats, budget_s)
        t_hth = _median_time(lambda: torch.autograd.functional.hessian(flat_loss, flat), max(1, repeats // 3),
                             budget_s)
        H_t = torch.autograd.functional.hessian(flat_loss, flat).numpy()
        H_nf = obj.hessian(theta)
        point.update({"hessian_neuroflow_s": t_hnf, "hessian_torch_autograd_s": t_hth,
                      "hessian_speedup": t_hth / t_hnf,
                      "hessian_max_rel_diff": float(np.max(np.abs(H_nf - H_t)) / np.max(np.abs(H_t)))})
    return point


def run(quick: bool = False, repeats: int = 7, budget_s: float = 3.0, progress=None) -> dict:
    torch.set_num_threads(1)
    grid = []
    widths = [10, 50] if quick else [10, 50, 100]
    sizes = [100, 1000] if quick else [100, 1000, 10_000, 100_000]
    for k in widths:
        for n in sizes:
            grid.append(([k], n, n <= 10_000))
    for n in ([100, 1000] if quick else [100, 1000, 10_000]):
        grid.append(([20, 20], n, True))
    results = []
    with threadpool_limits(limits=1):
        for hidden, n, hess in grid:
            point = bench_point(hidden, n, hessian=hess, repeats=repeats, budget_s=budget_s)
            results.append(point)
            if progress:
                progress(point)
    one = [p for p in results if len(p["hidden"]) == 1]
    two = [p for p in results if len(p["hidden"]) == 2]
    summary = {
        "min_gradient_speedup": min(p["gradient_speedup"] for p in results),
        "min_hessian_speedup_one_hidden": min(p["hessian_speedup"] for p in one if "hessian_speedup" in p),
        "min_hessian_speedup_two_hidden": min(p["hessian_speedup"] for p in two if "hessian_speedup" in p),
        "max_rel_diff": max(max(p["gradient_max_rel_diff"], p.get("hessian_max_rel_diff", 0.0)) for p in results),
    }
    summary["targets"] = {"gradient_speedup>=1.5": summary["min_gradient_speedup"] >= 1.5,
                          "hessian_speedup_one_hidden>=20": summary["min_hessian_speedup_one_hidden"] >= 20,
                          "hessian_speedup_two_hidden>=10": summary["min_hessian_speedup_two_hidden"] >= 10}
    return {"benchmark": "gradients", "quick": quick, "threads": {"torch": torch.get_num_threads(), "blas": 1},
            "dtype": "float64", "torch": torch.__version__, "numpy": np.__version__,
            "machine": platform.processor() or platform.machine(), "repeats": repeats,
            "summary": summary, "points": results}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small grid (k in {10, 50}, N in {1e2, 1e3})")
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--out", default=None, help="also write the JSON here")
    args = p.parse_args(argv)
    res = run(args.quick, args.repeats,
              progress=lambda pt: print(json.dumps({k: pt[k] for k in pt if "speedup" in k or k in ("hidden", "n_samples")}),
                                        file=sys.stderr, flush=True))
    text = json.dumps(res, indent=2)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
