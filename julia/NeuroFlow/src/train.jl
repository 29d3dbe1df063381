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

# Best point (lowest loss, ties broken by the smaller gradient norm) and the loss curve
# (wall time, loss, gnorm, phase) over every recorded evaluation.
mutable struct Recorder
    t0::Float64
    phase::Int
    best_loss::Float64
    best_gnorm::Float64
    best_x::Vector{Float64}
    has_best::Bool
    curve::Thinned{NTuple{4,Float64}}
    progress::Bool
    last_print::Float64
end
Recorder(P::Int, progress::Bool) =
    Recorder(time(), 1, Inf, Inf, zeros(P), false, Thinned{NTuple{4,Float64}}(2000), progress, 0.0)

function record!(rec::Recorder, x::AbstractVector{Float64}, L::Float64, gnorm::Float64)
    if isfinite(L) && isfinite(gnorm)
        tol = isfinite(rec.best_loss) ? 1e-12 * abs(rec.best_loss) : 0.0
        if L < rec.best_loss - tol || (L <= rec.best_loss + tol && gnorm < rec.best_gnorm)
            rec.best_loss = L
            rec.best_gnorm = gnorm
            copyto!(rec.best_x, x)
            rec.has_best = true
        end
    end
    now = time()
    add!(rec.curve, (now - rec.t0, L, gnorm, Float64(rec.phase)))
    if rec.progress && now - rec.last_print > 1.0
        @printf(stderr, "\r%s  loss %.4e  gnorm %.2e  (%.1f s)", rec.phase == 1 ? "gradient flow" : "polish       ",
                L, gnorm, now - rec.t0)
        rec.last_print = now
    end
    return gnorm
end

# MLPGradientFlow's norm barrier R = (|θ|²/2 - maxnorm)² where |θ|²/2 > maxnorm, added to the
# loss the solvers see; what is recorded and reported is always the plain loss.
struct BarrierObjective{F,H}
    fg!::F
    h!::H
    maxnorm::Float64
    rec::Recorder
end

function (obj::BarrierObjective)(g::AbstractVector{Float64}, θ::AbstractVector{Float64})
    L = Float64(obj.fg!(g, θ))
    if obj.rec.phase == 2       # the polishing phase records every evaluation, as the reference does
        record!(obj.rec, θ, L, _inf_norm(g))
    end
    if isfinite(obj.maxnorm)
        s = 0.5 * dot(θ, θ) - obj.maxnorm
        if s > 0
            L += s * s
            g .+= (2.0 * s) .* θ
        end
    end
    return L
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
const _OPTIM_ALIASES = Dict("newton" => "newton", "trust-exact" => "newton", "bfgs" => "bfgs", "none" => "none")

"""
    train(net::MLP, θ0, X, Y; weights=nothing, options...) -> NamedTuple
    train(fg!, h!, θ0; options...) -> NamedTuple

Train to a fixed point: integrate the gradient flow (phase 1), then polish the best point with
Newton's method or BFGS (phase 2), as `neuroflow.flow.train` does. The second form trains any
objective given as `fg!(g, θ) -> L` and `h!(H, θ)`.

Options (defaults of the Python `train`): `method_ode` (`"dp5"`/`"RK45"`/`"auto"`: Dormand–Prince
5(4); `"rk4"` with fixed step `dt`; `"none"`), `method_optim` (`"newton"`/`"trust-exact"`,
`"bfgs"`, `"none"`; `"auto"`: Newton up to 1000 parameters, else BFGS), `maxT = 1e10`,
`maxtime_ode = 60`, `maxtime_optim = 60` (seconds), `maxiterations_ode = 10^6`,
`maxiterations_optim = 10^5`, `min_gnorm = 1e-12`, `min_loss = 0`, `patience = 10^4`,
`maxnorm = Inf` (norm barrier `(|θ|²/2 - maxnorm)²`), `reltol = 1e-3`, `abstol = 1e-6`,
`n_trajectory = 100`, `dt = nothing`, `progress = false` (status line on stderr).

Returns a NamedTuple with the fields of Python's `TrainResult`: `loss`, `gnorm` (∞-norm), `converged`,
`x` (best point: lowest loss, ties broken by the smaller gradient), `init`, `ode_x`,
`ode_stopped_by`, `optim_stopped_by`, `ode_time_s`, `optim_time_s`, `ode_iterations`,
`optim_iterations`, `trajectory` (rows = thinned ODE points), `trajectory_t`, `loss_curve` (rows
`(time_s, loss, gnorm, phase)`), `ode_loss`, `ode_gnorm`, `ode_t`, `method_ode`, `method_optim`,
`n_params`. Ctrl-C (an `InterruptException`) ends the current phase with reason `"interrupted"`
and keeps the best point.
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

function train(fg!::F, h!::FH, θ0::AbstractVector{<:Real}; method_ode::AbstractString="auto",
               method_optim::AbstractString="auto", maxT::Real=1e10, maxtime_ode::Real=60.0,
               maxtime_optim::Real=60.0, maxiterations_ode::Integer=10^6, maxiterations_optim::Integer=10^5,
               min_gnorm::Real=1e-12, min_loss::Real=0.0, patience::Integer=10^4, maxnorm::Real=Inf,
               reltol::Real=1e-3, abstol::Real=1e-6, n_trajectory::Integer=100,
               dt::Union{Nothing,Real}=nothing, progress::Bool=false) where {F,FH}
    P = length(θ0)
    ode_method = get(_ODE_ALIASES, lowercase(method_ode), "")
    isempty(ode_method) && throw(ArgumentError(
        "method_ode: the Julia backend has \"dp5\" (= \"RK45\", \"auto\"), \"rk4\" and \"none\"; got \"$method_ode\""))
    optim_key = lowercase(method_optim) == "auto" ? (P <= 1000 ? "newton" : "bfgs") : lowercase(method_optim)
    optim_method = get(_OPTIM_ALIASES, optim_key, "")
    isempty(optim_method) && throw(ArgumentError(
        "method_optim: the Julia backend has \"newton\" (= \"trust-exact\"), \"bfgs\", \"auto\" and \"none\"; got \"$method_optim\""))
    maxnorm > 0 || throw(ArgumentError("maxnorm: expected a positive number or Inf, got $maxnorm"))

    init = Vector{Float64}(θ0)
    rec = Recorder(P, progress)
    obj = BarrierObjective(fg!, h!, Float64(maxnorm), rec)
    g = zeros(P)
    traj = Thinned{Tuple{Float64,Vector{Float64}}}(n_trajectory)

    # ---- phase 1: gradient flow
    t_ode = time()
    ode_x = copy(init)
    ode_reason = "skipped"
    ode_steps = 0
    ode_t = Ref(0.0)            # a Ref, not a captured variable, keeps the callback type-stable
    if ode_method != "none" && maxtime_ode > 0 && maxiterations_ode > 0
        on_step = (t, y, L, gnorm) -> begin
            record!(rec, y, L, gnorm)
            add!(() -> (Float64(t), copy(y)), traj)
            copyto!(ode_x, y)
            ode_t[] = t
            return nothing
        end
        try
            flow = gradient_flow(obj, init; method=ode_method == "dp5" ? :dp5 : :rk4, tmax=maxT, dt=dt,
                                 rtol=reltol, atol=abstol, min_gnorm=min_gnorm, min_loss=min_loss,
                                 maxtime=maxtime_ode, maxiterations=maxiterations_ode, patience=patience,
                                 callback=on_step)
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
        L0 = obj(g, init)
        record!(rec, init, L0, _inf_norm(g))
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
    if optim_method == "none" || maxtime_optim <= 0 || maxiterations_optim <= 0
        optim_reason = "skipped"
    elseif ode_reason in ("min_gnorm", "min_loss")
        optim_reason = "skipped ($ode_reason reached in the ODE phase)"
    elseif ode_reason == "interrupted"
        optim_reason = "skipped (interrupted)"
    elseif !rec.has_best || !all(isfinite, start_x)
        optim_reason = "skipped (no finite starting point)"
    else
        rec.phase = 2
        try
            opt = if optim_method == "newton"
                newton(obj, (Hm, θ) -> barrier_hessian!(obj, Hm, θ), start_x; min_gnorm=min_gnorm,
                       min_loss=min_loss, maxiterations=maxiterations_optim, maxtime=maxtime_optim)
            else
                bfgs(obj, start_x; min_gnorm=min_gnorm, min_loss=min_loss, maxiterations=maxiterations_optim,
                     maxtime=maxtime_optim)
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
            ode_gnorm=ode_gnorm, ode_t=ode_t[], method_ode=ode_method, method_optim=optim_method, n_params=P)
end
