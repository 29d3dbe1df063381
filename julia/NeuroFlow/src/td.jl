# Batched actor–critic TD learning on (emulated) memristive synapses for the T-maze and the water
# maze, mirroring neuroflow.rl.kernels (the numba reference) step for step: the same parameter
# records, the same per-seed SplitMix64 streams and draw order, the same learning rules, the same
# operation counts.
#
# Index conventions on the Julia side: seeds, cells, actions, states and devices are 1-based
# (`tmap` holds 1-based next states, `dev_c`/`dev_a` 1-based devices, the T-maze `terminal`,
# `reward_state` and `start` of `TDParams` 1-based, the T-maze `pos` 1-based). Counters keep their
# meaning: `ep[s]` is the number of finished episodes and `t[s]` the step within the current one, so
# `steps_out[s, ep[s] + 1]` receives the length of the episode that ends. The Python bridge shifts
# the index arrays at the boundary. Cycle states `cstate` are opaque (see `program_cell!`).
#
#   actor_rule 0: Δθ_ij = α δ x_i (1[j = a] - h_j) with the raw activation h; 1: softmax rule with π_j.
#   synapse 0: ideal; 1: memristor closed loop; 2: memristor open loop (the learning rule reads an
#   ideal shadow copy while the devices are programmed from their own state and drive the actions).
#   counts_out[s, e, :] = SET pulses, RESET pulses, weight reads, weight updates of episode e.

"""
    TDParams(alpha, gamma, temperature, min_update, read_noise, actor_rule, synapse, mode, n_pulses,
             max_steps, terminal, reward_state, start, step_len, pc_sigma, pc_scale, platform_r, half)

Scalar settings of a batched maze run, field for field those of `neuroflow.rl.kernels.TDParams`
(`terminal`, `reward_state`, `start`: 1-based T-maze states, used by the T-maze only; `step_len`,
`pc_sigma`, `pc_scale`, `platform_r`, `half`: used by the water maze only).
"""
struct TDParams
    alpha::Float64
    gamma::Float64
    temperature::Float64
    min_update::Float64
    read_noise::Float64
    actor_rule::Int
    synapse::Int
    mode::Int
    n_pulses::Int
    max_steps::Int
    terminal::Int
    reward_state::Int
    start::Int
    step_len::Float64
    pc_sigma::Float64
    pc_scale::Float64
    platform_r::Float64
    half::Float64
end

"""
    MazeDevices(ab, sigma, cycles, dev_c, dev_a)

Device table (`ab` `(n_devices, 4)`, `sigma` `(n_devices, 2)`, `cycles` `(n_devices, n_cycles, 10)`, as
[`crossbar_program!`](@ref) takes them) and the 1-based device of every critic weight `dev_c`
`(n_features,)` and actor weight `dev_a` `(n_features, n_actions)`.
"""
struct MazeDevices{A<:AbstractMatrix,S<:AbstractMatrix,C<:AbstractArray,I<:AbstractVector,J<:AbstractMatrix}
    ab::A
    sigma::S
    cycles::C
    dev_c::I
    dev_a::J
end

"""
    MazeState(ep, t, pos, rew, feat, wc, wa, wc_sh, wa_sh, cstate, rng, steps_out, counts_out)

Per-seed state, updated in place: episode counters `ep`, steps `t`, position `pos` (T-maze: 1-based
state `(n_seeds,)`; water maze `(n_seeds, 2)`), carried reward `rew`, place-cell activities `feat`,
critic `wc` `(n_seeds, n_features)` and actor `wa` `(n_seeds, n_features, n_actions)` weights and their
shadows, cycle states `cstate` `(n_seeds, n_features·(1 + n_actions), 4)`, SplitMix64 states `rng`,
episode lengths `steps_out` and operation counts `counts_out` `(n_seeds, n_episodes, 4)`.
"""
struct MazeState{E,T,P,R,F,W,A,C,G,O,N}
    ep::E
    t::T
    pos::P
    rew::R
    feat::F
    wc::W
    wa::A
    wc_sh::W
    wa_sh::A
    cstate::C
    rng::G
    steps_out::O
    counts_out::N
end

"""
    MazeBuffers(n_actions, n_features)

Scratch vectors for one TD step (activations, softmax probabilities, next features); allocate
once and pass to the `*_td_step!`/`*_run!` kernels through their `buffers` keyword.
"""
struct MazeBuffers
    h::Vector{Float64}
    p::Vector{Float64}
    x_new::Vector{Float64}
end
MazeBuffers(n_actions::Integer, n_features::Integer) = MazeBuffers(zeros(n_actions), zeros(n_actions), zeros(n_features))

# program cell `cell` of seed s (weight w[s, I...]) following the synapse kind; pulses go to `counts`
@inline function _write_synapse!(w::AbstractArray{Float64}, w_sh::AbstractArray{Float64}, s::Int, I::Tuple,
                                 cell::Int, dw::Float64, p::TDParams, dev::Int, devs::MazeDevices, cstate, rng,
                                 counts)
    (dw == 0.0 || abs(dw) < p.min_update) && return nothing   # dropped before touching the cell (rule 1)
    cs = view(cstate, s, cell, :)
    if p.synapse == 0
        w[s, I...] = first(program_cell!(cs, rng, s, w[s, I...], dw, MODE_IDEAL, dev, p.n_pulses, devs.ab,
                                         devs.sigma, devs.cycles, p.min_update))
        return nothing
    end
    w[s, I...], dp = program_cell!(cs, rng, s, w[s, I...], dw, p.mode, dev, p.n_pulses, devs.ab, devs.sigma,
                                   devs.cycles, p.min_update)
    if dp > 0.0
        counts[1] += Int(dp)
    elseif dp < 0.0
        counts[2] += Int(-dp)
    end
    if p.synapse == 2
        w_sh[s, I...] = first(program_cell!(cs, rng, s, w_sh[s, I...], dw, MODE_IDEAL, dev, p.n_pulses, devs.ab,
                                            devs.sigma, devs.cycles, p.min_update))
    end
    return nothing
end

# softmax of h/temperature into p; sample with the uniform u (the reference's inverse-CDF walk)
function _sample_action!(p::Vector{Float64}, h::Vector{Float64}, temperature::Float64, u::Float64)
    m = h[1]
    for j in 2:length(h)
        if h[j] > m
            m = h[j]
        end
    end
    total = 0.0
    for j in eachindex(h, p)
        p[j] = exp((h[j] - m) / temperature)
        total += p[j]
    end
    x = u * total
    acc = 0.0
    a = length(h)
    for j in eachindex(p)
        acc += p[j]
        if x < acc
            a = j
            break
        end
    end
    p ./= total
    return a
end

function _softmax!(p::Vector{Float64}, h::Vector{Float64}, temperature::Float64)
    m = maximum(h)
    total = 0.0
    for j in eachindex(h, p)
        p[j] = exp((h[j] - m) / temperature)
        total += p[j]
    end
    p ./= total
    return p
end

# ----------------------------------------------------------------------------- T-maze
function _tmaze_step!(s::Int, p::TDParams, tmap, devs::MazeDevices, st::MazeState, buf::MazeBuffers)
    wc, wa, wc_sh, wa_sh, rng = st.wc, st.wa, st.wc_sh, st.wa_sh, st.rng
    n_states = size(wc, 2)
    n_act = size(tmap, 2)
    state, r, k, e = Int(st.pos[s]), Float64(st.rew[s]), Int(st.t[s]), Int(st.ep[s])
    counts = view(st.counts_out, s, e + 1, :)
    v_s = p.synapse == 2 ? wc_sh[s, state] : wc[s, state]
    if p.read_noise > 0.0 && p.synapse != 2
        v_s += p.read_noise * rng_normal!(rng, s)
    end
    if state == p.terminal || k >= p.max_steps
        if state == p.terminal
            # the reward is credited in the terminal state's own update, with V(after) = 0
            counts[3] += 1
            counts[4] += 1
            _write_synapse!(wc, wc_sh, s, (state,), state, p.alpha * (r - v_s), p, Int(devs.dev_c[state]), devs,
                            st.cstate, rng, counts)
        end
        st.steps_out[s, e+1] = k
        st.ep[s] = e + 1
        st.t[s] = 0
        st.pos[s] = p.start
        st.rew[s] = 0.0
        return nothing
    end
    h = buf.h
    pr = buf.p
    for j in 1:n_act
        h[j] = wa[s, state, j]
        if p.read_noise > 0.0
            h[j] += p.read_noise * rng_normal!(rng, s)
        end
    end
    a = _sample_action!(pr, h, p.temperature, rng_uniform!(rng, s))
    if p.synapse == 2     # open loop: the learning rule sees the shadow copy
        for j in 1:n_act
            h[j] = wa_sh[s, state, j]
        end
        _softmax!(pr, h, p.temperature)
    end
    sp = Int(tmap[state, a])
    rp = sp == p.reward_state ? 1.0 : 0.0
    v_sp = p.synapse == 2 ? wc_sh[s, sp] : wc[s, sp]
    if p.read_noise > 0.0 && p.synapse != 2
        v_sp += p.read_noise * rng_normal!(rng, s)
    end
    delta = r + p.gamma * v_sp - v_s
    counts[3] += n_act + 2
    counts[4] += 1 + n_act
    _write_synapse!(wc, wc_sh, s, (state,), state, p.alpha * delta, p, Int(devs.dev_c[state]), devs, st.cstate,
                    rng, counts)
    for j in 1:n_act
        hebb = (j == a ? 1.0 : 0.0) - (p.actor_rule == 0 ? h[j] : pr[j])
        cell = n_states + (state - 1) * n_act + j       # actor cells follow the critic's, row-major
        _write_synapse!(wa, wa_sh, s, (state, j), cell, p.alpha * delta * hebb, p, Int(devs.dev_a[state, j]), devs,
                        st.cstate, rng, counts)
    end
    st.pos[s] = sp
    st.rew[s] = rp
    st.t[s] = k + 1
    return nothing
end

"""
    tmaze_td_step!(e_end, p::TDParams, tmap, devices::MazeDevices, state::MazeState; buffers=nothing)

Advance every seed (row) whose finished-episode count `state.ep[s]` is below `e_end` by exactly one
T-maze step: read V(s) and the actor activations (with read noise), sample an action from the
softmax, compute the TD error δ = r + γV(s') - V(s), and program the critic cell and the actor
cells of the current state through [`program_cell!`](@ref) (ideal, closed-loop or open-loop
synapses). `tmap` `(n_states, n_actions)` holds the next states; `state.steps_out[s, e]` receives
the length of episode `e` and `state.counts_out[s, e, :]` its operation counts. The file header
lists the index conventions.
"""
function tmaze_td_step!(e_end::Integer, p::TDParams, tmap, devices::MazeDevices, state::MazeState;
                        buffers::Union{Nothing,MazeBuffers}=nothing)
    buf = buffers === nothing ? MazeBuffers(size(tmap, 2), size(state.wc, 2)) : buffers
    for s in 1:size(state.wc, 1)
        if state.ep[s] < e_end
            _tmaze_step!(s, p, tmap, devices, state, buf)
        end
    end
    return nothing
end

"""
    tmaze_run!(e_end, p::TDParams, tmap, devices::MazeDevices, state::MazeState; buffers=nothing)

Repeat [`tmaze_td_step!`](@ref) seed by seed until every seed has finished `e_end` episodes
(same arguments; seeds are independent, so the numbers equal those of stepping all seeds together).
"""
function tmaze_run!(e_end::Integer, p::TDParams, tmap, devices::MazeDevices, state::MazeState;
                    buffers::Union{Nothing,MazeBuffers}=nothing)
    buf = buffers === nothing ? MazeBuffers(size(tmap, 2), size(state.wc, 2)) : buffers
    for s in 1:size(state.wc, 1)
        while state.ep[s] < e_end
            _tmaze_step!(s, p, tmap, devices, state, buf)
        end
    end
    return nothing
end

# ----------------------------------------------------------------------------- water maze geometry
"""
    wm_blocked(x, y, half) -> Bool

Outside the square arena `[-half, half]²` or inside the U-shaped obstacle around the platform.
"""
function wm_blocked(x::Float64, y::Float64, half::Float64)
    (abs(x) > half || abs(y) > half) && return true
    (1.5 <= abs(x) <= 2.5 && -2.5 < y < 2.0) && return true
    (abs(x) <= 1.5 && -2.5 <= y <= -1.5) && return true
    return false
end

wm_in_platform(x::Float64, y::Float64, radius::Float64) = x * x + y * y <= radius * radius

"""
    wm_move(x, y, dx, dy, half, radius, n_check) -> (x', y', reward, done)

One move checked at `n_check` points along the path: cut at the last free point before a wall;
reaching the platform ends the episode with reward 1 (the full move is taken).
"""
function wm_move(x::Float64, y::Float64, dx::Float64, dy::Float64, half::Float64, radius::Float64, n_check::Int)
    for i in 0:(n_check-1)
        f = i / (n_check - 1)
        px, py = x + f * dx, y + f * dy
        if wm_blocked(px, py, half)
            g = i > 0 ? (i - 1) / (n_check - 1) : 0.0
            return x + g * dx, y + g * dy, 0.0, false
        end
        wm_in_platform(px, py, radius) && return (x + dx, y + dy, 1.0, true)
    end
    return x + dx, y + dy, 0.0, false
end

"""
    place_features!(out, x, y, centres, pc_sigma, pc_scale)

Gaussian place-cell activities `pc_scale·exp(-|c_i - (x, y)|² / 2σ²)` for the centres (rows);
activities below 1e-12 are set to exactly 0, as in the numba reference (such features are then
skipped by the updates, and the random streams stay in step with the reference).
"""
function place_features!(out::AbstractVector{Float64}, x::Float64, y::Float64, centres::AbstractMatrix{<:Real},
                         pc_sigma::Float64, pc_scale::Float64)
    inv = 1.0 / (2.0 * pc_sigma * pc_sigma)
    for i in 1:size(centres, 1)
        dx = centres[i, 1] - x
        dy = centres[i, 2] - y
        v = pc_scale * exp(-(dx * dx + dy * dy) * inv)
        out[i] = v >= 1e-12 ? v : 0.0
    end
    return out
end

function _wm_start(rng, s::Int, half::Float64, radius::Float64)
    while true
        x = -half + 2.0 * half * rng_uniform!(rng, s)
        y = -half + 2.0 * half * rng_uniform!(rng, s)
        (!wm_blocked(x, y, half) && !wm_in_platform(x, y, radius)) && return (x, y)
    end
end

function _watermaze_step!(s::Int, p::TDParams, centres, moves, devs::MazeDevices, st::MazeState, buf::MazeBuffers)
    wc, wa, wc_sh, wa_sh, rng = st.wc, st.wa, st.wc_sh, st.wa_sh, st.rng
    n_feat = size(centres, 1)
    n_act = size(moves, 1)
    k = Int(st.t[s])
    x = view(st.feat, s, :)
    if k == 0
        x0, y0 = _wm_start(rng, s, p.half, p.platform_r)
        st.pos[s, 1] = x0
        st.pos[s, 2] = y0
        place_features!(x, x0, y0, centres, p.pc_sigma, p.pc_scale)
    end
    counts = view(st.counts_out, s, Int(st.ep[s]) + 1, :)
    norm_x = 0.0
    if p.read_noise > 0.0
        for i in 1:n_feat
            norm_x += x[i] * x[i]
        end
        norm_x = sqrt(norm_x)
    end
    learn_c = p.synapse == 2 ? wc_sh : wc
    v_s = 0.0
    for i in 1:n_feat
        v_s += x[i] * learn_c[s, i]
    end
    if p.read_noise > 0.0 && p.synapse != 2
        v_s += p.read_noise * norm_x * rng_normal!(rng, s)
    end
    h = buf.h
    pr = buf.p
    fill!(h, 0.0)
    active = 0
    for i in 1:n_feat
        xi = x[i]
        if xi > 1e-12
            active += 1
            for j in 1:n_act
                h[j] += xi * wa[s, i, j]
            end
        end
    end
    if p.read_noise > 0.0
        for j in 1:n_act
            h[j] += p.read_noise * norm_x * rng_normal!(rng, s)
        end
    end
    a = _sample_action!(pr, h, p.temperature, rng_uniform!(rng, s))
    if p.synapse == 2
        fill!(h, 0.0)
        for i in 1:n_feat, j in 1:n_act
            h[j] += x[i] * wa_sh[s, i, j]
        end
        _softmax!(pr, h, p.temperature)
    end
    nx, ny, reward, done = wm_move(Float64(st.pos[s, 1]), Float64(st.pos[s, 2]), p.step_len * moves[a, 1],
                                   p.step_len * moves[a, 2], p.half, p.platform_r, 10)
    x_new = buf.x_new
    place_features!(x_new, nx, ny, centres, p.pc_sigma, p.pc_scale)
    v_sp = 0.0
    active_new = 0
    if !done
        for i in 1:n_feat
            v_sp += x_new[i] * learn_c[s, i]
            if x_new[i] > 0.0
                active_new += 1
            end
        end
        if p.read_noise > 0.0 && p.synapse != 2
            nn = 0.0
            for i in 1:n_feat
                nn += x_new[i] * x_new[i]
            end
            v_sp += p.read_noise * sqrt(nn) * rng_normal!(rng, s)
        end
    end
    delta = reward + p.gamma * v_sp - v_s
    ad = p.alpha * delta
    counts[3] += active * (n_act + 1) + active_new
    counts[4] += active * (n_act + 1)
    for i in 1:n_feat
        x[i] == 0.0 && continue
        _write_synapse!(wc, wc_sh, s, (i,), i, ad * x[i], p, Int(devs.dev_c[i]), devs, st.cstate, rng, counts)
    end
    hmax = 0.0
    for j in 1:n_act
        hj = p.actor_rule == 0 ? h[j] : pr[j]
        if abs(hj) > hmax
            hmax = abs(hj)
        end
    end
    for i in 1:n_feat
        (x[i] == 0.0 || abs(ad * x[i]) * (1.0 + hmax) < p.min_update) && continue   # no actor update can pass
        for j in 1:n_act
            hebb = (j == a ? 1.0 : 0.0) - (p.actor_rule == 0 ? h[j] : pr[j])
            cell = n_feat + (i - 1) * n_act + j
            _write_synapse!(wa, wa_sh, s, (i, j), cell, ad * x[i] * hebb, p, Int(devs.dev_a[i, j]), devs,
                            st.cstate, rng, counts)
        end
    end
    st.pos[s, 1] = nx
    st.pos[s, 2] = ny
    for i in 1:n_feat
        x[i] = x_new[i]
    end
    k += 1
    st.t[s] = k
    if done || k >= p.max_steps
        st.steps_out[s, st.ep[s]+1] = k
        st.ep[s] += 1
        st.t[s] = 0
    end
    return nothing
end

"""
    watermaze_td_step!(e_end, p::TDParams, centres, moves, devices::MazeDevices, state::MazeState;
                       buffers=nothing)

One water-maze step for every seed with `state.ep[s] < e_end`: random start at the beginning of an
episode, place-cell features `state.feat` `(n_seeds, n_features)` from `centres` `(n_features, 2)`
(activities below 1e-12 are 0 and skipped), linear critic and actor, softmax action over the
`moves` `(n_actions, 2)`, a move checked against walls and the platform ([`wm_move`](@ref)), TD
error and the writes of every critic cell of an active feature and of the actor cells whose update
can pass `p.min_update`. `state.pos` is `(n_seeds, 2)`.
"""
function watermaze_td_step!(e_end::Integer, p::TDParams, centres, moves, devices::MazeDevices, state::MazeState;
                            buffers::Union{Nothing,MazeBuffers}=nothing)
    buf = buffers === nothing ? MazeBuffers(size(moves, 1), size(centres, 1)) : buffers
    for s in 1:size(state.wc, 1)
        if state.ep[s] < e_end
            _watermaze_step!(s, p, centres, moves, devices, state, buf)
        end
    end
    return nothing
end

"""
    watermaze_run!(e_end, p::TDParams, centres, moves, devices::MazeDevices, state::MazeState;
                   buffers=nothing)

Repeat [`watermaze_td_step!`](@ref) seed by seed until every seed has finished `e_end` episodes.
"""
function watermaze_run!(e_end::Integer, p::TDParams, centres, moves, devices::MazeDevices, state::MazeState;
                        buffers::Union{Nothing,MazeBuffers}=nothing)
    buf = buffers === nothing ? MazeBuffers(size(moves, 1), size(centres, 1)) : buffers
    for s in 1:size(state.wc, 1)
        while state.ep[s] < e_end
            _watermaze_step!(s, p, centres, moves, devices, state, buf)
        end
    end
    return nothing
end

"""
    td_step!(maze, args...; buffers=nothing)

One batched actor–critic step in `maze` (`:tmaze` or `:watermaze`, or the strings): forwards to
[`tmaze_td_step!`](@ref) or [`watermaze_td_step!`](@ref).
"""
function td_step!(maze::Union{Symbol,AbstractString}, args...; buffers::Union{Nothing,MazeBuffers}=nothing)
    m = Symbol(lowercase(string(maze)))
    m === :tmaze && return tmaze_td_step!(args...; buffers=buffers)
    m === :watermaze && return watermaze_td_step!(args...; buffers=buffers)
    throw(ArgumentError("maze: expected :tmaze or :watermaze, got $(repr(maze))"))
end
