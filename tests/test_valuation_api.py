"""Valuation through the API: calculator, records with lender values, rosters, negotiated sign-off,
revaluation, the pledge application's valuation reference, innovation scores, the CLI."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from ippledge.core import business_date
from ippledge.valuation.models import ValuationRecord

from .registry_fixtures import PLEDGOR, application, make_patent, parties_on_platform

pytestmark = pytest.mark.django_db
INCOME = {"income": ["1000000", "1000000", "1000000"], "split_rate": "0.25", "tax_rate": "0.25",
          "discount_rate": "0.10"}


@pytest.fixture
def bank(api_as):
    client, _ = api_as("bank_officer", "bank")
    return client


@pytest.fixture
def admin(api_as):
    client, _ = api_as("admin")
    return client


def test_calculator_income_with_trace(bank):
    r = bank.post("/valuations/compute", {"method": "income", "inputs": INCOME})
    assert r.status_code == 200, r.data
    # 187,500 × (1/1.1 + 1/1.21 + 1/1.331) = 187,500 × 2.486852… = 466,284.75
    assert r.data["value"] == "466284.75"
    assert r.data["currency"] == "CNY"
    assert any(step["zh"] and step["en"] for step in r.data["trace"])


def test_calculator_errors(bank):
    r = bank.post("/valuations/compute", {"method": "astrology", "inputs": {}})
    assert r.status_code == 422 and r.data["error"]["code"] == "unknown_method"
    r = bank.post("/valuations/compute", {"method": "income", "inputs": {"income": ["x"], "discount_rate": "0.1"}})
    assert r.status_code == 422 and r.data["error"]["code"] == "invalid_input"


def test_enterprise_score_compute(bank):
    r = bank.post("/enterprise-scores/compute", {"scheme": "tech_sme", "inputs": {
        "staff_total": 100, "tech_staff": 30, "rd_expense": "600000", "sales": "10000000", "revenue": "10000000",
        "total_assets": "20000000", "class1_ip": 1, "class2_ip": 0}})
    assert r.status_code == 200, r.data
    assert str(r.data["score"]) == "100" and r.data["qualified"] is True


def test_internal_valuation_caps_income_period_and_gives_lender_values(bank):
    make_patent()
    r = bank.post("/valuations", {"rights": [{"kind": "invention", "number": "ZL201410362077.3"}],
                                  "method": "income", "inputs": {**INCOME, "income": ["1000000"] * 15}})
    assert r.status_code == 201, r.data
    v = r.data
    assert v["basis"] == "internal" and v["status"] == "final"
    # The patent's term ends 2034-07-27: the income period is cut to the remaining legal term.
    assert int(v["inputs"]["remaining_legal_years"]) < 15
    assert v["max_loan"] is not None and float(v["max_loan"]) <= float(v["market_value"]) * 0.25 + 0.01
    assert v["trace"]


def test_external_valuation_needs_an_admitted_agency(bank, admin):
    make_patent()
    agency = admin.post("/appraisal-agencies", {"name": "示范资产评估有限公司", "licence_no": "11020001",
                                                "qualification": "资产评估资格", "specialities_ipc": ["G06F", "H04L"]})
    assert agency.status_code == 201, agency.data
    body = {"rights": [{"kind": "invention", "number": "ZL201410362077.3"}], "basis": "external",
            "market_value": "1000000", "agency_id": agency.data["id"], "report_no": "评报字[2026]001号",
            "appraisers": ["李评估", "王评估"]}
    assert bank.post("/valuations", body).status_code == 201
    admin.post(f"/appraisal-agencies/{agency.data['id']}/status", {"status": "suspended", "reason": "质量检查"})
    r = bank.post("/valuations", body)
    assert r.status_code == 409 and r.data["error"]["code"] == "agency_not_admitted"
    assert bank.post("/appraisal-agencies", {"name": "x", "licence_no": "y", "qualification": "z"}).status_code == 403


def test_agency_track_record_against_realised_price_and_model(bank, admin, api_as):
    make_patent()
    agency = admin.post("/appraisal-agencies", {"name": "甲评估", "licence_no": "A1", "qualification": "资质"}).data
    right = [{"kind": "invention", "number": "ZL201410362077.3"}]
    bank.post("/valuations", {"rights": right, "method": "income", "inputs": INCOME})
    bank.post("/valuations", {"rights": right, "basis": "external", "market_value": "1000000",
                              "agency_id": agency["id"], "report_no": "R1", "appraisers": ["甲"]})
    r = admin.post("/realised-prices", {"right": right[0], "price": "800000", "date": business_date.today().isoformat(),
                                        "source": "disposal"})
    assert r.status_code == 201
    record = admin.get(f"/appraisal-agencies/{agency['id']}").data["track_record"]
    assert record["vs_realised_price"]["n"] == 1 and record["vs_realised_price"]["mean_pct"] == -20.0
    assert record["vs_internal_model"]["n"] == 1


def test_negotiated_valuation_needs_both_signatures(bank, api_as, make_org, make_user):
    from ippledge.core import services
    from ippledge.core.actors import SYSTEM

    from .conftest import PASSWORD, Api

    make_patent()
    ent = make_org("enterprise", name=PLEDGOR["name"], uscc=PLEDGOR["id_number"])
    ent_user = services.create_user(actor=SYSTEM, username="ent", password=PASSWORD, org_id=ent.pk,
                                    roles=["enterprise_user"])
    enterprise = Api(services.issue_token(user=ent_user))
    r = bank.post("/valuations", {"rights": [{"kind": "invention", "number": "ZL201410362077.3"}],
                                  "basis": "negotiated", "market_value": "2000000",
                                  "agreement_rule": "取双方报价的平均值"})
    assert r.status_code == 201 and r.data["status"] == "pending_signoff"
    no = r.data["valuation_no"]
    assert bank.post(f"/valuations/{no}/signoff").data["status"] == "pending_signoff"
    done = enterprise.post(f"/valuations/{no}/signoff")
    assert done.status_code == 200 and done.data["status"] == "final", done.data
    missing = bank.post("/valuations", {"rights": [{"kind": "invention", "number": "ZL201410362077.3"}],
                                        "basis": "negotiated", "market_value": "1"})
    assert missing.status_code == 422 and "agreement_rule" in missing.data["error"]["fields"]


def test_revaluation_keeps_history(bank):
    make_patent()
    first = bank.post("/valuations", {"rights": [{"kind": "invention", "number": "ZL201410362077.3"}],
                                      "method": "income", "inputs": INCOME}).data
    second = bank.post(f"/valuations/{first['valuation_no']}/revaluations",
                       {"inputs": {**INCOME, "discount_rate": "0.12"}})
    assert second.status_code == 201, second.data
    assert second.data["supersedes"] == first["valuation_no"]
    assert float(second.data["market_value"]) < float(first["market_value"])
    assert bank.get(f"/valuations/{first['valuation_no']}").data["status"] == "superseded"


def test_valuation_reference_on_a_pledge_application(api_as, make_org, make_user):
    # The pledgee files (a filer must be a party), the pledgor confirms on the platform.
    bank, _alone, _enterprise = parties_on_platform(api_as, make_org, make_user)
    make_patent()
    v = bank.post("/valuations", {"rights": [{"kind": "invention", "number": "ZL201410362077.3"}],
                                  "method": "income", "inputs": INCOME}).data
    ok = bank.post("/pledge-applications", application(valuation_ref=v["valuation_no"]))
    assert ok.status_code == 201 and ok.data["data"]["valuation_ref"] == v["valuation_no"]
    bad = bank.post("/pledge-applications", application(valuation_ref="VA20990000001", contract_no="B"))
    assert bad.status_code == 422 and bad.data["error"]["code"] == "invalid_valuation_ref"


def test_experts_by_field_with_conflicts(admin, make_org):
    org = make_org("bank", name="冲突银行")
    admin.post("/experts", {"name": "张专家", "fields_ipc": ["G06F"], "organisation_id": org.pk})
    admin.post("/experts", {"name": "李专家", "fields_ipc": ["A61K"]})
    rows = admin.get(f"/experts?field=G06F&party_org_id={org.pk}").data
    assert [(r["name"], r["conflict_of_interest"]) for r in rows] == [("张专家", True)]


def test_enterprise_evaluation_history_uses_the_register(bank, make_org):
    ent = make_org("enterprise", name=PLEDGOR["name"], uscc=PLEDGOR["id_number"])
    make_patent()
    r = bank.post("/enterprise-scores", {"enterprise_id": ent.pk, "scheme": "tech_sme", "inputs": {
        "staff_total": "80", "tech_staff": "20", "rd_expense": "500000", "sales": "10000000", "revenue": "10000000",
        "total_assets": "9000000"}})
    assert r.status_code == 201, r.data
    assert r.data["inputs"]["class1_ip"] == "1"
    bank.post("/enterprise-scores", {"enterprise_id": ent.pk, "scheme": "composite", "inputs": {}})
    history = bank.get(f"/enterprise-scores?enterprise_id={ent.pk}").data
    assert [h["scheme"] for h in history] == ["composite", "tech_sme"]


def test_cli_value_prints_value_and_trace(tmp_path):
    spec = tmp_path / "v.json"
    spec.write_text(json.dumps({"method": "income", "inputs": INCOME}), encoding="utf-8")
    out = io.StringIO()
    call_command("value", str(spec), stdout=out)
    text = out.getvalue()
    assert "466284.75" in text and "结果" in text
    out = io.StringIO()
    call_command("value", str(spec), "--json", stdout=out)
    assert json.loads(out.getvalue())["value"] == "466284.75"
    assert ValuationRecord.objects.count() == 0


def test_bundle_of_patent_trademark_and_software(bank):
    from ippledge.core.actors import SYSTEM
    from ippledge.rights import services as rights

    make_patent()
    rights.create_right(actor=SYSTEM, data={"kind": "trademark", "number": "12345678", "owners": [PLEDGOR],
                                            "registration_date": "2020-05-01"})
    rights.create_right(actor=SYSTEM, data={"kind": "software", "number": "2020SR0109251", "owners": [PLEDGOR],
                                            "completion_date": "2019-01-01", "first_publication_date": "2019-06-01",
                                            "author_kind": "legal_person"})
    line = {"revenue": "2000000", "growth": "0.03", "years": 5, "split": "0.2", "life": 5, "rate": "0.12",
            "hazard": "0.02", "tax_rate": "0.25"}
    items = [{"kind": "invention", "number": "ZL201410362077.3", "product_line": "A", **line},
             {"kind": "trademark", "number": "12345678", "product_line": "A", **line},
             {"kind": "software", "number": "2020SR0109251", "product_line": "B", **line}]
    r = bank.post("/valuations", {"rights": [{"kind": i["kind"], "number": i["number"]} for i in items],
                                  "method": "bundle", "inputs": {"rights": items, "paths": 4000, "seed": 11}})
    assert r.status_code == 201, r.data
    v = r.data
    assert v["subject"] == "bundle" and len(v["rights"]) == 3
    assert 0 < float(v["max_loan"]) <= float(v["market_value"])
    assert "hhi" in v["result"] and v["trace"]
    again = bank.post("/valuations", {"rights": [{"kind": i["kind"], "number": i["number"]} for i in items],
                                      "method": "bundle", "inputs": {"rights": items, "paths": 4000, "seed": 11}})
    assert again.data["market_value"] == v["market_value"]


def test_value_score_from_the_register_drives_the_split(bank):
    make_patent(claims_count=12, family_size=3, ipc=["H04L", "G06F"],
                events=[{"type": "licensed", "date": "2020-01-01"}])
    r = bank.get("/ip-rights/invention/ZL201410362077.3/value-score?industry=electrical")
    assert r.status_code == 200, r.data
    assert 0 <= float(r.data["score"]) <= 10
    split = r.data["split"]
    assert float(split["low"]) <= float(split["rate"]) <= float(split["high"])
    assert r.data["objective"]["scores"] and r.data["trace"]
