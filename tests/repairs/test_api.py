"""The REST API /api/v1/: role filtering, writes through the services, errors, auth, schema."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from repairs import services
from repairs.models import Milestone, Note, RepairTicket, TicketEvent
from repairs.selectors import status_history
from tests.factories import DEFAULT_PASSWORD, advance, make_ticket

pytestmark = pytest.mark.django_db

REPAIRS = "/api/v1/repairs/"


def repair_url(ticket: RepairTicket, suffix: str = "") -> str:
    return f"{REPAIRS}{ticket.reference}/{suffix}"


def client_for(user) -> APIClient:
    """A client signed in with a session, as the browser pages would be."""
    client = APIClient()
    client.force_login(user)
    return client


def post_json(client: APIClient, url: str, body) -> object:
    return client.post(url, body, format="json")


def references(response) -> set[str]:
    return {item["reference"] for item in response.json()["results"]}


def assert_error_shape(response, status_code: int) -> dict:
    assert response.status_code == status_code, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"detail", "errors"}
    assert isinstance(body["detail"], str) and body["detail"]
    return body


@pytest.fixture
def no_static_manifest(settings):
    """Tests run without collectstatic, so there is no manifest to look hashed names up in."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


# --- who sees what ------------------------------------------------------------------------------


def test_customer_lists_only_their_own_repairs(customer, ticket, other_ticket):
    response = client_for(customer.user).get(REPAIRS)

    assert response.status_code == 200
    assert references(response) == {ticket.reference}


def test_technician_lists_only_assigned_repairs(technician, ticket, other_ticket):
    make_ticket()  # unassigned

    response = client_for(technician).get(REPAIRS)

    assert references(response) == {ticket.reference}


def test_staff_list_every_repair(staff_user, ticket, other_ticket):
    unassigned = make_ticket()

    response = client_for(staff_user).get(REPAIRS)

    assert references(response) == {ticket.reference, other_ticket.reference, unassigned.reference}


def test_another_customers_repair_is_404_like_a_missing_one(customer, other_ticket):
    client = client_for(customer.user)

    hidden = client.get(repair_url(other_ticket))
    missing = client.get(f"{REPAIRS}RT-ZZZZZZ/")

    assert_error_shape(hidden, 404)
    assert_error_shape(missing, 404)
    assert other_ticket.reference in hidden.json()["detail"]
    assert hidden.json()["detail"].replace(other_ticket.reference, "X") == missing.json()["detail"].replace(
        "RT-ZZZZZZ", "X"
    )


def test_customer_cannot_reach_another_customers_sub_resources(customer, other_ticket):
    client = client_for(customer.user)

    for suffix in ("notes/", "milestones/", "events/"):
        assert_error_shape(client.get(repair_url(other_ticket, suffix)), 404)
    response = post_json(client, repair_url(other_ticket, "quote-decision/"), {"approved": True})
    assert_error_shape(response, 404)


@pytest.mark.parametrize("reference", ["RT-%00ABC", "%F0%9F%94%A7", "RT-" + "A" * 300])
def test_junk_references_are_404_not_500(staff_user, reference):
    response = client_for(staff_user).get(f"{REPAIRS}{reference}/")

    assert "references look like RT-" in assert_error_shape(response, 404)["detail"]


def test_text_with_nul_or_lone_surrogates_is_400(technician, ticket):
    client = client_for(technician)

    for text in ("before\x00after", "\ud800"):
        body = json.dumps({"text": text})
        response = client.post(repair_url(ticket, "notes/"), body, content_type="application/json")
        assert "text" in assert_error_shape(response, 400)["errors"]
    assert not Note.objects.exists()


def test_technician_gets_404_for_a_repair_assigned_to_someone_else(technician, other_ticket):
    assert_error_shape(client_for(technician).get(repair_url(other_ticket)), 404)


def test_customer_detail_hides_contact_details_and_shop_controls(customer, ticket):
    response = client_for(customer.user).get(repair_url(ticket))

    assert response.status_code == 200
    body = response.json()
    assert body["reference"] == ticket.reference
    assert body["status"] == "booked"
    assert body["status_label"] == "Booked"
    assert body["customer"] == {"name": customer.name, "email": None, "phone": None}
    assert body["allowed_next_statuses"] is None
    assert body["assigned_technician"] is None
    assert body["tracking_url"] == ticket.tracking_url
    assert "tracking_token" not in body
    assert body["device"]["summary"] == str(ticket.device)
    assert body["quote"] == {
        "amount": None,
        "currency": "GBP",
        "decision": "pending",
        "decision_label": "Pending",
        "decided_at": None,
    }
    assert body["last_event_seq"] == 1


def test_staff_detail_shows_contact_details_and_next_statuses(staff_user, customer, technician, ticket):
    body = client_for(staff_user).get(repair_url(ticket)).json()

    assert body["customer"] == {"name": customer.name, "email": customer.email, "phone": customer.phone}
    assert body["assigned_technician"] == technician.username
    assert body["allowed_next_statuses"] == [
        {"status": "received", "label": "Received"},
        {"status": "cancelled", "label": "Cancelled"},
    ]
    assert body["tracking_url"] == ticket.tracking_url
    assert "tracking_token" not in body


def test_assigned_technician_detail_shows_next_statuses(technician, ticket):
    body = client_for(technician).get(repair_url(ticket)).json()

    assert [option["status"] for option in body["allowed_next_statuses"]] == ["received", "cancelled"]
    assert body["customer"]["email"] == ticket.customer.email


def test_reference_lookup_ignores_case(customer, ticket):
    response = client_for(customer.user).get(f"{REPAIRS}{ticket.reference.lower()}/")

    assert response.status_code == 200
    assert response.json()["reference"] == ticket.reference


def test_list_filters_by_status(staff_user, ticket, other_ticket):
    advance(ticket, "received")

    response = client_for(staff_user).get(REPAIRS, {"status": "received"})

    assert references(response) == {ticket.reference}


def test_empty_status_filter_means_every_status(staff_user, ticket, other_ticket):
    response = client_for(staff_user).get(REPAIRS, {"status": ""})

    assert references(response) == {ticket.reference, other_ticket.reference}


def test_unknown_status_filter_is_400_naming_it(staff_user, ticket):
    response = client_for(staff_user).get(REPAIRS, {"status": "fixed"})

    body = assert_error_shape(response, 400)
    assert '"fixed" is not a repair status' in body["detail"]
    assert "ready_for_pickup" in body["detail"]
    assert "status" in body["errors"]


def test_list_is_paginated(staff_user):
    for _ in range(21):
        make_ticket()

    client = client_for(staff_user)
    first = client.get(REPAIRS).json()
    second = client.get(first["next"]).json()

    assert first["count"] == 21
    assert len(first["results"]) == 20
    assert first["previous"] is None
    assert len(second["results"]) == 1
    assert second["next"] is None


def test_page_out_of_range_is_json_404(staff_user, ticket):
    assert_error_shape(client_for(staff_user).get(REPAIRS, {"page": 99}), 404)


# --- transitions --------------------------------------------------------------------------------


def test_assigned_technician_moves_a_repair_on(technician, ticket):
    response = post_json(
        client_for(technician),
        repair_url(ticket, "transition/"),
        {"status": "received", "note": "At the bench"},
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "received"
    assert body["progress_percent"] == 10
    assert body["last_event_seq"] == 2
    ticket.refresh_from_db()
    assert ticket.status == "received"
    (change,) = status_history(ticket)
    assert (change.from_status, change.to_status, change.note) == ("booked", "received", "At the bench")
    assert change.changed_by == technician


def test_staff_can_move_any_repair(staff_user, other_ticket):
    response = post_json(
        client_for(staff_user), repair_url(other_ticket, "transition/"), {"status": "received"}
    )

    assert response.status_code == 200
    other_ticket.refresh_from_db()
    assert other_ticket.status == "received"


def test_illegal_transition_is_400_with_the_lifecycle_message_and_saves_nothing(technician, ticket):
    response = post_json(client_for(technician), repair_url(ticket, "transition/"), {"status": "collected"})

    body = assert_error_shape(response, 400)
    assert (
        "Cannot move a ticket from 'Booked' to 'Collected'. Allowed next: received, cancelled."
        in (body["detail"])
    )
    assert body["errors"]["status"] == [
        "Cannot move a ticket from 'Booked' to 'Collected'. Allowed next: received, cancelled."
    ]
    ticket.refresh_from_db()
    assert ticket.status == "booked"
    assert ticket.last_event_seq == 1
    assert not status_history(ticket)


def test_customer_cannot_transition(customer, ticket):
    response = post_json(client_for(customer.user), repair_url(ticket, "transition/"), {"status": "received"})

    body = assert_error_shape(response, 403)
    assert "Only shop staff or the technician assigned to this repair" in body["detail"]
    ticket.refresh_from_db()
    assert ticket.status == "booked"


def test_unknown_target_status_lists_the_valid_ones(technician, ticket):
    response = post_json(client_for(technician), repair_url(ticket, "transition/"), {"status": "done"})

    body = assert_error_shape(response, 400)
    assert '"done" is not a valid choice. Choose one of: booked, received' in body["detail"]


# --- notes --------------------------------------------------------------------------------------


def test_internal_notes_are_hidden_from_the_customer(customer, technician, ticket):
    tech = client_for(technician)
    internal = post_json(
        tech, repair_url(ticket, "notes/"), {"text": "Board has corrosion", "priority": "high"}
    )
    shared = post_json(
        tech, repair_url(ticket, "notes/"), {"text": "We found the fault", "visible_to_customer": True}
    )
    assert internal.status_code == 201, internal.content
    assert shared.status_code == 201
    assert internal.json()["visible_to_customer"] is False
    assert internal.json()["priority"] == "high"
    assert internal.json()["author"] == technician.username

    customer_notes = client_for(customer.user).get(repair_url(ticket, "notes/")).json()
    shop_notes = tech.get(repair_url(ticket, "notes/")).json()

    assert [note["text"] for note in customer_notes] == ["We found the fault"]
    assert customer_notes[0]["author"] is None
    assert [note["text"] for note in shop_notes] == ["Board has corrosion", "We found the fault"]


def test_customer_cannot_add_notes(customer, ticket):
    response = post_json(client_for(customer.user), repair_url(ticket, "notes/"), {"text": "Hello"})

    assert_error_shape(response, 403)
    assert not Note.objects.exists()


def test_blank_note_is_400(technician, ticket):
    response = post_json(client_for(technician), repair_url(ticket, "notes/"), {"text": "   "})

    body = assert_error_shape(response, 400)
    assert body["errors"]["text"] == ["This field may not be blank."]


# --- milestones ---------------------------------------------------------------------------------


def test_milestone_updates_progress(customer, technician, ticket):
    advance(ticket, "received", "diagnosing")
    tech = client_for(technician)

    response = post_json(tech, repair_url(ticket, "milestones/"), {"title": "Screen replaced", "percent": 70})

    assert response.status_code == 201, response.content
    assert response.json()["title"] == "Screen replaced"
    assert response.json()["percent"] == 70
    customer_client = client_for(customer.user)
    assert customer_client.get(repair_url(ticket)).json()["progress_percent"] == 70
    listed = customer_client.get(repair_url(ticket, "milestones/")).json()
    assert [(item["title"], item["percent"]) for item in listed] == [("Screen replaced", 70)]


def test_milestone_percent_out_of_range_is_400(technician, ticket):
    response = post_json(
        client_for(technician), repair_url(ticket, "milestones/"), {"title": "X", "percent": 101}
    )

    body = assert_error_shape(response, 400)
    assert "percent" in body["errors"]
    assert not Milestone.objects.exists()


def test_milestone_on_a_closed_repair_is_400_with_the_service_message(technician, ticket):
    advance(ticket, "cancelled")

    response = post_json(
        client_for(technician), repair_url(ticket, "milestones/"), {"title": "X", "percent": 5}
    )

    body = assert_error_shape(response, 400)
    assert "This repair is closed" in body["detail"]


def test_customer_cannot_add_milestones(customer, ticket):
    response = post_json(
        client_for(customer.user), repair_url(ticket, "milestones/"), {"title": "X", "percent": 5}
    )

    assert_error_shape(response, 403)


# --- quotes -------------------------------------------------------------------------------------


def test_quote_and_approval_flow(customer, technician, ticket):
    advance(ticket, "received", "diagnosing")
    tech = client_for(technician)

    quoted = post_json(tech, repair_url(ticket, "quote/"), {"amount": 8900, "currency": "gbp"})
    assert quoted.status_code == 200, quoted.content
    assert quoted.json()["quote"]["amount"] == 8900
    assert quoted.json()["quote"]["currency"] == "GBP"
    assert (
        post_json(tech, repair_url(ticket, "transition/"), {"status": "awaiting_approval"}).status_code == 200
    )

    not_theirs = post_json(tech, repair_url(ticket, "quote-decision/"), {"approved": True})
    assert_error_shape(not_theirs, 403)

    decided = post_json(client_for(customer.user), repair_url(ticket, "quote-decision/"), {"approved": True})

    assert decided.status_code == 200, decided.content
    body = decided.json()
    assert body["status"] == "approved"
    assert body["quote"]["decision"] == "approved"
    assert body["quote"]["decided_at"] is not None
    ticket.refresh_from_db()
    assert (ticket.status, ticket.quote_decision) == ("approved", "approved")


def test_declining_the_quote_cancels_the_repair(customer, ticket):
    advance(ticket, "received", "diagnosing", "awaiting_approval")

    response = post_json(
        client_for(customer.user), repair_url(ticket, "quote-decision/"), {"approved": False}
    )

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["quote"]["decision"] == "declined"


def test_staff_may_record_the_customers_decision(staff_user, ticket):
    advance(ticket, "received", "diagnosing", "awaiting_approval")

    response = post_json(client_for(staff_user), repair_url(ticket, "quote-decision/"), {"approved": True})

    assert response.status_code == 200
    assert response.json()["status"] == "approved"


def test_deciding_without_a_pending_quote_is_400(customer, ticket):
    response = post_json(client_for(customer.user), repair_url(ticket, "quote-decision/"), {"approved": True})

    body = assert_error_shape(response, 400)
    assert "There is no quote waiting for a decision" in body["detail"]


def test_quote_errors_from_the_service_use_the_api_field_names(technician, ticket):
    tech = client_for(technician)

    too_early = post_json(tech, repair_url(ticket, "quote/"), {"amount": 100})
    bad_currency = post_json(
        tech, repair_url(advance(ticket, "received"), "quote/"), {"amount": 1, "currency": "£"}
    )

    assert "amount" in assert_error_shape(too_early, 400)["errors"]
    [message] = assert_error_shape(bad_currency, 400)["errors"]["currency"]
    assert message.startswith("Unsupported currency '£'; use one of:") and "GBP" in message
    # Any three letters were accepted before; a quote must be in a currency amounts can be shown in.
    made_up = post_json(tech, repair_url(ticket, "quote/"), {"amount": 1, "currency": "XYZ"})
    assert "Unsupported currency 'XYZ'" in assert_error_shape(made_up, 400)["errors"]["currency"][0]


def test_quote_amount_beyond_what_the_database_stores_is_400(technician, ticket):
    advance(ticket, "received")

    response = post_json(client_for(technician), repair_url(ticket, "quote/"), {"amount": 10**12})

    assert "amount" in assert_error_shape(response, 400)["errors"]


def test_customer_cannot_send_a_quote(customer, ticket):
    advance(ticket, "received")

    assert_error_shape(post_json(client_for(customer.user), repair_url(ticket, "quote/"), {"amount": 1}), 403)


# --- events -------------------------------------------------------------------------------------


def test_events_since_replays_exactly_the_later_events(staff_user, ticket):
    advance(ticket, "received")  # seq 2
    services.add_note(ticket, text="Internal only", by=staff_user)  # seq 3, internal
    advance(ticket, "diagnosing")  # seq 4

    response = client_for(staff_user).get(repair_url(ticket, "events/"), {"since": 2})

    assert response.status_code == 200
    body = response.json()
    assert [event["seq"] for event in body["events"]] == [3, 4]
    assert [event["kind"] for event in body["events"]] == ["ticket.note_added", "ticket.status_changed"]
    assert body["events"][1]["payload"]["to"] == "diagnosing"
    assert (body["since"], body["last_event_seq"], body["has_more"]) == (2, 4, False)


def test_events_hide_internal_ones_from_the_customer(customer, staff_user, ticket):
    advance(ticket, "received")
    services.add_note(ticket, text="Internal only", by=staff_user)
    services.add_note(ticket, text="Shared", visible_to_customer=True, by=staff_user)

    body = client_for(customer.user).get(repair_url(ticket, "events/")).json()

    assert [event["seq"] for event in body["events"]] == [1, 2, 4]
    assert "Internal only" not in json.dumps(body)
    assert TicketEvent.objects.filter(ticket=ticket).count() == 4


def test_events_default_to_the_whole_log(technician, ticket):
    body = client_for(technician).get(repair_url(ticket, "events/")).json()

    assert [event["kind"] for event in body["events"]] == ["ticket.booked"]
    assert body["since"] == 0


@pytest.mark.parametrize("since", ["abc", "-1", "1.5"])
def test_events_since_must_be_a_whole_number(technician, ticket, since):
    response = client_for(technician).get(repair_url(ticket, "events/"), {"since": since})

    assert "since" in assert_error_shape(response, 400)["errors"]


# --- bad input ----------------------------------------------------------------------------------


def test_unknown_fields_are_400_naming_them(technician, ticket):
    response = post_json(
        client_for(technician),
        repair_url(ticket, "transition/"),
        {"status": "received", "colour": "red", "x": 1},
    )

    body = assert_error_shape(response, 400)
    assert 'Unknown fields "colour", "x"' in body["detail"]
    assert "This endpoint accepts: note, status." in body["detail"]
    assert body["errors"]["colour"] == ["Unknown field."]
    assert body["errors"]["x"] == ["Unknown field."]
    ticket.refresh_from_db()
    assert ticket.status == "booked"


@pytest.mark.parametrize(
    ("suffix", "body", "field", "message"),
    [
        ("transition/", {"status": 5}, "status", "Must be a string, not a number."),
        ("quote/", {"amount": "8900"}, "amount", "Must be a whole number, not a string."),
        ("quote/", {"amount": 89.5}, "amount", "Must be a whole number, not a number."),
        ("quote/", {"amount": True}, "amount", "Must be a whole number, not a boolean."),
        (
            "notes/",
            {"text": "Hi", "visible_to_customer": "yes"},
            "visible_to_customer",
            "Must be true or false",
        ),
        ("notes/", {"text": ["Hi"]}, "text", "Must be a string, not an array."),
        ("milestones/", {"title": "X", "percent": None}, "percent", "This field may not be null."),
    ],
)
def test_wrong_types_are_400(staff_user, ticket, suffix, body, field, message):
    advance(ticket, "received")

    response = post_json(client_for(staff_user), repair_url(ticket, suffix), body)

    errors = assert_error_shape(response, 400)["errors"]
    assert message in errors[field][0]


def test_quote_decision_must_be_a_boolean(customer, ticket):
    advance(ticket, "received", "diagnosing", "awaiting_approval")

    response = post_json(
        client_for(customer.user), repair_url(ticket, "quote-decision/"), {"approved": "false"}
    )

    assert "approved" in assert_error_shape(response, 400)["errors"]
    ticket.refresh_from_db()
    assert ticket.status == "awaiting_approval"


def test_missing_fields_are_400(technician, ticket):
    response = post_json(client_for(technician), repair_url(ticket, "transition/"), {})

    body = assert_error_shape(response, 400)
    assert body["errors"] == {"status": ["This field is required."]}


def test_malformed_json_is_400(technician, ticket):
    response = client_for(technician).post(
        repair_url(ticket, "transition/"), '{"status": "received",', content_type="application/json"
    )

    body = assert_error_shape(response, 400)
    assert body["detail"].startswith("The request body is not valid JSON")


def test_json_that_is_not_an_object_is_400(technician, ticket):
    response = post_json(client_for(technician), repair_url(ticket, "transition/"), ["received"])

    body = assert_error_shape(response, 400)
    assert "Expected a dictionary" in body["detail"]


def test_a_body_that_is_not_json_is_415_saying_what_to_send(technician, ticket):
    response = client_for(technician).post(
        repair_url(ticket, "transition/"), "status=received", content_type="application/x-www-form-urlencoded"
    )

    body = assert_error_shape(response, 415)
    assert "application/json" in body["detail"]
    ticket.refresh_from_db()
    assert ticket.status == "booked"


def test_unknown_api_url_is_json_404(customer):
    response = client_for(customer.user).get("/api/v1/no-such-thing/")

    body = assert_error_shape(response, 404)
    assert body["detail"] == "No API endpoint at /api/v1/no-such-thing/."


def test_wrong_method_is_json_405(technician, ticket):
    assert_error_shape(client_for(technician).get(repair_url(ticket, "transition/")), 405)


# --- authentication -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["", "RT-ZZZZZZ/", "RT-ZZZZZZ/events/"])
def test_anonymous_requests_are_401_json(path):
    response = APIClient().get(f"{REPAIRS}{path}")

    body = assert_error_shape(response, 401)
    assert body["detail"] == "Authentication credentials were not provided."
    assert response["WWW-Authenticate"] == "Token"


def test_anonymous_write_is_401_and_saves_nothing(ticket):
    response = post_json(APIClient(), repair_url(ticket, "transition/"), {"status": "received"})

    assert_error_shape(response, 401)
    ticket.refresh_from_db()
    assert ticket.status == "booked"


def test_token_authentication(customer, ticket):
    client = APIClient()
    issued = post_json(
        client, "/api/v1/auth/token/", {"username": customer.user.username, "password": DEFAULT_PASSWORD}
    )
    assert issued.status_code == 200, issued.content
    token = issued.json()["token"]
    assert token == Token.objects.get(user=customer.user).key

    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = client.get(REPAIRS)

    assert response.status_code == 200
    assert references(response) == {ticket.reference}


def test_session_writes_need_the_csrf_token(technician, ticket):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(technician)

    response = post_json(client, repair_url(ticket, "transition/"), {"status": "received"})

    assert "CSRF" in assert_error_shape(response, 403)["detail"]
    ticket.refresh_from_db()
    assert ticket.status == "booked"


def test_token_writes_need_no_csrf_token(technician, ticket):
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=technician).key}")

    response = post_json(client, repair_url(ticket, "transition/"), {"status": "received"})

    assert response.status_code == 200, response.content


def test_wrong_password_gets_no_token(customer):
    response = post_json(
        APIClient(), "/api/v1/auth/token/", {"username": customer.user.username, "password": "wrong"}
    )

    body = assert_error_shape(response, 400)
    assert "Unable to log in" in body["detail"]


def test_invalid_token_is_401(ticket):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    assert assert_error_shape(client.get(REPAIRS), 401)["detail"] == "Invalid token."


# --- OpenAPI ------------------------------------------------------------------------------------


def test_schema_is_served():
    response = APIClient().get("/api/schema/")

    assert response.status_code == 200
    assert b"/api/v1/repairs/{reference}/transition/" in response.content


def test_swagger_ui_is_served_from_the_sidecar(no_static_manifest):
    response = APIClient().get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()


def test_schema_validates_without_warnings(tmp_path):
    schema_file = tmp_path / "schema.yaml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(schema_file))

    assert "/api/v1/repairs/{reference}/events/" in schema_file.read_text()


# --- performance --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["staff", "technician", "customer"])
def test_list_query_count_does_not_grow_with_the_page(
    django_assert_max_num_queries, role, staff_user, technician, customer
):
    for _ in range(20):
        make_ticket(customer=customer, technician=technician)
    user = {"staff": staff_user, "technician": technician, "customer": customer.user}[role]
    client = client_for(user)

    with django_assert_max_num_queries(6):
        response = client.get(REPAIRS)

    assert len(response.json()["results"]) == 20
