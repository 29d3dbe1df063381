# Pulse programming of memristive crossbars, mirroring neuroflow.memristor.kernels (the numba
# reference): the same SplitMix64 streams, the same order of noise draws, the same device
# responses and cycle-to-cycle walk, so both backends produce the same weights (up to the last ulp
# of exp/log/cos) and the same pulse counts.
#
# Weights w ∈ [0, 1] are normalised conductances (G - G0)/(G1 - G0). A device maps a pulse
# coordinate p ∈ [0, N] to w; SET pulses walk p up, RESET pulses walk it down. A write of dw becomes
# round(N·dw) pulses (ties to even) applied through the device's non-linear response, plus Gaussian
# write noise, then clipping to [0, 1].

"""Programming mode of [`crossbar_program!`](@ref): exact, noiseless writes (an ideal synapse)."""
const MODE_IDEAL = 0
"""Programming mode of [`crossbar_program!`](@ref): the device's mean two-parameter response with
per-device write noise."""
const MODE_MEAN = 1
"""Programming mode of [`crossbar_program!`](@ref): per-cycle four-parameter fits and per-cycle noise
(cycle-to-cycle variability)."""
const MODE_CYCLE = 2

const _GOLDEN = 0x9e3779b97f4a7c15
const _MIX1 = 0xbf58476d1ce4e5b9
const _MIX2 = 0x94d049bb133111eb
const _INV53 = 1.0 / 9007199254740992.0

# SplitMix64: advance stream s of `state` and return the next 64 random bits
@inline function _splitmix!(state::AbstractVector{UInt64}, s::Int)
    z = state[s] + _GOLDEN          # UInt64 arithmetic wraps, as in the reference
    state[s] = z
    z = (z ⊻ (z >> 30)) * _MIX1
    z = (z ⊻ (z >> 27)) * _MIX2
    return z ⊻ (z >> 31)
end

"""
    rng_uniform!(state, s) -> Float64

Uniform in [0, 1) from the SplitMix64 stream `s` of `state` (a `Vector{UInt64}`; advances it):
the top 53 bits of the next output times 2⁻⁵³.
"""
rng_uniform!(state::AbstractVector{UInt64}, s::Integer) = Float64(_splitmix!(state, Int(s)) >> 11) * _INV53

"""
    rng_normal!(state, s) -> Float64

Standard normal from stream `s`: Box–Muller (cosine branch) on two consecutive uniforms.
"""
function rng_normal!(state::AbstractVector{UInt64}, s::Integer)
    u1 = rng_uniform!(state, s)
    u2 = rng_uniform!(state, s)
    return sqrt(-2.0 * log(1.0 - u1)) * cos(2π * u2)
end

@inline _clip01(v::Float64) = v < 0.0 ? 0.0 : (v > 1.0 ? 1.0 : v)

# Device responses. kind: 0 two-parameter SET, 1 two-parameter RESET, 2 four-parameter SET,
# 3 four-parameter RESET, 4 linear.
function _response(kind::Int, p::Float64, c0::Float64, c1::Float64, c2::Float64, c3::Float64, n::Float64)
    if kind == 4
        p = clamp(p, 0.0, n)
        return p / n
    elseif kind == 0 || kind == 1
        p = clamp(p, 0.0, n)
        denom = 1.0 - (c0 * n + exp(-c1 * n))
        kind == 0 && return (1.0 - (c0 * p + exp(-c1 * p))) / denom
        q = n - p
        return 1.0 - (1.0 - (c0 * q + exp(-c1 * q))) / denom
    elseif kind == 2
        return c0 + c1 * p - c2 * exp(-c3 * p)
    end
    return c0 + c1 * p + c2 * exp(c3 * p)
end

function _dresponse(kind::Int, p::Float64, c0::Float64, c1::Float64, c2::Float64, c3::Float64, n::Float64)
    kind == 4 && return 1.0 / n
    if kind == 0 || kind == 1
        denom = 1.0 - (c0 * n + exp(-c1 * n))
        x = kind == 0 ? p : n - p
        return (-c0 + c1 * exp(-c1 * x)) / denom
    elseif kind == 2
        return c1 + c3 * c2 * exp(-c3 * p)
    end
    return c1 + c3 * c2 * exp(c3 * p)
end

# Pulse coordinate p ∈ [0, n] with response(p) = y: safeguarded Newton that keeps a bracket and
# bisects whenever a Newton step would leave it (at most 60 steps).
function _inverse_response(kind::Int, y::Float64, c0::Float64, c1::Float64, c2::Float64, c3::Float64, n::Float64)
    f0 = _response(kind, 0.0, c0, c1, c2, c3, n)
    fn = _response(kind, n, c0, c1, c2, c3, n)
    y <= f0 && return 0.0
    y >= fn && return n
    lo, hi = 0.0, n
    p = (y - f0) / (fn - f0) * n
    for _ in 1:60
        r = _response(kind, p, c0, c1, c2, c3, n) - y
        if r > 0.0
            hi = p
        else
            lo = p
        end
        abs(r) < 1e-13 && break
        d = _dresponse(kind, p, c0, c1, c2, c3, n)
        pn = d > 0.0 ? p - r / d : 0.5 * (lo + hi)
        if !(lo < pn < hi)
            pn = 0.5 * (lo + hi)
        end
        if abs(pn - p) < 1e-11
            p = pn
            break
        end
        p = pn
    end
    return p
end

"""
    program_cell!(cstate, rng, s, w, dw, mode, dev, n_pulses, ab, sigma, cycles, min_update)
        -> (new_w, pulses)

Program one cell holding weight `w` with the requested change `dw`, using device `dev` (1-based
row of `ab`, `sigma` and `cycles`) and the SplitMix64 stream `s` of `rng`:

1. `dw == 0` or `|dw| < min_update`: nothing happens (no write, no noise draw).
2. `MODE_IDEAL`: `w + dw` clipped to [0, 1], no noise.
3. SET (`dw > 0`) on `w ≥ 1` or RESET on `w ≤ 0`: nothing happens.
4. `dp = round(N·dw)` pulses (ties to even).
5. `MODE_MEAN`: `p0 = g⁻¹(w)`, `w' = g(clamp(p0 + dp, 0, N))` with the branch's two-parameter
   response `ab[dev, :]` (linear when b = 0), noise `sigma[dev, 1]` (SET) or `sigma[dev, 2]`
   (RESET). `MODE_CYCLE`: the cell's cycle state `cstate` (4 integers: current cycle, 0-based,
   -1 before the first write; sign-change counter; walking direction; sign of the last write) is
   advanced first, then `w' = f(f⁻¹(w) + dp)` with that cycle's four-parameter fit
   `cycles[dev, cycle+1, :]` and noise.
6. If the noise σ > 0: `w' += σ·normal` (one draw per write, even when `dp == 0`); then clip.

Returns the new weight and the signed pulse count.
"""
function program_cell!(cstate::AbstractVector{<:Integer}, rng::AbstractVector{UInt64}, s::Int, w::Float64,
                       dw::Float64, mode::Int, dev::Int, n_pulses::Int, ab::AbstractMatrix{<:Real},
                       sigma::AbstractMatrix{<:Real}, cycles::AbstractArray{<:Real,3}, min_update::Float64)
    (dw == 0.0 || abs(dw) < min_update) && return (w, 0.0)
    mode == MODE_IDEAL && return (_clip01(w + dw), 0.0)
    reset = dw < 0.0
    ((!reset && w >= 1.0) || (reset && w <= 0.0)) && return (w, 0.0)
    n = Float64(n_pulses)
    dp = round(n * dw)                     # RoundNearest: ties to even, like numpy.rint
    if mode == MODE_MEAN
        j = reset ? 3 : 1
        a = Float64(ab[dev, j])
        b = Float64(ab[dev, j+1])
        kind = abs(b) < 1e-12 ? 4 : (reset ? 1 : 0)
        y = _clip01(w)
        p0 = _inverse_response(kind, y, a, b, 0.0, 0.0, n)
        v = _response(kind, p0 + dp, a, b, 0.0, 0.0, n)
        sd = Float64(sigma[dev, reset ? 2 : 1])
    else
        n_cycles = size(cycles, 2)
        if cstate[1] < 0
            cstate[1] = trunc(Int, rng_uniform!(rng, s) * (n_cycles - 1))
            cstate[2] = 1
            cstate[3] = 1
        elseif cstate[4] * dp < 0.0
            if cstate[2] == 2
                cstate[2] = 1
                next_cycle = cstate[1] + cstate[3]
                if next_cycle < 0 || next_cycle > n_cycles - 1
                    cstate[3] = -cstate[3]
                    next_cycle = cstate[1] + cstate[3]
                end
                cstate[1] = next_cycle
            else
                cstate[2] += 1
            end
        end
        cstate[4] = reset ? -1 : 1
        c = Int(cstate[1]) + 1
        j = reset ? 5 : 1
        kind = reset ? 3 : 2
        c0 = Float64(cycles[dev, c, j])
        c1 = Float64(cycles[dev, c, j+1])
        c2 = Float64(cycles[dev, c, j+2])
        c3 = Float64(cycles[dev, c, j+3])
        f0 = _response(kind, 0.0, c0, c1, c2, c3, n)
        fn = _response(kind, n, c0, c1, c2, c3, n)
        y = w < f0 ? f0 : (w > fn ? fn : w)
        p0 = _inverse_response(kind, y, c0, c1, c2, c3, n)
        v = _response(kind, p0 + dp, c0, c1, c2, c3, n)
        sd = Float64(cycles[dev, c, reset ? 10 : 9])
    end
    if sd > 0.0
        v += sd * rng_normal!(rng, s)
    end
    return _clip01(v), dp
end

"""
    crossbar_program!(w, dw, cell_device, mode, n_pulses, ab, sigma, cycles, cstate, rng, min_update)
        -> pulses

Program a batch of crossbars in place, one per seed: `w` and `dw` are `(n_seeds, n_cells)`,
`cell_device` (length `n_cells`, 1-based) picks each cell's device, `ab` is `(n_devices, 4)` (a, b
of SET then RESET), `sigma` `(n_devices, 2)`, `cycles` `(n_devices, n_cycles, 10)` (SET α β γ ζ,
RESET α β γ ζ, σ_SET, σ_RESET; `n_cycles` may be 0 outside `MODE_CYCLE`), `cstate`
`(n_seeds, n_cells, 4)` the cells' cycle states and `rng` `(n_seeds,)` the SplitMix64 states
(advanced). Cells are written in ascending order within a seed and seeds in ascending order, the
order of the noise draws; see [`program_cell!`](@ref) for one write. Returns the signed pulse
counts `(n_seeds, n_cells)`.

This is the open-loop write (the pulse count follows from the requested change alone); the
closed loop of the TD agents arises because each requested change is computed from the weights
actually stored (see [`td_step!`](@ref)).
"""
function crossbar_program!(w::AbstractMatrix{Float64}, dw::AbstractMatrix{<:Real}, cell_device::AbstractVector{<:Integer},
                           mode::Integer, n_pulses::Integer, ab::AbstractMatrix{<:Real}, sigma::AbstractMatrix{<:Real},
                           cycles::AbstractArray{<:Real,3}, cstate::AbstractArray{<:Integer,3},
                           rng::AbstractVector{UInt64}, min_update::Real)
    n_seeds, n_cells = size(w)
    size(dw) == size(w) || throw(DimensionMismatch("dw: expected size $(size(w)), got $(size(dw))"))
    length(cell_device) == n_cells || throw(DimensionMismatch(
        "cell_device: expected $n_cells entries (one per cell), got $(length(cell_device))"))
    size(cstate) == (n_seeds, n_cells, 4) || throw(DimensionMismatch(
        "cstate: expected size $((n_seeds, n_cells, 4)), got $(size(cstate))"))
    length(rng) == n_seeds || throw(DimensionMismatch("rng: expected $n_seeds stream states, got $(length(rng))"))
    mode in (MODE_IDEAL, MODE_MEAN, MODE_CYCLE) || throw(ArgumentError("mode: expected 0, 1 or 2, got $mode"))
    n_devices = size(ab, 1)
    all(d -> 1 <= d <= n_devices, cell_device) || throw(ArgumentError(
        "cell_device: expected device indices in 1:$n_devices"))
    if mode == MODE_CYCLE && size(cycles, 2) < 2
        throw(ArgumentError("cycles: mode MODE_CYCLE needs at least 2 cycles per device, got $(size(cycles, 2))"))
    end
    pulses = zeros(n_seeds, n_cells)
    m = Int(mode)
    np = Int(n_pulses)
    mu = Float64(min_update)
    for s in 1:n_seeds, k in 1:n_cells   # seeds outer, cells inner: the reference's draw order
        w[s, k], pulses[s, k] = program_cell!(view(cstate, s, k, :), rng, s, w[s, k], Float64(dw[s, k]), m,
                                              Int(cell_device[k]), np, ab, sigma, cycles, mu)
    end
    return pulses
end
