"""Small SVG charts drawn on the server (no chart library, no CDN): the valuation range and the
radar of an innovation score's parts.  Each chart comes with the table of its numbers."""

from __future__ import annotations

import math
from decimal import Decimal
from html import escape


def range_chart(points: list[tuple[str, Decimal]], *, width: int = 560, height: int = 120) -> str:
    """Quantiles (label, value) on one axis, with the P10–P90 band shaded."""
    values = [float(v) for _, v in points if v is not None]
    if not values:
        return ""
    low, high = min(values), max(values)
    span = (high - low) or max(high, 1.0)
    pad = 40

    def x(v: float) -> float:
        return pad + (v - low) / span * (width - 2 * pad)

    parts = [f'<svg role="img" viewBox="0 0 {width} {height}" class="chart" xmlns="http://www.w3.org/2000/svg">',
             f'<line x1="{pad}" y1="70" x2="{width - pad}" y2="70" stroke="#8aa0b8" stroke-width="2"/>']
    marks = dict(points)
    if marks.get("P10") is not None and marks.get("P90") is not None:
        x1, x2 = x(float(marks["P10"])), x(float(marks["P90"]))
        parts.append(f'<rect x="{x1:.1f}" y="55" width="{max(x2 - x1, 1):.1f}" height="30" fill="#dbe7f5" rx="4"/>')
    for i, (label, value) in enumerate(points):
        if value is None:
            continue
        cx = x(float(value))
        y = 40 if i % 2 == 0 else 105
        parts.append(f'<line x1="{cx:.1f}" y1="55" x2="{cx:.1f}" y2="85" stroke="#1f4e8c" stroke-width="2"/>')
        parts.append(f'<text x="{cx:.1f}" y="{y}" text-anchor="middle" font-size="11" fill="#1d2733">'
                     f'{escape(label)} {float(value) / 10000:,.1f}万</text>')
    parts.append("</svg>")
    return "".join(parts)


def radar_chart(parts: list[tuple[str, float, float]], *, size: int = 320) -> str:
    """Parts as (label, score, maximum): one axis each, the polygon of score/maximum."""
    if len(parts) < 3:
        return ""
    c, r = size / 2, size / 2 - 50
    n = len(parts)

    def point(i: int, share: float) -> tuple[float, float]:
        angle = -math.pi / 2 + 2 * math.pi * i / n
        return c + r * share * math.cos(angle), c + r * share * math.sin(angle)

    svg = [f'<svg role="img" viewBox="0 0 {size} {size}" class="chart radar" xmlns="http://www.w3.org/2000/svg">']
    for ring in (0.25, 0.5, 0.75, 1.0):
        pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in (point(i, ring) for i in range(n)))
        svg.append(f'<polygon points="{pts}" fill="none" stroke="#d9dee5"/>')
    for i, (label, _score, _maximum) in enumerate(parts):
        x, y = point(i, 1.0)
        lx, ly = point(i, 1.18)
        svg.append(f'<line x1="{c}" y1="{c}" x2="{x:.1f}" y2="{y:.1f}" stroke="#d9dee5"/>')
        svg.append(f'<text x="{lx:.1f}" y="{ly:.1f}" text-anchor="middle" font-size="11" fill="#1d2733">'
                   f'{escape(label)}</text>')
    shares = [max(0.0, min(1.0, s / m if m else 0.0)) for _, s, m in parts]
    pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in (point(i, sh) for i, sh in enumerate(shares)))
    svg.append(f'<polygon points="{pts}" fill="rgba(31,78,140,.25)" stroke="#1f4e8c" stroke-width="2"/>')
    svg.append("</svg>")
    return "".join(svg)
