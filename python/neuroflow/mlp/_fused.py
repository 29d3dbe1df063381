"""Fast CPU loss and gradient: row-blocked forward/backward with in-place elementwise work.

NumPy's SIMD ``exp``/``log`` run at ~2 ns per float64 but a naive implementation streams a dozen
(N, width) temporaries through memory. Here the samples are processed in blocks of rows small enough
for the cache, every elementwise step writes into a preallocated block buffer, and activation and
derivative come out of one fused routine (softplus: one ``exp``, one ``log``, one division). Numba
was tried for this fusion but, without SVML, its scalar ``exp``/``log1p`` are an order of magnitude
slower than NumPy's vectorised ones.
"""
from __future__ import annotations

import numpy as np

from neuroflow.mlp._numpy_kernels import views
from neuroflow.mlp.activations import get_activation

#: target number of float64 entries per (block rows x width) buffer (~256 KiB)
_BLOCK_ENTRIES = 1 << 15
_EXP_SAFE = 700.0  # exp(z) is finite below ~709


def _f_df(name: str, z: np.ndarray, need_df: bool, tmp: np.ndarray, out: np.ndarray):
    """Activation value and derivative at ``z``; ``z`` may be overwritten.

    Returns ``(a, fp)`` where ``fp`` is None for the identity (derivative 1) or when not needed.
    ``tmp`` and ``out`` are scratch buffers shaped like ``z``; ``a`` lives in ``out`` or ``z``.
    """
    if name == "identity":
        return z, None
    if name == "softplus":
        if z.size == 0 or np.max(z) < _EXP_SAFE:
            u = np.exp(z, out=z)
            a = np.log1p(u, out=out)
            if not need_df:
                return a, None
            d = np.add(u, 1.0, out=tmp)
            return a, np.divide(u, d, out=u)  # sigmoid = e^z / (1 + e^z)
    elif name == "sigmoid":
        np.negative(z, out=tmp)
        np.exp(tmp, out=tmp)
        tmp += 1.0
        a = np.divide(1.0, tmp, out=out)
        if not need_df:
            return a, None
        fp = np.subtract(1.0, a, out=z)
        fp *= a
        return a, fp
    elif name == "tanh":
        a = np.tanh(z, out=out)
        if not need_df:
            return a, None
        fp = np.multiply(a, a, out=z)
        np.subtract(1.0, fp, out=fp)
        return a, fp
    elif name == "relu":
        a = np.maximum(z, 0.0, out=out)
        if not need_df:
            return a, None
        return a, np.greater(z, 0.0, out=z)  # bool -> float64 in place
    act = get_activation(name)
    a = act.f(z)
    return a, (act.df(z) if need_df else None)


def _block_rows(spec, n: int) -> int:
    widest = max(max(s[0], s[1]) for s in spec)
    return int(max(64, min(n, _BLOCK_ENTRIES // max(widest, 1))))


def loss(spec, theta, X, Y, wbar) -> float:
    mats = views(spec, theta)
    N = X.shape[0]
    B = _block_rows(spec, N)
    total = 0.0
    for s in range(0, N, B):
        a = X[s:s + B]
        for (d_in, d_out, act, bias), Wt in zip(spec, mats):
            z = a @ Wt[:d_in]
            if bias:
                z += Wt[d_in]
            a, _ = _f_df(act, z, False, np.empty_like(z), np.empty_like(z))
        r = a - Y[s:s + B]
        r *= r
        total += float(wbar[s:s + B] @ r.sum(axis=1))
    return total


def loss_and_gradient(spec, theta, X, Y, wbar, X1=None):
    """(loss, gradient) with the same conventions as the NumPy reference kernels.

    ``X1`` (optional) is ``X`` with a column of ones appended; with it the first layer's bias rides in
    the GEMMs instead of costing two extra passes.
    """
    mats = views(spec, theta)
    grad = np.zeros_like(theta)
    gmats = views(spec, grad)
    N = X.shape[0]
    B = _block_rows(spec, N)
    n_layers = len(spec)
    first_bias = spec[0][3] and X1 is not None
    # a single linear output: the adjoint of the last hidden layer is the outer product ga_L w^T, so
    # keep it factored (scale GEMM results by w) and save a full (N, width) pass
    scalar_out = spec[-1][1] == 1 and spec[-1][2] == "identity" and n_layers > 1
    zbuf = [np.empty((B, s[1])) for s in spec]
    tbuf = [np.empty((B, s[1])) for s in spec]
    abuf = [np.empty((B, s[1])) for s in spec]
    total = 0.0
    for s in range(0, N, B):
        e = min(s + B, N)
        nb = e - s
        acts, fps = [X1[s:e] if first_bias else X[s:e]], []
        a = acts[0]
        for l, ((d_in, d_out, act, bias), Wt) in enumerate(zip(spec, mats)):
            if l == 0 and first_bias:
                z = np.matmul(a, Wt, out=zbuf[l][:nb])
            else:
                z = np.matmul(a, Wt[:d_in], out=zbuf[l][:nb])
                if bias:
                    z += Wt[d_in]
            a, fp = _f_df(act, z, True, tbuf[l][:nb], abuf[l][:nb])
            acts.append(a)
            fps.append(fp)
        r = np.subtract(a, Y[s:e], out=tbuf[-1][:nb])
        wb = wbar[s:e]
        if r.shape[1] == 1:
            rv = r[:, 0]
            total += float((wb * rv) @ rv)
        else:
            total += float(wb @ np.einsum("no,no->n", r, r))
        ga = np.multiply(r, (2.0 * wb)[:, None], out=r)
        colscale = None
        for l in range(n_layers - 1, -1, -1):
            d_in, _, _, bias = spec[l]
            fp = fps[l]
            gz = ga if fp is None else np.multiply(ga, fp, out=fp)
            G = gmats[l]
            if l == 0 and first_bias:
                Gb = acts[0].T @ gz
                G += Gb if colscale is None else Gb * colscale
            else:
                Gw = acts[l].T @ gz
                G[:d_in] += Gw if colscale is None else Gw * colscale
                if bias:
                    gb = gz.sum(axis=0)
                    G[d_in] += gb if colscale is None else gb * colscale
            if l == 0:
                break
            Wl = mats[l][:d_in]
            if scalar_out and l == n_layers - 1:
                ga = gz  # (nb, 1); the true adjoint is ga * w[None, :]
                colscale = Wl[:, 0]
            else:
                ga = gz @ (Wl.T if colscale is None else (Wl * colscale[None, :]).T)
                colscale = None
    return total, grad
