"""Legal-status feeds: the real EPO OPS samples, a CN feed in the same layout and CN code files in
JSON Lines and CSV import with the right summary, keep unmapped codes, match pledge codes, change
nothing the second time, and refuse a DTD."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from ippledge.core.actors import SYSTEM
from ippledge.monitoring.feeds import numbers, readers
from ippledge.monitoring.feeds.importer import import_feed
from ippledge.registry import imports as registry_imports
from ippledge.rights import services as rights
from ippledge.rights.models import LegalEvent

from .registry_fixtures import PLEDGEE, PLEDGOR, make_patent

DATA = Path(__file__).parent / "data" / "feeds"
INVENTION = "201380062258.8"  # CN104968889A's application (EPO biblio sample), check character computed
UTILITY = "200920012345.3"

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<ops:world-patent-data xmlns:ops="http://ops.epo.org"><ops:legal code="&lol3;"/></ops:world-patent-data>"""


def pledge_on(number: str, official_no: str = "Y2019980000123", kind: str = "invention", on: str = "2019-03-01"):
    status, pledge = registry_imports.import_pledge(actor=SYSTEM, data={
        "official_registration_no": official_no, "official_effective_date": on,
        "rights": [{"kind": kind, "number": number}], "pledgors": [PLEDGOR], "pledgees": [PLEDGEE],
        "secured_amount": "3000000.00"})
    assert status == "imported"
    return pledge


@pytest.fixture
def cn_register(db):
    invention = make_patent(number=INVENTION, filing_date="2013-10-11", grant_date=None, annuity_paid_through=None)
    utility = make_patent(number=UTILITY, kind="utility_model", filing_date="2009-03-01", grant_date=None,
                          annuity_paid_through=None)
    return invention, utility


def test_cn_numbers_in_every_form():
    for form in ("ZL201380062258.8", "CN201380062258", "201380062258", "CN20138062258", "2013800622588",
                 "ＺＬ２０１３８００６２２５８．８", " 201380062258.8 "):
        assert numbers.right_key("", form) == ("invention", INVENTION), form
    assert numbers.right_key("utility_model", "CN200920012345") == ("utility_model", UTILITY)
    assert numbers.looks_like_publication("CN104968889A")


def test_real_epo_samples_name_no_right_in_the_register(db):
    us = import_feed(actor=SYSTEM, source=str(DATA / "inpadoc_legal_US10465445_family.xml"))
    assert us["format"] == "epo-xml"
    assert (us["rows"], us["imported"], us["unchanged"], us["rejected_total"], us["unmatched_rows"]) == (14, 0, 0, 0, 14)
    assert us["unmatched_rights"] == [{"country": "US", "kind": "", "number": "201815919370", "reason": "not_cn",
                                       "first_line": 1, "rows": 14}]
    ca = import_feed(actor=SYSTEM, source=str(DATA / "inpadoc_legal_CA2300029C_family.xml"))
    assert ca["unmatched_rights"][0]["number"] == "2300029" and ca["rows"] == 1
    assert not LegalEvent.objects.exists()


def test_cn_epo_feed_imports_with_its_summary_and_again_changes_nothing(cn_register):
    invention, utility = cn_register
    pledge = pledge_on(INVENTION)
    first = import_feed(actor=SYSTEM, source=str(DATA / "epo_ops_cn_legal_constructed.xml"))
    assert first["rows"] == 12 and first["error"] is None
    # PB01, SE01, GR01 on the invention; C14, RINS, PLDC, C17 on the utility model (three generations).
    assert first["imported"] == 7
    assert first["imported_by_type"] == {"expired": 1, "granted": 2, "unmapped": 4}
    assert {c["code"]: c["rows"] for c in first["unmapped_codes"]} == {"PB01": 1, "SE01": 1, "RINS": 1, "PLDC": 1}
    # The licence of the pledged patent is refused by the registry's guard, with its reason.
    assert [(r["line"], r["code"]) for r in first["rejected"]] == [(5, "pledged_right_locked")]
    # Not in the register: listed, never created.
    assert sorted((u["country"], u["number"], u["reason"]) for u in first["unmatched_rights"]) == [
        ("CN", "201510012345.3", "not_in_register"), ("US", "201815919370", "not_cn")]
    records = first["pledge_records"]
    assert (records["matched"], records["unmatched"]) == (2, 0)
    assert [(r["code"], r["registration_no"], r["pledge_status"]) for r in records["listed"]] == [
        ("PE01", pledge.registration_no, "registered"), ("PC01", pledge.registration_no, "registered")]
    assert pledge.history.filter(type="official_record").count() == 2

    events = list(LegalEvent.objects.filter(right=invention).order_by("seq").values_list("seq", "type", "official_code"))
    assert events == [(1, "unmapped", "PB01"), (2, "unmapped", "SE01"), (3, "granted", "GR01")]
    rins = LegalEvent.objects.get(right=utility, official_code="RINS")
    assert rins.type == "unmapped" and "PRESERVATION" in rins.payload["description"]
    assert rights.state_of(rights.find_right("utility_model", UTILITY)).legal_state == "expired"

    again = import_feed(actor=SYSTEM, source=str(DATA / "epo_ops_cn_legal_constructed.xml"))
    assert (again["imported"], again["unchanged"]) == (0, 7)
    assert (again["pledge_records"]["matched"], again["pledge_records"]["unchanged"]) == (0, 2)
    assert LegalEvent.objects.count() == 7 and pledge.history.filter(type="official_record").count() == 2


CN_ROWS = [
    # (number as a feed writes it, official code, type, date, extra) — lines 2… of the CSV
    ("ZL201410362077.3", "CF01", "", "2020-08-01", {}),          # current code: terminated
    ("CN201410362077", "RR01", "", "2020-10-01", {}),            # docdb form: restored
    ("2014103620773", "MM4A", "", "2021-01-01", {}),             # pre-2009 INPADOC code: terminated again
    ("201410362077.3", "C52", "", "2021-02-01", {}),             # 2008–2017 code we do not map: kept
    ("201410362077.3", "", "annuity_paid", "2021-03-01", {"paid_through": "2022-07-27"}),
    ("201410362077.3", "TR01", "", "2021-04-01", {}),            # a transfer needs its new owners
    ("201410362077.3", "CF01", "", "2021-13-01", {}),            # no such date
    ("ZL201410362077.4", "CF01", "", "2021-05-01", {}),          # wrong check character
    ("ZL201510012345.3", "CF01", "", "2021-05-01", {}),          # not in the register
    ("201410362077.3", "PE01", "", "2021-06-01", {}),            # a pledge we do not hold
    ("201410362077.3", "CF01", "", "2099-01-01", {}),            # in the future
    ("ZL201410362077.3", "CF01", "", "2020-08-01", {}),          # the first row again
    ("201410362077.3", "C17X", "", "2021-07-01", {}),            # a code not in the table: kept too
    ("201410362077.3", "GR01", "restored", "2021-08-01", {}),    # type and code disagree
]


def write_csv(path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["kind", "number", "official_code", "type", "date", "paid_through"])
        for number, code, etype, date, extra in CN_ROWS:
            out.writerow(["invention", number, code, etype, date, extra.get("paid_through", "")])
    return path


def test_cn_code_csv_summary_rejections_and_idempotence(db, tmp_path, api_as):
    make_patent()
    _, registrar = api_as("registrar", "ip_office")
    feed = write_csv(tmp_path / "cn_events.csv")
    first = import_feed(actor=registrar, source=str(feed))
    assert first["format"] == "csv" and first["rows"] == len(CN_ROWS)
    assert first["imported_by_type"] == {"annuity_paid": 1, "restored": 1, "terminated_unpaid_annuity": 2,
                                         "unmapped": 2}
    assert (first["imported"], first["unchanged"]) == (6, 1)
    assert {c["code"] for c in first["unmapped_codes"]} == {"C52", "C17X"}
    assert {(r["line"], r["code"]) for r in first["rejected"]} == {
        (7, "incomplete_event"), (8, "invalid_date"), (9, "invalid_patent_number"), (12, "date_out_of_range"),
        (15, "invalid_type")}
    assert first["rejected_total"] == 5
    assert first["unmatched_rights"] == [{"country": "CN", "kind": "invention", "number": "201510012345.3",
                                          "reason": "not_in_register", "first_line": 10, "rows": 1}]
    assert first["pledge_records"]["unmatched"] == 1 and first["pledge_records"]["listed"][0]["line"] == 11
    seqs = list(LegalEvent.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == [1, 2, 3, 4, 5, 6]

    again = import_feed(actor=registrar, source=str(feed))
    assert (again["imported"], again["unchanged"], again["rejected_total"]) == (0, 7, 5)
    assert LegalEvent.objects.count() == 6


def test_json_lines_of_every_real_cn_code(db, tmp_path):
    """One event per code of the real CN code table (INPADOC + gazette headings), against one patent."""
    make_patent(number="ZL201410362077.3", grant_date=None, annuity_paid_through=None)
    with (DATA / "cn_legal_status_codes_inpadoc_plus_zh.csv").open(encoding="utf-8") as fh:
        codes = [row["code"] for row in csv.DictReader(fh)]
    import json

    feed = tmp_path / "all_codes.jsonl"
    feed.write_text("\n".join(json.dumps({"kind": "invention", "number": "CN201410362077", "official_code": code,
                                          "date": f"2015-{1 + i // 28:02d}-{1 + i % 28:02d}"})
                              for i, code in enumerate(codes)), encoding="utf-8")
    summary = import_feed(actor=SYSTEM, source=str(feed))
    records = summary["pledge_records"]
    accounted = (summary["imported"] + summary["unchanged"] + summary["rejected_total"] + summary["unmatched_rows"]
                 + records["matched"] + records["unchanged"] + records["unmatched"])
    assert summary["rows"] == len(codes) == accounted
    assert records["unmatched"] == 3  # PE01, PM01, PC01: no pledge held
    unmapped = {c["code"] for c in summary["unmapped_codes"]}
    assert {"RINS", "C52", "PLDC", "PB01"} <= unmapped
    assert "CF01" not in unmapped and "PE01" not in unmapped
    assert all(r["code"] in ("incomplete_event", "invalid_event") for r in summary["rejected"])


def test_a_dtd_is_refused_before_any_entity_is_expanded(db):
    summary = import_feed(actor=SYSTEM, source=BILLION_LAUGHS, fmt="epo-xml", name="lolz.xml")
    assert summary["error"]["code"] == "xml_dtd_refused" and summary["rows"] == 0
    with pytest.raises(readers.FeedError):
        list(readers.read("epo-xml", readers.blocks(BILLION_LAUGHS.decode().encode("utf-8"), size=40)))


def test_an_imported_event_on_a_pledged_right_alerts_the_bank_and_notifies_it(db, make_org):
    from ippledge.monitoring.models import Alert
    from ippledge.registry.models import Notification

    from .registry_fixtures import BANK_USCC

    bank = make_org("bank", name=PLEDGEE["name"], uscc=BANK_USCC)
    make_patent()
    pledge = pledge_on("ZL201410362077.3")
    feed = b'{"kind": "invention", "number": "CN201410362077", "official_code": "PP01", "date": "2024-05-06"}\n'
    summary = import_feed(actor=SYSTEM, source=feed, fmt="jsonl", name="court.jsonl")
    assert summary["imported_by_type"] == {"preserved": 1}
    alert = Alert.objects.get(owner_org=bank, kind="preservation")
    assert alert.pledge_id == pledge.pk
    assert Notification.objects.filter(org=bank, kind="pledged_right_event").exists()
    # Imported again: unchanged, and the same condition raises no second alert.
    assert import_feed(actor=SYSTEM, source=feed, fmt="jsonl")["unchanged"] == 1
    assert Alert.objects.filter(owner_org=bank, kind="preservation").count() == 1
