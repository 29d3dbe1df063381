"""NumPy reference kernels: forward pass, loss, gradient and exact Hessian of an MLP.

Conventions (inputs are trusted here; :class:`neuroflow.mlp.MLP` validates them once):

* ``spec`` is a tuple of layers ``(in_dim, out_dim, activation, has_bias)``.
* ``mats`` are the layer matrices *transposed*, shape ``(in + has_bias, out)``: the flat layout stores
  each ``(out, in + has_bias)`` matrix column-major, which is exactly the C-order ``(in + has_bias, out)``
  transpose, so ``theta[seg].reshape(in + b, out)`` is a free view and ``X @ Wt[:in] + Wt[in]`` a plain GEMM.
* ``wbar`` are the normalised sample weights (``weights / weights.sum()``, or ``1/N``), so that
  ``loss = sum_n wbar_n * sum_o (yhat_no - y_no)**2``.

The Hessian is exact. One hidden layer (the common teacher-student case) takes a closed form built
from a handful of GEMMs; deeper nets use forward-over-reverse (Pearlmutter's R-operator) on batches
of unit directions. Neither allocates more than O(N * P) besides the P x P result.
"""
from __future__ import annotations

import numpy as np
from scipy.linalg import blas

from neuroflow.mlp.activations import get_activation

Spec = tuple  # tuple[(in_dim, out_dim, activation name, has_bias), ...]


def views(spec: Spec, theta: np.ndarray) -> list[np.ndarray]:
    """Per-layer transposed matrices ``(in + b, out)`` as views into ``theta``."""
    out, start = [], 0
    for d_in, d_out, _, bias in spec:
        size = (d_in + bias) * d_out
        out.append(theta[start:start + size].reshape(d_in + bias, d_out))
        start += size
    return out


def _affine(a: np.ndarray, Wt: np.ndarray, d_in: int, bias: bool) -> np.ndarray:
    z = a @ Wt[:d_in]
    if bias:
        z += Wt[d_in]
    return z


def forward_cache(spec: Spec, theta: np.ndarray, X: np.ndarray):
    """Pre-activations ``zs`` and activations ``acts`` (``acts[0] = X``) of every layer."""
    zs, acts = [], [X]
    a = X
    for (d_in, _, act, bias), Wt in zip(spec, views(spec, theta)):
        z = _affine(a, Wt, d_in, bias)
        a = get_activation(act).f(z)
        zs.append(z)
        acts.append(a)
    return zs, acts


def forward(spec: Spec, theta: np.ndarray, X: np.ndarray) -> np.ndarray:
    a = X
    for (d_in, _, act, bias), Wt in zip(spec, views(spec, theta)):
        a = get_activation(act).f(_affine(a, Wt, d_in, bias))
    return a


def loss(spec: Spec, theta, X, Y, wbar) -> float:
    r = forward(spec, theta, X) - Y
    return float(wbar @ np.einsum("no,no->n", r, r))


def loss_and_gradient(spec: Spec, theta, X, Y, wbar):
    zs, acts = forward_cache(spec, theta, X)
    r = acts[-1] - Y
    L = float(wbar @ np.einsum("no,no->n", r, r))
    grad = np.empty_like(theta)
    mats = views(spec, theta)
    gmats = views(spec, grad)
    ga = (2.0 * wbar)[:, None] * r
    for layer in range(len(spec) - 1, -1, -1):
        d_in, _, act, bias = spec[layer]
        act_fn = get_activation(act)
        gz = ga if act == "identity" else ga * act_fn.df(zs[layer])
        G = gmats[layer]
        np.matmul(acts[layer].T, gz, out=G[:d_in])
        if bias:
            G[d_in] = gz.sum(axis=0)
        if layer > 0:
            ga = gz @ mats[layer][:d_in].T
    return L, grad


def gradient(spec: Spec, theta, X, Y, wbar) -> np.ndarray:
    return loss_and_gradient(spec, theta, X, Y, wbar)[1]


# ----------------------------------------------------------------------------- Hessian
def _with_ones(a: np.ndarray, bias: bool) -> np.ndarray:
    if not bias:
        return a
    return np.concatenate([a, np.ones((a.shape[0], 1))], axis=1)


def hessian(spec: Spec, theta, X, Y, wbar, X1=None) -> np.ndarray:
    if len(spec) == 2:
        return _hessian_one_hidden(spec, theta, X, Y, wbar, X1)
    return hessian_forward_over_reverse(spec, theta, X, Y, wbar)


def _f_df_d2f(name: str, z: np.ndarray):
    """Activation, first and second derivative at ``z`` (softplus shares one exp)."""
    if name == "softplus" and (z.size == 0 or np.max(z) < 700.0):
        u = np.exp(z)
        h = np.log1p(u)
        u /= u + 1.0  # sigmoid
        return h, u, u * (1.0 - u)
    act = get_activation(name)
    return act.f(z), act.df(z), act.d2f(z)


def _hessian_one_hidden(spec: Spec, theta, X, Y, wbar, X1=None) -> np.ndarray:
    """Closed-form Hessian of ``y = g(W2 f(W1 x + b1) + b2)``: the Gauss-Newton part from the output,
    the hidden curvature (block diagonal per hidden unit) and the W2 x W1 cross term.
    """
    (d, k, act1, b1), (_, o, act2, b2) = spec
    g = get_activation(act2)
    Wt1, Wt2 = views(spec, theta)
    d1, k2 = d + b1, k + b2
    P1 = d1 * k
    P = theta.size
    Xt = X if not b1 else (X1 if X1 is not None else _with_ones(X, True))  # (N, d1)
    z1 = Xt @ Wt1
    h, fp, fpp = _f_df_d2f(act1, z1)
    z2 = _affine(h, Wt2, k, b2)
    r = (g.f(z2) if act2 != "identity" else z2) - Y
    ga2 = (2.0 * wbar)[:, None] * r
    if act2 == "identity":
        gz2 = ga2
        c2 = np.broadcast_to((2.0 * wbar)[:, None], r.shape)
    else:
        gp2 = g.df(z2)
        gz2 = ga2 * gp2
        c2 = (2.0 * wbar)[:, None] * gp2 * gp2 + ga2 * g.d2f(z2)
    W2 = Wt2[:k]  # (k, o): W2[i, q] is the weight from hidden unit i to output q
    hidden_curv = act1 not in ("identity", "relu")

    Ht = _with_ones(h, b2)  # (N, k2)
    H = np.zeros((P, P))
    unit_cols = np.arange(d1)[None, :] * k + np.arange(k)[:, None]  # (k, d1): unit i's incoming weights
    cols1 = np.arange(P1)
    for q in range(o):
        cq = c2[:, q]
        nonneg = bool(np.all(cq >= 0))
        # Jacobian of output q w.r.t. layer-1 parameters (flat index j * k + i), pre-scaled by sqrt(c)
        s = np.sqrt(cq) if nonneg else np.ones_like(cq)
        u = fp * W2[:, q]
        u *= s[:, None]
        A = (Xt[:, :, None] * u[:, None, :]).reshape(-1, P1)
        Hs = (Ht * s[:, None]) if nonneg else (Ht * cq[:, None])
        rows = P1 + np.arange(k2) * o + q
        if nonneg:
            J = np.concatenate([A, Hs], axis=1)  # (N, P1 + k2), one symmetric rank-N update
            G = _syrk(J)
            H11, cross, H22 = G[:P1, :P1], G[P1:, :P1], G[P1:, P1:]
        else:
            H11 = (A * cq[:, None]).T @ A
            cross = Hs.T @ A
            H22 = (Ht * cq[:, None]).T @ Ht
        H[:P1, :P1] += H11
        cross = np.array(cross)
        # second derivative of z2 = W2 h(W1): d2 z2_q / dW2[q, i] dW1[i, j] = f'(z1_i) x_j
        gf = gz2[:, q:q + 1] * fp  # (N, k)
        cross[np.arange(k)[:, None], unit_cols] += (Xt.T @ gf).T
        H[np.ix_(rows, cols1)] = cross
        H[np.ix_(cols1, rows)] = cross.T
        H[np.ix_(rows, rows)] = H22
    if hidden_curv:
        # hidden curvature: unit i couples only its own incoming weights (j * k + i)
        c1 = (gz2 @ W2.T) * fpp  # (N, k)
        blocks = np.einsum("ni,nj,nl->ijl", c1, Xt, Xt, optimize=True)  # (k, d1, d1)
        H[unit_cols[:, :, None], unit_cols[:, None, :]] += blocks
    return H


def _syrk(A: np.ndarray) -> np.ndarray:
    """``A.T @ A`` through BLAS dsyrk (half the flops of a GEMM), symmetrised."""
    G = blas.dsyrk(1.0, A.T, trans=0, lower=0)  # A.T is Fortran-ordered: no copy
    il = np.tril_indices_from(G, -1)
    G[il] = G.T[il]
    return G


def hessian_forward_over_reverse(spec: Spec, theta, X, Y, wbar, *, max_chunk: int | None = None) -> np.ndarray:
    """Exact Hessian for any depth: Hessian-vector products with unit directions, in batches.

    For directions in layer m the forward tangents are zero below m, and only the rows of layers >= m
    are formed; the rest of the matrix follows by symmetry.
    """
    L = len(spec)
    mats = views(spec, theta)
    zs, acts = forward_cache(spec, theta, X)
    N = X.shape[0]
    P = theta.size
    acts_fn = [get_activation(s[2]) for s in spec]
    fps = [acts_fn[l].df(zs[l]) for l in range(L)]
    fpps = [acts_fn[l].d2f(zs[l]) for l in range(L)]
    tilde = [_with_ones(acts[l], spec[l][3]) for l in range(L)]  # input of layer l, with ones
    # ordinary backward pass, keeping the adjoints
    r = acts[-1] - Y
    gas = [None] * L
    gzs = [None] * L
    ga = (2.0 * wbar)[:, None] * r
    for l in range(L - 1, -1, -1):
        gas[l] = ga
        gzs[l] = ga * fps[l]
        if l > 0:
            ga = gzs[l] @ mats[l][: spec[l][0]].T
    offsets = np.cumsum([0] + [(s[0] + s[3]) * s[1] for s in spec])
    widths = sum(s[1] for s in spec)
    chunk = max(1, P // max(widths, 1)) if max_chunk is None else max_chunk
    H = np.zeros((P, P))
    w2 = (2.0 * wbar)[None, :, None]
    for m in range(L):
        d_in, w_m, _, bias = spec[m]
        size = (d_in + bias) * w_m
        for start in range(0, size, chunk):
            idx = np.arange(start, min(start + chunk, size))
            c = idx.size
            j_idx, i_idx = np.divmod(idx, w_m)
            # forward tangents from layer m upwards
            Rz = np.zeros((c, N, w_m))
            Rz[np.arange(c), :, i_idx] = tilde[m][:, j_idx].T
            Rzs = {m: Rz}
            Ras = {m: fps[m][None] * Rz}
            for l in range(m + 1, L):
                dl = spec[l][0]
                Rzs[l] = (Ras[l - 1].reshape(c * N, dl) @ mats[l][:dl]).reshape(c, N, spec[l][1])
                Ras[l] = fps[l][None] * Rzs[l]
            # reverse pass of the tangents, layer L-1 down to m
            Rga = w2 * Ras[L - 1]
            cols = np.empty((c, offsets[L] - offsets[m]))
            for l in range(L - 1, m - 1, -1):
                dl, wl, _, bl = spec[l]
                Rgz = Rga * fps[l][None] + (gas[l] * fpps[l])[None] * Rzs[l]
                # R(G_l^T) = tilde^T Rgz + R(tilde)^T gz, shape (c, dl + bl, wl)
                RG = np.matmul(tilde[l].T[None], Rgz)
                if l > m:
                    RG[:, :dl] += np.matmul(Ras[l - 1].transpose(0, 2, 1), gzs[l][None])
                cols[:, offsets[l] - offsets[m]:offsets[l + 1] - offsets[m]] = RG.reshape(c, -1)
                if l > m:
                    Rga = (Rgz.reshape(c * N, wl) @ mats[l][:dl].T).reshape(c, N, dl)
            gidx = offsets[m] + idx
            H[offsets[m]:, gidx] = cols.T
            H[gidx, offsets[m]:] = cols
    return H
