"""The exact Hessian of the infinite-data loss, assembled block by block by a numba kernel (compiled on
first use and cached on disk)."""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["assemble_hessian"]


@njit(cache=True)
def assemble_hessian(Wh, Th, U, Perp, T, c, a, h1, h2, ir, cD, Kss, perm):  # pragma: no cover (numba)
    """The exact Hessian from the pair moments, block by block, written straight into the flat layout.

    Natural index of w_j[i] is j d + i, of a_j is m d + j; ``perm`` maps it to the flat layout.
    With p_jq = th_q - u_jq wh_j (the part of th_q orthogonal to wh_j), the blocks are

    * d2L/dw_j^2 = 2 a_j sum_q c_q d2K(w_j, th_q)/dw_j^2 + a_j^2 d2h(|w_j|)/dw_j^2, where
      d2K/dw^2 = F11 wh wh' + (F1/r - Fu u/r^2) (I - wh wh') + (F1u/r - Fu/r^2)(wh p' + p wh')
      + Fuu p p'/r^2 and d2h/dw^2 = h'' wh wh' + (h'/r)(I - wh wh');
    * d2L/dw_j dw_l = 2 a_j a_l [F12 wh_j wh_l' + c2 wh_j q' + c3 p wh_l' + c4 p q' + c5 (I - wh_l wh_l')]
      with p = p_jl, q = p_lj, c2 = F1u/r_l - Fu/(r_j r_l), c3 = F2u/r_j, c4 = Fuu/(r_j r_l),
      c5 = Fu/(r_j r_l);
    * d2L/da_j dw_l = 2 a_l dK(w_l, w_j)/dw_l (l != j), 2 sum_q c_q dK(w_j, th_q)/dw_j + 2 a_j h' wh_j
      (l = j), and d2L/da_j da_l = 2 K(w_j, w_l).

    The Fuu terms keep p p' and p q' as products: the relu kernel's Fuu grows like 1/|p| as two
    units align, and only the product (of size |p|) is finite.
    """
    F1, Fu, F11, F12, F1u, F2u, Fuu = T[1], T[3], T[4], T[6], T[7], T[8], T[9]
    m, d = Wh.shape
    P = Th.shape[0]
    nW = m * d
    n = nW + m
    H = np.empty((n, n))
    g = np.empty(d)
    vec = np.empty(d)
    for j in range(m):
        rj = ir[j]
        # ---- diagonal block
        alpha = 0.0
        beta = 0.0
        g[:] = 0.0
        for q in range(P):
            if q == j:
                continue
            alpha += c[q] * (F1[j, q] * rj - Fu[j, q] * U[j, q] * rj * rj)
            beta += c[q] * F11[j, q]
            c2 = c[q] * (F1u[j, q] * rj - Fu[j, q] * rj * rj)
            for i in range(d):
                g[i] += c2 * Perp[j, q, i]
        x = 2.0 * a[j] * alpha + a[j] * a[j] * h1[j] * rj
        y = 2.0 * a[j] * (beta - alpha) + a[j] * a[j] * (h2[j] - h1[j] * rj)
        for i in range(d):
            for k in range(i, d):
                v = y * Wh[j, i] * Wh[j, k] + 2.0 * a[j] * (Wh[j, i] * g[k] + g[i] * Wh[j, k])
                if i == k:
                    v += x
                for q in range(P):
                    if q != j:
                        v += 2.0 * a[j] * c[q] * Fuu[j, q] * rj * rj * Perp[j, q, i] * Perp[j, q, k]
                H[perm[j * d + i], perm[j * d + k]] = v
                H[perm[j * d + k], perm[j * d + i]] = v
        # ---- off-diagonal student blocks
        for l in range(m):
            if l == j:
                continue
            rl = ir[l]
            u = U[j, l]
            Aa = 2.0 * a[j] * a[l]
            rr = rj * rl
            c2 = F1u[j, l] * rl - Fu[j, l] * rr
            c3 = F2u[j, l] * rj
            c4 = Fuu[j, l] * rr
            c5 = Fu[j, l] * rr
            c1 = F12[j, l] - u * (c2 + c3)
            for i in range(d):
                for k in range(d):
                    v = (c1 * Wh[j, i] * Wh[l, k] + c2 * Wh[j, i] * Wh[j, k] + (c3 - c5) * Wh[l, i] * Wh[l, k]
                         + c4 * Perp[j, l, i] * Perp[l, j, k])
                    if i == k:
                        v += c5
                    H[perm[j * d + i], perm[l * d + k]] = Aa * v
        # ---- a_j against every w_l and a_l
        for l in range(m):
            if l == j:
                for i in range(d):
                    vec[i] = 2.0 * cD[j, i] + 2.0 * a[j] * h1[j] * Wh[j, i]
            else:
                rl = ir[l]
                s1 = 2.0 * a[l] * (F1[l, j] - Fu[l, j] * U[l, j] * rl)
                s2 = 2.0 * a[l] * Fu[l, j] * rl
                for i in range(d):
                    vec[i] = s1 * Wh[l, i] + s2 * Wh[j, i]
            for i in range(d):
                H[perm[nW + j], perm[l * d + i]] = vec[i]
                H[perm[l * d + i], perm[nW + j]] = vec[i]
            H[perm[nW + j], perm[nW + l]] = 2.0 * Kss[j, l]
    return H
