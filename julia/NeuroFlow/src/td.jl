# Batched actor–critic TD learning on (emulated) memristive synapses for the T-maze and the water
# maze, mirroring neuroflow.rl.kernels (the numba reference) step for step: the same parameter
# packing, the same per-seed SplitMix64 streams and draw order, the same learning rules.
#
# Index conventions on the Julia side: seeds, cells, actions, states and devices are 1-based
# (`tmap` holds 1-based next states, `dev_c`/`dev_a` 1-based devices, `ip[6:8]` = terminal,
# reward and start states 1-based, the T-maze `pos` 1-based). Counters keep their meaning:
# `ep[s]` is the number of finished episodes and `t[s]` the step within the current one, so
# `steps_out[s, ep[s] + 1]` receives the length of the episode that ends. The Python bridge shifts
# the index arrays at the boundary. Cycle states `cstate` are opaque (see `program_cell!`).
#
# fp = [alpha, gamma, temperature, min_update, read_noise, step_len, pc_sigma, pc_scale, platform_r, half]
# ip = [actor_rule, synapse, mode, n_pulses, max_steps, terminal, reward_state, start]
#   actor_rule 0: Δθ_ij = α δ x_i (1[j = a] - h_j) with the raw activation h; 1: softmax rule with π_j.
#   synapse 0: ideal; 1: memristor closed loop; 2: memristor open loop (the learning rule reads an
#   ideal shadow copy while the devices are programmed from their own state and drive the actions).

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

# program cell `cell` of seed s (weight w[s, I...]) following the synapse kind
@inline function _write_synapse!(w::AbstractArray{Float64}, w_sh::AbstractArray{Float64}, s::Int, I::Tuple,
                                 cell::Int, dw::Float64, synapse::Int, mode::Int, dev::Int, n_pulses::Int, ab, sigma,
                                 cycles, cstate, rng, min_update::Float64)
    (dw == 0.0 || abs(dw) < min_update) && return nothing   # dropped before touching the cell (rule 1)
    cs = view(cstate, s, cell, :)
    if synapse == 0
        w[s, I...] = first(program_cell!(cs, rng, s, w[s, I...], dw, MODE_IDEAL, dev, n_pulses, ab, sigma, cycles,
                                         min_update))
        return nothing
    end
    w[s, I...] = first(program_cell!(cs, rng, s, w[s, I...], dw, mode, dev, n_pulses, ab, sigma, cycles, min_update))
    if synapse == 2
        w_sh[s, I...] = first(program_cell!(cs, rng, s, w_sh[s, I...], dw, MODE_IDEAL, dev, n_pulses, ab, sigma,
                                            cycles, min_update))
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
function _tmaze_step!(s::Int, fp, ip, tmap, ab, sigma, cycles, dev_c, dev_a, ep, t, pos, rew, wc, wa, wc_sh, wa_sh,
                      cstate, rng, steps_out, buf::MazeBuffers)
    alpha, gamma, temp = Float64(fp[1]), Float64(fp[2]), Float64(fp[3])
    min_update, read_noise = Float64(fp[4]), Float64(fp[5])
    rule, synapse, mode, n_pulses, max_steps = Int(ip[1]), Int(ip[2]), Int(ip[3]), Int(ip[4]), Int(ip[5])
    terminal, reward_state, start = Int(ip[6]), Int(ip[7]), Int(ip[8])
    n_states = size(wc, 2)
    n_act = size(tmap, 2)
    st, r, k, e = Int(pos[s]), Float64(rew[s]), Int(t[s]), Int(ep[s])
    v_s = synapse == 2 ? wc_sh[s, st] : wc[s, st]
    if read_noise > 0.0 && synapse != 2
        v_s += read_noise * rng_normal!(rng, s)
    end
    if st == terminal || k >= max_steps
        if st == terminal
            # the reward is credited in the terminal state's own update, with V(after) = 0
            _write_synapse!(wc, wc_sh, s, (st,), st, alpha * (r - v_s), synapse, mode, Int(dev_c[st]), n_pulses,
                            ab, sigma, cycles, cstate, rng, min_update)
        end
        steps_out[s, e+1] = k
        ep[s] = e + 1
        t[s] = 0
        pos[s] = start
        rew[s] = 0.0
        return nothing
    end
    h = buf.h
    p = buf.p
    for j in 1:n_act
        h[j] = wa[s, st, j]
        if read_noise > 0.0
            h[j] += read_noise * rng_normal!(rng, s)
        end
    end
    a = _sample_action!(p, h, temp, rng_uniform!(rng, s))
    if synapse == 2     # open loop: the learning rule sees the shadow copy
        for j in 1:n_act
            h[j] = wa_sh[s, st, j]
        end
        _softmax!(p, h, temp)
    end
    sp = Int(tmap[st, a])
    rp = sp == reward_state ? 1.0 : 0.0
    v_sp = synapse == 2 ? wc_sh[s, sp] : wc[s, sp]
    if read_noise > 0.0 && synapse != 2
        v_sp += read_noise * rng_normal!(rng, s)
    end
    delta = r + gamma * v_sp - v_s
    _write_synapse!(wc, wc_sh, s, (st,), st, alpha * delta, synapse, mode, Int(dev_c[st]), n_pulses, ab, sigma,
                    cycles, cstate, rng, min_update)
    for j in 1:n_act
        hebb = (j == a ? 1.0 : 0.0) - (rule == 0 ? h[j] : p[j])
        cell = n_states + (st - 1) * n_act + j       # actor cells follow the critic's, row-major
        _write_synapse!(wa, wa_sh, s, (st, j), cell, alpha * delta * hebb, synapse, mode, Int(dev_a[st, j]),
                        n_pulses, ab, sigma, cycles, cstate, rng, min_update)
    end
    pos[s] = sp
    rew[s] = rp
    t[s] = k + 1
    return nothing
end

"""
    tmaze_td_step!(e_end, fp, ip, tmap, ab, sigma, cycles, dev_c, dev_a, ep, t, pos, rew, wc, wa,
                   wc_sh, wa_sh, cstate, rng, steps_out; buffers=nothing)

Advance every seed (row) whose finished-episode count `ep[s]` is below `e_end` by exactly one
T-maze step: read V(s) and the actor activations (with read noise), sample an action from the
softmax, compute the TD error δ = r + γV(s') - V(s), and program the critic cell and the actor
cells of the current state through [`program_cell!`](@ref) (ideal, closed-loop or open-loop
synapses). `tmap` `(n_states, n_actions)` holds the next states; `wc` is `(n_seeds, n_states)`,
`wa` `(n_seeds, n_states, n_actions)`, `cstate` `(n_seeds, n_states·(1 + n_actions), 4)`;
`steps_out[s, e]` receives the length of episode `e`. The file header lists `fp`, `ip` and the
index conventions.
"""
function tmaze_td_step!(e_end::Integer, fp, ip, tmap, ab, sigma, cycles, dev_c, dev_a, ep, t, pos, rew, wc, wa,
                        wc_sh, wa_sh, cstate, rng, steps_out; buffers::Union{Nothing,MazeBuffers}=nothing)
    buf = buffers === nothing ? MazeBuffers(size(tmap, 2), size(wc, 2)) : buffers
    for s in 1:size(wc, 1)
        if ep[s] < e_end
            _tmaze_step!(s, fp, ip, tmap, ab, sigma, cycles, dev_c, dev_a, ep, t, pos, rew, wc, wa, wc_sh, wa_sh,
                         cstate, rng, steps_out, buf)
        end
    end
    return nothing
end

"""
    tmaze_run!(e_end, args...; buffers=nothing)

Repeat [`tmaze_td_step!`](@ref) seed by seed until every seed has finished `e_end` episodes
(same arguments; seeds are independent, so the numbers equal those of stepping all seeds together).
"""
function tmaze_run!(e_end::Integer, fp, ip, tmap, ab, sigma, cycles, dev_c, dev_a, ep, t, pos, rew, wc, wa,
                    wc_sh, wa_sh, cstate, rng, steps_out; buffers::Union{Nothing,MazeBuffers}=nothing)
    buf = buffers === nothing ? MazeBuffers(size(tmap, 2), size(wc, 2)) : buffers
    for s in 1:size(wc, 1)
        while ep[s] < e_end
            _tmaze_step!(s, fp, ip, tmap, ab, sigma, cycles, dev_c, dev_a, ep, t, pos, rew, wc, wa, wc_sh, wa_sh,
                         cstate, rng, steps_out, buf)
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

Gaussian place-cell activities `pc_scale·exp(-|c_i - (x, y)|² / 2σ²)` for the centres (rows).
"""
function place_features!(out::AbstractVector{Float64}, x::Float64, y::Float64, centres::AbstractMatrix{<:Real},
                         pc_sigma::Float64, pc_scale::Float64)
    inv = 1.0 / (2.0 * pc_sigma * pc_sigma)
    for i in 1:size(centres, 1)
        dx = centres[i, 1] - x
        dy = centres[i, 2] - y
        out[i] = pc_scale * exp(-(dx * dx + dy * dy) * inv)
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

function _watermaze_step!(s::Int, fp, ip, centres, moves, ab, sigma, cycles, dev_c, dev_a, ep, t, pos, feat, wc, wa,
                          wc_sh, wa_sh, cstate, rng, steps_out, buf::MazeBuffers)
    alpha, gamma, temp = Float64(fp[1]), Float64(fp[2]), Float64(fp[3])
    min_update, read_noise = Float64(fp[4]), Float64(fp[5])
    step_len, pc_sigma, pc_scale, radius, half = Float64(fp[6]), Float64(fp[7]), Float64(fp[8]), Float64(fp[9]),
                                                 Float64(fp[10])
    rule, synapse, mode, n_pulses, max_steps = Int(ip[1]), Int(ip[2]), Int(ip[3]), Int(ip[4]), Int(ip[5])
    n_feat = size(centres, 1)
    n_act = size(moves, 1)
    k = Int(t[s])
    x = view(feat, s, :)
    if k == 0
        x0, y0 = _wm_start(rng, s, half, radius)
        pos[s, 1] = x0
        pos[s, 2] = y0
        place_features!(x, x0, y0, centres, pc_sigma, pc_scale)
    end
    norm_x = 0.0
    if read_noise > 0.0
        for i in 1:n_feat
            norm_x += x[i] * x[i]
        end
        norm_x = sqrt(norm_x)
    end
    learn_c = synapse == 2 ? wc_sh : wc
    v_s = 0.0
    for i in 1:n_feat
        v_s += x[i] * learn_c[s, i]
    end
    if read_noise > 0.0 && synapse != 2
        v_s += read_noise * norm_x * rng_normal!(rng, s)
    end
    h = buf.h
    p = buf.p
    fill!(h, 0.0)
    for i in 1:n_feat
        xi = x[i]
        if xi > 1e-12
            for j in 1:n_act
                h[j] += xi * wa[s, i, j]
            end
        end
    end
    if read_noise > 0.0
        for j in 1:n_act
            h[j] += read_noise * norm_x * rng_normal!(rng, s)
        end
    end
    a = _sample_action!(p, h, temp, rng_uniform!(rng, s))
    if synapse == 2
        fill!(h, 0.0)
        for i in 1:n_feat, j in 1:n_act
            h[j] += x[i] * wa_sh[s, i, j]
        end
        _softmax!(p, h, temp)
    end
    nx, ny, reward, done = wm_move(Float64(pos[s, 1]), Float64(pos[s, 2]), step_len * moves[a, 1],
                                   step_len * moves[a, 2], half, radius, 10)
    x_new = buf.x_new
    place_features!(x_new, nx, ny, centres, pc_sigma, pc_scale)
    v_sp = 0.0
    if !done
        for i in 1:n_feat
            v_sp += x_new[i] * learn_c[s, i]
        end
        if read_noise > 0.0 && synapse != 2
            nn = 0.0
            for i in 1:n_feat
                nn += x_new[i] * x_new[i]
            end
            v_sp += read_noise * sqrt(nn) * rng_normal!(rng, s)
        end
    end
    delta = reward + gamma * v_sp - v_s
    ad = alpha * delta
    for i in 1:n_feat
        _write_synapse!(wc, wc_sh, s, (i,), i, ad * x[i], synapse, mode, Int(dev_c[i]), n_pulses, ab, sigma, cycles,
                        cstate, rng, min_update)
    end
    hmax = 0.0
    for j in 1:n_act
        hj = rule == 0 ? h[j] : p[j]
        if abs(hj) > hmax
            hmax = abs(hj)
        end
    end
    for i in 1:n_feat
        abs(ad * x[i]) * (1.0 + hmax) < min_update && continue   # no actor update of this feature can pass
        for j in 1:n_act
            hebb = (j == a ? 1.0 : 0.0) - (rule == 0 ? h[j] : p[j])
            cell = n_feat + (i - 1) * n_act + j
            _write_synapse!(wa, wa_sh, s, (i, j), cell, ad * x[i] * hebb, synapse, mode, Int(dev_a[i, j]), n_pulses,
                            ab, sigma, cycles, cstate, rng, min_update)
        end
    end
    pos[s, 1] = nx
    pos[s, 2] = ny
    for i in 1:n_feat
        x[i] = x_new[i]
    end
    k += 1
    t[s] = k
    if done || k >= max_steps
        steps_out[s, ep[s]+1] = k
        ep[s] += 1
        t[s] = 0
    end
    return nothing
end

"""
    watermaze_td_step!(e_end, fp, ip, centres, moves, ab, sigma, cycles, dev_c, dev_a, ep, t, pos,
                       feat, wc, wa, wc_sh, wa_sh, cstate, rng, steps_out; buffers=nothing)

One water-maze step for every seed with `ep[s] < e_end`: random start at the beginning of an
episode, place-cell features `feat` `(n_seeds, n_features)` from `centres` `(n_features, 2)`,
linear critic `wc` and actor `wa` `(n_seeds, n_features, n_actions)`, softmax action over the
`moves` `(n_actions, 2)`, a move checked against walls and the platform ([`wm_move`](@ref)), TD
error and the writes of every critic cell and of the actor cells whose update can pass
`min_update`. `pos` is `(n_seeds, 2)`.
"""
function watermaze_td_step!(e_end::Integer, fp, ip, centres, moves, ab, sigma, cycles, dev_c, dev_a, ep, t, pos,
                            feat, wc, wa, wc_sh, wa_sh, cstate, rng, steps_out;
                            buffers::Union{Nothing,MazeBuffers}=nothing)
    buf = buffers === nothing ? MazeBuffers(size(moves, 1), size(centres, 1)) : buffers
    for s in 1:size(wc, 1)
        if ep[s] < e_end
            _watermaze_step!(s, fp, ip, centres, moves, ab, sigma, cycles, dev_c, dev_a, ep, t, pos, feat, wc, wa,
                             wc_sh, wa_sh, cstate, rng, steps_out, buf)
        end
    end
    return nothing
end

"""
    watermaze_run!(e_end, args...; buffers=nothing)

Repeat [`watermaze_td_step!`](@ref) seed by seed until every seed has finished `e_end` episodes.
"""
function watermaze_run!(e_end::Integer, fp, ip, centres, moves, ab, sigma, cycles, dev_c, dev_a, ep, t, pos,
                        feat, wc, wa, wc_sh, wa_sh, cstate, rng, steps_out;
                        buffers::Union{Nothing,MazeBuffers}=nothing)
    buf = buffers === nothing ? MazeBuffers(size(moves, 1), size(centres, 1)) : buffers
    for s in 1:size(wc, 1)
        while ep[s] < e_end
            _watermaze_step!(s, fp, ip, centres, moves, ab, sigma, cycles, dev_c, dev_a, ep, t, pos, feat, wc, wa,
                             wc_sh, wa_sh, cstate, rng, steps_out, buf)
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
