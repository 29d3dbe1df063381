# Second-phase optimizers that polish the end point of the gradient flow: a trust-region Newton
# method with the exact Hessian, and BFGS and L-BFGS with a strong-Wolfe line search. Both take
# `fg!(g, θ) -> L`; Newton also takes `h!(H, θ)`, which writes the Hessian into `H`.

# Exact solution of the trust-region subproblem  min_p g'p + ½ p'Hp  s.t. ‖p‖ ≤ Δ, from the
# eigendecomposition H = Q diag(λ) Q' (λ ascending): p(μ) = -Q (λ + μ)⁻¹ Q'g with the smallest
# μ ≥ max(0, -λ₁) for which ‖p(μ)‖ ≤ Δ, found by bisection on the monotone ‖p(μ)‖; in the "hard
# case" (g ⟂ the lowest eigenvector) the step is completed along that eigenvector to the boundary.
# Returns the predicted decrease -m(p) ≥ 0 and whether the step lies on the boundary.
function _trust_region_step!(p::Vector{Float64}, pq::Vector{Float64}, gq::Vector{Float64},
                             λ::AbstractVector{Float64}, Q::AbstractMatrix{Float64}, g::Vector{Float64}, Δ::Float64)
    mul!(gq, transpose(Q), g)
    λ1 = λ[1]
    pnorm(μ) = sqrt(sum(i -> (gq[i] / (λ[i] + μ))^2, eachindex(gq, λ)))
    μ = 0.0
    boundary = true
    if λ1 > 0 && pnorm(0.0) <= Δ
        boundary = false                               # the Newton step is inside the region
    else
        lo = max(0.0, -λ1)
        lo += max(1e-14, 1e-12 * abs(lo))              # strictly above the pole at -λ₁
        gnorm = sqrt(sum(abs2, gq))
        if pnorm(lo) <= Δ
            μ = lo                                     # hard case: finish along the lowest mode below
        else
            hi = max(lo, gnorm / Δ - λ1) + 1e-12
            while pnorm(hi) > Δ                        # guard against rounding in the bound
                hi = 2 * hi + 1e-12
            end
            for _ in 1:200
                mid = 0.5 * (lo + hi)
                if pnorm(mid) > Δ
                    lo = mid
                else
                    hi = mid
                end
                hi - lo <= 1e-15 * max(1.0, hi) && break
            end
            μ = hi                                     # ‖p(hi)‖ ≤ Δ
        end
    end
    @inbounds for i in eachindex(pq, gq, λ)
        pq[i] = -gq[i] / (λ[i] + μ)
    end
    if boundary
        r2 = sum(abs2, pq)
        if r2 < Δ^2 * (1 - 1e-10)                      # hard case: move along the lowest eigenvector
            pq[1] += copysign(sqrt(Δ^2 - r2), -gq[1] == 0 ? 1.0 : -gq[1])
        end
    end
    predicted = 0.0
    @inbounds for i in eachindex(pq, gq, λ)
        predicted -= gq[i] * pq[i] + 0.5 * λ[i] * pq[i]^2
    end
    mul!(p, Q, pq)
    return predicted, boundary
end

# The stopping rules that newton and bfgs share, checked in this order; "" while none holds.
function _stop_reason(L::Real, gnorm::Real, iterations::Integer, start::Real; min_gnorm::Real, min_loss::Real,
                      maxiterations::Integer, maxtime::Real)
    if !isfinite(L) || !isfinite(gnorm)
        return "diverged"
    elseif gnorm <= min_gnorm
        return "min_gnorm"
    elseif L <= min_loss
        return "min_loss"
    elseif iterations >= maxiterations
        return "maxiterations"
    elseif time() - start >= maxtime
        return "maxtime"
    end
    return ""
end

"""
    newton(fg!, h!, θ0; min_gnorm=1e-12, min_loss=-Inf, maxiterations=1000, maxtime=Inf,
           radius=1.0, max_radius=1e3, eta=1e-4) -> NamedTuple

Trust-region Newton method with the exact Hessian: `fg!(g, θ)` writes ∇L(θ) into `g` and returns
L(θ); `h!(H, θ)` writes ∇²L(θ) into `H`. Each iteration solves the trust-region subproblem
exactly (eigendecomposition, hard case included), so saddle points are escaped along negative
curvature. The radius shrinks by 4 when the model predicts poorly (ρ < ¼) and doubles when a
boundary step predicts well (ρ > ¾); steps with ρ ≤ `eta` are rejected.

Stops when ‖∇L‖∞ ≤ `min_gnorm` (`"min_gnorm"`), L ≤ `min_loss` (`"min_loss"`), after
`maxiterations` accepted steps (`"maxiterations"`; rejected trial steps do not count, as in the
Python reference) or `maxtime` seconds (`"maxtime"`), when the radius or the predicted decrease
vanish (`"no progress: ..."`, nothing more can be gained in floating point) or on NaN/Inf
(`"diverged"`).

Returns `(x, loss, gnorm, iterations, evaluations, stopped_by, time_s, losses)` (`iterations`: the
accepted steps).
"""
function newton(fg!::F, h!::FH, θ0::AbstractVector{<:Real}; min_gnorm::Real=1e-12, min_loss::Real=-Inf,
                maxiterations::Integer=1000, maxtime::Real=Inf, radius::Real=1.0, max_radius::Real=1e3,
                eta::Real=1e-4) where {F,FH}
    radius > 0 || throw(ArgumentError("radius: expected a positive initial trust radius, got $radius"))
    start = time()
    x = Vector{Float64}(θ0)
    P = length(x)
    g = zeros(P)
    gtrial = zeros(P)
    xtrial = zeros(P)
    Hm = zeros(P, P)
    p = zeros(P)
    pq = zeros(P)
    gq = zeros(P)
    L = Float64(fg!(g, x))
    evaluations = 1
    losses = [L]
    Δ = Float64(radius)
    iterations = 0
    stopped_by = ""
    need_hessian = true
    local λ::Vector{Float64}
    local Q::Matrix{Float64}
    while true
        gnorm = _inf_norm(g)
        stopped_by = _stop_reason(L, gnorm, iterations, start; min_gnorm=min_gnorm, min_loss=min_loss,
                                  maxiterations=maxiterations, maxtime=maxtime)
        if isempty(stopped_by) && Δ < 1e-14 * max(1.0, _inf_norm(x))
            stopped_by = "no progress: trust radius collapsed"
        end
        isempty(stopped_by) || break
        if need_hessian
            h!(Hm, x)
            all(isfinite, Hm) || (stopped_by = "diverged"; break)
            E = eigen!(Symmetric(Hm))   # Hm is overwritten; it is refilled before the next use
            λ = E.values
            Q = E.vectors
            need_hessian = false
        end
        predicted, boundary = _trust_region_step!(p, pq, gq, λ, Q, g, Δ)
        if !(predicted > 0)
            stopped_by = "no progress: the quadratic model predicts no decrease"
            break
        end
        @. xtrial = x + p
        Ltrial = Float64(fg!(gtrial, xtrial))
        evaluations += 1
        ρ = isfinite(Ltrial) ? (L - Ltrial) / predicted : -Inf
        if ρ < 0.25
            Δ = 0.25 * Δ
        elseif ρ > 0.75 && boundary
            Δ = min(2.0 * Δ, Float64(max_radius))
        end
        if ρ > eta                  # an accepted step; rejected trials only shrink the radius
            copyto!(x, xtrial)
            copyto!(g, gtrial)
            L = Ltrial
            need_hessian = true
            iterations += 1
            push!(losses, L)
        end
    end
    return (x=x, loss=L, gnorm=_inf_norm(g), iterations=iterations, evaluations=evaluations,
            stopped_by=stopped_by, time_s=time() - start, losses=losses)
end

# Strong-Wolfe line search along d from x (Nocedal & Wright, Algorithms 3.5 and 3.6, with
# bisection in the zoom phase). φ(α) = L(x + αd). Leaves the accepted point in xnew/gnew and
# returns (α, L(xnew), evaluations); α = 0 means no acceptable step was found.
function _wolfe_search!(xnew, gnew, fg!::F, x, L0, g0, d; c1=1e-4, c2=0.9, α1=1.0, αmax=1e10, maxeval=50) where {F}
    dφ0 = dot(g0, d)
    φ(α) = (xnew .= x .+ α .* d; Float64(fg!(gnew, xnew)))
    evals = 0
    αprev, φprev, dφprev = 0.0, L0, dφ0
    α = α1
    lo, hi, φlo, dφlo = 0.0, 0.0, L0, dφ0
    bracketed = false
    while evals < maxeval
        φα = φ(α); evals += 1
        if !isfinite(φα) || φα > L0 + c1 * α * dφ0 || (evals > 1 && φα >= φprev)
            lo, hi, φlo, dφlo = αprev, α, φprev, dφprev
            bracketed = true
            break
        end
        dφα = dot(gnew, d)
        abs(dφα) <= -c2 * dφ0 && return (α, φα, evals)
        if dφα >= 0
            lo, hi, φlo, dφlo = α, αprev, φα, dφα
            bracketed = true
            break
        end
        αprev, φprev, dφprev = α, φα, dφα
        α = min(2.0 * α, αmax)
    end
    bracketed || return (0.0, L0, evals)
    while evals < maxeval
        α = 0.5 * (lo + hi)
        φα = φ(α); evals += 1
        if !isfinite(φα) || φα > L0 + c1 * α * dφ0 || φα >= φlo
            hi = α
        else
            dφα = dot(gnew, d)
            abs(dφα) <= -c2 * dφ0 && return (α, φα, evals)
            if dφα * (hi - lo) >= 0
                hi = lo
            end
            lo, φlo, dφlo = α, φα, dφα
        end
        abs(hi - lo) <= 1e-16 * max(1.0, abs(lo)) && break
    end
    # no point met both conditions: settle for the best sufficient-decrease point seen
    if lo > 0
        φlo = φ(lo); evals += 1
        return lo, φlo, evals
    end
    return 0.0, L0, evals
end

# ----------------------------------------------------------------------------- quasi-Newton methods
# BFGS and L-BFGS share one loop (stopping rules, strong-Wolfe line search, one retry from steepest
# descent) and differ in how they keep the inverse-Hessian approximation: a state with
# `_direction!(st, d, g)` (d = -H g; returns false when H is the initial, unscaled one),
# `_forget!(st)` and `_remember!(st, s, y, sy)` (a pair with positive curvature sy = s'y).

mutable struct DenseInverse
    H::Matrix{Float64}
    Hy::Vector{Float64}
    fresh::Bool                 # H is still the identity (no pair seen since the last reset)
end
DenseInverse(P::Int) = DenseInverse(Matrix{Float64}(I, P, P), zeros(P), true)

function _direction!(st::DenseInverse, d, g)
    mul!(d, st.H, g)
    d .*= -1.0
    return !st.fresh
end
_forget!(st::DenseInverse) = (copyto!(st.H, I); st.fresh = true; st)
function _remember!(st::DenseInverse, s, y, sy)
    if st.fresh                 # scale the initial approximation to the observed curvature
        st.H .*= sy / dot(y, y)
        st.fresh = false
    end
    # H ← (I - ρsy')H(I - ρys') + ρss', written as rank-two updates
    mul!(st.Hy, st.H, y)
    a = (sy + dot(y, st.Hy)) / sy^2
    b = 1.0 / sy
    Hy = st.Hy
    @inbounds for j in axes(st.H, 2), i in axes(st.H, 1)   # H is P × P; s, Hy have length P
        st.H[i, j] += a * s[i] * s[j] - b * (Hy[i] * s[j] + s[i] * Hy[j])
    end
    return st
end

mutable struct LimitedMemory
    S::Matrix{Float64}          # the last m pairs (s, y) as columns of a ring buffer
    Y::Matrix{Float64}
    ρ::Vector{Float64}
    α::Vector{Float64}
    stored::Int
    newest::Int
end
LimitedMemory(P::Int, m::Int) = LimitedMemory(zeros(P, m), zeros(P, m), zeros(m), zeros(m), 0, 0)

# the two-loop recursion, with H0 = (s'y / y'y) I from the newest pair
function _direction!(st::LimitedMemory, d, g)
    m = length(st.ρ)
    copyto!(d, g)
    for j in 0:st.stored-1                          # newest to oldest
        k = mod1(st.newest - j, m)
        st.α[k] = st.ρ[k] * dot(view(st.S, :, k), d)
        d .-= st.α[k] .* view(st.Y, :, k)
    end
    if st.stored > 0
        yk = view(st.Y, :, st.newest)
        d .*= dot(view(st.S, :, st.newest), yk) / dot(yk, yk)
    end
    for j in st.stored-1:-1:0                       # oldest to newest
        k = mod1(st.newest - j, m)
        β = st.ρ[k] * dot(view(st.Y, :, k), d)
        d .+= (st.α[k] - β) .* view(st.S, :, k)
    end
    d .*= -1.0
    return st.stored > 0
end
_forget!(st::LimitedMemory) = (st.stored = 0; st)
function _remember!(st::LimitedMemory, s, y, sy)
    k = mod1(st.newest + 1, length(st.ρ))
    copyto!(view(st.S, :, k), s)
    copyto!(view(st.Y, :, k), y)
    st.ρ[k] = 1.0 / sy
    st.newest = k
    st.stored = min(st.stored + 1, length(st.ρ))
    return st
end

function _quasi_newton(fg!::F, θ0::AbstractVector{<:Real}, st; min_gnorm::Real, min_loss::Real,
                       maxiterations::Integer, maxtime::Real) where {F}
    start = time()
    x = Vector{Float64}(θ0)
    P = length(x)
    g = zeros(P)
    xnew = zeros(P)
    gnew = zeros(P)
    d = zeros(P)
    s = zeros(P)
    y = zeros(P)
    L = Float64(fg!(g, x))
    evaluations = 1
    losses = [L]
    iterations = 0
    stopped_by = ""
    while true
        gnorm = _inf_norm(g)
        stopped_by = _stop_reason(L, gnorm, iterations, start; min_gnorm=min_gnorm, min_loss=min_loss,
                                  maxiterations=maxiterations, maxtime=maxtime)
        isempty(stopped_by) || break
        scaled = _direction!(st, d, g)
        if !(dot(d, g) < 0)                    # lost positive definiteness: restart
            _forget!(st)
            @. d = -g
            scaled = false
        end
        α1 = scaled ? 1.0 : min(1.0, 1.0 / max(_inf_norm(g), 1e-300))
        α, Lnew, evals = _wolfe_search!(xnew, gnew, fg!, x, L, g, d; α1=α1)
        evaluations += evals
        if α == 0.0
            if !scaled
                stopped_by = "no progress: line search failed"
                break
            end
            _forget!(st)                       # retry once from steepest descent
            continue
        end
        @. s = xnew - x
        @. y = gnew - g
        sy = dot(s, y)
        copyto!(x, xnew)
        copyto!(g, gnew)
        L = Lnew
        iterations += 1                        # accepted steps only (a failed line search is not one)
        push!(losses, L)
        if sy > 1e-12 * sqrt(dot(s, s) * dot(y, y))   # skip pairs without positive curvature
            _remember!(st, s, y, sy)
        end
    end
    return (x=x, loss=L, gnorm=_inf_norm(g), iterations=iterations, evaluations=evaluations,
            stopped_by=stopped_by, time_s=time() - start, losses=losses)
end

"""
    bfgs(fg!, θ0; min_gnorm=1e-12, min_loss=-Inf, maxiterations=1000, maxtime=Inf) -> NamedTuple

Quasi-Newton BFGS on `fg!(g, θ) -> L` with a dense inverse-Hessian approximation (scaled by
y's/y'y after the first step) and a strong-Wolfe line search (c₁ = 1e-4, c₂ = 0.9). Updates
with non-positive curvature y's are skipped; if the search direction is not a descent direction
the approximation is reset to the identity. Dense: O(P²) memory and work per iteration; [`lbfgs`](@ref)
is for large P.

Stops like [`newton`](@ref): `"min_gnorm"`, `"min_loss"`, `"maxiterations"` (accepted steps),
`"maxtime"`, `"no progress: line search failed"` (no acceptable step even along -∇L) or
`"diverged"`. Returns `(x, loss, gnorm, iterations, evaluations, stopped_by, time_s, losses)`.
"""
function bfgs(fg!::F, θ0::AbstractVector{<:Real}; min_gnorm::Real=1e-12, min_loss::Real=-Inf,
              maxiterations::Integer=1000, maxtime::Real=Inf) where {F}
    return _quasi_newton(fg!, θ0, DenseInverse(length(θ0)); min_gnorm=min_gnorm, min_loss=min_loss,
                         maxiterations=maxiterations, maxtime=maxtime)
end

"""
    lbfgs(fg!, θ0; memory=20, min_gnorm=1e-12, min_loss=-Inf, maxiterations=1000, maxtime=Inf) -> NamedTuple

Limited-memory BFGS on `fg!(g, θ) -> L`: the two-loop recursion over the last `memory` pairs
(s, y) (the Python reference keeps 20 in SciPy's L-BFGS-B), the initial approximation scaled by
y's/y'y of the newest pair, and the strong-Wolfe line search of [`bfgs`](@ref). O(memory · P) work
and memory per iteration: what `train`'s `"auto"` picks above 1000 parameters, as the Python
reference does. Stops like [`bfgs`](@ref) and returns the same fields.
"""
function lbfgs(fg!::F, θ0::AbstractVector{<:Real}; memory::Integer=20, min_gnorm::Real=1e-12,
               min_loss::Real=-Inf, maxiterations::Integer=1000, maxtime::Real=Inf) where {F}
    memory >= 1 || throw(ArgumentError("memory: expected a positive number of stored pairs, got $memory"))
    return _quasi_newton(fg!, θ0, LimitedMemory(length(θ0), Int(memory)); min_gnorm=min_gnorm,
                         min_loss=min_loss, maxiterations=maxiterations, maxtime=maxtime)
end
