"""`serve` starts the scheduler through a lazy import and keeps serving when there is none."""
from __future__ import annotations

import logging
import sys

from scos_gr import store
from scos_gr.errors import SchedulerError
from scos_gr.api import server


def test_no_scheduler_module_means_api_only_with_a_log_line(settings, monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "scos_gr.scheduler.service", None)  # import now raises ImportError
    with caplog.at_level(logging.WARNING, logger="scos_gr.api"):
        assert server.start_scheduler(settings) is None
    assert "serving the API only" in caplog.text


def test_the_scheduler_is_started_through_start_in_background(settings, monkeypatch):
    from scos_gr.scheduler import service

    started = []
    monkeypatch.setattr(service, "start_in_background", lambda s: started.append(s) or "handle")
    assert server.start_scheduler(settings) == "handle" and started == [settings]


def test_first_user_made_by_another_process_in_between_is_not_an_error(settings, sqlite_store, monkeypatch, capsys):
    store.User.create_with_token("admin", is_admin=True)  # the other process won the race...
    real_select = store.User.select

    class _SawNoUser:  # ...after this one had looked and seen no user
        def exists(self) -> bool:
            monkeypatch.setattr(store.User, "select", real_select)
            return False

    monkeypatch.setattr(store.User, "select", lambda *a: _SawNoUser())
    server.ensure_first_user(settings)
    assert capsys.readouterr().out == ""  # no token printed: none was created
    assert [u.name for u in store.User.select()] == ["admin"]


class _SchedulerBusy(SchedulerError):
    """Any SchedulerError (SchedulerLockError is one): a sentence for the operator, no trace."""


def _failing_start(monkeypatch, error: Exception) -> None:
    from scos_gr.scheduler import service

    def start_in_background(settings):
        raise error

    monkeypatch.setattr(service, "start_in_background", start_in_background)


def test_a_scheduler_error_at_start_is_one_line_and_exit_1(settings, monkeypatch, caplog, capsys):
    _failing_start(monkeypatch, _SchedulerBusy("another scheduler is running for this database"))
    with caplog.at_level(logging.ERROR, logger="scos_gr.api"):
        assert server.serve(settings) == 1
    assert "error: another scheduler is running for this database" in capsys.readouterr().err
    assert not caplog.records  # caught by class: no trace for an error reported on purpose


def test_any_other_error_at_start_logs_its_trace_and_exits_1(settings, monkeypatch, caplog, capsys):
    _failing_start(monkeypatch, RuntimeError("a defect"))
    with caplog.at_level(logging.ERROR, logger="scos_gr.api"):
        assert server.serve(settings) == 1
    assert "error: a defect" in capsys.readouterr().err
    assert [r.exc_info[0] for r in caplog.records] == [RuntimeError]
