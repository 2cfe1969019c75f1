"""Workbooks and CSV files of the periodic statistics, for regulators and banks.

The files follow the notice's statistical table: headers, sheet names and notes in Chinese, whatever the
page language, and so every grouping key is written as its Chinese name (广东省, 专利, 小型, 是), never
as a code; amounts are numbers in 万元 (the unit in each header; the workbook formats them with
thousands separators)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.utils import timezone, translation

from ippledge.core import money

from . import exports, labels, sql

FILE_LANGUAGE = "zh-hans"
BEIJING = ZoneInfo("Asia/Shanghai")

COLUMNS = [
    ("households", "当年累放贷款户数", "count"), ("loan_count", "当年累放贷款笔数", "count"),
    ("amount_lent", "当年累放贷款金额（万元）", "wan"), ("balance", "期末贷款余额（万元）", "wan"),
    ("npl_balance", "不良贷款余额（万元）", "wan"), ("npl_ratio", "不良贷款率（%）", "percent"),
    ("first_loan_households", "首贷户数", "count"), ("first_loan_amount", "首贷金额（万元）", "wan"),
    ("inclusive_households", "普惠型小微户数", "count"), ("inclusive_amount", "普惠型小微金额（万元）", "wan"),
    ("under_10m_share", "1000万元以下笔数占比（%）", "percent"),
    ("yoy_households", "户数同比增长（%）", "percent"), ("yoy_amount", "金额同比增长（%）", "percent"),
]
DIMENSION_HEADERS = {"bank": "银行", "branch": "分支机构", "region": "省级行政区划", "city": "地市", "park": "园区",
                     "ip_kind": "知识产权类型", "size": "企业规模", "first_loan": "首贷户", "inclusive": "普惠型小微",
                     "risk_scheme": "风险分担方案", "risk_covered": "纳入风险分担"}
BREAKDOWNS = [("全国合计", ()), ("按银行", ("bank",)), ("按知识产权类型", ("ip_kind",)), ("按地区", ("region",)),
              ("按企业规模", ("size",)), ("按园区", ("park",)), ("按风险分担方案", ("risk_scheme",))]
NOTES = [
    ("当年累放贷款户数", "自当年1月1日至期末发放过知识产权质押贷款的借款人户数（去重）。"),
    ("期末贷款余额", "期末时点的贷款本金余额：发放金额减去期末及以前的本金还款。"),
    ("不良贷款", "期末五级分类为次级、可疑、损失的贷款；分类按2023年风险分类办法逐日计算并留痕。"),
    ("不良贷款率", "不良贷款余额 / 贷款余额，以精确十进制计算。"),
    ("首贷户", "在人民银行征信系统中无贷款记录、首次获得贷款的企业。"),
    ("普惠型小微", "单户授信总额1000万元（含）以下的小型、微型企业贷款。"),
    ("风险分担", "期末及以前纳入风险分担（风险补偿）方案的贷款，按方案列示；未纳入的列为“未纳入风险分担”。"),
    ("同比", "与上年同期口径相比的增长率。"),
    ("单位", "金额单位为万元（工作簿中为精确值，显示两位小数和千位分隔符）；比率单位为百分比。"),
    ("时间", "数据截至时间为北京时间。"),
]


def _park_names(rows: list[dict]) -> dict[str, str]:
    from ippledge.credit.models import Park

    ids = {row.get("park") for row in rows} - {None, ""}
    return {str(pk): name for pk, name in Park.objects.filter(pk__in=ids).values_list("pk", "name")} if ids else {}


def _sheet(name: str, group_by: tuple[str, ...], data: dict) -> dict:
    columns = [{"key": d, "header": DIMENSION_HEADERS[d], "kind": "text"} for d in group_by]
    columns += [{"key": k, "header": h, "kind": kind} for k, h, kind in COLUMNS]
    parks = _park_names(data["rows"]) if "park" in group_by else {}
    rows = []
    for row in data["rows"]:
        out = dict(row)
        for dim in group_by:
            if dim in ("bank", "branch"):
                continue  # organisations come named
            value = out.get(dim)
            if dim == "risk_scheme":
                out[dim] = value or "未纳入风险分担"  # schemes come named
            elif dim == "park":
                out[dim] = parks.get(str(value), "") if value not in (None, "") else "未入园区"
            else:
                out[dim] = labels.shown(dim, value) or "未填报"
        for key, _h, kind in COLUMNS:
            if kind == "wan" and out.get(key) is not None:
                out[key] = money.to_fen(out[key])
        rows.append(out)
    return {"name": name, "columns": columns, "rows": rows}


def workbook_for(*, period: str, scope, title: str) -> bytes:
    """One sheet per breakdown the scope allows (a bank reading national figures gets no sheet by bank)."""
    with translation.override(FILE_LANGUAGE):
        sheets = [_sheet(name, group_by, sql.report_sql(period=period, group_by=group_by, bank_ids=scope.bank_ids))
                  for name, group_by in BREAKDOWNS if scope.dimensions(group_by) == group_by]
    as_of = timezone.localtime(timezone.now(), BEIJING).strftime("%Y-%m-%d %H:%M:%S") + " 北京时间"
    return exports.to_xlsx(title=title, sheets=sheets, notes=NOTES, as_of=as_of)


def csv_for(*, data: dict, group_by: tuple[str, ...]) -> bytes:
    """The CSV of figures already computed within the caller's scope."""
    with translation.override(FILE_LANGUAGE):
        sheet = _sheet("统计", group_by, data)
    return exports.to_csv(sheet["columns"], sheet["rows"])
