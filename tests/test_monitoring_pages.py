"""Monitoring pages (issue 12.3): the bank's collateral monitor, the alert inbox with overdue ones first,
an alert's page with its acknowledge and resolve forms; what the regulator, another bank, an enterprise
and a stranger see; the desk, loan and pledge pages' links."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.test import Client

from ippledge.core import business_date
from ippledge.registry.models import Pledge
from ippledge.rights.models import Right

from .conftest import PASSWORD
from .test_credit_collateral import _repaid_loan, others  # noqa: F401  (fixture)
from .test_credit_workflow import world  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def _client(username):
    client = Client()
    assert client.post("/login/", {"username": username, "password": PASSWORD}).status_code == 302
    return client


def _zh(vocabulary_name: str, code: str) -> str:
    """A label as the Chinese page shows it (whether or not its translation is in the catalogue yet)."""
    from django.utils import translation

    from ippledge.core import vocabulary

    with translation.override("zh-hans"):
        return str(vocabulary.label(vocabulary_name, code))


def _alert(owner, *, kind, severity, due, pledge=None, right=None, loan=None, key=None):
    """An alert as the monitoring services raise it."""
    from ippledge.monitoring import services

    return services.raise_alert(kind=kind, condition_key=key or f"{kind}:{due}", owner_org=owner,
                                on=business_date.today(), pledge=pledge, right=right, loan=loan,
                                severity=severity, due_date=due)


@pytest.fixture
def book(world, others):  # noqa: F811
    """Bank A's disbursed loan on the fixture patent, with three live alerts of different kinds (one
    overdue, one critical, one not yet due); and bank B's own alert."""
    from ippledge.core.models import Organisation
    from ippledge.credit.models import Loan

    w = world
    loan_no, reg = _repaid_loan(w)
    loan, pledge = Loan.objects.get(loan_no=loan_no), Pledge.objects.get(registration_no=reg)
    right = Right.objects.get(kind="invention")
    today = business_date.today()
    bank = w["bank"]
    a = {
        "grace": _alert(bank, kind="annuity_grace", severity="warning", due=today - dt.timedelta(days=3),
                        pledge=pledge, right=right, loan=loan),
        "invalidation": _alert(bank, kind="invalidation_requested", severity="critical",
                               due=today + dt.timedelta(days=5), pledge=pledge, right=right, loan=loan),
        "due": _alert(bank, kind="annuity_due", severity="info", due=today + dt.timedelta(days=40),
                      pledge=pledge, right=right, loan=loan),
    }
    bank_b = Organisation.objects.get(name="乙银行")
    a["other"] = _alert(bank_b, kind="loan_overdue", severity="critical", due=today - dt.timedelta(days=1))
    return {"loan_no": loan_no, "reg": reg, "right": right, "alerts": a, **w}


def test_the_monitor_shows_the_banks_pledged_rights_with_state_value_ltv_and_alerts(book):
    page = _client("officer").get("/monitoring/").content.decode()
    assert 'data-testid="listing-collateral-monitor"' in page
    assert book["reg"] in page and book["loan_no"] in page and "ZL201410362077.3" in page
    assert "有效" in page  # the right's legal state, in words (Chinese by default)
    assert _zh("monitoring.Alert.severity", "critical") in page  # the worst of its open alerts
    # What to do today: the overdue grace-period alert, flagged, and the critical one not yet taken on; the
    # information alert not yet due is not listed.
    today = page.split('data-testid="todo-today"')[1].split("</section>")[0]
    assert f'/monitoring/alerts/{book["alerts"]["grace"].pk}/' in today
    assert f'/monitoring/alerts/{book["alerts"]["invalidation"].pk}/' in today
    assert f'/monitoring/alerts/{book["alerts"]["due"].pk}/' not in today
    assert 'data-testid="monitor-at-risk"' in page


def test_the_monitor_filters_sorts_and_exports(book):
    officer = _client("officer")
    assert book["reg"] in officer.get("/monitoring/?at_risk=yes").content.decode()
    assert book["reg"] not in officer.get("/monitoring/?at_risk=no").content.decode()
    assert book["reg"] in officer.get("/monitoring/?severity=3").content.decode()
    assert book["reg"] not in officer.get("/monitoring/?severity=1").content.decode()
    assert book["reg"] in officer.get("/monitoring/?state=in_force").content.decode()
    assert book["reg"] not in officer.get("/monitoring/?state=terminated").content.decode()
    assert book["reg"] in officer.get("/monitoring/?q=201410362077").content.decode()
    assert book["reg"] not in officer.get("/monitoring/?kind=trademark").content.decode()
    for sort in ("lender_value", "-open_alerts", "worst", "right", "nonsense"):
        assert officer.get(f"/monitoring/?sort={sort}").status_code == 200
    csv = officer.get("/monitoring/?export=csv")
    assert csv["Content-Type"].startswith("text/csv")
    text = csv.content.decode("utf-8-sig")
    assert book["reg"] in text and "有效" in text and _zh("monitoring.Alert.severity", "critical") in text
    xlsx = officer.get("/monitoring/?export=xlsx")
    assert xlsx.content[:2] == b"PK"
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert any(book["reg"] in str(c.value) for row in sheet.iter_rows() for c in row)


def test_the_inbox_puts_overdue_alerts_first_and_filters(book):
    officer = _client("officer")
    page = officer.get("/monitoring/alerts/").content.decode()
    a = book["alerts"]
    ids = [f'/monitoring/alerts/{a[k].pk}/' for k in ("grace", "invalidation", "due")]
    positions = [page.index(i) for i in ids]
    assert positions == sorted(positions), "overdue first, then by severity"
    assert f'/monitoring/alerts/{a["other"].pk}/' not in page  # bank B's alert
    assert _zh("monitoring.Alert.kind", "annuity_grace") in page
    assert f'/monitoring/alerts/{a["grace"].pk}/' in officer.get("/monitoring/alerts/?overdue=yes").content.decode()
    assert f'/monitoring/alerts/{a["due"].pk}/' not in officer.get("/monitoring/alerts/?overdue=yes").content.decode()
    only = officer.get("/monitoring/alerts/?kind=invalidation_requested").content.decode()
    assert f'/monitoring/alerts/{a["invalidation"].pk}/' in only and f'/monitoring/alerts/{a["due"].pk}/' not in only
    assert f'/monitoring/alerts/{a["due"].pk}/' in officer.get("/monitoring/alerts/?severity=info").content.decode()
    resolved = officer.get("/monitoring/alerts/?status=resolved").content.decode()
    assert not any(f'/monitoring/alerts/{alert.pk}/' in resolved for alert in a.values())
    assert officer.get("/monitoring/alerts/?export=xlsx").content[:2] == b"PK"
    csv = officer.get("/monitoring/alerts/?export=csv").content.decode("utf-8-sig")
    assert book["reg"] in csv and book["loan_no"] in csv


def test_acknowledge_and_resolve_from_the_alert_page(book):
    officer = _client("officer")
    alert = book["alerts"]["grace"]
    url = f"/monitoring/alerts/{alert.pk}/"
    page = officer.get(url).content.decode()
    assert 'data-testid="acknowledge-form"' in page and 'data-testid="resolve-form"' in page
    assert "data-confirm=" in page.split('data-testid="resolve-form"')[1][:200]
    assert officer.post(url, {"action": "acknowledge"}).status_code == 302
    alert.refresh_from_db()
    assert alert.status == "acknowledged"
    refused = officer.post(url, {"action": "resolve", "resolution": "cleared", "note": ""})
    assert refused.status_code == 400 and 'data-field="resolution"' in refused.content.decode()
    # Accepting a risk needs a reason: the service's refusal lands on the note field.
    no_note = officer.post(url, {"action": "resolve", "resolution": "accepted_risk", "note": ""})
    assert no_note.status_code == 400
    assert 'data-field="note"' in no_note.content.decode().split('field-invalid')[1][:80]
    assert officer.post(url, {"action": "resolve", "resolution": "remedied", "note": "年费已缴"}).status_code == 302
    alert.refresh_from_db()
    assert alert.status == "resolved" and alert.resolution == "remedied" and alert.note == "年费已缴"
    page = officer.get(url).content.decode()
    assert 'data-testid="resolve-form"' not in page and "年费已缴" in page


def test_who_sees_what(book):
    a = book["alerts"]
    # Bank B's officer: its own alert only; bank A's alert is not found, and bank A's pledge is not on its monitor.
    officer_b = _client("officer_b")
    assert officer_b.get(f"/monitoring/alerts/{a['grace'].pk}/").status_code == 404
    assert officer_b.post(f"/monitoring/alerts/{a['grace'].pk}/", {"action": "acknowledge"}).status_code == 404
    assert officer_b.get(f"/monitoring/alerts/{a['other'].pk}/").status_code == 200
    assert book["reg"] not in officer_b.get("/monitoring/").content.decode()
    # The regulator reads every bank's, with a bank column, and has no forms.
    regulator = _client("regulator")
    page = regulator.get("/monitoring/").content.decode()
    assert book["reg"] in page and book["bank"].name in page
    inbox = regulator.get("/monitoring/alerts/").content.decode()
    assert f"/monitoring/alerts/{a['other'].pk}/" in inbox and f"/monitoring/alerts/{a['grace'].pk}/" in inbox
    detail = regulator.get(f"/monitoring/alerts/{a['grace'].pk}/").content.decode()
    assert 'data-testid="resolve-form"' not in detail and 'data-testid="read-only"' in detail
    assert regulator.post(f"/monitoring/alerts/{a['grace'].pk}/", {"action": "acknowledge"}).status_code == 403
    assert book["reg"] in regulator.get(f"/monitoring/?bank={book['bank'].pk}").content.decode()
    # An enterprise has no monitor; a stranger is sent to log in.
    ent = _client("ent")
    for url in ("/monitoring/", "/monitoring/alerts/", f"/monitoring/alerts/{a['grace'].pk}/"):
        assert ent.get(url).status_code == 403
        anonymous = Client().get(url)
        assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    a["grace"].refresh_from_db()
    assert a["grace"].status == "open"


def test_desk_loan_and_pledge_pages_link_the_alerts(book):
    officer = _client("officer")
    desk = officer.get("/credit/").content.decode()
    assert 'data-testid="desk-monitor"' in desk and 'data-testid="desk-alerts"' in desk
    assert "3" in desk.split('data-testid="desk-alerts"')[1][:200]
    loan = officer.get(f"/credit/loans/{book['loan_no']}/").content.decode()
    assert 'data-testid="open-alerts"' in loan and f"/monitoring/alerts/{book['alerts']['grace'].pk}/" in loan
    record = officer.get(f"/registry/pledges/{book['reg']}/").content.decode()
    assert 'data-testid="open-alerts"' in record
    # The public and the borrower see the record and the loan without the bank's alerts.
    assert 'data-testid="open-alerts"' not in Client().get(f"/registry/pledges/{book['reg']}/").content.decode()
    assert 'data-testid="open-alerts"' not in _client("ent").get(f"/credit/loans/{book['loan_no']}/").content.decode()


def test_english_pages(book):
    officer = _client("officer")
    officer.cookies["django_language"] = "en"
    page = officer.get("/monitoring/").content.decode()
    assert "Collateral monitor" in page and "Critical" in page and "In force" in page
    inbox = officer.get("/monitoring/alerts/").content.decode()
    assert "Annuity in grace period" in inbox and "Invalidation requested" in inbox
