"""The callback queue and its sender, against a real HTTP receiver on loopback (spec "Callbacks")."""
from __future__ import annotations

import time

import pytest

from scos_gr import store
from scos_gr.scheduler.callbacks import MAX_DELAY_S, CallbackSender, enqueue, retry_delay
from tests.fleet.receiver import CallbackReceiver
from tests.ports import free_port


def _finished_task(name: str = "e", task_id: int = 1) -> store.Task:
    return store.Task.create(entry_name=name, task_id=task_id, action="logger", status=store.TASK_SUCCESS,
                             finished=store.utcnow(), duration_s=0.01)


def _row(delivery: store.CallbackDelivery) -> store.CallbackDelivery:
    return store.CallbackDelivery.get_by_id(delivery.id)


def test_retry_delays_double_from_one_second_up_to_ten_minutes():
    delays = [retry_delay(n) for n in range(1, 14)]
    assert delays[:5] == [1, 2, 4, 8, 16]
    assert all(b >= a for a, b in zip(delays, delays[1:]))
    assert delays[-1] == MAX_DELAY_S == 600
    # retried for the default day, that is at least 100 tries
    spent, tries = 0.0, 0
    while spent < 86400:
        tries += 1
        spent += retry_delay(tries)
    assert tries > 100


def test_a_failing_receiver_gets_the_same_payload_again_after_growing_delays_until_it_accepts(settings, any_store):
    sender = CallbackSender(settings.with_overrides(callback_token="s3cret"))
    payload = {"url": "http://sensor/api/v1/tasks/e/1/", "status": "success"}
    with CallbackReceiver(fail_first=2) as receiver:
        with store.database.connection_context():
            delivery = enqueue(_finished_task(), receiver.url("/in"), payload)
            assert sender.deliver_due() == 1
            first = _row(delivery)
            assert (first.state, first.attempts, first.last_error) == ("pending", 1, "HTTP 503 Service Unavailable")
            assert first.next_attempt - time.time() == pytest.approx(1.0, abs=0.5)
            assert sender.deliver_due() == 0  # not due yet: nothing is sent
            assert sender.deliver_due(now=first.next_attempt) == 1
            second = _row(delivery)
            assert second.attempts == 2 and second.next_attempt - time.time() == pytest.approx(2.0, abs=0.5)
            assert sender.deliver_due(now=second.next_attempt) == 1
            done = _row(delivery)
        assert (done.state, done.attempts) == ("delivered", 3) and done.finished is not None
        assert done.last_error == "HTTP 503 Service Unavailable"  # the last failure stays readable
        assert [r.status for r in receiver.attempts] == [503, 503, 200]
        for tried in receiver.attempts:
            assert tried.path == "/in" and tried.json() == payload
            assert tried.headers["content-type"] == "application/json"
            assert tried.headers["authorization"] == "Token s3cret"


def test_without_a_callback_token_no_authorization_is_sent(settings, any_store):
    with CallbackReceiver() as receiver, store.database.connection_context():
        delivery = enqueue(_finished_task(), receiver.url(), {"a": 1})
        CallbackSender(settings).deliver_due()
        assert _row(delivery).state == "delivered"
        assert "authorization" not in receiver.attempts[0].headers


def test_an_unreachable_receiver_is_retried_and_after_the_retry_window_the_delivery_fails(settings, any_store):
    dead = f"http://127.0.0.1:{free_port()}/gone"
    sender = CallbackSender(settings.with_overrides(callback_retry_s=60))
    with store.database.connection_context():
        recent = enqueue(_finished_task("e", 1), dead, {"n": 1})
        old = enqueue(_finished_task("e", 2), dead, {"n": 2}, now=time.time() - 61)
        sender.deliver_due()
        recent, old = _row(recent), _row(old)
    assert recent.state == "pending" and "cannot reach" in recent.last_error and "refused" in recent.last_error
    assert old.state == "failed" and old.attempts == 1 and "refused" in old.last_error


def test_a_delivery_outlives_its_task_row(settings, any_store):
    """Deleting an entry deletes its task log; a result already on its way is still delivered."""
    with CallbackReceiver() as receiver, store.database.connection_context():
        task = _finished_task()
        delivery = enqueue(task, receiver.url(), {"n": 1})
        store.Task.delete().where(store.Task.id == task.id).execute()
        assert _row(delivery).task_id is None
        CallbackSender(settings).deliver_due()
        assert _row(delivery).state == "delivered" and receiver.accepted[0].json() == {"n": 1}


def test_the_sender_thread_delivers_when_woken_and_stops(settings, any_store):
    sender = CallbackSender(settings)
    with CallbackReceiver() as receiver:
        sender.start()
        try:
            with store.database.connection_context():
                enqueue(_finished_task(), receiver.url(), {"n": 1})
            sender.wake()
            receiver.wait_for(1, timeout=10)
        finally:
            sender.stop()
    assert not sender._thread.is_alive()


def test_a_task_interrupted_by_a_crash_is_counted_and_its_callback_queued_at_the_restart(settings, any_store):
    from scos_gr import tally
    from scos_gr.scheduler.service import Scheduler

    public = settings.with_overrides(public_url="https://sensor9.example.org")
    with store.database.connection_context():
        owner = store.User.create_with_token("owner")[0]
        store.ScheduleEntry.create(name="cb", action="logger", start=0, owner=owner, callback_url="http://m.example/in")
        store.ScheduleEntry.create(name="plain", action="logger", start=0, owner=owner)
        for name in ("cb", "plain"):
            store.Task.create(entry_name=name, task_id=1, action="logger", status=store.TASK_IN_PROGRESS)
    Scheduler(public).recover()
    with store.database.connection_context():
        deliveries = list(store.CallbackDelivery.select())
        counters, _ = tally.read()
    assert len(deliveries) == 1 and deliveries[0].url == "http://m.example/in"
    payload = deliveries[0].payload
    assert payload["url"] == "https://sensor9.example.org/api/v1/tasks/cb/1/"
    assert payload["status"] == "failure" and payload["detail"].startswith("interrupted")
    assert [(labels, v) for labels, v in counters["scos_tasks"]] == [({"action": "logger", "status": "failure"}, 2)]
