"""NumPy reference kernels: forward pass, loss, gradient and exact Hessian of an MLP.

Conventions (inputs are trusted here; :class:`neuroflow.mlp.MLP` validates them once):

* ``spec`` is a tuple of layers ``(in_dim, out_dim, activation, has_bias)``.
* ``mats`` are the layer matrices *transposed*, shape ``(in + has_bias, out)``: the flat layout stores
  each ``(out, in + has_bias)`` matrix column-major, which is exactly the C-order ``(in + has_bias, out)``
  transpose, so ``theta[seg].reshape(in + b, out)`` is a free view and ``X @ Wt[:in] + Wt[in]`` a plain GEMM.
* ``wbar`` are the normalised sample weights (``weights / weights.sum()``, or ``1/N``), so that
  ``loss = sum_n wbar_n * sum_o (yhat_no - y_no)**2``.

The Hessian is exact. One hidden layer (the common teacher-student case) takes a closed form built
from one BLAS ``dsyrk`` and a few small GEMMs; deeper nets use forward-over-reverse (Pearlmutter's
R-operator) with factorised unit directions (:func:`hessian_unit_tangents`), again a handful of GEMMs
per pair of layers. :func:`hessian_forward_over_reverse` is the plain batched version, kept as an
independent check. Working memory stays O(N * P) besides the P x P result.
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


def jacobian_memory(spec: Spec, n_samples: int) -> int:
    """Peak memory of :func:`jacobian`, bytes (an upper estimate): the (N, out, P) result, the forward cache,
    the back-propagated ``delta`` and the activation derivatives' temporaries (measured 1.60 GB for 20 000
    probes of a 1000-unit net, estimated 1.76)."""
    P = sum((d_in + b) * o for d_in, o, _, b in spec)
    widths = sum(o for _, o, _, _ in spec)
    d_out = spec[-1][1]
    return 8 * n_samples * (d_out * P + 3 * widths + (d_out + 3) * max(o for _, o, _, _ in spec) + spec[0][0])


def hessian_memory(spec: Spec, n_samples: int) -> int:
    """Peak memory of :func:`hessian`, bytes (an upper estimate): the P x P result and working arrays of
    O(N P) (measured 3.3 N P for one hidden layer, 7.6 N P for two)."""
    P = sum((d_in + b) * o for d_in, o, _, b in spec)
    return 8 * (P * P + (4 if len(spec) == 2 else 8) * n_samples * P)


# ----------------------------------------------------------------------------- Hessian
def jacobian(spec: Spec, theta, X) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample Jacobian of the outputs, shape ``(N, out_dim, P)``: ``J[n, o] = d yhat_no / d theta``, and
    the outputs ``yhat`` (N, out_dim) of the same forward pass.

    Reverse mode for every output at once: ``delta`` (N, out_dim, units) is d yhat / d z of a layer, and
    the layer's block is the outer product of ``delta`` with the layer's input (plus ones for the bias),
    written straight into its columns (the flat layout's block is the C-order ``(in + b, out)`` array).
    """
    zs, acts = forward_cache(spec, theta, X)
    N, d_out = X.shape[0], spec[-1][1]
    J = np.empty((N, d_out, theta.size))
    offsets = np.cumsum([0] + [(d_in + b) * o for d_in, o, _, b in spec])
    mats = views(spec, theta)
    delta = None
    for k in range(len(spec) - 1, -1, -1):
        d_in, o, act, bias = spec[k]
        dz = get_activation(act).df(zs[k])  # (N, o)
        if delta is None:  # output layer: d yhat_o / d z_o' is diagonal
            delta = np.zeros((N, d_out, o))
            idx = np.arange(o)
            delta[:, idx, idx] = dz
        else:
            delta *= dz[:, None, :]
        block = J[:, :, offsets[k]:offsets[k + 1]].reshape(N, d_out, d_in + bias, o)
        np.multiply(acts[k][:, None, :, None], delta[:, :, None, :], out=block[:, :, :d_in, :])
        if bias:
            block[:, :, d_in, :] = delta
        if k > 0:
            delta = delta @ mats[k][:d_in].T  # (N, d_out, in)
    return J, acts[-1]


def _with_ones(a: np.ndarray, bias: bool) -> np.ndarray:
    if not bias:
        return a
    return np.concatenate([a, np.ones((a.shape[0], 1))], axis=1)


def hessian(spec: Spec, theta, X, Y, wbar, X1=None) -> np.ndarray:
    if len(spec) == 2:
        return _hessian_one_hidden(spec, theta, X, Y, wbar, X1)
    return hessian_unit_tangents(spec, theta, X, Y, wbar)


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

    Works with samples in columns (features x N, contiguous along N) so that the per-sample
    Jacobian rows are built with unit-stride broadcasts and reduced by one BLAS ``dsyrk``.
    """
    (d, k, act1, b1), (_, o, act2, b2) = spec
    g = get_activation(act2)
    Wt1, Wt2 = views(spec, theta)
    d1, k2 = d + b1, k + b2
    P1 = d1 * k
    P = theta.size
    N = X.shape[0]
    XT = np.ascontiguousarray((X1 if (b1 and X1 is not None) else _with_ones(X, b1)).T)  # (d1, N)
    zT = Wt1.T @ XT  # (k, N)
    hT, fpT, fppT = _f_df_d2f(act1, zT)
    W2 = Wt2[:k]  # (k, o): W2[i, q] is the weight from hidden unit i to output q
    z2T = W2.T @ hT  # (o, N)
    if b2:
        z2T += Wt2[k][:, None]
    rT = (g.f(z2T) if act2 != "identity" else z2T) - Y.T
    w2 = 2.0 * wbar
    gz2T = rT * w2  # adjoint of the output pre-activation (identity output)
    if act2 == "identity":
        c2T = np.broadcast_to(w2, (o, N))
    else:
        gp = g.df(z2T)
        c2T = w2 * gp * gp + gz2T * g.d2f(z2T)
        gz2T = gz2T * gp
    unit_cols = np.arange(d1)[None, :] * k + np.arange(k)[:, None]  # (k, d1): unit i's incoming weights
    H = np.zeros((P, P))
    for q in range(o):
        c = c2T[q]
        nonneg = bool(np.all(c >= 0))
        # rows of J^T (one per parameter, samples along the row): d z2_q / d theta for layer 1
        # (flat index j * k + i) and for W2's column q, scaled by sqrt(c) when c >= 0
        JT = np.empty((P1 + k2, N))
        uT = fpT * W2[:, q:q + 1]
        s = np.sqrt(c) if nonneg else None
        if nonneg:
            uT *= s
        np.multiply(XT[:, None, :], uT[None, :, :], out=JT[:P1].reshape(d1, k, N))
        if nonneg:
            np.multiply(hT, s, out=JT[P1:P1 + k])
            if b2:
                JT[-1] = s
            G = _syrk_rows(JT)
        else:
            JT[P1:P1 + k] = hT
            if b2:
                JT[-1] = 1.0
            G = (JT * c) @ JT.T
        rows = P1 + np.arange(k2) * o + q  # W2[q, j] sits at j * o + q
        if o == 1:
            H += G
        else:
            idx = np.concatenate([np.arange(P1), rows])
            H[np.ix_(idx, idx)] += G
        # second derivative of z2 = W2 h(W1): d2 z2_q / dW2[q, i] dW1[i, j] = f'(z1_i) x_j
        extra = (fpT * gz2T[q]) @ XT.T  # (k, d1)
        H[rows[:k, None], unit_cols] += extra
        H[unit_cols, rows[:k, None]] += extra
    if act1 not in ("identity", "relu"):
        # hidden curvature: unit i couples only its own incoming weights (j * k + i)
        c1T = fppT * (W2 @ gz2T)  # (k, N)
        jj, ll = np.triu_indices(d1)
        pairs = c1T @ (XT[jj] * XT[ll]).T  # (k, n_pairs)
        blocks = np.empty((k, d1, d1))
        blocks[:, jj, ll] = pairs
        blocks[:, ll, jj] = pairs
        H[unit_cols[:, :, None], unit_cols[:, None, :]] += blocks
    return H


def _syrk_rows(JT: np.ndarray) -> np.ndarray:
    """``JT @ JT.T`` through BLAS dsyrk (half the flops of a GEMM), symmetrised."""
    G = blas.dsyrk(1.0, JT.T, trans=1, lower=0)  # JT.T is Fortran-ordered: no copy
    il = np.tril_indices_from(G, -1)
    G[il] = G.T[il]
    return G


def _second_order_cache(spec: Spec, theta, X):
    """What both any-depth Hessians start from: the layer matrices, the activations, the first and second
    derivatives of each layer's activation at its pre-activations, and each layer's input with ones (bias)."""
    mats = views(spec, theta)
    zs, acts = forward_cache(spec, theta, X)
    fns = [get_activation(s[2]) for s in spec]
    fps = [f.df(z) for f, z in zip(fns, zs)]
    fpps = [f.d2f(z) for f, z in zip(fns, zs)]
    tilde = [_with_ones(a, s[3]) for a, s in zip(acts, spec)]  # the input of layer l, with ones
    return mats, acts, fps, fpps, tilde


def hessian_unit_tangents(spec: Spec, theta, X, Y, wbar) -> np.ndarray:
    """Exact Hessian for any depth by forward-over-reverse with factorised unit directions.

    A unit direction on weight ``W_m[i, j]`` perturbs ``z_m`` by ``x_j e_i`` per sample, so every
    tangent downstream is the per-sample scalar ``x_j`` times the tangent of the unit perturbation
    ``e_i``. Only ``w_m`` unit tangents are propagated per layer; the Hessian blocks then come out of
    two GEMMs per pair of layers (l >= m):

        H[l: (p, r), m: (j, i)] = sum_n x_mj x_lp Rgz_l(i)_nr + sum_n x_mj Rx_l(i)_np gz_l,nr

    with ``x_m`` the (ones-augmented) input of layer m, ``gz_l`` the adjoint of ``z_l`` and ``R``
    the tangents. The cost is about N * P^2 multiply-adds in BLAS, whatever the depth.
    """
    L = len(spec)
    mats, acts, fps, fpps, tilde = _second_order_cache(spec, theta, X)
    N = X.shape[0]
    P = theta.size
    gas, gzs = [None] * L, [None] * L
    ga = (2.0 * wbar)[:, None] * (acts[-1] - Y)
    for l in range(L - 1, -1, -1):
        gas[l] = ga
        gzs[l] = ga * fps[l]
        if l > 0:
            ga = gzs[l] @ mats[l][: spec[l][0]].T
    offsets = np.cumsum([0] + [(s[0] + s[3]) * s[1] for s in spec])
    w2 = (2.0 * wbar)[None, :, None]
    H = np.zeros((P, P))
    for m in range(L):
        wm = spec[m][1]
        dm = tilde[m].shape[1]
        # unit tangents of z_l and a_l, shape (wm, N, w_l)
        Rz = {}
        Ra = {}
        Ra[m] = np.zeros((wm, N, wm))
        Ra[m][np.arange(wm), :, np.arange(wm)] = fps[m].T
        for l in range(m + 1, L):
            dl_in = spec[l][0]
            if l == m + 1:
                Rz[l] = fps[m].T[:, :, None] * mats[l][:dl_in][:, None, :]
            else:
                Rz[l] = (Ra[l - 1].reshape(wm * N, dl_in) @ mats[l][:dl_in]).reshape(wm, N, spec[l][1])
            Ra[l] = fps[l][None] * Rz[l]
        Rga = w2 * Ra[L - 1]
        for l in range(L - 1, m - 1, -1):
            dl_in, wl, _, bl = spec[l]
            dl = dl_in + bl
            Rgz = Rga * fps[l][None]
            curv = gas[l] * fpps[l]  # (N, w_l)
            if l == m:
                Rgz[np.arange(wm), :, np.arange(wm)] += curv.T
            else:
                Rgz += curv[None] * Rz[l]
            # H1[(j, p), (i, r)] = sum_n x_mj x_lp Rgz_l(i)_nr
            R = Rgz.transpose(1, 0, 2).reshape(N, wm * wl)
            if l == m:  # x_mj x_mp is symmetric in (j, p): form each pair once
                jj, pp = np.triu_indices(dm)
                half = ((tilde[m][:, jj] * tilde[m][:, pp]).T @ R).reshape(-1, wm, wl)
                H1 = np.empty((dm, dl, wm, wl))
                H1[jj, pp] = half
                H1[pp, jj] = half
            else:
                Q = (tilde[m][:, :, None] * tilde[l][:, None, :]).reshape(N, dm * dl)
                H1 = (Q.T @ R).reshape(dm, dl, wm, wl)
            blk = H1.transpose(1, 3, 0, 2).reshape(dl * wl, dm * wm)
            if l > m:
                # H2[(j, r), (i, p)] = sum_n x_mj gz_l,nr Rx_l(i)_np  (the bias input has no tangent)
                S = (tilde[m][:, :, None] * gzs[l][:, None, :]).reshape(N, dm * wl)
                Rx = Ra[l - 1].transpose(1, 0, 2).reshape(N, wm * dl_in)
                H2 = (S.T @ Rx).reshape(dm, wl, wm, dl_in).transpose(3, 1, 0, 2).reshape(dl_in * wl, dm * wm)
                blk[: dl_in * wl] += H2
            rs, cs = slice(offsets[l], offsets[l + 1]), slice(offsets[m], offsets[m + 1])
            H[rs, cs] = blk
            if l > m:
                H[cs, rs] = blk.T
                Rga = (Rgz.reshape(wm * N, wl) @ mats[l][:dl_in].T).reshape(wm, N, dl_in)
    return H


def hessian_forward_over_reverse(spec: Spec, theta, X, Y, wbar, *, max_chunk: int | None = None) -> np.ndarray:
    """Exact Hessian for any depth: Hessian-vector products with unit directions, in batches.

    For directions in layer m the forward tangents are zero below m, and only the rows of layers >= m
    are formed; the rest of the matrix follows by symmetry.
    """
    L = len(spec)
    mats, acts, fps, fpps, tilde = _second_order_cache(spec, theta, X)
    N = X.shape[0]
    P = theta.size
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
