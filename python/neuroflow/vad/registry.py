"""Every VAD system by name: ``get_system("webrtc:3")``, and which of them can run here.

Specs: ``energy``, ``webrtc`` / ``webrtc:0`` .. ``webrtc:3`` (aggressiveness), ``silero``, and the
spiking detectors ``snu`` and ``bin`` (the shipped models) or ``snu:PATH`` / ``bin:PATH`` (a saved
model; the part before the colon only names it, the file says what it is). This module sits above
:mod:`neuroflow.vad.systems` (the baselines) and :mod:`neuroflow.vad.detect` (the spiking systems),
so neither needs the other.
"""
from __future__ import annotations

from neuroflow.vad.systems import EnergyVAD, SileroVAD, SystemUnavailable, VADSystem, WebRTCVAD

#: the specs ``vad compare`` tries, in order
DEFAULT_SPECS = ("energy", "webrtc:0", "webrtc:1", "webrtc:2", "webrtc:3", "silero", "snu", "bin")
#: spec names, for help texts and errors
SPEC_HELP = "energy, webrtc[:0-3], silero, snu[:PATH] or bin[:PATH]"


def parse_spec(spec) -> tuple[str, str]:
    """``(kind, argument)`` of a spec, checked without building the system (ValueError names ``system``)."""
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"system: expected a spec such as 'webrtc:3' ({SPEC_HELP}), got {spec!r}")
    kind, colon, arg = spec.strip().partition(":")
    kind = kind.lower()
    if kind not in ("energy", "webrtc", "silero", "snu", "bin"):
        raise ValueError(f"system: unknown spec {spec!r}; expected {SPEC_HELP}")
    if kind in ("energy", "silero") and colon:
        raise ValueError(f"system: {kind!r} takes no argument, got {spec!r}")
    if colon and not arg.strip():
        raise ValueError(f"system: {spec!r} has nothing after the colon; expected "
                         f"{'a mode 0-3' if kind == 'webrtc' else 'a model path'} there, or {kind!r} alone")
    if kind == "webrtc" and arg and arg not in ("0", "1", "2", "3"):
        raise ValueError(f"system: webrtc mode must be 0, 1, 2 or 3, got {spec!r}")
    return kind, arg


def get_system(spec) -> VADSystem:
    """Build a system from a spec (see the module docstring); a :class:`VADSystem` passes through.

    Parameters
    ----------
    spec : str or VADSystem

    Returns
    -------
    VADSystem

    Raises ValueError for an unknown spec and :class:`~neuroflow.vad.systems.SystemUnavailable` when
    the system's extra or model file is missing.
    """
    if isinstance(spec, VADSystem):
        return spec
    kind, arg = parse_spec(spec)
    if kind == "energy":
        return EnergyVAD()
    if kind == "webrtc":
        return WebRTCVAD(int(arg) if arg else 3)
    if kind == "silero":
        return SileroVAD()
    from neuroflow.vad.detect import SpikingVADSystem  # torch: imported only when asked for

    try:
        return SpikingVADSystem(arg if arg else kind)
    except FileNotFoundError as exc:
        raise SystemUnavailable(f"{kind}: model not found ({exc})") from None


def available_systems(specs=DEFAULT_SPECS) -> tuple[list[VADSystem], list[str]]:
    """Build every system in ``specs`` that can run here: ``(systems, skipped)`` with one line per skipped one."""
    systems, skipped = [], []
    for spec in specs:
        try:
            systems.append(get_system(spec))
        except SystemUnavailable as exc:
            skipped.append(f"skipped {spec}: {exc}")
    return systems, skipped
