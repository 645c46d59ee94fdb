"""numba kernels for GARCH(1,1) maximum likelihood (used by :mod:`tapescope.engine.volatility`).

Free ``@njit(cache=True)`` functions on plain float arrays; the Python facade
:class:`tapescope.engine.volatility.Garch` owns all state. This module is
imported lazily by the facade on its first refit, so a cold start pays neither
the numba import nor a compile before the first frame.

Model (the ``arch`` package's default ``arch_model(r, mean="Constant",
vol="GARCH", p=1, q=1, dist="normal")``)::

    r_t = mu + e_t,   e_t ~ N(0, s2_t)
    s2_t = omega + alpha * e_{t-1}^2 + beta * s2_{t-1}
    s2_0 = omega + (alpha + beta) * bc

with the backcast ``bc`` taken, as ``arch`` does, from the residuals of the
sample mean: the 0.94-exponentially weighted mean of the first min(75, n)
squared residuals, held fixed during the optimisation.

Optimisation: Nelder-Mead on an unconstrained reparameterisation that makes
every trial point feasible (omega > 0, alpha >= 0, beta >= 0,
alpha + beta < 1)::

    x = (m, w, u, v):  mu = m,  omega = exp(w),
                       alpha + beta = P_MAX * logistic(u),  alpha = (alpha + beta) * logistic(v)

on returns standardised by their sample standard deviation (GARCH is scale
equivariant: omega scales with the variance, mu with the standard deviation),
started from the best point of the same 4 x 4 grid ``arch`` searches (plus an
optional warm start), and restarted from its own optimum until a restart no
longer improves the likelihood.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

#: Upper bound on alpha + beta: strictly stationary, as close to 1 as the doubles allow usefully.
P_MAX = 1.0 - 1e-6
#: Floor for the conditional variance in standardised units (keeps the log finite).
VAR_FLOOR = 1e-12
#: Nelder-Mead stops when the spread of the simplex's objective values falls below this.
NM_FTOL = 1e-11
#: Nelder-Mead stops when every vertex lies within this distance of the best (transformed units).
NM_XTOL = 1e-7
_LOG_2PI = math.log(2.0 * math.pi)


@njit(cache=True)
def garch_backcast(resid: np.ndarray) -> float:
    """``arch``'s backcast: 0.94-EWMA of the first min(75, n) squared residuals. O(1) (75 terms)."""
    tau = min(75, resid.shape[0])
    num = 0.0
    den = 0.0
    w = 1.0
    for i in range(tau):
        num += w * resid[i] * resid[i]
        den += w
        w *= 0.94
    return num / den if den > 0.0 else 0.0


@njit(cache=True)
def garch_nll(mu: float, omega: float, alpha: float, beta: float, r: np.ndarray, bc: float) -> float:
    """Mean Gaussian negative log-likelihood of GARCH(1,1) with constant mean. O(n)."""
    n = r.shape[0]
    s2 = omega + (alpha + beta) * bc
    total = 0.0
    for t in range(n):
        if s2 < VAR_FLOOR:
            s2 = VAR_FLOOR
        e = r[t] - mu
        total += _LOG_2PI + math.log(s2) + e * e / s2
        s2 = omega + alpha * e * e + beta * s2
    return 0.5 * total / n


@njit(cache=True)
def garch_filter(mu: float, omega: float, alpha: float, beta: float, r: np.ndarray, bc: float) -> tuple:
    """Run the variance recursion; return ``(last s2_T, last residual e_T)``. O(n)."""
    n = r.shape[0]
    s2 = omega + (alpha + beta) * bc
    e = 0.0
    for t in range(n):
        if t > 0:
            s2 = omega + alpha * e * e + beta * s2
        if s2 < VAR_FLOOR:
            s2 = VAR_FLOOR
        e = r[t] - mu
    return s2, e


@njit(cache=True)
def _logistic(z: float) -> float:
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    ez = math.exp(z)
    return ez / (1.0 + ez)


@njit(cache=True)
def _logit(p: float) -> float:
    p = min(max(p, 1e-12), 1.0 - 1e-12)
    return math.log(p / (1.0 - p))


@njit(cache=True)
def _unpack(x: np.ndarray) -> tuple:
    pers = P_MAX * _logistic(x[2])
    alpha = pers * _logistic(x[3])
    return x[0], math.exp(min(x[1], 700.0)), alpha, pers - alpha


@njit(cache=True)
def _pack(mu: float, omega: float, alpha: float, beta: float) -> np.ndarray:
    x = np.empty(4)
    pers = min(max(alpha + beta, 1e-9), P_MAX * (1.0 - 1e-9))
    x[0] = mu
    x[1] = math.log(max(omega, 1e-300))
    x[2] = _logit(pers / P_MAX)
    x[3] = _logit(max(alpha, 0.0) / pers)
    return x


@njit(cache=True)
def _objective(x: np.ndarray, r: np.ndarray, bc: float) -> float:
    mu, omega, alpha, beta = _unpack(x)
    f = garch_nll(mu, omega, alpha, beta, r, bc)
    if not math.isfinite(f):
        return 1e300
    return f


@njit(cache=True)
def _nelder_mead(x0: np.ndarray, step: float, r: np.ndarray, bc: float, max_evals: int) -> tuple:
    """Plain Nelder-Mead (reflection 1, expansion 2, contraction 0.5, shrink 0.5)."""
    d = x0.shape[0]
    sim = np.empty((d + 1, d))
    fv = np.empty(d + 1)
    for i in range(d + 1):
        sim[i] = x0
        if i > 0:
            sim[i, i - 1] += step
        fv[i] = _objective(sim[i], r, bc)
    evals = d + 1
    centroid = np.empty(d)
    while evals < max_evals:
        order = np.argsort(fv)
        sim = sim[order]
        fv = fv[order]
        spread = 0.0
        for i in range(1, d + 1):
            for j in range(d):
                spread = max(spread, abs(sim[i, j] - sim[0, j]))
        if fv[d] - fv[0] <= NM_FTOL and spread <= NM_XTOL:
            break
        for j in range(d):
            centroid[j] = 0.0
            for i in range(d):
                centroid[j] += sim[i, j]
            centroid[j] /= d
        xr = centroid + (centroid - sim[d])
        fr = _objective(xr, r, bc)
        evals += 1
        if fr < fv[0]:
            xe = centroid + 2.0 * (centroid - sim[d])
            fe = _objective(xe, r, bc)
            evals += 1
            if fe < fr:
                sim[d] = xe
                fv[d] = fe
            else:
                sim[d] = xr
                fv[d] = fr
        elif fr < fv[d - 1]:
            sim[d] = xr
            fv[d] = fr
        else:
            if fr < fv[d]:
                xc = centroid + 0.5 * (xr - centroid)
            else:
                xc = centroid + 0.5 * (sim[d] - centroid)
            fc = _objective(xc, r, bc)
            evals += 1
            if fc < min(fr, fv[d]):
                sim[d] = xc
                fv[d] = fc
            else:
                for i in range(1, d + 1):
                    sim[i] = sim[0] + 0.5 * (sim[i] - sim[0])
                    fv[i] = _objective(sim[i], r, bc)
                evals += d
    best = np.argmin(fv)
    return sim[best].copy(), fv[best], evals


@njit(cache=True)
def garch_fit(r: np.ndarray, warm: np.ndarray, max_evals: int) -> tuple:
    """Fit GARCH(1,1) with constant mean by Gaussian maximum likelihood.

    Args:
        r: returns (any scale; standardised internally).
        warm: ``(mu, omega, alpha, beta)`` of a previous fit in the units of
            ``r`` to try as a start, or an array of NaNs.
        max_evals: cap on objective evaluations over all restarts.

    Returns:
        ``(params, nll, evals)``: ``params = [mu, omega, alpha, beta]`` in the units
        of ``r``; ``nll`` the mean negative log-likelihood of the standardised
        returns (comparable between fits of the same data only); ``evals`` used.

    Complexity: O(evals * n).
    """
    n = r.shape[0]
    mean = 0.0
    for t in range(n):
        mean += r[t]
    mean /= n
    var = 0.0
    for t in range(n):
        var += (r[t] - mean) ** 2
    var /= n
    sd = math.sqrt(var) if var > 0.0 else 1.0
    z = (r - mean) / sd  # standardised: mean 0, variance 1
    bc = garch_backcast(z)
    # arch's starting grid: alpha x (alpha + beta), omega from the unconditional variance (1 here)
    best_x = _pack(0.0, 0.5, 0.05, 0.45)
    best_f = _objective(best_x, z, bc)
    alphas = (0.01, 0.05, 0.1, 0.2)
    perss = (0.5, 0.7, 0.9, 0.98)
    for a in alphas:
        for p in perss:
            x = _pack(0.0, 1.0 - p, a, p - a)
            f = _objective(x, z, bc)
            if f < best_f:
                best_f = f
                best_x = x
    step = 0.5
    if math.isfinite(warm[0]) and warm[1] > 0.0:
        x = _pack((warm[0] - mean) / sd, warm[1] / var, warm[2], warm[3])
        f = _objective(x, z, bc)
        if f < best_f:
            best_f = f
            best_x = x
            step = 0.1  # a refit 15 bars later starts near its optimum: a tighter first simplex
    evals = 17
    for _ in range(20):
        if evals >= max_evals:
            break
        x, f, used = _nelder_mead(best_x, step, z, bc, max_evals - evals)
        evals += used
        improved = best_f - f
        if f < best_f:
            best_f = f
            best_x = x
        if improved < 1e-10:
            break
        step = 0.1
    mu_s, om_s, alpha, beta = _unpack(best_x)
    out = np.empty(4)
    out[0] = mean + mu_s * sd
    out[1] = om_s * var
    out[2] = alpha
    out[3] = beta
    return out, best_f, evals
