# Gradient flow dθ/dt = -∇L(θ): adaptive Dormand–Prince 5(4) with error control, and fixed-step
# classical Runge–Kutta 4. Both take the loss as a function `fg!(g, θ) -> L` that writes the
# gradient into `g`, keep every buffer preallocated, and stop on the gradient norm, the
# integration time, the wall-clock time, the number of steps, or a loss that stopped improving
# (the same rules and reason strings as the ODE phase of neuroflow.flow.train).

# Dormand–Prince 5(4) tableau (the problem is autonomous, so the nodes c_i are not needed)
const _A21 = 1 / 5
const _A31, _A32 = 3 / 40, 9 / 40
const _A41, _A42, _A43 = 44 / 45, -56 / 15, 32 / 9
const _A51, _A52, _A53, _A54 = 19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729
const _A61, _A62, _A63, _A64, _A65 = 9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656
const _B1, _B3, _B4, _B5, _B6 = 35 / 384, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84
# b - b̂ (fifth- minus fourth-order weights): the local error estimate
const _E1, _E3, _E4, _E5, _E6, _E7 = 71 / 57600, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40

_inf_norm(v::AbstractVector{Float64}) = isempty(v) ? 0.0 : maximum(abs, v)

# what a gradient_flow callback returned: a stop reason, or "" (nothing, or anything else)
_stop_request(r) = r isa AbstractString ? String(r) : ""

# y_out = y + h Σ_i a_i k_i, elementwise (no temporaries)
function _stage!(out, y, h, a1, k1, a2, k2, a3, k3, a4, k4, a5, k5)
    @inbounds for i in eachindex(out, y, k1, k2, k3, k4, k5)
        out[i] = y[i] + h * (a1 * k1[i] + a2 * k2[i] + a3 * k3[i] + a4 * k4[i] + a5 * k5[i])
    end
    return out
end

# ‖err‖ scaled by atol + rtol·max(|y|, |ŷ|), root mean square (Hairer's norm)
function _error_norm(k1, k3, k4, k5, k6, k7, y, ynew, h, atol, rtol)
    s = 0.0
    @inbounds for i in eachindex(k1, k3, k4, k5, k6, k7, y, ynew)
        e = h * (_E1 * k1[i] + _E3 * k3[i] + _E4 * k4[i] + _E5 * k5[i] + _E6 * k6[i] + _E7 * k7[i])
        sc = atol + rtol * max(abs(y[i]), abs(ynew[i]))
        s += (e / sc)^2
    end
    return sqrt(s / max(length(y), 1))
end

# the flow's vector field: k = -∇L(y); returns L(y)
@inline function _field!(k::Vector{Float64}, fg!::F, y::Vector{Float64}) where {F}
    L = fg!(k, y)
    k .*= -1.0
    return Float64(L)
end

# Hairer–Nørsett–Wanner's starting step for an order-5 method
function _initial_step(fg!::F, y, k1, ytmp, k2, atol, rtol) where {F}
    d0 = 0.0
    d1 = 0.0
    @inbounds for i in eachindex(y, k1)
        sc = atol + rtol * abs(y[i])
        d0 += (y[i] / sc)^2
        d1 += (k1[i] / sc)^2
    end
    n = max(length(y), 1)
    d0 = sqrt(d0 / n)
    d1 = sqrt(d1 / n)
    h0 = (d0 < 1e-5 || d1 < 1e-5) ? 1e-6 : 0.01 * d0 / d1
    @. ytmp = y + h0 * k1
    _field!(k2, fg!, ytmp)
    d2 = 0.0
    @inbounds for i in eachindex(y, k1, k2)
        sc = atol + rtol * abs(y[i])
        d2 += ((k2[i] - k1[i]) / sc)^2
    end
    d2 = sqrt(d2 / n) / h0
    h1 = max(d1, d2) <= 1e-15 ? max(1e-6, h0 * 1e-3) : (0.01 / max(d1, d2))^(1 / 5)
    return min(100 * h0, h1)
end

"""
    gradient_flow(fg!, θ0; method=:dp5, tmax=Inf, dt=nothing, rtol=1e-8, atol=1e-10,
                  min_gnorm=1e-12, min_loss=-Inf, maxtime=Inf, maxiterations=typemax(Int),
                  patience=typemax(Int), dtmin=1e-14, record_every=1, callback=nothing) -> NamedTuple

Integrate the gradient flow dθ/dt = -∇L(θ) from `θ0`, where `fg!(g, θ)` writes ∇L(θ) into `g`
and returns L(θ).

- `method = :dp5`: Dormand–Prince 5(4), adaptive steps with error control (`rtol > 0`, `atol > 0`;
  the first step is chosen automatically unless `dt` is given). One step costs six gradients
  (first-same-as-last).
- `method = :rk4`: classical Runge–Kutta 4 with the fixed step `dt` (required); four gradients
  per step.

Stops when ‖∇L‖∞ ≤ `min_gnorm` (`"min_gnorm"`), L ≤ `min_loss` (`"min_loss"`), `t ≥ tmax`
(`"maxT"`), after `maxiterations` accepted steps (`"maxiterations"`) or `maxtime` seconds
(`"maxtime"`), when the loss has not improved by a relative 1e-9 for `patience` steps
(`"patience"`), on NaN/Inf (`"diverged"`) or when the adaptive step falls below `dtmin`
(`"stepsize"`). `callback(t, θ, L, gnorm)`, if given, is called at the start and after every
accepted step (it must not modify θ); when it returns a non-empty `String`, the integration stops with
that reason at the next check (after a NaN check, before the rules above).

Returns `(x, loss, gnorm, t, iterations, rejected, evaluations, stopped_by, time_s, times,
losses, gnorms)`: the final point (`x`, a new vector), its loss and gradient ∞-norm, the time
reached, the accepted and rejected steps, the gradient evaluations, why it stopped, the wall-clock
seconds, and the loss curve (every `record_every`-th accepted step, first and last included).
"""
function gradient_flow(fg!::F, θ0::AbstractVector{<:Real}; method::Union{Symbol,AbstractString}=:dp5,
                       tmax::Real=Inf, dt::Union{Nothing,Real}=nothing, rtol::Real=1e-8, atol::Real=1e-10,
                       min_gnorm::Real=1e-12, min_loss::Real=-Inf, maxtime::Real=Inf,
                       maxiterations::Integer=typemax(Int), patience::Integer=typemax(Int), dtmin::Real=1e-14,
                       record_every::Integer=1, callback::C=nothing) where {F,C}
    m = Symbol(lowercase(string(method)))
    m in (:dp5, :rk4) || throw(ArgumentError("method: expected :dp5 or :rk4, got $(repr(method))"))
    tmax > 0 || throw(ArgumentError("tmax: expected a positive time, got $tmax"))
    # atol = 0 would make the error scale of a zero parameter 0: a NaN first step and an endless loop
    rtol > 0 || throw(ArgumentError("rtol: expected a positive relative tolerance, got $rtol"))
    atol > 0 || throw(ArgumentError("atol: expected a positive absolute tolerance, got $atol"))
    record_every >= 1 || throw(ArgumentError("record_every: expected a positive integer, got $record_every"))
    if m === :rk4
        (dt === nothing || dt <= 0) && throw(ArgumentError("dt: method :rk4 needs a positive fixed step, got $(repr(dt))"))
    elseif dt !== nothing && dt <= 0
        throw(ArgumentError("dt: expected a positive first step or nothing, got $dt"))
    end
    y = Vector{Float64}(θ0)
    h0 = dt === nothing ? 0.0 : Float64(dt)
    return _integrate(fg!, y, m === :dp5, h0, Float64(tmax), Float64(rtol), Float64(atol), Float64(min_gnorm),
                      Float64(min_loss), Float64(maxtime), Int(maxiterations), Int(patience), Float64(dtmin),
                      Int(record_every), callback)
end

function _integrate(fg!::F, y::Vector{Float64}, adaptive::Bool, h0::Float64, tmax::Float64, rtol::Float64,
                    atol::Float64, min_gnorm::Float64, min_loss::Float64, maxtime::Float64, maxiterations::Int,
                    patience::Int, dtmin::Float64, record_every::Int, callback::C) where {F,C}
    start = time()
    P = length(y)
    k1 = zeros(P); k2 = zeros(P); k3 = zeros(P); k4 = zeros(P)
    k5 = zeros(P); k6 = zeros(P); k7 = zeros(P)
    ytmp = zeros(P)
    ynew = zeros(P)
    times = Float64[]
    losses = Float64[]
    gnorms = Float64[]

    L = _field!(k1, fg!, y)
    evaluations = 1
    gnorm = _inf_norm(k1)
    t = 0.0
    push!(times, t); push!(losses, L); push!(gnorms, gnorm)
    requested = callback === nothing ? "" : _stop_request(callback(t, y, L, gnorm))
    iterations = 0
    rejected = 0
    best = L
    since_best = 0
    stopped_by = ""
    h = h0
    if adaptive && h <= 0
        h = _initial_step(fg!, y, k1, ytmp, k2, atol, rtol)
        evaluations += 1
    end

    while true
        # ---- stopping rules, checked at every accepted point
        if !isfinite(L) || !isfinite(gnorm)
            stopped_by = "diverged"
        elseif !isempty(requested)
            stopped_by = requested
        elseif gnorm <= min_gnorm
            stopped_by = "min_gnorm"
        elseif L <= min_loss
            stopped_by = "min_loss"
        elseif t >= tmax * (1 - 1e-12)
            stopped_by = "maxT"
        elseif iterations >= maxiterations
            stopped_by = "maxiterations"
        elseif time() - start >= maxtime
            stopped_by = "maxtime"
        elseif since_best >= patience
            stopped_by = "patience"
        elseif adaptive && h < dtmin
            stopped_by = "stepsize"
        end
        isempty(stopped_by) || break

        hstep = min(h, tmax - t)
        if adaptive
            _stage!(ytmp, y, hstep, _A21, k1, 0.0, k1, 0.0, k1, 0.0, k1, 0.0, k1)
            _field!(k2, fg!, ytmp)
            _stage!(ytmp, y, hstep, _A31, k1, _A32, k2, 0.0, k1, 0.0, k1, 0.0, k1)
            _field!(k3, fg!, ytmp)
            _stage!(ytmp, y, hstep, _A41, k1, _A42, k2, _A43, k3, 0.0, k1, 0.0, k1)
            _field!(k4, fg!, ytmp)
            _stage!(ytmp, y, hstep, _A51, k1, _A52, k2, _A53, k3, _A54, k4, 0.0, k1)
            _field!(k5, fg!, ytmp)
            _stage!(ytmp, y, hstep, _A61, k1, _A62, k2, _A63, k3, _A64, k4, _A65, k5)
            _field!(k6, fg!, ytmp)
            # fifth-order solution (k2 has weight 0)
            _stage!(ynew, y, hstep, _B1, k1, _B3, k3, _B4, k4, _B5, k5, _B6, k6)
            Lnew = _field!(k7, fg!, ynew)
            evaluations += 6
            err = isfinite(Lnew) ? _error_norm(k1, k3, k4, k5, k6, k7, y, ynew, hstep, atol, rtol) : Inf
            if err <= 1.0
                t += hstep
                copyto!(y, ynew)
                copyto!(k1, k7)                # first same as last
                L = Lnew
                gnorm = _inf_norm(k1)
                iterations += 1
                factor = err == 0.0 ? 5.0 : min(5.0, max(0.2, 0.9 * err^(-1 / 5)))
                h = hstep * factor
            else
                rejected += 1
                h = hstep * (isfinite(err) ? min(1.0, max(0.2, 0.9 * err^(-1 / 5))) : 0.2)
                continue
            end
        else
            # classical RK4 with the fixed step
            @. ytmp = y + (hstep / 2) * k1
            _field!(k2, fg!, ytmp)
            @. ytmp = y + (hstep / 2) * k2
            _field!(k3, fg!, ytmp)
            @. ytmp = y + hstep * k3
            _field!(k4, fg!, ytmp)
            @. y = y + (hstep / 6) * (k1 + 2 * k2 + 2 * k3 + k4)
            L = _field!(k1, fg!, y)
            evaluations += 4
            gnorm = _inf_norm(k1)
            t += hstep
            iterations += 1
        end

        callback === nothing || (requested = _stop_request(callback(t, y, L, gnorm)))
        if L < best * (1 - 1e-9) - 1e-300     # the reference's patience rule
            best = L
            since_best = 0
        else
            since_best += 1
        end
        if iterations % record_every == 0
            push!(times, t); push!(losses, L); push!(gnorms, gnorm)
        end
    end
    if times[end] != t
        push!(times, t); push!(losses, L); push!(gnorms, gnorm)
    end
    return (x=y, loss=L, gnorm=gnorm, t=t, iterations=iterations, rejected=rejected, evaluations=evaluations,
            stopped_by=stopped_by, time_s=time() - start, times=times, losses=losses, gnorms=gnorms)
end
