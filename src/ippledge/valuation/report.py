"""The valuation report (估值报告) as a PDF a person can open, print and sign: what was valued, by which
method and inputs, every step of the calculation, the range, the lender's values and, for a negotiated
valuation, the signatures of the bank and the enterprise.  A4, in the reader's language (Chinese by
default), with the embedded Chinese font of :mod:`ippledge.core.pdf`; amounts in yuan with thousands
separators and the unit, times in Beijing time, every code through the vocabulary."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _

from ippledge.core import money, vocabulary
from ippledge.core.pdf import Document


def _yuan(value) -> str:
    """A yuan amount (decimal string, Decimal) as every page shows it, with the unit."""
    if value in (None, ""):
        return "—"
    return f"{money.format_yuan(money.fen(money.to_decimal(str(value))))} {_('yuan')}"


def _fen(value) -> str:
    return "—" if value is None else f"{money.format_yuan(int(value))} {_('yuan')}"


def _pct(value) -> str:
    return "—" if value is None else f"{value} %"


def _when(moment) -> str:
    from ippledge.core.templatetags.ippledge import moment as shown

    return shown(moment)


def valuation_report_pdf(ctx: dict, *, request=None) -> bytes:
    """The report of one valuation from the result page's context (``views.record_context``)."""
    record, v = ctx["record"], ctx["v"]
    doc = Document(title=_("Valuation report"), subtitle=f"{_('Valuation number')} {v['valuation_no']}",
                   issuer=_("IP pledge financing platform · valuation"))
    rows = [
        (_("Valuation number"), v["valuation_no"]),
        (_("Status"), record.get_status_display()),
        (_("Basis"), record.get_basis_display()),
    ]
    if ctx["method_label"]:
        rows.append((_("Method"), ctx["method_label"]))
    rows += [
        (_("Purpose"), vocabulary.label("valuation_purpose", v["purpose"])),
        (_("Valuation date"), record.valuation_date.strftime("%Y-%m-%d")),
        (_("Valid until"), record.valid_until.strftime("%Y-%m-%d")),
        (_("Recorded at"), _when(record.created_at)),
    ]
    if v["agency"]:
        rows += [(_("Appraisal agency"), v["agency"]), (_("Report number"), v["report_no"]),
                 (_("Appraisers"), "、".join(v["appraisers"]))]
    if v["agreement_rule"]:
        rows.append((_("Rule used to agree"), v["agreement_rule"]))
    if v["model_version"]:
        rows.append((_("Model version"), v["model_version"] + (f" · {_('random seed')} {v['seed']}"
                                                               if v["seed"] is not None else "")))
    doc.fields(rows, label_width=38)

    doc.section(_("Rights valued"))
    doc.grid([_("Kind of right"), _("Number"), _("Title"), _("Allocated value")],
             [[vocabulary.label("rights.Right.kind", r["kind"]), r["shown"], r["title"] or "—",
               _fen(r["allocated"]) if r["allocated"] is not None else "—"] for r in ctx["rights"]],
             [34, 40, 60, 36])

    doc.section(_("Lender's values"))
    lender = [
        (_("Market value"), _yuan(v["market_value"])),
        (_("Range (P10–P90)"), f"{_yuan(v['p10'])} – {_yuan(v['p90'])}" if v["p10"] else "—"),
        (_("Liquidation value"), _yuan(v["liquidation_value"])),
        (_("Maximum loan"), _yuan(v["max_loan"])),
        (_("Implied pledge rate"), _pct(ctx["pledge_rate_pct"])),
    ]
    if ctx["ltv_cap_pct"] is not None:
        lender.append((_("Loan-to-value cap"), _pct(ctx["ltv_cap_pct"])))
    if ctx["discount_pct"] is not None:
        lender.append((_("Forced-sale discount"), _pct(ctx["discount_pct"])))
    if ctx["binding"]:
        lender.append((_("Binding limit"), ctx["binding"]))
    doc.fields(lender, label_width=38)

    if ctx["points"]:
        doc.section(_("Distribution"))
        doc.grid([_("Point"), _("Value (yuan)")],
                 [[label, money.format_yuan(money.fen(value))] for label, value in ctx["points"]], [60, 110])

    if ctx["inputs"]:
        doc.section(_("Inputs"))
        doc.grid([_("Input"), _("Value (amounts in yuan)")], [[s["label"], s["value"]] for s in ctx["inputs"]],
                 [90, 80])
    if ctx["steps"]:
        doc.section(_("How it was computed"))
        doc.grid([_("Step"), _("Value (amounts in yuan)"), _("Formula")],
                 [[s["label"], s["value"], s["formula"] or ""] for s in ctx["steps"]], [62, 40, 68])

    doc.section(_("Signatures"))
    if ctx["negotiated"]:
        doc.paragraph(_("The bank and the enterprise agreed this value by the rule stated above; it is final when "
                        "both have signed."), size=9.5)
        for party, user in ((_("Bank"), record.bank_signoff), (_("Enterprise"), record.enterprise_signoff)):
            signed = _("signed on the platform by %(name)s") % {"name": user} if user else _("not signed yet")
            doc.fields([(party, f"{signed}\n{_('Signature and seal')}: ____________________   "
                                f"{_('Date')}: ____________")], label_width=38)
    else:
        doc.fields([(_("Prepared by"), f"{record.created_by or '—'}\n{_('Signature and seal')}: ____________________"
                                       f"   {_('Date')}: ____________"),
                    (_("Reviewed by"), f"{_('Signature and seal')}: ____________________   {_('Date')}: ____________")],
                   label_width=38)
    doc.ln(3)
    url = reverse("valuation:record", args=[v["valuation_no"]])
    doc.paragraph(_("This report shows the valuation as the platform records it. Amounts are in yuan; rates in per "
                    "cent. Each figure is explained by the steps above."), size=8.5)
    doc.qr(request.build_absolute_uri(url) if request is not None else url, size_mm=24,
           caption=_("The valuation on the platform"))
    return doc.render()
