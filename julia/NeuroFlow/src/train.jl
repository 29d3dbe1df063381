# train: gradient flow to the neighbourhood of a fixed point, then Newton/BFGS polishing, with the
# options, stop reasons and result fields of neuroflow.flow.train (whose TrainResult the Python
# bridge builds from the NamedTuple returned here).

# Keeps at most about 2n evenly spaced items of a stream of unknown length (halving as it grows),
# like the reference's trajectory and loss-curve thinning.
mutable struct Thinned{T}
    n::Int
    items::Vector{T}
    stride::Int
    count::Int
end
Thinned{T}(n::Integer) where {T} = Thinned{T}(max(Int(n), 1), T[], 1, 0)

# `make()` builds the item only when it is kept (a trajectory point copies θ)
function add!(make::F, th::Thinned{T}; force::Bool=false) where {F,T}
    if force || th.count % th.stride == 0
        push!(th.items, make()::T)
        if length(th.items) >= 2 * th.n
            th.items = th.items[1:2:end]
            th.stride *= 2
        end
    end
    th.count += 1
    return th
end
add!(th::Thinned{T}, item::T; force::Bool=false) where {T} = add!(() -> item, th; force=force)

# The best point and the loss curve, as in the Python reference (neuroflow.flow._tracking).
# Candidates are compared on what the solvers minimise (loss + norm barrier); the plain loss and its
# gradient norm are what is recorded and reported. In the gradient flow (phase 1) a lower loss wins,
# unless the two losses tie within 1e-9 relative or both lie below the round-off floor
# sqrt(eps)·|L0|, where the smaller gradient wins; in polishing (phase 2) a candidate wins when its
# gradient is smaller and its loss is not higher beyond that resolution. So polishing never reports
# a point worse than the one it started from.
const LOSS_RTOL = 1e-9
const ROUNDOFF = sqrt(eps(Float64))

function _better(L::Float64, g::Float64, best_L::Float64, best_g::Float64, floor::Float64, polishing::Bool)
    (isfinite(L) && isfinite(g)) || return false
    isfinite(best_L) || return true
    if polishing
        return g < best_g && L <= best_L + max(LOSS_RTOL * abs(best_L), floor)
    end
    max(abs(L), abs(best_L)) <= floor && return g < best_g
    tol = LOSS_RTOL * abs(best_L)
    L < best_L - tol && return true
    return L <= best_L + tol && g < best_g
end

mutable struct Recorder
    t0::Float64
    phase::Int
    best_loss::Float64          # plain loss and gradient norm at the best point
    best_gnorm::Float64
    best_total::Float64         # loss + barrier there, and its gradient norm (what is compared)
    best_total_gnorm::Float64
    best_x::Vector{Float64}
    has_best::Bool
    floor::Float64              # ROUNDOFF·|loss + barrier| at the first finite point; NaN until then
    curve::Thinned{NTuple{4,Float64}}
    progress::Bool
    last_print::Float64
    steps::Int                  # for the status line: steps of the current phase and its budget
    budget::Int
    log_g0::Float64             # log10 of the phase's starting gradient norm, and of min_gnorm
    log_target::Float64
end
Recorder(P::Int, progress::Bool) =
    Recorder(time(), 1, Inf, Inf, Inf, Inf, zeros(P), false, NaN, Thinned{NTuple{4,Float64}}(2000), progress, 0.0,
             0, 0, NaN, NaN)

# a new phase for the status line: its budget, and the decades of gradient norm down to min_gnorm
function start_phase!(rec::Recorder, phase::Int, budget::Integer, min_gnorm::Real)
    rec.phase = phase
    rec.steps = 0
    rec.budget = Int(budget)
    rec.log_g0 = rec.has_best && rec.best_gnorm > 0 ? log10(rec.best_gnorm) : NaN
    rec.log_target = min_gnorm > 0 ? log10(Float64(min_gnorm)) : NaN
    return rec
end

function record!(rec::Recorder, x::AbstractVector{Float64}, L::Float64, gnorm::Float64,
                 total::Float64=L, total_gnorm::Float64=gnorm)
    if isnan(rec.floor) && isfinite(total)
        rec.floor = ROUNDOFF * abs(total)
    end
    floor = isnan(rec.floor) ? 0.0 : rec.floor
    if _better(total, total_gnorm, rec.best_total, rec.best_total_gnorm, floor, rec.phase == 2)
        rec.best_loss = L
        rec.best_gnorm = gnorm
        rec.best_total = total
        rec.best_total_gnorm = total_gnorm
        copyto!(rec.best_x, x)
        rec.has_best = true
    end
    if isnan(rec.log_g0) && isfinite(gnorm) && gnorm > 0
        rec.log_g0 = log10(gnorm)    # the phase's first record: where its gradient norm starts
    end
    rec.phase == 2 && (rec.steps += 1)   # polishing counts evaluations (trial steps included)
    now = time()
    add!(rec.curve, (now - rec.t0, L, gnorm, Float64(rec.phase)))
    if rec.progress && now - rec.last_print > 1.0
        _status_line(rec, L, gnorm, now)
        rec.last_print = now
    end
    return gnorm
end

# progress on stderr: decades of gradient norm done of those down to min_gnorm, and the step budget
function _status_line(rec::Recorder, L::Float64, gnorm::Float64, now::Float64)
    name = rec.phase == 1 ? "gradient flow" : "polish       "
    counted = rec.phase == 1 ? "step $(rec.steps)/$(rec.budget)" : "evaluation $(rec.steps) (budget $(rec.budget) iterations)"
    done = rec.has_best && rec.best_gnorm > 0 ? rec.log_g0 - log10(rec.best_gnorm) : 0.0
    total = rec.log_g0 - rec.log_target
    if isfinite(total) && total > 0
        @printf(stderr, "\r%s  %4.1f/%4.1f decades of gnorm  %s  loss %.4e  gnorm %.2e  (%.1f s)", name,
                clamp(done, 0.0, total), total, counted, L, gnorm, now - rec.t0)
    else
        @printf(stderr, "\r%s  %s  loss %.4e  gnorm %.2e  (%.1f s)", name, counted, L, gnorm, now - rec.t0)
    end
    return nothing
end

# MLPGradientFlow's norm barrier R = (|θ|²/2 - maxnorm)² where |θ|²/2 > maxnorm, added to the
# loss the solvers see. The plain loss and gradient norm of the last evaluation are kept (with its
# point), because they, not the barrier-wrapped ones, are what is recorded and reported.
mutable struct BarrierObjective{F,H}
    fg!::F
    h!::H
    maxnorm::Float64
    rec::Recorder
    last_x::Vector{Float64}
    last_loss::Float64
    last_gnorm::Float64
    last_total::Float64
    last_total_gnorm::Float64
end
BarrierObjective(fg!, h!, maxnorm::Real, rec::Recorder) =
    BarrierObjective(fg!, h!, Float64(maxnorm), rec, Float64[], NaN, NaN, NaN, NaN)

function (obj::BarrierObjective)(g::AbstractVector{Float64}, θ::AbstractVector{Float64})
    L = Float64(obj.fg!(g, θ))
    plain_gnorm = _inf_norm(g)
    total = L
    if isfinite(obj.maxnorm)
        s = 0.5 * dot(θ, θ) - obj.maxnorm
        if s > 0
            total += s * s
            g .+= (2.0 * s) .* θ
        end
    end
    total_gnorm = _inf_norm(g)
    length(obj.last_x) == length(θ) ? copyto!(obj.last_x, θ) : (obj.last_x = Vector{Float64}(θ))
    obj.last_loss, obj.last_gnorm, obj.last_total, obj.last_total_gnorm = L, plain_gnorm, total, total_gnorm
    if obj.rec.phase == 2       # the polishing phase records every evaluation, as the reference does
        record!(obj.rec, θ, L, plain_gnorm, total, total_gnorm)
    end
    return total
end

# (plain loss, its gradient norm, loss + barrier, its gradient norm) at θ: from the last evaluation
# when it was at θ (the integrators evaluate the accepted point last), else evaluated afresh
function plain_values(obj::BarrierObjective, θ::AbstractVector{Float64}, g::AbstractVector{Float64})
    if !(length(obj.last_x) == length(θ) && obj.last_x == θ)
        obj(g, θ)
    end
    return obj.last_loss, obj.last_gnorm, obj.last_total, obj.last_total_gnorm
end

function barrier_hessian!(obj::BarrierObjective, Hm::AbstractMatrix{Float64}, θ::AbstractVector{Float64})
    obj.h!(Hm, θ)
    if isfinite(obj.maxnorm)
        s = 0.5 * dot(θ, θ) - obj.maxnorm
        if s > 0
            @inbounds for j in axes(Hm, 2), i in axes(Hm, 1)   # Hm is length(θ) × length(θ)
                Hm[i, j] += 2.0 * θ[i] * θ[j] + (i == j ? 2.0 * s : 0.0)
            end
        end
    end
    return Hm
end

const _ODE_ALIASES = Dict("auto" => "dp5", "dp5" => "dp5", "rk45" => "dp5", "dormand-prince" => "dp5",
                          "rk4" => "rk4", "none" => "none")
const _OPTIM_ALIASES = Dict("newton" => "newton", "trust-exact" => "newton", "bfgs" => "bfgs", "lbfgs" => "lbfgs",
                            "none" => "none")
# above this many parameters "auto" polishes with L-BFGS instead of Newton (as neuroflow.flow.train)
const AUTO_NEWTON_MAX_PARAMS = 1000

"""
    train(net::MLP, θ0, X, Y; weights=nothing, options...) -> NamedTuple
    train(fg!, h!, θ0; options...) -> NamedTuple

Train to a fixed point: integrate the gradient flow (phase 1), then polish the best point with
Newton's method, BFGS or L-BFGS (phase 2), as `neuroflow.flow.train` does. The second form trains any
objective given as `fg!(g, θ) -> L` and `h!(H, θ)`.

Every phase stops on a rule or on its step budget, so the same arguments give the same numbers on
any machine load; wall-clock caps are optional. Options, with the defaults of the Python `train`:
`method_ode` (`"dp5"`/`"RK45"`/`"auto"`: Dormand–Prince 5(4); `"rk4"` with fixed step `dt`; `"none"`),
`method_optim` (`"newton"`/`"trust-exact"`, `"bfgs"`, `"lbfgs"`, `"none"`; `"auto"`: Newton up to 1000
parameters, else L-BFGS), `maxT = 1e10`, `maxiterations_ode = 10^5` (accepted steps),
`maxiterations_optim = 10^5` (accepted iterations), `maxtime_ode = nothing`, `maxtime_optim = nothing`
(optional wall-clock caps in seconds; a phase a cap ends says `"maxtime"`), `min_gnorm = 1e-10`,
`min_loss = -Inf`, `patience = 10^4`, `maxnorm = Inf` (norm barrier `(|θ|²/2 - maxnorm)²`),
`reltol = 1e-3`, `abstol = 1e-6` (both > 0), `n_trajectory = 100`, `dt = nothing`,
`progress = false` (a status line on stderr: decades of gradient norm done toward `min_gnorm`, and
steps of the budget).

Returns a NamedTuple with the fields of Python's `TrainResult`: `loss`, `gnorm` (∞-norm; both of the
plain loss, without the barrier), `converged`, `x` (the best point: see `_better`), `init`, `ode_x`,
`ode_stopped_by`, `optim_stopped_by`, `ode_time_s`, `optim_time_s`, `ode_iterations`,
`optim_iterations` (accepted steps), `trajectory` (rows = thinned ODE points), `trajectory_t`,
`loss_curve` (rows `(time_s, loss, gnorm, phase)`, plain loss), `ode_loss`, `ode_gnorm`, `ode_t`,
`method_ode`, `method_optim`, `n_params`. Ctrl-C (an `InterruptException`) ends the current phase with
reason `"interrupted"` and keeps the best point.
"""
function train(net::MLP, θ0::AbstractVector{<:Real}, X::AbstractMatrix{<:Real}, Y::AbstractMatrix{<:Real};
               weights=nothing, options...)
    _check_data(net, θ0, X, Y, weights)
    Xm = _input_matrix(X)
    Ym = _input_matrix(Y)
    w = weights === nothing ? nothing : Vector{Float64}(weights)
    ws = Workspace(net, size(Xm, 2))
    fg!(g, θ) = gradient!(g, net, θ, Xm, Ym; weights=w, workspace=ws)
    h!(Hm, θ) = hessian!(Hm, net, θ, Xm, Ym; weights=w, workspace=ws)
    return train(fg!, h!, θ0; options...)
end

# every option checked before anything runs (a zero abstol would reach gradient_flow)
function _check_train_options(; maxT, maxtime_ode, maxtime_optim, maxiterations_ode, maxiterations_optim,
                              min_gnorm, min_loss, patience, maxnorm, reltol, abstol, n_trajectory)
    maxT > 0 || throw(ArgumentError("maxT: expected a positive integration time, got $maxT"))
    reltol > 0 && isfinite(reltol) || throw(ArgumentError("reltol: expected a positive tolerance, got $reltol"))
    abstol > 0 && isfinite(abstol) || throw(ArgumentError("abstol: expected a positive tolerance, got $abstol"))
    for (name, cap) in (("maxtime_ode", maxtime_ode), ("maxtime_optim", maxtime_optim))
        cap === nothing || (cap >= 0 && !isnan(cap)) ||
            throw(ArgumentError("$name: expected nothing (no cap) or seconds ≥ 0, got $cap"))
    end
    maxiterations_ode >= 0 || throw(ArgumentError("maxiterations_ode: expected a budget ≥ 0, got $maxiterations_ode"))
    maxiterations_optim >= 0 ||
        throw(ArgumentError("maxiterations_optim: expected a budget ≥ 0, got $maxiterations_optim"))
    min_gnorm >= 0 && isfinite(min_gnorm) || throw(ArgumentError("min_gnorm: expected a number ≥ 0, got $min_gnorm"))
    !isnan(min_loss) && min_loss < Inf || throw(ArgumentError("min_loss: expected a number or -Inf, got $min_loss"))
    patience >= 1 || throw(ArgumentError("patience: expected a positive number of steps, got $patience"))
    maxnorm > 0 || throw(ArgumentError("maxnorm: expected a positive number or Inf, got $maxnorm"))
    n_trajectory >= 1 || throw(ArgumentError("n_trajectory: expected a positive integer, got $n_trajectory"))
    return nothing
end

_cap(t) = t === nothing ? Inf : Float64(t)

function train(fg!::F, h!::FH, θ0::AbstractVector{<:Real}; method_ode::AbstractString="auto",
               method_optim::AbstractString="auto", maxT::Real=1e10, maxiterations_ode::Integer=10^5,
               maxiterations_optim::Integer=10^5, maxtime_ode::Union{Nothing,Real}=nothing,
               maxtime_optim::Union{Nothing,Real}=nothing, min_gnorm::Real=1e-10, min_loss::Real=-Inf,
               patience::Integer=10^4, maxnorm::Real=Inf, reltol::Real=1e-3, abstol::Real=1e-6,
               n_trajectory::Integer=100, dt::Union{Nothing,Real}=nothing, progress::Bool=false) where {F,FH}
    _check_train_options(; maxT=maxT, maxtime_ode=maxtime_ode, maxtime_optim=maxtime_optim,
                         maxiterations_ode=maxiterations_ode, maxiterations_optim=maxiterations_optim,
                         min_gnorm=min_gnorm, min_loss=min_loss, patience=patience, maxnorm=maxnorm, reltol=reltol,
                         abstol=abstol, n_trajectory=n_trajectory)
    P = length(θ0)
    ode_method = get(_ODE_ALIASES, lowercase(method_ode), "")
    isempty(ode_method) && throw(ArgumentError(
        "method_ode: the Julia backend has \"dp5\" (= \"RK45\", \"auto\"), \"rk4\" and \"none\"; got \"$method_ode\""))
    optim_key = lowercase(method_optim) == "auto" ? (P <= AUTO_NEWTON_MAX_PARAMS ? "newton" : "lbfgs") :
                lowercase(method_optim)
    optim_method = get(_OPTIM_ALIASES, optim_key, "")
    isempty(optim_method) && throw(ArgumentError(
        "method_optim: the Julia backend has \"newton\" (= \"trust-exact\"), \"bfgs\", \"lbfgs\", \"auto\" and \"none\"; got \"$method_optim\""))

    init = Vector{Float64}(θ0)
    rec = Recorder(P, progress)
    # what the run cost, as Python's TrainResult counts it: evaluations of loss and gradient, and of the Hessian
    n_gradients = Ref(0)
    n_hessians = Ref(0)
    counted_fg! = (gout, θ) -> (n_gradients[] += 1; fg!(gout, θ))
    counted_h! = (Hm, θ) -> (n_hessians[] += 1; h!(Hm, θ))
    obj = BarrierObjective(counted_fg!, counted_h!, Float64(maxnorm), rec)
    g = zeros(P)
    traj = Thinned{Tuple{Float64,Vector{Float64}}}(n_trajectory)

    # ---- phase 1: gradient flow
    t_ode = time()
    ode_x = copy(init)
    ode_reason = "skipped"
    ode_steps = 0
    ode_t = Ref(0.0)            # a Ref, not a captured variable, keeps the callback type-stable
    start_phase!(rec, 1, maxiterations_ode, min_gnorm)
    if ode_method != "none" && maxtime_ode != 0 && maxiterations_ode > 0
        gbuf = zeros(P)
        best_plain = Ref(Inf)   # the patience rule, on the plain loss as in the reference
        since_best = Ref(0)
        on_step = (t, y, L, gnorm) -> begin
            # the integrator reports loss + barrier; record the plain values beside them, and apply the
            # reference's stopping rules to them (min_gnorm, min_loss, patience)
            Lp, gp, Lt, gt = plain_values(obj, y, gbuf)
            t > 0 && (rec.steps += 1)
            record!(rec, y, Lp, gp, Lt, gt)
            add!(() -> (Float64(t), copy(y)), traj)
            copyto!(ode_x, y)
            ode_t[] = t
            if t > 0
                if Lp < best_plain[] * (1 - 1e-9) - 1e-300
                    best_plain[] = Lp
                    since_best[] = 0
                else
                    since_best[] += 1
                end
            else
                best_plain[] = Lp
            end
            gp <= min_gnorm && return "min_gnorm"
            Lp <= min_loss && return "min_loss"
            since_best[] >= patience && return "patience"
            return ""
        end
        try
            # the stopping rules on the plain loss live in on_step: the integrator's own are switched off
            flow = gradient_flow(obj, init; method=ode_method == "dp5" ? :dp5 : :rk4, tmax=maxT, dt=dt,
                                 rtol=reltol, atol=abstol, min_gnorm=-1.0, min_loss=-Inf,
                                 maxtime=_cap(maxtime_ode), maxiterations=maxiterations_ode, callback=on_step)
            ode_reason = flow.stopped_by == "diverged" ? "diverged (NaN/inf in loss, gradient or parameters)" :
                         flow.stopped_by
            ode_steps = flow.iterations
            copyto!(ode_x, flow.x)
            ode_t[] = flow.t
        catch err
            err isa InterruptException || rethrow()
            ode_reason = "interrupted"
        end
    else
        Lt = obj(g, init)
        record!(rec, init, obj.last_loss, obj.last_gnorm, Lt, obj.last_total_gnorm)
        add!(traj, (0.0, copy(init)))
    end
    if !isempty(traj.items) && traj.items[end][1] != ode_t[]
        add!(traj, (ode_t[], copy(ode_x)); force=true)
    end
    ode_loss = Float64(fg!(g, ode_x))
    ode_gnorm = _inf_norm(g)
    ode_time = time() - t_ode

    # ---- phase 2: polishing from the best point so far
    t_opt = time()
    start_x = rec.has_best ? copy(rec.best_x) : copy(ode_x)
    optim_reason = ""
    optim_steps = 0
    if optim_method == "none" || maxtime_optim == 0 || maxiterations_optim <= 0
        optim_reason = "skipped"
    elseif ode_reason in ("min_gnorm", "min_loss")
        optim_reason = "skipped ($ode_reason reached in the ODE phase)"
    elseif ode_reason == "interrupted"
        optim_reason = "skipped (interrupted)"
    elseif !rec.has_best || !all(isfinite, start_x)
        optim_reason = "skipped (no finite starting point)"
    else
        start_phase!(rec, 2, maxiterations_optim, min_gnorm)
        cap = _cap(maxtime_optim)
        try
            opt = if optim_method == "newton"
                newton(obj, (Hm, θ) -> barrier_hessian!(obj, Hm, θ), start_x; min_gnorm=min_gnorm,
                       min_loss=min_loss, maxiterations=maxiterations_optim, maxtime=cap)
            elseif optim_method == "lbfgs"
                lbfgs(obj, start_x; min_gnorm=min_gnorm, min_loss=min_loss, maxiterations=maxiterations_optim,
                      maxtime=cap)
            else
                bfgs(obj, start_x; min_gnorm=min_gnorm, min_loss=min_loss, maxiterations=maxiterations_optim,
                     maxtime=cap)
            end
            optim_reason = opt.stopped_by == "diverged" ? "diverged (NaN/inf in loss or gradient)" : opt.stopped_by
            optim_steps = opt.iterations
        catch err
            err isa InterruptException || rethrow()
            optim_reason = "interrupted"
        end
    end
    optim_time = startswith(optim_reason, "skipped") ? 0.0 : time() - t_opt
    progress && println(stderr)

    best_x, best_loss, best_gnorm = rec.has_best ? (rec.best_x, rec.best_loss, rec.best_gnorm) : (ode_x, NaN, NaN)
    converged = best_gnorm <= min_gnorm || best_loss <= min_loss
    trajectory = zeros(length(traj.items), P)
    trajectory_t = zeros(length(traj.items))
    for (i, (t, x)) in enumerate(traj.items)
        trajectory_t[i] = t
        trajectory[i, :] .= x
    end
    loss_curve = zeros(length(rec.curve.items), 4)
    for (i, row) in enumerate(rec.curve.items)
        loss_curve[i, 1], loss_curve[i, 2], loss_curve[i, 3], loss_curve[i, 4] = row
    end
    return (loss=best_loss, gnorm=best_gnorm, converged=converged, x=copy(best_x), init=init, ode_x=ode_x,
            ode_stopped_by=ode_reason, optim_stopped_by=optim_reason, ode_time_s=ode_time,
            optim_time_s=optim_time, ode_iterations=ode_steps, optim_iterations=optim_steps,
            trajectory=trajectory, loss_curve=loss_curve, trajectory_t=trajectory_t, ode_loss=ode_loss,
            ode_gnorm=ode_gnorm, ode_t=ode_t[], method_ode=ode_method, method_optim=optim_method, n_params=P,
            n_gradients=n_gradients[], n_hessians=n_hessians[])
end
