# Tests of NeuroFlow.jl: `julia --project=julia/NeuroFlow -e 'using Pkg; Pkg.test()'`
# (or `julia --project=. julia/NeuroFlow/test/runtests.jl` from the repository root).
using NeuroFlow
using LinearAlgebra
using Random
using Test

const NF = NeuroFlow

# central finite differences of a scalar function f at x
function fd_gradient(f, x; h=1e-6)
    g = zeros(length(x))
    for i in eachindex(x)
        xp = copy(x); xp[i] += h
        xm = copy(x); xm[i] -= h
        g[i] = (f(xp) - f(xm)) / (2h)
    end
    return g
end

@testset "NeuroFlow" begin

@testset "activations" begin
    # reference values of erf (Abramowitz & Stegun, table 7.1, and the series to 16 digits)
    @test NF.erf(0.0) == 0.0
    @test NF.erf(0.5) ≈ 0.5204998778130465 rtol = 1e-14
    @test NF.erf(1.0) ≈ 0.8427007929497149 rtol = 1e-14
    @test NF.erf(-2.0) ≈ -0.9953222650189527 rtol = 1e-14
    @test NF.erf(3.0) ≈ 0.9999779095030014 rtol = 1e-14
    # erfc to full relative precision where it is small (40-digit values from mpmath); 1 - erf, as
    # before, was 2e-12 off just below 2.5
    @test NF.erfc(3.0) ≈ 2.209049699858544e-5 rtol = 1e-15
    @test NF.erfc(5.0) ≈ 1.537459794428035e-12 rtol = 1e-15
    @test NF.erfc(-1.0) ≈ 1.8427007929497148 rtol = 1e-15
    @test NF.erfc(1.0) ≈ 0.15729920705028513 rtol = 1e-15
    @test NF.erfc(2.0) ≈ 0.004677734981047266 rtol = 1e-15
    @test NF.erfc(2.49) ≈ 0.0004292878677339129 rtol = 1e-15
    @test NF.erfc(0.5) ≈ 0.4795001221869535 rtol = 1e-15
    xs = collect(range(-3.0, 3.0; length=25)) .+ 0.013   # avoid relu's kink at 0
    for name in ACTIVATION_NAMES
        f, df, d2f = activate(name, xs)
        fdf = [(activate(name, [x + 1e-6])[1][1] - activate(name, [x - 1e-6])[1][1]) / 2e-6 for x in xs]
        fd2 = [(activate(name, [x + 1e-6])[2][1] - activate(name, [x - 1e-6])[2][1]) / 2e-6 for x in xs]
        @test df ≈ fdf rtol = 1e-6 atol = 1e-7
        @test d2f ≈ fd2 rtol = 1e-6 atol = 1e-7
    end
    @test activate("square", [3.0])[1] == [4.5]
    @test activate("cube", [2.0])[1] == [8.0]
    @test activate("relu", [0.0])[2] == [0.0]          # relu'(0) = 0, as in the Python reference
    @test activation_kind(:tanh) === NF.TANH
    @test activation_name(NF.G_FUNCTION) == "g"
    @test_throws ArgumentError activation_kind("swish")
end

@testset "layout and forward" begin
    net = MLP(2, [(3, "identity", true), (1, "identity", false)])
    @test n_params(net) == 3 * 3 + 1 * 3
    @test output_dim(net) == 1
    θ = collect(1.0:12.0)
    W1 = layer_matrix(net, θ, 1)
    @test size(W1) == (3, 3)
    @test W1[:, 3] == [7.0, 8.0, 9.0]                # bias = last column, column-major
    @test layer_matrix(net, θ, 2) == [10.0 11.0 12.0]
    X = [1.0 0.0; 0.0 2.0]                            # two samples (columns)
    h1 = [1 4; 2 5; 3 6] * X .+ [7.0, 8.0, 9.0]
    @test forward(net, θ, X) ≈ [10.0 11.0 12.0] * h1
    @test_throws DimensionMismatch forward(net, θ[1:11], X)
    @test_throws DimensionMismatch forward(net, θ, ones(3, 2))
    @test MLP(2, [3, 1], "tanh,identity", [true, false]).layers == MLP(2, [(3, :tanh, true), (1, :identity, false)]).layers
end

@testset "loss, gradient! and hessian! against finite differences" begin
    rng = MersenneTwister(1)
    nets = [MLP(3, [(4, "tanh", true), (2, "identity", true)]),
            MLP(2, [(3, "g", true), (3, "softplus", false), (1, "sigmoid", true)]),
            MLP(3, [(5, "gelu", false), (2, "square", true)]),
            MLP(2, [(3, "erf", true), (2, "silu", true), (2, "cube", false)])]
    for net in nets
        N = 17
        θ = glorot_init(net; rng=rng) .+ 0.1 .* randn(rng, n_params(net))
        X = randn(rng, net.input_dim, N)
        Y = randn(rng, output_dim(net), N)
        w = rand(rng, N) .+ 0.2
        for weights in (nothing, w)
            L = loss(net, θ, X, Y; weights=weights)
            c = weights === nothing ? fill(1 / N, N) : weights ./ sum(weights)
            @test L ≈ sum(c' .* sum(abs2, forward(net, θ, X) .- Y; dims=1))
            g = zeros(n_params(net))
            @test gradient!(g, net, θ, X, Y; weights=weights) ≈ L
            @test g ≈ fd_gradient(t -> loss(net, t, X, Y; weights=weights), θ) rtol = 1e-6 atol = 1e-8
            Hm = zeros(n_params(net), n_params(net))
            @test hessian!(Hm, net, θ, X, Y; weights=weights) ≈ L
            @test Hm ≈ Hm'
            Hfd = zeros(n_params(net), n_params(net))
            for i in 1:n_params(net)
                Hfd[:, i] = fd_gradient(t -> gradient(net, t, X, Y; weights=weights)[i], θ)
            end
            @test Hm ≈ Hfd rtol = 1e-5 atol = 1e-7
        end
    end
end

@testset "workspace reuse does not allocate" begin
    net = MLP(3, [(5, "tanh", true), (1, "identity", true)])
    rng = MersenneTwister(2)
    θ = glorot_init(net; rng=rng)
    g = zeros(n_params(net))
    bytes = Dict{Int,Int}()
    for N in (20, 2000)
        X = randn(rng, 3, N)
        Y = randn(rng, 1, N)
        ws = Workspace(net, N)
        gradient!(g, net, θ, X, Y; workspace=ws)          # compile first
        bytes[N] = @allocated gradient!(g, net, θ, X, Y; workspace=ws)
    end
    # one buffer for 2000 samples would be 80 kB; only views and wrappers may remain, and nothing
    # that grows with the number of samples
    @test bytes[2000] < 8_000
    @test bytes[2000] - bytes[20] < 1_000
end

@testset "gradient flow on a linear ODE" begin
    # L(θ) = ½ θ'Aθ: the flow is θ(t) = exp(-At) θ0
    A = Diagonal([0.5, 1.0, 3.0])
    θ0 = [1.0, -2.0, 0.5]
    linear_fg!(g, θ) = (mul!(g, A, θ); 0.5 * dot(θ, A * θ))
    exact(t) = exp.(-diag(A) .* t) .* θ0
    r = gradient_flow(linear_fg!, θ0; method=:dp5, tmax=2.0, rtol=1e-10, atol=1e-12, min_gnorm=0.0)
    @test r.stopped_by == "maxT"
    @test r.t ≈ 2.0
    @test r.x ≈ exact(2.0) rtol = 1e-8
    @test issorted(r.times)
    @test r.losses[end] < r.losses[1]
    r4 = gradient_flow(linear_fg!, θ0; method=:rk4, dt=0.01, tmax=2.0, min_gnorm=0.0)
    @test r4.iterations == 200
    @test r4.x ≈ exact(2.0) rtol = 1e-7              # RK4's global error is 4e-8 here
    # the fourth order of RK4: halving dt divides the error by about 16 (17.6 for these steps)
    e1 = norm(gradient_flow(linear_fg!, θ0; method=:rk4, dt=0.1, tmax=2.0, min_gnorm=0.0).x - exact(2.0))
    e2 = norm(gradient_flow(linear_fg!, θ0; method=:rk4, dt=0.05, tmax=2.0, min_gnorm=0.0).x - exact(2.0))
    @test 15 < e1 / e2 < 20
    rg = gradient_flow(linear_fg!, θ0; tmax=Inf, min_gnorm=1e-6)
    @test rg.stopped_by == "min_gnorm"
    @test rg.gnorm <= 1e-6
    @test gradient_flow(linear_fg!, θ0; maxiterations=3).iterations == 3
    @test_throws ArgumentError gradient_flow(linear_fg!, θ0; method=:rk4)
    # atol = 0 would give a zero parameter a zero error scale: a NaN first step and an endless loop
    @test_throws ArgumentError gradient_flow(linear_fg!, [0.0, 1.0]; atol=0.0)
    @test_throws ArgumentError gradient_flow(linear_fg!, θ0; rtol=0.0)
    # a callback can end the integration with its own reason (train applies its rules this way)
    rcb = gradient_flow(linear_fg!, θ0; tmax=10.0, min_gnorm=0.0, callback=(t, y, L, g) -> t > 0.5 ? "enough" : "")
    @test rcb.stopped_by == "enough" && 0.5 < rcb.t < 10.0
end

# Rosenbrock function and its derivatives
rosen(x) = (1 - x[1])^2 + 100 * (x[2] - x[1]^2)^2
function rosen_fg!(g, x)
    g[1] = -2 * (1 - x[1]) - 400 * x[1] * (x[2] - x[1]^2)
    g[2] = 200 * (x[2] - x[1]^2)
    return rosen(x)
end
function rosen_h!(H, x)
    H[1, 1] = 2 - 400 * (x[2] - x[1]^2) + 800 * x[1]^2
    H[1, 2] = H[2, 1] = -400 * x[1]
    H[2, 2] = 200.0
    return H
end

@testset "Newton and BFGS on Rosenbrock" begin
    for x0 in ([-1.2, 1.0], [0.0, 0.0], [2.0, 2.0])
        rn = newton(rosen_fg!, rosen_h!, x0; min_gnorm=1e-10)
        @test rn.stopped_by == "min_gnorm"
        @test rn.x ≈ [1.0, 1.0] atol = 1e-8
        @test rn.iterations < 100
        @test rn.iterations == length(rn.losses) - 1    # accepted steps only, not rejected trials
        for method in (bfgs, lbfgs)
            rb = method(rosen_fg!, x0; min_gnorm=1e-8)
            @test rb.stopped_by == "min_gnorm"
            @test rb.x ≈ [1.0, 1.0] atol = 1e-6
            @test issorted(rb.losses; rev=true)          # line search: monotone decrease
            @test rb.iterations == length(rb.losses) - 1
        end
    end
    @test lbfgs(rosen_fg!, [-1.2, 1.0]; memory=1, min_gnorm=1e-8).stopped_by == "min_gnorm"
    @test_throws ArgumentError lbfgs(rosen_fg!, [0.0, 0.0]; memory=0)
    # a saddle point: Newton's trust region leaves it along the negative curvature
    saddle_fg!(g, x) = (g[1] = x[1]^3 - x[1]; g[2] = x[2]; x[1]^4 / 4 - x[1]^2 / 2 + x[2]^2 / 2)
    saddle_h!(H, x) = (H .= [3x[1]^2-1 0.0; 0.0 1.0]; H)
    rs = newton(saddle_fg!, saddle_h!, [0.0, 0.3]; min_gnorm=1e-12)
    @test abs(rs.x[1]) ≈ 1.0 atol = 1e-8
    @test rs.loss ≈ -0.25 atol = 1e-12
end

@testset "train" begin
    rng = MersenneTwister(3)
    teacher = MLP(2, [(2, "tanh", true), (1, "identity", true)])
    θt = glorot_init(teacher; rng=rng) .+ 0.5 .* randn(rng, n_params(teacher))
    X = randn(rng, 2, 200)
    Y = forward(teacher, θt, X)
    student = MLP(2, [(3, "tanh", true), (1, "identity", true)])
    θ0 = glorot_init(student; rng=rng)
    r = train(student, θ0, X, Y; maxiterations_ode=2000, min_gnorm=1e-10, patience=10^5)
    @test r.loss <= loss(student, θ0, X, Y)
    @test r.loss ≈ loss(student, r.x, X, Y)
    @test r.init == θ0
    @test size(r.trajectory, 2) == n_params(student)
    @test length(r.trajectory_t) == size(r.trajectory, 1)
    @test size(r.loss_curve, 2) == 4
    @test r.method_ode == "dp5" && r.method_optim == "newton"
    @test r.converged == (r.gnorm <= 1e-10)
    # the same arguments give the same numbers (step budgets, no clock)
    r2 = train(student, θ0, X, Y; maxiterations_ode=2000, min_gnorm=1e-10, patience=10^5)
    @test r2.x == r.x && r2.loss == r.loss && r2.optim_iterations == r.optim_iterations
    rs = train(student, θ0, X, Y; maxiterations_ode=5, method_optim="bfgs", maxiterations_optim=3, min_gnorm=0.0)
    @test (rs.ode_stopped_by, rs.ode_iterations) == ("maxiterations", 5)
    @test (rs.optim_stopped_by, rs.optim_iterations) == ("maxiterations", 3)
    rc = train(student, θ0, X, Y; maxtime_ode=1e-9, method_optim="none")
    @test rc.ode_stopped_by == "maxtime"                 # an optional cap, reported when it stops a phase
    for bad in ((abstol=0.0,), (reltol=-1.0,), (maxtime_ode=-1.0,), (patience=0,), (min_gnorm=NaN,))
        @test_throws ArgumentError train(student, θ0, X, Y; bad...)
    end
    big = MLP(2, [(400, "tanh", true), (1, "identity", true)])
    rl = train(big, glorot_init(big; rng=rng), X, randn(rng, 1, 200); method_ode="none", maxiterations_optim=2)
    @test rl.method_optim == "lbfgs"                     # "auto" above 1000 parameters, as in Python
    rb = train(student, θ0, X, Y; method_ode="none", method_optim="bfgs", maxiterations_optim=50)
    @test rb.ode_stopped_by == "skipped"
    @test rb.optim_iterations <= 50
    @test_throws ArgumentError train(student, θ0, X, Y; method_ode="Radau")
    # the norm barrier (|θ|²/2 - maxnorm)², by hand at θ = (1, 1), maxnorm = 0.5: s = 0.5
    obj = NF.BarrierObjective(rosen_fg!, rosen_h!, 0.5, NF.Recorder(2, false))
    g = zeros(2)
    @test obj(g, [1.0, 1.0]) ≈ 0.25
    @test g ≈ [1.0, 1.0]                               # ∇rosen(1, 1) = 0, barrier 2s·θ
    Hb = NF.barrier_hessian!(obj, zeros(2, 2), [1.0, 1.0])
    @test Hb ≈ rosen_h!(zeros(2, 2), [1.0, 1.0]) .+ [3.0 2.0; 2.0 3.0]   # + 2s·I + 2θθ'
    # the generic form trains any objective: Rosenbrock from the classic start
    rr = train(rosen_fg!, rosen_h!, [-1.2, 1.0]; min_gnorm=1e-9, maxiterations_ode=500)
    @test rr.x ≈ [1.0, 1.0] atol = 1e-6
    # with the barrier active, what is recorded and reported is the plain loss in both phases
    rbar = train(rosen_fg!, rosen_h!, [-1.2, 1.0]; maxnorm=0.5, maxiterations_ode=200, min_gnorm=1e-9)
    @test rbar.loss ≈ rosen(rbar.x) rtol = 1e-14
    @test rbar.loss_curve[1, 2] ≈ rosen([-1.2, 1.0]) rtol = 1e-14
end

@testset "best point" begin
    # phase 1: the loss decides, a tie (1e-9 relative, or both below the floor) goes to the gradient
    @test NF._better(0.5, 1.0, 1.0, 1e-3, 0.0, false)
    @test NF._better(1.0 - 5e-10, 1e-4, 1.0, 1e-3, 0.0, false)
    @test !NF._better(1.0 - 5e-10, 1e-2, 1.0, 1e-3, 0.0, false)
    @test NF._better(2e-11, 1e-9, 1e-11, 1e-8, 1e-9, false)
    # phase 2: a smaller gradient at a loss no higher; the Newton step that lowered the loss from
    # 2.6e-8 to 2.4e-8 while raising the gradient 300-fold is not reported
    @test !NF._better(2.44e-8, 2.9e-5, 2.61e-8, 9.9e-8, 9.3e-9, true)
    @test NF._better(2.61e-8, 1e-9, 2.61e-8, 9.9e-8, 9.3e-9, true)
    @test !NF._better(NaN, 0.0, 1.0, 1.0, 0.0, true)
    rec = NF.Recorder(1, false)
    NF.record!(rec, [0.0], 0.3, 1e-1)
    NF.record!(rec, [1.0], 1e-11, 1e-8)
    rec.phase = 2
    NF.record!(rec, [2.0], 5e-12, 2.5e-7)
    @test rec.best_x == [1.0] && rec.best_gnorm == 1e-8
end

@testset "crossbar programming: hand-computed pulse responses" begin
    # SplitMix64 from state 0: the published first output 0xe220a8397b1dcdaf
    st = UInt64[0]
    @test NF._splitmix!(st, 1) == 0xe220a8397b1dcdaf
    @test st[1] == 0x9e3779b97f4a7c15
    st = UInt64[0]
    @test rng_uniform!(st, 1) == Float64(0xe220a8397b1dcdaf >> 11) / 2.0^53
    N = 200
    no_cycles = zeros(1, 0, 10)
    linear = [0.0 0.0 0.0 0.0]                        # b = 0: g(p) = p/N
    quiet = [0.0 0.0]
    program_once(w, dw, mode, ab, sigma; min_update=0.5 / N) = begin
        W = fill(Float64(w), 1, 1)
        p = crossbar_program!(W, fill(Float64(dw), 1, 1), [1], mode, N, ab, sigma, no_cycles,
                              fill(-1, 1, 1, 4), UInt64[7], min_update)
        (W[1, 1], p[1, 1])
    end
    # linear device: 0.2 + 0.1 -> 20 pulses -> p = 40 + 20 = 60 -> 0.3
    @test program_once(0.2, 0.1, MODE_MEAN, linear, quiet)[1] ≈ 0.3 atol = 1e-12
    @test program_once(0.2, 0.1, MODE_MEAN, linear, quiet)[2] == 20.0
    # RESET by 0.0125 = 2.5 pulses rounds half to even: 2 pulses
    @test program_once(0.5, -0.0125, MODE_MEAN, linear, quiet) == (0.49, -2.0)
    # below min_update (half a pulse) nothing happens; SET on a full cell does nothing
    @test program_once(0.5, 0.002, MODE_MEAN, linear, quiet) == (0.5, 0.0)
    @test program_once(1.0, 0.3, MODE_MEAN, linear, quiet) == (1.0, 0.0)
    # ideal mode: exact and clipped
    @test program_once(0.9, 0.3, MODE_IDEAL, linear, quiet) == (1.0, 0.0)
    # non-linear SET from w = 0: g(dp) = (1 - (a dp + e^{-b dp})) / (1 - (a N + e^{-b N}))
    a, b = 1e-4, 0.02
    ab = [a b a b]
    expected = (1 - (a * 30 + exp(-b * 30))) / (1 - (a * N + exp(-b * N)))
    @test program_once(0.0, 0.15, MODE_MEAN, ab, quiet)[1] ≈ expected rtol = 1e-12
    # RESET from w = 1 (p0 = N) by 30 pulses: q = 30
    expected_reset = 1 - (1 - (a * 30 + exp(-b * 30))) / (1 - (a * N + exp(-b * N)))
    @test program_once(1.0, -0.15, MODE_MEAN, ab, quiet)[1] ≈ expected_reset rtol = 1e-12
    # the inverse response round-trips
    for y in (0.1, 0.37, 0.8)
        p = NF._inverse_response(0, y, a, b, 0.0, 0.0, Float64(N))
        @test NF._response(0, p, a, b, 0.0, 0.0, Float64(N)) ≈ y atol = 1e-12
    end
    # write noise: one normal draw from the cell's stream after the deterministic update
    sd = 0.05
    st = UInt64[7]
    z = rng_normal!(st, 1)
    W = fill(0.2, 1, 1)
    crossbar_program!(W, fill(0.1, 1, 1), [1], MODE_MEAN, N, linear, [sd sd], no_cycles, fill(-1, 1, 1, 4),
                      UInt64[7], 0.5 / N)
    @test W[1, 1] ≈ clamp(0.3 + sd * z, 0, 1) atol = 1e-12
    # cycle-to-cycle mode: the first write draws the cycle floor(u (n_cycles - 1)); the fits are
    # linear here (α = 0, β = 1/N, γ = 0) so the pulses are easy to follow
    cyc = zeros(1, 3, 10)
    for c in 1:3
        cyc[1, c, :] = [0.0, 1 / N, 0.0, 1.0, 0.0, 1 / N, 0.0, 1.0, 0.0, 0.0]
    end
    cs = fill(-1, 1, 1, 4)
    rng = UInt64[11]
    W = fill(0.25, 1, 1)
    u = rng_uniform!(UInt64[11], 1)
    crossbar_program!(W, fill(0.05, 1, 1), [1], MODE_CYCLE, N, linear, quiet, cyc, cs, rng, 0.5 / N)
    @test cs[1, 1, 1] == floor(Int, u * 2)
    @test cs[1, 1, 2:4] == [1, 1, 1]
    @test W[1, 1] ≈ 0.30 atol = 1e-12
    # two sign changes move to the neighbouring cycle
    start_cycle = cs[1, 1, 1]
    crossbar_program!(W, fill(-0.05, 1, 1), [1], MODE_CYCLE, N, linear, quiet, cyc, cs, rng, 0.5 / N)
    @test cs[1, 1, 2] == 2 && cs[1, 1, 1] == start_cycle
    crossbar_program!(W, fill(0.05, 1, 1), [1], MODE_CYCLE, N, linear, quiet, cyc, cs, rng, 0.5 / N)
    @test cs[1, 1, 1] == (start_cycle + 1 <= 2 ? start_cycle + 1 : start_cycle - 1)
    @test W[1, 1] ≈ 0.30 atol = 1e-12
end

@testset "T-maze TD step" begin
    # 3 states in a row, 2 actions (left/right), state 3 terminal and rewarded, start at 1
    tmap = [1 2; 1 3; 3 3]
    n_states, n_act = 3, 2
    S = 2
    prm = TDParams(0.5, 0.9, 1.0, 0.0, 0.0, 0, 0, 1, 200, 50, 3, 3, 1, 0.0, 0.0, 0.0, 0.0, 0.0)   # ideal
    devs = MazeDevices(zeros(1, 4), zeros(1, 2), zeros(1, 0, 10), ones(Int, n_states), ones(Int, n_states, n_act))
    wc = zeros(S, n_states); wa = fill(0.5, S, n_states, n_act)
    st = MazeState(zeros(Int, S), zeros(Int, S), ones(Int, S), zeros(S), zeros(S, 0), wc, wa, copy(wc), copy(wa),
                   fill(-1, S, n_states * (1 + n_act), 4), UInt64[1, 2], zeros(Int, S, 21), zeros(Int, S, 21, 4))
    # put seed 2 on the terminal state with a pending reward: its critic cell gets α (r - V) = 0.5
    st.pos[2] = 3; st.rew[2] = 1.0; st.t[2] = 4
    tmaze_td_step!(20, prm, tmap, devs, st)
    @test st.wc[2, 3] ≈ 0.5
    @test st.ep[2] == 1 && st.steps_out[2, 1] == 4 && st.pos[2] == 1 && st.t[2] == 0
    @test st.counts_out[2, 1, :] == [0, 0, 1, 1]           # one read and one update, no pulses (ideal)
    @test st.t[1] == 1 && st.pos[1] in (1, 2)
    tmaze_run!(20, prm, tmap, devs, st)
    @test all(st.ep .== 20)
    @test all(0 .<= st.wc .<= 1) && all(0 .<= st.wa .<= 1)
    @test all(st.steps_out[:, 1:20] .>= 2)                 # the goal is two moves away
    @test st.wc[2, 3] >= 0.5                               # terminal updates α(1 - V) only raise V
    # td_step! forwards by maze name
    @test td_step!(:tmaze, 21, prm, tmap, devs, st) === nothing
    @test_throws ArgumentError td_step!(:labyrinth)
end

@testset "water maze geometry" begin
    @test wm_blocked(0.0, 0.0, 5.0) == false
    @test wm_blocked(6.0, 0.0, 5.0)
    @test wm_blocked(2.0, 0.0, 5.0)                    # obstacle arm
    x, y, r, done = wm_move(0.0, 3.0, 0.0, -3.0, 5.0, 0.5, 10)
    @test done && r == 1.0 && y ≈ 0.0
    x, y, r, done = wm_move(4.5, 0.0, 1.0, 0.0, 5.0, 0.5, 11)
    @test !done && x ≈ 5.0                             # cut at the last free point before the wall
    out = zeros(2)
    place_features!(out, 0.0, 0.0, [0.0 0.0; 1.0 0.0], 1.0, 2.0)
    @test out ≈ [2.0, 2.0 * exp(-0.5)]
    place_features!(out, 0.0, 0.0, [0.0 0.0; 9.0 0.0], 1.0, 2.0)    # 2 exp(-40.5) < 1e-12: exactly 0
    @test out == [2.0, 0.0]
end

end # testset NeuroFlow
