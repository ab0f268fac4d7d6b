"""The calibration benchmark's summary (not its figures): mean ± sd over seeds per system and
measure, and measures undefined on a system say so instead of vanishing."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _module():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    spec = importlib.util.spec_from_file_location("uncertainty_calibration",
                                                  ROOT / "benchmarks" / "uncertainty_calibration.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_summary_averages_over_seeds_and_names_undefined_measures() -> None:
    bench = _module()
    def rows(rho: float) -> list[dict]:
        out = []
        for name in bench.MEASURES:
            if name.startswith("D-optimal"):
                out.append({"measure": name, "level": "n/a", "error": "too few atoms"})
            else:
                out.append({"measure": name, "level": "atom", "scale": 2.0, "atom_spearman": rho,
                            "atom_miscalibration_area": 0.1, "frame_spearman": rho})
        return out
    results = [{"system": "cu13", "rows": rows(0.4)}, {"system": "cu13", "rows": rows(0.6)}]
    lines = bench.summary(results)
    assert len(lines) == len(bench.MEASURES)
    committee = next(line for line in lines if "| committee σ_F |" in line)
    assert "0.50 ± 0.14" in committee and "| 2 |" in committee
    assert any("D-optimal" in line and "undefined" in line for line in lines)
