"""Server-drawn SVG charts for the dashboards (no CDN, no JavaScript needed): hovering a bar or point
shows its value; every chart is shown with the table of its numbers beneath it."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from html import escape


def _label(value, places: int) -> str:
    """A value as a chart label with thousands separators; amounts (Decimal) round half up like
    core.money, not half-even as Decimal formatting would."""
    if isinstance(value, Decimal):
        value = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return f"{value:,.{places}f}"


def bars(items: list[tuple[str, Decimal | float]], *, width: int = 640, unit: str = "") -> str:
    """Amounts are given as ``Decimal`` (exact labels); geometry may round."""
    if not items:
        return ""
    top = max(v for _, v in items) or 1
    row_h, label_w = 26, 170
    height = row_h * len(items) + 10
    svg = [f'<svg role="img" viewBox="0 0 {width} {height}" class="chart" xmlns="http://www.w3.org/2000/svg">']
    for i, (label, value) in enumerate(items):
        y = 5 + i * row_h
        w = (width - label_w - 90) * (value / top if top else 0)
        svg.append(f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" font-size="12" fill="#1d2733">'
                   f'{escape(str(label))[:22]}</text>')
        svg.append(f'<rect x="{label_w}" y="{y + 3}" width="{max(w, 1):.1f}" height="{row_h - 8}" rx="3" fill="#1f4e8c" '
                   f'class="hover"><title>{escape(str(label))}: {_label(value, 2)}{unit}</title></rect>')
        svg.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 16}" font-size="12" fill="#1d2733">{_label(value, 2)}{unit}</text>')
    svg.append("</svg>")
    return "".join(svg)


def trend(points: list[tuple[str, Decimal | int]], *, width: int = 640, height: int = 200) -> str:
    if len(points) < 2:
        return bars(points)
    top = max(v for _, v in points) or 1
    pad = 40
    step = (width - 2 * pad) / (len(points) - 1)
    coords = [(pad + i * step, height - pad - (v / top) * (height - 2 * pad)) for i, (_, v) in enumerate(points)]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    svg = [f'<svg role="img" viewBox="0 0 {width} {height}" class="chart" xmlns="http://www.w3.org/2000/svg">',
           f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#8aa0b8"/>',
           f'<polyline points="{path}" fill="none" stroke="#1f4e8c" stroke-width="2.5"/>']
    for (label, value), (x, y) in zip(points, coords, strict=True):
        svg.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="#1f4e8c" class="hover">'
                   f'<title>{escape(label)}: {_label(value, 2)}</title></circle>')
        svg.append(f'<text x="{x:.1f}" y="{height - pad + 16}" text-anchor="middle" font-size="11">{escape(label)}</text>')
        svg.append(f'<text x="{x:.1f}" y="{y - 8:.1f}" text-anchor="middle" font-size="11">{_label(value, 0)}</text>')
    svg.append("</svg>")
    return "".join(svg)


def tolerance_chart(rows: list[dict], *, width: int = 640) -> str:
    """Each bank's IP-pledge NPL ratio beside its overall ratio, with the +3-point band shaded."""
    if not rows:
        return ""
    top = max(max(float(r["ip_npl_ratio"] or 0), float(r["overall_npl_ratio"] or 0) + 3) for r in rows) or 1.0
    row_h, label_w = 34, 170
    height = row_h * len(rows) + 10
    scale = (width - label_w - 60) / top
    svg = [f'<svg role="img" viewBox="0 0 {width} {height}" class="chart" xmlns="http://www.w3.org/2000/svg">']
    for i, r in enumerate(rows):
        y = 5 + i * row_h
        overall, ip = float(r["overall_npl_ratio"] or 0), float(r["ip_npl_ratio"] or 0)
        svg.append(f'<text x="{label_w - 8}" y="{y + 20}" text-anchor="end" font-size="12">{escape(r["bank"])[:22]}</text>')
        svg.append(f'<rect x="{label_w + overall * scale:.1f}" y="{y + 2}" width="{3 * scale:.1f}" height="{row_h - 6}" '
                   f'fill="#fff5dc"/>')
        svg.append(f'<rect x="{label_w}" y="{y + 6}" width="{max(overall * scale, 1):.1f}" height="8" fill="#8aa0b8"/>')
        color = "#1e7b43" if r["within_tolerance"] else "#b3261e"
        svg.append(f'<rect x="{label_w}" y="{y + 16}" width="{max(ip * scale, 1):.1f}" height="8" fill="{color}" '
                   f'class="hover"><title>{escape(r["bank"])}: {ip:.2f}% / {overall:.2f}% (+3 → {overall + 3:.2f}%)'
                   f'</title></rect>')
        svg.append(f'<text x="{label_w + max(ip, overall + 3) * scale + 6:.1f}" y="{y + 22}" font-size="11">'
                   f'{ip:.2f}% / {overall:.2f}%</text>')
    svg.append("</svg>")
    return "".join(svg)
