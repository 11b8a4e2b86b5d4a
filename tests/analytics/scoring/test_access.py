"""Who sees scores: the staff page, the API (with 400s on bad parameters) and the admin panel;
GDPR export and erasure of a customer's scores; the OpenAPI schema."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.utils import timezone

from analytics.scoring.models import CustomerScore, ScoringModel
from analytics.services.gdpr import erase_customer, export_customer
from tests.factories import CustomerFactory, make_ticket

pytestmark = pytest.mark.django_db


def make_score(customer, segment="at_risk", churn=0.8, clv=20_000) -> CustomerScore:
    part = {
        "input": "sessions_90d",
        "value": 1,
        "points": 10,
        "max_points": 40,
        "reason": "1 visits in 90 days",
    }
    return CustomerScore.objects.create(
        customer=customer,
        scored_at=timezone.now(),
        engagement=10,
        conversion=50,
        loyalty=30,
        value=40,
        explanations={"engagement": [part], "conversion": [part], "loyalty": [part], "value": [part]},
        segment=segment,
        segment_reason="churn risk 80% (≥ 60%)",
        churn_probability=churn,
        clv_12m=clv,
        currency="GBP",
        next_repair_probability=0.2,
        expected_days_to_next_repair=120,
        value_at_risk=int(churn * clv),
        actions=[
            {"code": "win_back", "text": "Win-back discount: churn risk 80%, last repair 14 months ago"}
        ],
        features={"recency_days": 426},
        model_versions={"churn": 1},
    )


@pytest.fixture
def trained_model(db):
    return ScoringModel.objects.create(
        kind="churn",
        version=1,
        algorithm="HistGradientBoostingClassifier",
        library="scikit-learn 1.9.1",
        trained_at=datetime(2026, 11, 2, 3, 30, tzinfo=UTC),
        train_cutoff=datetime(2025, 11, 2, tzinfo=UTC),
        test_cutoff=datetime(2026, 5, 1, tzinfo=UTC),
        window_days=180,
        train_rows=400,
        test_rows=500,
        metrics={"roc_auc": 0.8123, "brier": 0.17, "base_rate": 0.45},
        features=["recency_days"],
        blob=b"",
    )


@pytest.fixture
def scored(db, trained_model):
    risky = make_score(CustomerFactory(name="Risky Rita"), "at_risk", 0.8, 20_000)
    loyal = make_score(CustomerFactory(name="Loyal Lou"), "loyal", 0.1, 30_000)
    big = make_score(CustomerFactory(name="Big Bea"), "at_risk", 0.65, 90_000)
    return risky, loyal, big


PAGE = "/dashboard/customers/at-risk/"


def test_page_for_staff_sorted_by_value_at_risk_with_metrics(client, staff_user, scored):
    risky, loyal, big = scored
    client.force_login(staff_user)
    response = client.get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("Big Bea") < html.index("Risky Rita")  # 0.65 × 900 > 0.8 × 200
    assert "Loyal Lou" not in html  # default filter: at risk
    assert "ROC AUC 0.812" in html and "2026-11-02" in html
    assert "Win-back discount" in html
    # Money in the shop's units: 20 000 minor units are £200.00; at stake 0.8 × £200 = £160.00.
    row = html[html.index(f'data-customer="{risky.customer_id}"') :]
    assert '<td data-label="12-month value" data-field="clv">£200.00</td>' in row
    assert '<td data-label="At stake" data-field="at-stake">£160.00</td>' in row
    # The scores in plain words, each explained once above the table.
    for name in ("Engagement", "Likely to book", "Loyalty", "Value"):
        assert f"<dt>{name}</dt>" in html and f"{name} <strong>" in row
    assert "E/C/L/V" not in html
    assert "<script>" not in html and ' style="' not in html
    everyone = client.get(PAGE, {"segment": "", "ordering": "-clv"}).content.decode()
    assert everyone.index("Big Bea") < everyone.index("Loyal Lou") < everyone.index("Risky Rita")
    assert "Risky Rita" not in client.get(PAGE, {"segment": "loyal"}).content.decode()
    bad = client.get(PAGE, {"segment": "vip"})
    assert bad.status_code == 400 and "Unknown segment" in bad.content.decode()


def test_page_refuses_customers_and_technicians(client, customer, technician):
    assert client.get(PAGE).status_code == 302  # anonymous: to the login page
    for user in (customer.user, technician):
        client.force_login(user)
        assert client.get(PAGE).status_code == 403


def test_api_for_staff(client, staff_user, scored):
    risky, _loyal, big = scored
    client.force_login(staff_user)
    one = client.get(f"/api/v1/analytics/customers/{risky.customer_id}/score/")
    assert one.status_code == 200
    body = one.json()
    assert body["segment"] == "at_risk" and body["churn_probability"] == 0.8 and body["clv_12m"] == 20_000
    assert body["explanations"]["engagement"][0]["reason"] == "1 visits in 90 days"
    assert body["actions"][0]["code"] == "win_back"
    listing = client.get(
        "/api/v1/analytics/customers/scores/", {"segment": "at_risk", "ordering": "-value_at_risk"}
    )
    assert listing.status_code == 200
    data = listing.json()
    assert data["count"] == 2 and [r["customer_name"] for r in data["results"]] == ["Big Bea", "Risky Rita"]
    ascending = client.get("/api/v1/analytics/customers/scores/", {"ordering": "churn"}).json()
    assert [r["churn_probability"] for r in ascending["results"]] == [0.1, 0.65, 0.8]
    models = client.get("/api/v1/analytics/scoring/models/").json()
    assert models["latest"][0]["metrics"]["roc_auc"] == 0.8123
    assert models["latest"][0]["trained_at"].startswith("2026-11-02")


def test_api_bad_parameters_and_unknown_customer(client, staff_user, scored):
    client.force_login(staff_user)
    bad = client.get("/api/v1/analytics/customers/scores/", {"segment": "vip"})
    assert bad.status_code == 400 and "segment" in bad.json()["errors"] and bad.json()["detail"]
    bad = client.get("/api/v1/analytics/customers/scores/", {"ordering": "name"})
    assert bad.status_code == 400 and "ordering" in bad.json()["errors"]
    bad = client.get("/api/v1/analytics/customers/scores/", {"page": "0"})
    assert bad.status_code == 400
    missing = client.get("/api/v1/analytics/customers/999999/score/")
    assert missing.status_code == 404 and "No score" in missing.json()["detail"]


def test_api_refuses_customers_and_technicians(client, customer, technician, scored):
    risky = scored[0]
    urls = [
        f"/api/v1/analytics/customers/{risky.customer_id}/score/",
        "/api/v1/analytics/customers/scores/",
        "/api/v1/analytics/scoring/models/",
    ]
    for url in urls:
        assert client.get(url).status_code in (401, 403)
    for user in (customer.user, technician):
        client.force_login(user)
        for url in urls:
            response = client.get(url)
            assert response.status_code == 403, url
            assert "Risky" not in response.content.decode()


def test_admin_customer_page_shows_the_panel_to_staff_only(client, staff_user, technician, trained_model):
    customer = CustomerFactory(name="Panel Pat")
    make_ticket(customer=customer, technician=technician)
    make_score(customer)
    url = f"/admin/repairs/customer/{customer.pk}/change/"
    client.force_login(staff_user)
    html = client.get(url).content.decode()
    assert 'id="customer-scores"' in html
    assert "Churn probability:</strong> 80 %" in html and "£200.00" in html
    assert "Win-back discount" in html and "1 visits in 90 days" in html
    assert "ROC AUC 0.812" in html and "2026-11-02" in html
    client.force_login(technician)
    response = client.get(url)
    assert response.status_code == 200  # technicians may open their customers…
    assert 'id="customer-scores"' not in response.content.decode()  # …but see no scores


def test_gdpr_export_and_erasure_cover_scores(scored):
    risky = scored[0]
    customer = risky.customer
    archive = export_customer(customer)
    assert archive["sections"]["analytics_scoring"]["segment"] == "at_risk"
    summary = erase_customer(customer)
    assert summary["analytics_scoring"] == {"scores": 1}
    assert not CustomerScore.objects.filter(customer=customer).exists()
    assert CustomerScore.objects.count() == 2


def test_schema_documents_the_scoring_api(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
    for path in (
        "/api/v1/analytics/customers/{customer_id}/score/",
        "/api/v1/analytics/customers/scores/",
        "/api/v1/analytics/scoring/models/",
    ):
        assert path in schema
    assert "CustomerScore" in schema and "ExplanationItem" in schema
