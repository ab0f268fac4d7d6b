"""``alearn report``: one self-contained HTML page of a campaign (Jinja2 template, figures
embedded as PNG data URIs, no external assets)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from alearn.report.sections import Section

TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>alearn report: {{ name }}</title>
<style>
body{font-family:sans-serif;max-width:62em;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;font-size:90%}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
img{max-width:100%}section{margin:1.5em 0;border-top:1px solid #ddd}
.missing{color:#8a5a00;background:#fff6e0;padding:.5em 1em}.note{color:#555;font-size:90%}
nav li{display:inline;margin-right:1em}
</style></head><body>
<h1>alearn campaign report</h1>
<p>{{ directory }}</p>
{% if stop_reason %}<p><b>stop reason:</b> {{ stop_reason }}</p>{% endif %}
<nav><ul>{% for s in sections %}<li><a href="#s{{ loop.index }}">{{ s.title }}</a></li>{% endfor %}</ul></nav>
<h2>Iterations</h2>
<table><tr>{% for h in head %}<th>{{ h }}</th>{% endfor %}</tr>
{% for row in table %}<tr>{% for cell in row %}<td>{{ cell }}</td>{% endfor %}</tr>
{% endfor %}</table>
{% for s in sections %}<section id="s{{ loop.index }}"><h2>{{ s.title }}</h2>
{% if s.figure %}<figure><img alt="{{ s.figure.title }}" src="{{ s.figure.data_uri() }}">
{% if s.figure.caption %}<figcaption>{{ s.figure.caption }}</figcaption>{% endif %}</figure>
{% else %}<p class="missing">Not shown: {{ s.missing }}</p>{% endif %}
{% if s.note %}<p class="note">{{ s.note }}</p>{% endif %}
</section>
{% endfor %}</body></html>
"""

#: the status table's columns (key, heading); those in OPTIONAL only when some row has a value
COLUMNS = (("iteration", "iteration"), ("frames", "frames"), ("accurate_pct", "accurate %"),
           ("labelled", "labelled"), ("augmented", "augmented"),
           ("failed_calculations", "failed calculations"), ("reference_total", "reference total"),
           ("test_energy_mae_meV_atom", "test E MAE (meV/atom)"),
           ("test_force_rmse_eV_A", "test F RMSE (eV/Å)"),
           ("test_force_rmse_complete_eV_A", "complete-atom F RMSE (eV/Å)"),
           ("validation_force_rmse_eV_A", "validation F RMSE (eV/Å)"),
           ("calibration_spearman", "calibration ρ"))
OPTIONAL = {"test_force_rmse_complete_eV_A", "validation_force_rmse_eV_A", "calibration_spearman"}


def _columns(rows: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(k, h) for k, h in COLUMNS
            if k not in OPTIONAL or any(row.get(k) is not None for row in rows)]


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def render(directory: str, stop_reason: str | None, rows: Sequence[dict[str, Any]],
           sections: Sequence[Section]) -> str:
    """The page (autoescaped) of a campaign's status rows and report sections."""
    import jinja2

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    columns = _columns(rows)
    table = [[_cell(row.get(k)) for k, _ in columns] for row in rows]
    return env.from_string(TEMPLATE).render(
        name=Path(directory).name, directory=directory, stop_reason=stop_reason, head=[h for _, h in columns],
        table=table, sections=list(sections))


def build_report(directory: Path, out: Path | None = None, *, drift: bool = True) -> Path:
    """Write ``report.html`` for the campaign in ``directory``; returns its path."""
    from alearn.campaign.layout import CampaignDir
    from alearn.campaign.status import collect
    from alearn.files import honour_umask, write_bytes_atomic
    from alearn.report.sections import build_sections

    layout = CampaignDir(Path(directory))
    data = collect(layout.root)
    page = render(str(layout.root), data["stop_reason"], data["iterations"],
                  build_sections(layout.root, drift=drift))
    out = Path(out) if out is not None else layout.root / "report.html"
    write_bytes_atomic(out, page.encode("utf-8"))
    honour_umask(out)   # a page to share: not the temp file's 0600
    return out
