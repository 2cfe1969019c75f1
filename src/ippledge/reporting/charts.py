"""Server-drawn SVG charts for the dashboards (no CDN, no JavaScript, no library).

The charts are laid out in percentages of their width, not scaled from a fixed picture: on a phone
and on a wide screen the text keeps its size (``FONT`` px, at least 12) while the bars and the line
stretch.  Names sit on their own line above each bar, shortened with "…" when they would not fit the
narrowest card (the full name is in the bar's ``<title>``, shown on hover with the value); every axis
says its unit; every chart is shown with the table of its numbers beneath it.

Callers give names already translated and amounts as exact ``Decimal`` (labels round half up like
:mod:`ippledge.core.money`, never half-even as float formatting would).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from html import escape

from django.utils.translation import gettext as _

FONT = 14  # names
SMALL = 12  # values and axis ticks: the smallest text of a chart
NAME_EM = 19  # a name longer than this many em (CJK characters; Latin about half) is shortened
INK, MUTED, BLUE, GRID = "#1d2733", "#5b6776", "#1f4e8c", "#d9dee5"


def _label(value, places: int) -> str:
    """A value as a chart label with thousands separators; amounts (Decimal) round half up like
    core.money, not half-even as Decimal formatting would."""
    if isinstance(value, Decimal):
        value = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return f"{value:,.{places}f}"


def _em(ch: str) -> float:
    return 1.0 if ord(ch) > 0x2E7F else 0.58


def short(name: str, limit: float = NAME_EM) -> str:
    """``name`` cut to about ``limit`` em with "…" (wide CJK characters count 1, others about ½)."""
    width, out = 0.0, []
    if sum(_em(ch) for ch in name) <= limit:
        return name
    for ch in name:
        width += _em(ch)
        if width > limit - 1:
            break
        out.append(ch)
    return "".join(out).rstrip() + "…"


def nice_top(value) -> Decimal:
    """The axis end: the smallest 1, 2, 2.5 or 5 × 10ⁿ at or above ``value`` (1 for nothing)."""
    value = Decimal(str(value)) if not isinstance(value, Decimal) else value
    if value <= 0:
        return Decimal(1)
    exponent = value.adjusted()
    for step in (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10)):
        top = step.scaleb(exponent)
        if top >= value:
            return top
    return Decimal(10).scaleb(exponent)  # pragma: no cover


def _pct(value, top) -> float:
    return float(Decimal(str(value)) / Decimal(str(top)) * 100) if top else 0.0


def _tick(value: Decimal) -> str:
    places = 0 if value == value.to_integral_value() else max(0, -value.normalize().as_tuple().exponent)
    return _label(value, min(places, 2))


def _svg(height: int, body: list[str], title: str) -> str:
    return (f'<svg role="img" aria-label="{escape(title)}" width="100%" height="{height}" class="chart" '
            f'font-size="{SMALL}" fill="{INK}" xmlns="http://www.w3.org/2000/svg">'
            f'<title>{escape(title)}</title>{"".join(body)}</svg>')


def _x_axis(y: int, top: Decimal, unit: str) -> list[str]:
    """A value axis along the bottom: gridlines at 0, ½ and the top, ticks labelled, the unit at the end."""
    out = [f'<line x1="0" y1="{y}" x2="100%" y2="{y}" stroke="{GRID}"/>']
    for i, (x, anchor) in enumerate(((0, "start"), (50, "middle"), (100, "end"))):
        value = top * i / 2
        text = _tick(value) + (f" {unit}" if i == 2 and unit else "")
        out.append(f'<line x1="{x}%" y1="{y - 4}" x2="{x}%" y2="{y + 3}" stroke="{MUTED}"/>'
                   f'<text x="{x}%" y="{y + 17}" text-anchor="{anchor}" fill="{MUTED}">{escape(text)}</text>')
    return out


def _value_text(pct: float, y: float, text: str, color: str) -> str:
    """A bar's value at its end: after a short bar, inside a long one (in white)."""
    if pct > 62:
        return (f'<text x="{pct:.2f}%" dx="-6" y="{y}" text-anchor="end" fill="#fff" font-weight="600">'
                f'{escape(text)}</text>')
    return f'<text x="{pct:.2f}%" dx="6" y="{y}" fill="{color}">{escape(text)}</text>'


def bars(items: list[tuple[str, Decimal | int]], *, unit: str = "", places: int = 2, title: str = "") -> str:
    """Horizontal bars: each name on its line, the bar beneath with its value (and unit) at its end.

    ``unit`` is written after each value and at the axis end (``"万元"``)."""
    if not items:
        return ""
    top = nice_top(max(Decimal(str(v)) for _, v in items))
    row = FONT + 30
    body = []
    for i, (name, value) in enumerate(items):
        y = 4 + i * row
        pct = min(_pct(value, top), 100.0)
        shown = f"{_label(value, places)}{unit}"
        full = escape(str(name))
        body.append(f'<g class="hover"><title>{full}: {escape(shown)}</title>'
                    f'<text x="0" y="{y + FONT}" font-size="{FONT}">{escape(short(str(name)))}</text>'
                    f'<rect x="0" y="{y + FONT + 5}" width="{max(pct, 0.4):.2f}%" height="14" rx="2" fill="{BLUE}"/>')
        body.append(_value_text(pct, y + FONT + 16, shown, INK) + "</g>")
    axis_y = 8 + len(items) * row
    body += _x_axis(axis_y, top, unit)
    return _svg(axis_y + 24, body, title or ", ".join(str(n) for n, _ in items))


def trend(points: list[tuple[str, Decimal | int]], *, unit: str = "", places: int = 2, title: str = "") -> str:
    """A line over the periods (``"2026Q1"`` written as Q1 over 2026), with a value axis in ``unit``."""
    if not points:
        return ""
    top = nice_top(max(Decimal(str(v)) for _, v in points))
    plot_top, plot_bottom = 22, 150
    body = []
    for i in range(3):  # gridlines at 0, ½, top; the tick's text above its line, the unit on the top one
        value = top * i / 2
        y = plot_bottom - (plot_bottom - plot_top) * i / 2
        text = _tick(value) + (f" {unit}" if i == 2 and unit else "")
        body.append(f'<line x1="0" y1="{y:.1f}" x2="100%" y2="{y:.1f}" stroke="{GRID}"/>')
        if places or value == value.to_integral_value():  # no "2.5 households"
            body.append(f'<text x="0" y="{y - 4:.1f}" fill="{MUTED}">{escape(text)}</text>')
    n = len(points)
    xs = [50.0] if n == 1 else [8 + i * 84 / (n - 1) for i in range(n)]
    ys = [plot_bottom - (plot_bottom - plot_top) * _pct(v, top) / 100 for _, v in points]
    for i in range(n - 1):
        body.append(f'<line x1="{xs[i]:.2f}%" y1="{ys[i]:.1f}" x2="{xs[i + 1]:.2f}%" y2="{ys[i + 1]:.1f}" '
                    f'stroke="{BLUE}" stroke-width="2.5"/>')
    for (label, value), x, y in zip(points, xs, ys, strict=True):
        label = str(label)
        head, _sep, tail = label.partition("Q")
        body.append(f'<g class="hover"><title>{escape(label)}: {escape(_label(value, places))}{escape(unit)}</title>'
                    f'<circle cx="{x:.2f}%" cy="{y:.1f}" r="14" fill="transparent"/>'
                    f'<circle cx="{x:.2f}%" cy="{y:.1f}" r="5" fill="{BLUE}"/></g>')
        if tail:
            body.append(f'<text x="{x:.2f}%" y="{plot_bottom + 18}" text-anchor="middle">Q{escape(tail)}</text>'
                        f'<text x="{x:.2f}%" y="{plot_bottom + 34}" text-anchor="middle" fill="{MUTED}">'
                        f'{escape(head)}</text>')
        else:
            body.append(f'<text x="{x:.2f}%" y="{plot_bottom + 18}" text-anchor="middle">{escape(label)}</text>')
    return _svg(plot_bottom + 42, body, title or ", ".join(str(p) for p, _ in points))


def _ratio(value) -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else Decimal(0)


def tolerance_chart(rows: list[dict], *, title: str = "") -> str:
    """Each bank: its overall NPL ratio (grey) with the 3-point tolerance shaded beyond it, and its
    IP-pledge NPL ratio beneath (green within the tolerance, red beyond it); the axis in %."""
    if not rows:
        return ""
    top = nice_top(max(max(_ratio(r["ip_npl_ratio"]), _ratio(r["overall_npl_ratio"]) + _ratio(r.get("points") or 3))
                       for r in rows))
    row = FONT + 48
    body = []
    for i, r in enumerate(rows):
        y = 4 + i * row
        points = _ratio(r.get("points") or 3)
        overall, ip = _ratio(r["overall_npl_ratio"]), _ratio(r["ip_npl_ratio"])
        o_pct, band_pct, ip_pct = _pct(overall, top), _pct(points, top), _pct(ip, top)
        band_pct = min(band_pct, 100 - o_pct)
        color = "#1e7b43" if r["within_tolerance"] else "#b3261e"
        name = str(r["bank"])
        limit = overall + points
        hover = _("%(bank)s: IP-pledge NPL ratio %(ip)s%%, overall NPL ratio %(overall)s%%, tolerated up to "
                  "%(limit)s%%") % {"bank": name, "ip": _label(ip, 2), "overall": _label(overall, 2),
                                    "limit": _label(limit, 2)}
        body.append(f'<g class="hover"><title>{escape(hover)}</title>'
                    f'<text x="0" y="{y + FONT}" font-size="{FONT}">{escape(short(name))}</text>'
                    f'<rect x="{o_pct:.2f}%" y="{y + FONT + 3}" width="{band_pct:.2f}%" height="32" fill="#fff1c7"/>'
                    f'<line x1="{min(o_pct + band_pct, 100):.2f}%" y1="{y + FONT + 3}" '
                    f'x2="{min(o_pct + band_pct, 100):.2f}%" y2="{y + FONT + 35}" stroke="#9a6700" '
                    f'stroke-dasharray="3 2"/>'
                    f'<rect x="0" y="{y + FONT + 6}" width="{max(o_pct, 0.4):.2f}%" height="11" fill="#8aa0b8"/>'
                    + _value_text(o_pct, y + FONT + 16, f"{_label(overall, 2)}%", MUTED) +
                    f'<rect x="0" y="{y + FONT + 21}" width="{max(ip_pct, 0.4):.2f}%" height="11" fill="{color}"/>'
                    + _value_text(ip_pct, y + FONT + 31, f"{_label(ip, 2)}%", color) + "</g>")
    axis_y = 8 + len(rows) * row
    body += _x_axis(axis_y, top, "%")
    return _svg(axis_y + 24, body, title or ", ".join(str(r["bank"]) for r in rows))
