"""Asking for extracts: validation, permissions, pages, downloads, audit, cancel, expiry, API."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connections
from django.urls import reverse
from django.utils import timezone

from backoffice.access import Access
from backoffice.audit import Actor
from backoffice.models import AuditEvent
from extracts import services
from extracts.models import Extract, ExtractState
from tests.extracts.conftest import make_txn
from tests.extracts.support import params, read_csv, run

pytestmark = pytest.mark.django_db


def request_extract(membership, query: str = "", **values):
    values.setdefault("format", "csv")
    return services.extract_request(
        access=Access.for_membership(membership), actor=Actor(user=membership.user), params=params(query, **values)
    )


@pytest.mark.parametrize(
    ("query", "values", "field"),
    [
        ("from=2026-05-02&to=2026-05-01", {}, "to"),
        ("", {"columns": ["amount", "card_number"]}, "columns"),
        ("", {"zone": "Mars/Olympus_Mons"}, "zone"),
        ("", {"zone": "../../etc/passwd"}, "zone"),
        ("", {"format": "pdf"}, "format"),
        ("", {"preset": "nonsense"}, "preset"),
        ("from=1850-01-01", {}, "from"),
        ("status=stolen", {}, "status"),
        ("amount_min=abc", {}, "amount_min"),
    ],
)
def test_bad_input_gets_a_clear_error_and_starts_nothing(world, query, values, field):
    with pytest.raises(ValidationError) as caught:
        request_extract(world.m_fiona, query, **values)
    assert field in caught.value.message_dict
    assert not Extract.objects.exists()


def test_a_period_that_starts_in_the_future_starts_nothing(world):
    tomorrow = (timezone.localdate() + timedelta(days=2)).isoformat()
    with pytest.raises(ValidationError) as caught:
        request_extract(world.m_fiona, f"from={tomorrow}")
    assert "from" in caught.value.message_dict
    assert not Extract.objects.exists()


def test_a_store_of_another_merchant_is_refused(world):
    with pytest.raises(ValidationError) as caught:
        request_extract(world.m_fiona, f"store={world.outra_store.pk}")
    assert "store" in caught.value.message_dict


def test_a_store_limited_member_cannot_name_another_store(world):
    world.m_paula.role = "finance"
    world.m_paula.save()
    with pytest.raises(ValidationError):
        request_extract(world.m_paula, f"store={world.lisboa.pk}")


@pytest.mark.parametrize("persona", ["m_bob", "m_victor", "m_quinn"])
def test_roles_without_the_export_right_cannot_extract(world, persona):
    with pytest.raises(PermissionDenied):
        request_extract(getattr(world, persona))


def test_only_owners_and_administrators_extract_the_audit_log(world):
    with pytest.raises(PermissionDenied):
        request_extract(world.m_fiona, dataset="audit")
    run(world.m_alice)  # audited: the audit log has a line to show
    extract = run(world.m_alice, dataset="audit")
    assert extract.state == ExtractState.DONE
    rows = read_csv(extract)
    assert rows[0][:3] == ["When", "Who", "Action"]
    assert any(r[2] == "extract.requested" for r in rows[1:])


def test_request_is_audited_with_filters_and_row_count(world):
    make_txn(world)
    extract = request_extract(world.m_fiona, "tab=success")
    event = AuditEvent.objects.get(action="extract.requested")
    assert event.actor == world.fiona
    assert event.after["filters"] == "tab=success"
    assert event.after["rows_estimated"] == 1
    assert extract.rows_estimated == 1 and extract.estimate_exact


def test_page_flow_export_progress_download(
    world, login, django_capture_on_commit_callbacks, eager_celery_and_fresh_keyring
):
    # given
    make_txn(world, merchant_transaction_id="A-1")
    client = login(world.fiona)
    base = reverse("extracts:index", kwargs={"merchant": "loja"})
    # the list's "Export this view" link carries the list's query
    listing_page = client.get(reverse("payments:transactions", kwargs={"merchant": "loja"}) + "?tab=success")
    assert f'href="{base}?dataset=transactions&amp;tab=success"' in listing_page.content.decode()
    form = client.get(base + "?dataset=transactions&tab=success")
    assert form.status_code == 200 and "The file will hold 1 row." in form.content.decode()
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            base, {"dataset": "transactions", "tab": "success", "format": "csv", "preset": "finance"}
        )
    # then
    extract = Extract.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/extracts/{extract.pk}/")
    extract.refresh_from_db()
    assert extract.state == ExtractState.DONE
    page = client.get(response["Location"])
    assert "100 %" in page.content.decode()
    download = client.get(reverse("extracts:download", kwargs={"merchant": "loja", "pk": extract.pk}))
    assert download.status_code == 200
    assert "A-1" in b"".join(download.streaming_content).decode()
    assert AuditEvent.objects.filter(action="extract.downloaded", actor=world.fiona).count() == 1
    # the requester got a link by e-mail, never the file
    assert len(mail.outbox) == 1
    assert f"/m/loja/extracts/{extract.pk}/" in mail.outbox[0].body
    assert not mail.outbox[0].attachments


def test_page_refuses_bad_input_with_errors_and_starts_nothing(world, login):
    client = login(world.fiona)
    response = client.post(
        reverse("extracts:index", kwargs={"merchant": "loja"}),
        {"dataset": "transactions", "format": "csv", "zone": "Nowhere/Land", "columns": ["amount", "x"]},
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert "Unknown time zone" in text and "Unknown column" in text
    assert not Extract.objects.exists()


def test_only_the_requester_owners_and_administrators_download(world, client, login):
    make_txn(world)
    extract = run(world.m_fiona)
    url = reverse("extracts:download", kwargs={"merchant": "loja", "pk": extract.pk})
    other_finance = world.m_adam.user  # adam is an Administrator: allowed
    assert login(other_finance).get(url).status_code == 200
    client.logout()
    assert login(world.alice).get(url).status_code == 200
    client.logout()
    # another Finance member does not see it at all; a Viewer has no export right
    from backoffice.roles import Role
    from tests.factories import make_membership, make_user

    fred = make_user("fred@loja.example")
    make_membership(fred, world.loja, Role.FINANCE)
    assert login(fred).get(url).status_code == 404
    client.logout()
    assert login(world.victor).get(url).status_code == 403
    client.logout()
    assert login(world.mallory).get(url.replace("/loja/", "/outra/")).status_code == 404


def test_an_expired_file_is_gone_and_says_so(world, login, extract_storage):
    make_txn(world)
    extract = run(world.m_fiona)
    path = extract_storage / extract.file_name
    assert path.exists()
    # when beat runs after the retention period
    assert services.expire_files(now=extract.expires_at + timedelta(seconds=1)) == 1
    # then
    extract.refresh_from_db()
    assert extract.state == ExtractState.EXPIRED and not path.exists()
    response = login(world.fiona).get(reverse("extracts:download", kwargs={"merchant": "loja", "pk": extract.pk}))
    assert response.status_code == 410
    assert "no longer available" in response.content.decode()
    assert Extract.objects.filter(pk=extract.pk).exists()  # the list keeps it


def test_cancel_stops_the_extract_and_leaves_no_file(world, extract_storage):
    make_txn(world)
    extract = request_extract(world.m_fiona)
    assert services.extract_cancel(
        access=Access.for_membership(world.m_fiona), actor=Actor(user=world.fiona), extract=extract
    )
    assert services.extract_run(extract.pk) is None  # a cancelled extract is not claimed
    extract.refresh_from_db()
    assert extract.state == ExtractState.CANCELLED and extract.file_name == ""
    assert not list(extract_storage.rglob("*.csv"))


def _cancel_while_writing(world, monkeypatch, extract_storage, use_copy):
    from extracts import copy as copy_path
    from extracts import engine

    monkeypatch.setattr(services, "PROGRESS_EVERY_SECONDS", 0)
    monkeypatch.setattr(engine, "CHUNK_ROWS", 2)
    for i in range(6):
        make_txn(world, minutes_ago=i)
    extract = request_extract(world.m_fiona)
    module = copy_path if use_copy else engine
    real_write = module.write

    def write_and_cancel(job, writer, *args, progress=None):
        def cancelling(rows, *more):
            # Someone cancels from the page: another thread, another connection (the writer's
            # own may be busy streaming a COPY).
            def cancel():
                Extract.objects.filter(pk=extract.pk).update(state=ExtractState.CANCELLED)
                if use_copy:
                    connections.close_all()

            if use_copy:
                (thread := threading.Thread(target=cancel)).start()
                thread.join()
            else:
                cancel()
            progress(rows, *more)

        return real_write(job, writer, *args, progress=cancelling)

    monkeypatch.setattr(module, "write", write_and_cancel)
    services.extract_run(extract.pk, use_copy=use_copy)
    extract.refresh_from_db()
    assert extract.state == ExtractState.CANCELLED and extract.file_name == ""
    assert not list(extract_storage.rglob("*.csv"))


def test_cancel_while_writing_stops_at_the_next_chunk(world, monkeypatch, extract_storage):
    _cancel_while_writing(world, monkeypatch, extract_storage, use_copy=False)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_cancel_while_copy_streams_stops_it(world, monkeypatch, extract_storage):
    # committed rows: the progress of a COPY goes through a second connection; the run is
    # this test's, not a task's
    monkeypatch.setattr(services, "_enqueue", lambda pk: None)
    _cancel_while_writing(world, monkeypatch, extract_storage, use_copy=True)


def test_a_failed_task_is_marked_failed_with_the_reason_and_leaves_no_file(world, monkeypatch, extract_storage):
    from extracts import copy as copy_path
    from extracts import engine

    make_txn(world)
    extract = request_extract(world.m_fiona)

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(engine, "write", broken)
    monkeypatch.setattr(copy_path, "write", broken)
    services.extract_run(extract.pk)
    extract.refresh_from_db()
    assert extract.state == ExtractState.FAILED
    assert "internal error" in extract.error
    assert extract.file_name == "" and not list(extract_storage.rglob("*"))[1:]


def test_a_member_removed_before_the_run_gets_no_file(world):
    make_txn(world)
    extract = request_extract(world.m_fiona)
    world.m_fiona.is_active = False
    world.m_fiona.save()
    services.extract_run(extract.pk)
    extract.refresh_from_db()
    assert extract.state == ExtractState.FAILED and "no longer has access" in extract.error


def test_a_task_delivered_twice_writes_once(world):
    make_txn(world)
    extract = request_extract(world.m_fiona)
    assert services.extract_run(extract.pk) is not None
    assert services.extract_run(extract.pk) is None


# --------------------------------------------------------------------------- API


@pytest.fixture
def api_key(world):
    from backoffice.roles import Role
    from backoffice.services import api_key_create

    _key, plaintext = api_key_create(
        access=Access.for_membership(world.m_alice), actor=Actor(user=world.alice), name="erp", role=Role.FINANCE
    )
    return plaintext


def test_api_starts_shows_and_serves_an_extract(
    world, client, api_key, django_capture_on_commit_callbacks, eager_celery_and_fresh_keyring
):
    make_txn(world, merchant_transaction_id="API-1")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {api_key}"}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/extracts",
            {"format": "csv", "columns": ["merchant_transaction_id", "amount"], "filters": {"tab": "success"}},
            content_type="application/json",
            **auth,
        )
    assert response.status_code == 202, response.content
    pk = response.json()["id"]
    state = client.get(f"/api/v1/extracts/{pk}", **auth).json()
    assert state["state"] == "done" and state["rows_written"] == 1 and state["percent"] == 100
    file = client.get(f"/api/v1/extracts/{pk}/file", **auth)
    assert file.status_code == 200
    assert b"".join(file.streaming_content).decode().splitlines() == [
        "Order id (merchantTransactionId),Amount",
        "API-1,10.00",
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"format": "csv", "zone": "Nowhere"}, "zone"),
        ({"format": "csv", "columns": ["nope"]}, "columns"),
        ({"format": "doc"}, "format"),
        ({"format": "csv", "filters": {"from": "2026-05-02", "to": "2026-05-01"}}, "to"),
        ({"format": "csv", "filters": {"status": {"$ne": 1}}}, "filters.status"),
        ({"format": "csv", "filters": {"format": "xlsx"}}, "filters.format"),
        ({"format": "csv", "dataset": "secrets"}, "dataset"),
    ],
)
def test_api_refuses_bad_input_in_the_one_error_format(world, client, api_key, body, field):
    response = client.post(
        "/api/v1/extracts", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {api_key}"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "validation_error" and field in error["fields"]
    assert not Extract.objects.exists()


def test_api_malformed_json_and_unknown_extract(world, client, api_key):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {api_key}"}
    response = client.post("/api/v1/extracts", "{nope", content_type="application/json", **auth)
    assert response.status_code == 400 and response.json()["error"]["type"] == "parse_error"
    assert client.get("/api/v1/extracts/999999", **auth).status_code == 404
    assert client.get("/api/v1/extracts/999999/file", **auth).status_code == 404


def test_api_file_before_it_is_ready_is_a_conflict(world, client, api_key):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {api_key}"}
    response = client.post("/api/v1/extracts", {"format": "xlsx"}, content_type="application/json", **auth)
    assert response.status_code == 202
    pk = response.json()["id"]
    assert client.get(f"/api/v1/extracts/{pk}/file", **auth).status_code == 409


def test_api_schema_lists_the_extract_endpoints(client):
    schema = client.get("/api/v1/schema/").content.decode()
    assert "/api/v1/extracts/{id}/file" in schema and "extracts_create" in schema
