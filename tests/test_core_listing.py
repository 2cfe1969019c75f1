"""The shared work list (core.listing): filters, sorting, pagination with counts and exports, on a
QuerySet and on a list, with labels and amounts as pages show them."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.utils import translation
from openpyxl import load_workbook

from ippledge.core import vocabulary
from ippledge.core.listing import Column, Filter, Listing, exported, shown
from ippledge.core.models import Organisation

vocabulary.register("test_colour", {"red": "Red", "blue": "Blue"})

ROWS = [{"no": f"N{i:03d}", "amount": i * 100_000, "colour": "red" if i % 2 else "blue", "region": "440300"}
        for i in range(1, 61)]
COLUMNS = [Column("no", "No.", sort=True, link=lambda r: f"/x/{r['no']}/"),
           Column("amount", "Amount (yuan)", kind="fen", sort=True),
           Column("colour", "Colour", kind="label:test_colour"),
           Column("region", "Region", kind="region")]
FILTERS = [Filter("q", "Search", "no", kind="search"), Filter("colour", "Colour", "colour", vocabulary="test_colour")]


def listing(query: str = "", rows=ROWS, **kwargs) -> Listing:
    request = RequestFactory().get("/things/" + query)
    return Listing(request, rows, COLUMNS, FILTERS, name="things", **kwargs)


def test_pages_with_counts_and_links_keep_the_query():
    shown_list = listing("?colour=red&sort=-amount")
    assert shown_list.total == 30
    assert [c.text for c in shown_list.page_rows[0]] == ["N059", "59,000.00", "Red", "广东省深圳市"]
    assert shown_list.page_rows[0][0].link == "/x/N059/"
    assert shown_list.next_url == "/things/?colour=red&sort=-amount&page=2"
    assert (shown_list.first_shown, shown_list.last_shown) == (1, 25)
    header = shown_list.headers[1]
    assert header.direction == "desc" and "sort=amount" in header.url


def test_unknown_sort_filter_and_page_are_ignored_not_errors():
    odd = listing("?sort=__class__&colour=green&page=999&per_page=100000")
    assert odd.total == 60 and odd.per_page == 25 and odd.page.number == 3
    assert odd.values["colour"] == ""


def test_search_is_case_insensitive_and_bounded():
    assert listing("?q=n01").total == 10
    assert listing("?q=" + "x" * 5000).values["q"] == "x" * 200


@pytest.mark.django_db
def test_a_queryset_is_filtered_sorted_and_counted_in_the_database(django_assert_max_num_queries):
    for i in range(30):
        Organisation.objects.create(name=f"Org {i:02d}", kind="bank" if i % 3 else "enterprise")
    request = RequestFactory().get("/orgs/?kind=bank&sort=-name")
    rows = Listing(request, Organisation.objects.all(), [Column("name", "Name", sort="name"),
                   Column("kind", "Kind", kind="label:core.Organisation.kind")],
                   [Filter("kind", "Kind", "kind", vocabulary="core.Organisation.kind")], per_page=5)
    with django_assert_max_num_queries(2):
        cells = rows.page_rows
        total = rows.total
    assert total == 20 and cells[0][0].text == "Org 29"
    with translation.override("zh-hans"):
        assert rows.cells(rows.page.object_list[0])[1].text != "bank"


def test_exports_write_every_filtered_row_with_labels_and_numbers():
    request = RequestFactory().get("/things/?colour=blue&export=csv")
    response = Listing(request, ROWS, COLUMNS, FILTERS, name="things").export_response()
    text = response.content.decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0] == ["No.", "Amount (yuan)", "Colour", "Region"]
    assert len(lines) == 31 and lines[1] == ["N002", "2000.00", "Blue", "广东省深圳市"]
    request = RequestFactory().get("/things/?export=xlsx")
    response = Listing(request, ROWS, COLUMNS, FILTERS, name="things").export_response()
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet.max_row == 61 and sheet["B2"].value == 1000 and sheet["B2"].number_format == "#,##0.00"
    assert response["Content-Disposition"].startswith('attachment; filename="things-')


def test_a_text_cell_is_never_a_formula():
    rows = [{"no": "=HYPERLINK(\"http://x\")", "amount": 1, "colour": "red", "region": ""}]
    request = RequestFactory().get("/things/?export=xlsx")
    sheet = load_workbook(io.BytesIO(Listing(request, rows, COLUMNS, name="t").export_response().content)).active
    assert sheet["A2"].data_type == "s"
    request = RequestFactory().get("/things/?export=csv")
    assert "'=HYPERLINK" in Listing(request, rows, COLUMNS, name="t").export_response().content.decode("utf-8-sig")


def test_cells_read_like_the_rest_of_the_platform():
    assert shown("fen_wan", 12_345_678_900) == "12,345.68"
    assert shown("money", "3000000") == "3,000,000.00"
    assert shown("fen", None) == "—"
    assert exported("fen_wan", 12_345_678_900) == Decimal("12345.6789")
    with translation.override("en"):
        assert shown("region", "440000") == "Guangdong"
        assert shown("label:test_colour", "mauve") == "mauve"  # unlabelled: shown raw, for the raw-code test


def test_the_template_renders_filters_headers_pager_and_exports():
    rendered = render_to_string("core/_listing.html", {"listing": listing("?sort=no"), "request":
                                                       RequestFactory().get("/things/?sort=no")})
    assert 'name="sort" value="no"' in rendered and "export=xlsx" in rendered and "sort-asc" in rendered
    assert "N001" in rendered and "N026" not in rendered
