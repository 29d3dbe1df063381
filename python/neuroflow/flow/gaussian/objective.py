"""``GaussianTeacherStudent``: the infinite-data loss as an :class:`~neuroflow.flow.objective.Objective`,
and ``random_teacher``."""
from __future__ import annotations

import math

import numpy as np

from neuroflow._utils import as_rng, check_array, check_choice, check_memory, check_positive
from neuroflow.flow.gaussian.hessian import assemble_hessian
from neuroflow.flow.gaussian.kernel import METHODS, Kernel, directions, geometry
from neuroflow.flow.gaussian.moments import SWAP

__all__ = ["GaussianTeacherStudent", "random_teacher", "gaussian_memory"]


def random_teacher(input_dim: int, teacher_width: int, seed=None) -> tuple[np.ndarray, np.ndarray]:
    """A seeded teacher: ``teacher_width`` random unit-norm weight vectors in ``R^input_dim`` (rows of
    W, shape (k, d)) and output weights a = 1 (a soft committee machine)."""
    check_positive(input_dim, "input_dim", integer=True)
    check_positive(teacher_width, "teacher_width", integer=True)
    W = as_rng(seed).standard_normal((int(teacher_width), int(input_dim)))
    W /= np.linalg.norm(W, axis=1, keepdims=True)
    return W, np.ones(int(teacher_width))



def gaussian_memory(input_dim: int, teacher_width: int, student_width: int, *, hessian: bool) -> int:
    """Peak memory of :class:`GaussianTeacherStudent`, in bytes (an upper estimate): the teacher-teacher term
    computed once (the k x k x d components orthogonal to each teacher unit, and their product's temporary; about
    a dozen k x k arrays: measured 81 bytes per pair at k = 4000), the per-pair moment and geometry arrays of an
    evaluation, and with ``hessian`` the Hessian and its copies."""
    d, k, m = int(input_dim), int(teacher_width), int(student_width)
    P = m * (d + 1)
    pairs = m * (m + k)
    return 8 * ((4 * P * P if hessian else 0) + pairs * (12 + 2 * d) + 2 * k * k * d + 12 * k * k + 2 * k * d)


# ----------------------------------------------------------------------------- the objective
class GaussianTeacherStudent:
    """Infinite-data loss, gradient and Hessian of a two-layer student learning a two-layer teacher.

    Parameters
    ----------
    teacher_W : array (k, d)
        Teacher input weights, one row per hidden unit.
    teacher_a : array (k,)
        Teacher output weights.
    student_width : int
        Hidden units ``m`` of the student ``MLP(d, [(m, activation, False), (1, "identity", False)])``.
    activation : str
        Hidden activation of teacher and student (a name in ``neuroflow.mlp.activations``).
    method : "auto" | "closed" | "quadrature" | "series"
        Closed form (relu, erf, normal_cdf), 2-D Gauss–Hermite quadrature, or the Hermite series of the
        correlated pair (1-D quadrature for its coefficients; same accuracy, several times faster for
        tanh, softplus, g, ...); "auto" picks the closed form where one exists, else "quadrature".
    nodes : int, optional
        Quadrature nodes per dimension (for "series": terms of the expansion); default: chosen from
        the weight norms for ~1e-12 accuracy (:func:`quadrature_nodes`).
    backend : str
        Backend of :attr:`student_net` / :attr:`teacher_net` (used for finite-data comparisons).

    Notes
    -----
    ``loss(theta) = E_x[(f(x) - f*(x))**2]`` for ``x ~ N(0, I_d)``: the limit of the finite-data loss
    (mean squared error) as the number of samples grows. The object follows the Objective protocol
    (``n_params``, ``loss``, ``gradient``, ``hessian``, ``loss_and_gradient``), so
    ``neuroflow.train(obj, theta0)`` integrates the infinite-data gradient flow. Gradient and Hessian
    need every student weight vector to be non-zero (the norm/cosine chart is singular at 0). The loss
    is clamped at 0, its true lower bound, which round-off could otherwise undercut near a perfect
    fit. The last evaluation is kept: loss or gradient at the point of the last Hessian come free.
    The Hessian blocks are assembled by a small numba kernel (compiled on first
    use and cached on disk). Biases are not supported: with them the pre-activations are no longer centred and the relu/erf
    closed forms no longer apply.
    """

    def __init__(self, teacher_W, teacher_a, student_width: int, activation: str = "relu", *,
                 method: str = "auto", nodes: int | None = None,
                 backend: str = "numpy"):
        V = check_array(teacher_W, "teacher_W", ndim=2)
        k, d = V.shape
        if d < 1:
            raise ValueError(f"teacher_W: expected input dimension d >= 1, got shape {V.shape}")
        if k < 1:
            raise ValueError(f"teacher_W: expected at least one teacher unit (row), got shape {V.shape}")
        b = check_array(teacher_a, "teacher_a", finite=False)   # text was numpy's bare "could not convert ..."
        if b.ndim == 2 and b.shape[0] == 1:  # accept the (1, k) output-layer matrix as well
            b = b[0]
        b = check_array(b, "teacher_a", shape=(k,))
        check_positive(student_width, "student_width", integer=True)
        check_choice(method, "method", METHODS)   # nodes: checked by the Kernel
        # numpy's MemoryError named no argument (student_width 10**6: "Unable to allocate 931 GiB ... bool")
        check_memory(gaussian_memory(d, k, student_width, hessian=False), "teacher_W, student_width")
        from neuroflow.mlp import MLP

        self._kernel = Kernel(activation, method, nodes)
        self.activation = self._kernel.name
        self.method = self._kernel.method
        self.nodes = nodes
        self.input_dim, self.teacher_width, self.student_width = int(d), int(k), int(student_width)
        self.teacher_W, self.teacher_a = V.copy(), b.copy()
        self.student_net = MLP(d, [(self.student_width, self.activation, False), (1, "identity", False)],
                               backend=backend)
        self.teacher_net = MLP(d, [(k, self.activation, False), (1, "identity", False)], backend=backend)
        self.teacher_params = self.teacher_net.pack([V, b[None, :]])
        self.n_params = self.student_net.n_params
        m = self.student_width
        # where each (unit j, input i) weight and each output weight a_j sits in the flat vector
        idx = self.student_net.unpack(np.arange(self.n_params, dtype=np.float64))
        self._idx_W = idx[0].astype(np.intp)  # (m, d)
        self._idx_a = idx[1][0].astype(np.intp)  # (m,)
        # natural order used internally: w_1, ..., w_m, then a -> position in the flat layout
        self._perm = np.concatenate([self._idx_W.ravel(), self._idx_a])
        with np.errstate(over="ignore"):  # an overflow is refused below, by name
            self._rV, self._Vh = directions(V)
        if not np.all(np.isfinite(self._rV)):
            raise ValueError(f"teacher_W: the norms of its rows overflow (largest entry {np.max(np.abs(V)):.3g}); "
                             "scale the teacher down")
        # the teacher-teacher part of the loss is a constant
        u, _, s = geometry(self._Vh, self._Vh)
        iu = np.triu_indices(k, 1)
        K = np.zeros((k, k))
        if iu[0].size:
            K[iu] = self._kernel.pair(self._rV[iu[0]], self._rV[iu[1]], u[iu], s[iu], 0).F
        K = K + K.T
        K[np.diag_indices(k)] = self._kernel.self_term(self._rV, 0)[0]
        with np.errstate(over="ignore", invalid="ignore"):
            self.teacher_norm2 = float(b @ K @ b)  # E[f*(x)^2]
        if not math.isfinite(self.teacher_norm2):
            raise ValueError(f"teacher_W, teacher_a: the teacher's mean squared output E[f*(x)^2] is not finite "
                             f"({self.teacher_norm2}); scale the teacher down")
        self._m = m
        ju, lu = np.triu_indices(m, 1)
        jt, it = np.divmod(np.arange(m * k), k)
        # pair list for the kernel: student pairs j < l, then (student j, teacher i) as unit m + i
        self._pairs = (np.concatenate([ju, jt]), np.concatenate([lu, m + it]), ju.size)
        self._last = None  # (theta bytes, order, (loss, gradient, Hessian)) of the last evaluation

    # ------------------------------------------------------------------ description
    def __repr__(self) -> str:
        return (f"GaussianTeacherStudent(d={self.input_dim}, teacher_width={self.teacher_width}, "
                f"student_width={self.student_width}, activation={self.activation!r}, method={self.method!r})")

    def to_dict(self) -> dict:
        return {"input_dim": self.input_dim, "teacher_width": self.teacher_width,
                "student_width": self.student_width, "activation": self.activation, "method": self.method,
                "nodes": self.nodes, "teacher_W": self.teacher_W.tolist(),
                "teacher_a": self.teacher_a.tolist(), "n_params": self.n_params}

    # ------------------------------------------------------------------ helpers for users
    def random_student(self, seed=None) -> np.ndarray:
        """Glorot-normal student parameters (the student net's ``init_params``)."""
        return self.student_net.init_params(seed)

    def teacher_output(self, X) -> np.ndarray:
        """f*(X) as an (N, 1) array."""
        return self.teacher_net.forward(self.teacher_params, X)

    def sample(self, n_samples: int, seed=None) -> tuple[np.ndarray, np.ndarray]:
        """``n_samples`` standard Gaussian inputs X (N, d) and teacher outputs Y (N, 1), for finite-data runs."""
        check_positive(n_samples, "n_samples", integer=True)
        check_memory(8 * n_samples * (self.input_dim + 3 * self.teacher_width + 1), "n_samples")  # numpy's MemoryError
        X = as_rng(seed).standard_normal((int(n_samples), self.input_dim))
        return X, self.teacher_output(X)

    def split(self, theta) -> tuple[np.ndarray, np.ndarray]:
        """Student input weights W (m, d) and output weights a (m,) from flat parameters."""
        theta = self._theta(theta)
        return theta[self._idx_W], theta[self._idx_a]

    # ------------------------------------------------------------------ Objective protocol
    def _theta(self, theta) -> np.ndarray:
        # NaN/inf refused like MLP.loss does; train() never passes a non-finite point on (it answers
        # NaN itself there), so an ODE that wanders off still ends with a "diverged" reason
        return self.student_net.check_theta(theta, finite=True)

    def teacher_cosines(self, theta) -> np.ndarray:
        """Cosines between teacher units (rows) and student units (columns) at ``theta``.

        Parameters
        ----------
        theta : array (n_params,)

        Returns
        -------
        array (teacher_width, student_width)
        """
        W, _ = self.split(theta)
        Wn = W / np.maximum(np.linalg.norm(W, axis=1, keepdims=True), 1e-300)
        return self._Vh @ Wn.T

    def loss(self, theta) -> float:
        """E_x[(f(x) - f*(x))^2] for x ~ N(0, I_d)."""
        return self._evaluate(self._theta(theta), 0)[0]

    def loss_and_gradient(self, theta) -> tuple[float, np.ndarray]:
        loss, grad, _ = self._evaluate(self._theta(theta), 1)
        return loss, grad

    def gradient(self, theta) -> np.ndarray:
        return self._evaluate(self._theta(theta), 1)[1]

    def hessian(self, theta) -> np.ndarray:
        """Exact Hessian of :meth:`loss` (n_params x n_params, symmetric)."""
        return self.loss_gradient_hessian(theta)[2]

    def loss_gradient_hessian(self, theta) -> tuple[float, np.ndarray, np.ndarray]:
        """All three at the cost of one Hessian evaluation."""
        check_memory(gaussian_memory(self.input_dim, self.teacher_width, self.student_width, hessian=True),
                     f"teacher_W, student_width (the Hessian has {self.n_params} x {self.n_params} entries)")
        return self._evaluate(self._theta(theta), 2)

    # ------------------------------------------------------------------ the computation
    def _evaluate(self, theta: np.ndarray, order: int):
        # optimisers often ask for the Hessian at the point whose gradient they just took (or the
        # other way round): keep the last evaluation and reuse it when it went far enough
        key = theta.tobytes()
        cached = self._last
        if cached is not None and cached[0] == key and cached[1] >= order:
            L, g, H = cached[2]
            return L, (None if g is None else g.copy()), (None if H is None else H.copy())
        result = self._compute(theta, order)
        self._last = (key, order, result)
        L, g, H = result
        return L, (None if g is None else g.copy()), (None if H is None else H.copy())

    def _compute(self, theta: np.ndarray, order: int):
        m, k = self._m, self.teacher_width
        W, a = theta[self._idx_W], theta[self._idx_a]
        b = self.teacher_a
        rW, Wh = directions(W)
        if order > 0 and not np.all(rW > 0.0):
            j = int(np.flatnonzero(rW == 0.0)[0])
            raise ValueError(f"theta: student unit {j} has a zero weight vector; gradient and Hessian are "
                             "taken in norm/cosine coordinates and need every |w_j| > 0")
        # units p = students, then teachers; pair (j, p) always has a student j first
        Th = np.concatenate([Wh, self._Vh])  # unit vectors (m + k, d)
        rP = np.concatenate([rW, self._rV])
        U, Perp, S = geometry(Wh, Th)  # cosines, perp[j, p] = th_p - u wh_j, s = |perp|
        # one kernel call for the pairs j < l of students and all (student, teacher) pairs
        J, P, n_ss = self._pairs
        mom = self._kernel.pair(rW[J], rP[P], U[J, P], S[J, P], order)
        selfs = self._kernel.self_term(rW, order)
        # moments for every ordered pair (student j, unit p), (m, m + k) each; a student pair seen
        # from its second unit gets the swapped moments (F1 <-> F2, ...), the diagonal stays 0
        M = np.stack(mom[: (1, 4, 10)[order]])
        T = np.zeros((M.shape[0], m, m + k))
        T[:, J, P] = M
        T[:, P[:n_ss], J[:n_ss]] = M[SWAP[: M.shape[0]], :n_ss]
        c = np.concatenate([a, -b])  # f - f* = sum_p c_p s(th_p . x)
        F = T[0]
        Kss = F[:, :m].copy()
        Kss.flat[:: m + 1] = selfs[0]
        # a difference of O(1) terms: near a perfect fit round-off could make it negative, so it is
        # clamped at its true lower bound 0
        loss = max(float(a @ Kss @ a - 2.0 * a @ (F[:, m:] @ b) + self.teacher_norm2), 0.0)
        if order == 0:
            return loss, None, None

        F1, Fu = T[1], T[3]
        ir = (1.0 / rW)[:, None]
        # dK(w_j, th_p)/dw_j = F1 wh_j + (Fu / r_j) perp_jp; its c-weighted sum over p is
        # cD_j = (sum_p c_p F1) wh_j + sum_p G_jp (th_p - u_jp wh_j) with G = c Fu / r
        G = c * Fu * ir
        cD = ((F1 @ c) - np.einsum("jp,jp->j", G, U))[:, None] * Wh + G @ Th
        h1 = selfs[1]
        gW = 2.0 * a[:, None] * cD + (a * a * h1)[:, None] * Wh
        ga = 2.0 * (Kss @ a - F[:, m:] @ b)
        grad = np.empty(self.n_params)
        grad[self._perm] = np.concatenate([gW.ravel(), ga])
        if order == 1:
            return loss, grad, None

        H = assemble_hessian(Wh, Th, U, Perp, T, c, a, selfs[1], selfs[2], ir[:, 0], cD, Kss, self._perm)
        return loss, grad, H
