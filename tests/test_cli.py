import json
import subprocess
import sys

from neuroflow.cli import main


def test_info_json_reports_backends_without_importing_juliacall(capsys):
    assert main(["info", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["version"]
    assert out["backends"]["numpy"] is True
    assert set(out["backends"]) == {"numpy", "torch", "julia"}
    assert isinstance(out["julia_reason"], str) and out["julia_reason"]
    # a fresh interpreter: `neuroflow info` must not import juliacall (or torch)
    code = "import sys; from neuroflow.cli import main; main(['info']); print(sorted(m for m in ('juliacall','torch') if m in sys.modules))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_unknown_backend_is_a_clear_error():
    import pytest

    from neuroflow.backend import resolve_backend

    with pytest.raises(ValueError, match="backend: expected one of"):
        resolve_backend("fortran")
