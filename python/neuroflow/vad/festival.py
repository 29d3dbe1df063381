"""Festival speech synthesis (Debian's ``festival`` and ``festvox-*`` voices) through its ``text2wave`` script.

Festival adds synthetic speakers of another kind beside eSpeak: diphone concatenation (``kal``, ``ked``)
and an HTS statistical voice (``slt``). Synthesis is deterministic (the same text and voice give the
same samples). ``text2wave`` exits 0 even when it fails (an unknown voice prints ``SIOD ERROR``), so
the output file and stderr are checked.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from neuroflow.vad.audio import SAMPLE_RATE, load_audio


class FestivalError(RuntimeError):
    """text2wave is missing or could not speak a text."""


def synthesize_festival(text: str, voice: str = "kal_diphone", *, timeout: float = 60.0) -> np.ndarray:
    """Speak ``text`` with Festival voice ``voice`` (e.g. "kal_diphone"); float32 mono at 16 kHz, peak 0.5.

    Parameters
    ----------
    text : str
        What to say (plain text; one or a few sentences).
    voice : str
        A Festival voice name without the ``voice_`` prefix.
    timeout : float
        Seconds to wait for ``text2wave``.

    Returns
    -------
    numpy.ndarray
        The speech, peak-normalised to 0.5 like :func:`neuroflow.vad.speech.synthesize`.
    """
    if not isinstance(text, str) or not text.strip():
        raise FestivalError(f"text: expected a non-empty string, got {text!r}")
    exe = shutil.which("text2wave")
    if exe is None:
        raise FestivalError("text2wave not found: install festival (neuroflow vad sources --install)")
    with tempfile.TemporaryDirectory(prefix="neuroflow-festival-") as tmp:
        src, out = Path(tmp) / "text.txt", Path(tmp) / "speech.wav"
        src.write_text(text.strip() + "\n")
        try:
            proc = subprocess.run([exe, "-eval", f"(voice_{voice})", str(src), "-o", str(out)],
                                  capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise FestivalError(f"text2wave took over {timeout:g} s for voice {voice!r}") from None
        if proc.returncode != 0 or "SIOD ERROR" in proc.stderr or not out.exists() or out.stat().st_size <= 44:
            msg = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise FestivalError(f"text2wave failed for voice {voice!r} and text {text[:40]!r}: {msg}")
        wav, _ = load_audio(out, SAMPLE_RATE)
    peak = float(np.max(np.abs(wav)))
    return (wav * (0.5 / peak)).astype(np.float32) if peak > 0 else wav
