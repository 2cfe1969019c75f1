"""PDF documents of the registry: search certificate (查询证明), registration notice (登记通知书),
cancellation notice (注销通知书).  Chinese, A4, with a QR code to the verification page."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.urls import reverse
from django.utils import translation

from ippledge.core import identifiers, money, vocabulary
from ippledge.core.pdf import Document

from .models import Pledge, SearchCertificate
from .search import public_criteria

BEIJING = ZoneInfo("Asia/Shanghai")
KIND_ZH = {"invention": "发明专利", "utility_model": "实用新型专利", "design": "外观设计专利", "trademark": "注册商标",
           "copyright": "著作权", "software": "计算机软件著作权", "ic_layout": "集成电路布图设计",
           "geographical_indication": "地理标志"}
STATUS_ZH = {"registered": "已登记（有效）", "cancelled": "已注销", "lapsed": "已失效", "revoked": "已撤销"}
REGIME_TITLE = {"patent": "专利权质押登记通知书", "trademark": "商标专用权质权登记证", "copyright": "著作权质权登记证书",
                "disclosure": "知识产权质押信息公示证明"}
# The public history's events as a printed record names them.
HISTORY_ZH = {"registered": "质押登记", "changed": "变更登记", "extended": "延期登记", "cancelled": "注销登记",
              "lapsed": "登记失效", "revoked": "撤销登记", "objection_filed": "异议登记", "objection_removed": "异议注销",
              "objection_case_notice": "附加法院或仲裁机构受理通知"}
CURRENCY_ZH = {"CNY": "元", "USD": "美元", "EUR": "欧元", "HKD": "港元"}
CANCEL_REASON_ZH = {"repaid": "债务已履行或提前清偿", "enforced": "质权已实现", "waived": "质权人放弃质权",
                    "contract_void": "主合同无效或被撤销", "other": "其他原因"}


def _when(moment: dt.datetime | str) -> str:
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    return moment.astimezone(BEIJING).strftime("%Y年%m月%d日 %H:%M:%S（北京时间）")


def _absolute(request, path: str) -> str:
    return request.build_absolute_uri(path) if request is not None else path


def _label(vocabulary_name: str, code) -> str:
    """A code's label from the shared vocabulary, in Chinese (the documents are Chinese)."""
    with translation.override("zh-hans"):
        return vocabulary.label(vocabulary_name, code)


def _amount(yuan: str | None, currency: str) -> str:
    """A secured amount as the record gives it (yuan string), shown like every page: 1,234.57 元."""
    if yuan in (None, ""):
        return ""
    return f"{money.format_yuan(money.to_fen(yuan))} {CURRENCY_ZH.get(currency or 'CNY', currency)}"


def _number(kind: str, number: str) -> str:
    """A right's number as people write it (patents with ZL and the dot)."""
    return identifiers.format_patent_number(number) if kind in identifiers.PATENT_KINDS else number


def _rights_rows(rights: list[dict]) -> list[list[str]]:
    return [[KIND_ZH.get(r["kind"]) or _label("right_kind", r["kind"]), _number(r["kind"], r["number"]),
             r.get("title", "")] for r in rights]


def _history(event_type: str) -> str:
    return HISTORY_ZH.get(event_type) or _label("registry_status", event_type)


def _status(status: str) -> str:
    return STATUS_ZH.get(status) or _label("registry_status", status)


def certificate_pdf(cert: SearchCertificate, *, request=None) -> bytes:
    doc = Document(title="知识产权质押登记查询证明", subtitle=f"证明编号 {cert.certificate_no}",
                   issuer="知识产权质押融资服务平台 · 质押登记公示系统")
    c = public_criteria(cert)
    doc.fields([
        ("出具时间", _when(cert.issued_at)),
        ("查询时点", _when(cert.as_of)),
        ("查询条件", "；".join(f"{label}：{c[key]}" for key, label in (
            ("right", "权利号"), ("party", "当事人名称"), ("party_id", "当事人证件号"),
            ("registration_no", "登记号")) if c.get(key)) + ("（含相近名称）" if c.get("close") else "")),
        ("查询结果", f"共 {len(cert.results)} 条登记记录" if cert.results else "无登记记录"),
        ("验证码", cert.verification_code),
    ])
    verify = _absolute(request, reverse("registry:certificate_verify") +
                       f"?no={cert.certificate_no}&code={cert.verification_code}")
    doc.qr(verify, caption="扫码或访问验证页面核验本证明")
    for r in cert.results:
        doc.section(f"登记号 {r['registration_no']} · {_status(r['status'])}")
        doc.fields([
            ("登记时间", _when(r["registered_at"])),
            ("出质人", "、".join(f"{p['name']}（{p['id_number']}）" for p in r["pledgors"])),
            ("质权人", "、".join(f"{p['name']}（{p['id_number']}）" for p in r["pledgees"])),
            ("担保债权数额", _amount(r["secured_amount"], r["currency"])),
        ])
        doc.grid(["权利类型", "号码", "名称"], _rights_rows(r["rights"]), [35, 45, 90])
        if r["history"]:
            doc.grid(["日期", "事项"], [[h["date"], _history(h["type"])] for h in r["history"]], [35, 135])
    doc.ln(4)
    doc.paragraph("本证明如实记载出具时点登记系统中符合查询条件的全部质押登记信息。任何人可凭证明编号和验证码"
                  "在平台验证页面取得与本证明内容相同的查询结果。", size=9)
    return doc.render()


def registration_notice_pdf(pledge: Pledge, *, request=None) -> bytes:
    version = pledge.versions.get(version=pledge.current_version).data
    doc = Document(title=REGIME_TITLE[pledge.regime], subtitle=f"登记号 {pledge.registration_no}",
                   issuer="知识产权质押融资服务平台 · 质押登记公示系统")
    rows = [
        ("登记号", pledge.registration_no),
        ("登记生效日", pledge.effective_date.strftime("%Y年%m月%d日")),
        ("登记时间", _when(pledge.registered_at)),
        ("出质人", "、".join(p["name"] for p in version["pledgors"])),
        ("质权人", "、".join(p["name"] for p in version["pledgees"])),
        ("主债权种类", version["secured_debt"].get("type", "")),
        ("担保债权数额", _amount(version["secured_debt"].get("amount"), version["secured_debt"].get("currency", "CNY"))),
        ("债务履行期限", version.get("debt_due_date") or ""),
        ("担保范围", version.get("guarantee_scope", "")),
        ("质押合同编号", version.get("contract_no", "")),
    ]
    if pledge.registration_term_end:
        rows.append(("质权登记期限", f"至 {pledge.registration_term_end.strftime('%Y年%m月%d日')}"))
    doc.fields(rows)
    doc.section("质押的权利")
    doc.grid(["权利类型", "号码", "名称"], _rights_rows(
        [{"kind": pr.right.kind, "number": pr.right.number, "title": pr.right.display_title}
         for pr in pledge.pledge_rights.select_related("right")]), [35, 45, 90])
    doc.ln(3)
    if pledge.regime == "copyright":
        doc.paragraph("著作权质权自登记之日起设立。")
    elif pledge.disclosure_only:
        doc.paragraph("本记录为信息公示，相关权利类型尚无法定质押登记程序。")
    else:
        doc.paragraph("经审查，上述质押合同符合登记条件，予以登记。质权自登记之日起设立。")
    for note in pledge.notes or []:
        if note.get("code") == "invalidation_pending_at_registration":
            kind, _sep, number = str(note.get("right") or "").partition(":")
            doc.paragraph(f"注：权利 {_number(kind, number)} 在登记时处于无效宣告程序中。", size=9)
    doc.qr(_absolute(request, reverse("registry:public_record", args=[pledge.registration_no])),
           caption="扫码查看公示记录")
    return doc.render()


def cancellation_notice_pdf(pledge: Pledge, *, request=None) -> bytes:
    ending = pledge.history.filter(type__in=("cancelled", "revoked", "lapsed")).order_by("-at").first()
    title = {"cancelled": "质押登记注销通知书", "revoked": "质押登记撤销决定书", "lapsed": "质押登记失效通知书"}[pledge.status]
    doc = Document(title=title, subtitle=f"登记号 {pledge.registration_no}",
                   issuer="知识产权质押融资服务平台 · 质押登记公示系统")
    reason = (ending.data or {}).get("reason", "") if ending else ""
    doc.fields([
        ("登记号", pledge.registration_no),
        ("原登记生效日", pledge.effective_date.strftime("%Y年%m月%d日")),
        ("终止日期", pledge.end_date.strftime("%Y年%m月%d日") if pledge.end_date else ""),
        ("事由", CANCEL_REASON_ZH.get(reason, reason)),
        ("状态", _status(pledge.status)),
    ])
    if pledge.status == "revoked":
        doc.paragraph("该质押登记被撤销，自始无效。")
    else:
        doc.paragraph("该质押登记的效力自上述终止日期起终止，登记及注销记录均予保存并可公开查询。")
    doc.qr(_absolute(request, reverse("registry:public_record", args=[pledge.registration_no])),
           caption="扫码查看公示记录")
    return doc.render()
