"""The store keeps each SQLite file's write-ahead log open between units of work.

In WAL mode the last connection that closes checkpoints the log into the database and deletes
it, with fsyncs (1-10 ms), which every scheduler step and API request would pay for if a unit of
work closed its connection. The store's pool keeps its connections open between units of work.
"""
from __future__ import annotations

import sqlite3

from scos_gr import store


def test_closing_a_connection_after_a_write_leaves_the_wal_in_place(tmp_path):
    path = tmp_path / "scos.db"
    store.init_store(f"sqlite:///{path}")
    with store.database.connection_context():
        store.SchedulerState.create(id=1, state="idle", heartbeat=1.0)
    wal = tmp_path / "scos.db-wal"
    assert wal.is_file(), "the last close checkpointed and deleted the WAL: the pool kept no connection open"
    # the data is there for any other reader (an idle pooled connection holds no transaction)
    other = sqlite3.connect(path)
    assert other.execute("SELECT state FROM schedulerstate WHERE id = 1").fetchall() == [("idle",)]
    other.close()


def test_a_writer_is_not_blocked_and_the_log_is_checkpointed_as_it_grows(tmp_path):
    path = tmp_path / "scos.db"
    store.init_store(f"sqlite:///{path}")
    with store.database.connection_context():
        store.SchedulerState.create(id=1, state="idle", heartbeat=0.0)
    for i in range(300):  # each update its own transaction; the automatic checkpoint keeps the log bounded
        with store.database.connection_context():
            store.SchedulerState.update(heartbeat=float(i), last_task={"detail": "x" * 4000}).where(
                store.SchedulerState.id == 1).execute()
    conn = sqlite3.connect(path)
    busy, log_pages, checkpointed = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    conn.close()
    assert busy == 0 and checkpointed == log_pages
