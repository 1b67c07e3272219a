"""The store: peewee models shared by the API and the scheduler, and how to open the database.

One module holds every model so that dependencies keep pointing one way: the web layer and the
scheduler both import the store, and neither imports the other. Rows reference schedule entries
by *name* (not a foreign key) on purpose: a task that is running when its entry is deleted still
records its outcome and recording under that name (spec: "the recording is never lost").

SQLite is the embedded default (WAL mode, so the web threads read while the scheduler process
writes); PostgreSQL is chosen with ``DATABASE_URL=postgresql://...``. ``init_store`` creates
missing tables and adds missing columns, so an upgrade never loses data.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import secrets
import sqlite3
import threading
from pathlib import Path
from typing import Any

import peewee
from playhouse.db_url import connect as _connect_url

database = peewee.DatabaseProxy()

TASK_IN_PROGRESS = "in-progress"
TASK_SUCCESS = "success"
TASK_FAILURE = "failure"

CALLBACK_PENDING = "pending"
CALLBACK_DELIVERED = "delivered"
CALLBACK_FAILED = "failed"


def utcnow() -> _dt.datetime:
    """Naive UTC datetime (stored as such on both backends)."""
    return _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None)


def iso(ts: _dt.datetime | None) -> str | None:
    """ISO 8601 UTC with milliseconds and a Z, as the API prints times."""
    if ts is None:
        return None
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


class JSONField(peewee.TextField):
    """A JSON document stored as text (works the same on SQLite and PostgreSQL)."""

    def db_value(self, value: Any) -> str | None:
        return None if value is None else json.dumps(value, separators=(",", ":"))

    def python_value(self, value: str | None) -> Any:
        return None if value is None else json.loads(value)


class BaseModel(peewee.Model):
    class Meta:
        database = database


class User(BaseModel):
    """A client of the API. Only a SHA-256 of the token is stored; the token is shown once."""

    name = peewee.CharField(max_length=150, unique=True)
    token_hash = peewee.CharField(max_length=64, unique=True)
    is_admin = peewee.BooleanField(default=False)
    created = peewee.DateTimeField(default=utcnow)

    @staticmethod
    def hash_token(token: str) -> str:
        return hashlib.sha256(token.encode("utf-8")).hexdigest()

    @classmethod
    def create_with_token(cls, name: str, is_admin: bool = False) -> tuple["User", str]:
        """Create a user with a fresh random token (256 bits); return (user, token)."""
        token = secrets.token_hex(32)
        user = cls.create(name=name, token_hash=cls.hash_token(token), is_admin=is_admin)
        return user, token

    def rotate_token(self) -> str:
        """Give the user a fresh random token and return it; the old one stops working with this
        write (every request looks its token's hash up anew)."""
        token = secrets.token_hex(32)
        self.token_hash = self.hash_token(token)
        type(self).update(token_hash=self.token_hash).where(type(self).id == self.id).execute()
        return token


class ScheduleEntry(BaseModel):
    """A schedule entry as the API describes it; the scheduler advances next_task_*."""

    name = peewee.CharField(max_length=50, unique=True)
    action = peewee.CharField(max_length=100)
    priority = peewee.IntegerField(default=10)
    start = peewee.BigIntegerField()
    stop = peewee.BigIntegerField(null=True)
    interval = peewee.IntegerField(null=True)
    is_active = peewee.BooleanField(default=True)
    is_private = peewee.BooleanField(default=False)
    owner = peewee.ForeignKeyField(User, backref="schedule_entries", on_delete="CASCADE")
    next_task_time = peewee.BigIntegerField(null=True, index=True)
    next_task_id = peewee.IntegerField(default=1)
    created = peewee.DateTimeField(default=utcnow)
    modified = peewee.DateTimeField(default=utcnow)
    callback_url = peewee.TextField(null=True)  # receives each task's JSON (spec: callbacks)


class Task(BaseModel):
    """One executed (or executing) task of an entry, whatever its outcome."""

    entry_name = peewee.CharField(max_length=50)
    task_id = peewee.IntegerField()
    action = peewee.CharField(max_length=100)
    status = peewee.CharField(max_length=16, default=TASK_IN_PROGRESS)
    detail = peewee.TextField(default="")
    scheduled_time = peewee.BigIntegerField(null=True)
    started = peewee.DateTimeField(default=utcnow)
    finished = peewee.DateTimeField(null=True)
    duration_s = peewee.FloatField(null=True)

    class Meta:
        indexes = ((("entry_name", "task_id"), True),)


class Acquisition(BaseModel):
    """The SigMF recording one successful task produced. Paths are relative to the data dir.

    The row is committed only after both files exist (written atomically), so a row always
    points at a complete recording; the metadata is kept here too so lists need no file reads.
    """

    entry_name = peewee.CharField(max_length=50)
    task_id = peewee.IntegerField()
    created = peewee.DateTimeField(default=utcnow)
    meta_path = peewee.CharField(max_length=1024)
    data_path = peewee.CharField(max_length=1024)
    data_bytes = peewee.BigIntegerField(default=0)
    sha512 = peewee.CharField(max_length=128, default="")
    sigmf_metadata = JSONField()

    class Meta:
        indexes = ((("entry_name", "task_id"), True),)


class SchedulerState(BaseModel):
    """The scheduler's heartbeat (one row, id 1), read by /status in any web worker."""

    state = peewee.CharField(max_length=16, default="idle")  # running | idle | stopped
    current_entry = peewee.CharField(max_length=50, null=True)
    current_task_id = peewee.IntegerField(null=True)
    heartbeat = peewee.DoubleField(default=0.0)  # epoch seconds of the last beat
    started = peewee.DoubleField(default=0.0)
    pid = peewee.IntegerField(null=True)
    radio_args = peewee.CharField(max_length=512, default="")
    radio_healthy = peewee.BooleanField(default=True)
    radio_detail = peewee.TextField(default="")
    owner = peewee.CharField(max_length=64, null=True)  # the running scheduler's lock token
    host = peewee.CharField(max_length=255, default="")
    radio_driver = peewee.CharField(max_length=32, default="")
    radio_min_frequency = peewee.DoubleField(null=True)
    radio_max_frequency = peewee.DoubleField(null=True)
    last_task = JSONField(null=True)  # {"schedule_entry", "task_id", "status", "finished"}


class CallbackDelivery(BaseModel):
    """One task's result on its way to the entry's ``callback_url``: the durable queue of
    ``scheduler/callbacks.py``. Written in the transaction that records the task, so a task with
    a callback URL always has its delivery; it outlives a restart and the task's own row (the
    payload is the task's JSON as it finished)."""

    task = peewee.ForeignKeyField(Task, null=True, unique=True, on_delete="SET NULL", backref="callbacks")
    url = peewee.TextField()
    payload = JSONField()
    state = peewee.CharField(max_length=16, default=CALLBACK_PENDING)
    attempts = peewee.IntegerField(default=0)
    next_attempt = peewee.DoubleField()  # epoch seconds
    last_error = peewee.TextField(default="")
    created = peewee.DoubleField()  # epoch seconds: retries go on until created + SCOS_CALLBACK_RETRY_FOR
    finished = peewee.DateTimeField(null=True)

    class Meta:
        indexes = ((("state", "next_attempt"), False),)


class MetricTally(BaseModel):
    """A running total for ``GET /metrics`` (``scos_gr/tally.py``): one row per sample name and
    label set, added to in the transaction that records a task. Kept apart from the task log so
    that counters never go down when an entry's log or its recordings are deleted."""

    name = peewee.CharField(max_length=100)
    labels = peewee.CharField(max_length=512)  # canonical JSON of the labels
    value = peewee.DoubleField(default=0.0)

    class Meta:
        indexes = ((("name", "labels"), True),)


MODELS: tuple[type[BaseModel], ...] = (User, ScheduleEntry, Task, Acquisition, SchedulerState, CallbackDelivery,
                                       MetricTally)


def open_database(url: str) -> peewee.Database:
    """Open (without binding) the database for ``url``, tuned for our threads and processes."""
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        path.parent.mkdir(parents=True, exist_ok=True)
        return peewee.SqliteDatabase(
            str(path),
            pragmas={
                "journal_mode": "wal",
                "synchronous": "normal",
                "busy_timeout": 10000,
                "foreign_keys": 1,
            },
            timeout=10,
        )
    # PostgreSQL needs no option: peewee runs in autocommit mode, so a failed statement does not
    # leave the connection aborted
    return _connect_url(url)


def write_transaction() -> Any:
    """A transaction for a read-then-write; on SQLite it takes the write lock at BEGIN (IMMEDIATE).

    A deferred SQLite transaction that reads and then writes cannot wait for a concurrent writer
    (the busy timeout does not cover that upgrade in WAL mode): it fails at once with "database
    is locked". Taking the lock first makes it wait its turn. PostgreSQL needs nothing special.
    """
    db = database.obj
    if isinstance(db, peewee.SqliteDatabase):
        return db.atomic("IMMEDIATE")
    return database.atomic()


def init_store(url: str) -> peewee.Database:
    """Bind the models to ``url``, create missing tables and add missing columns."""
    db = open_database(url)
    database.initialize(db)
    with db.connection_context():
        db.create_tables(MODELS, safe=True)
        _add_missing_columns(db)
    if isinstance(db, peewee.SqliteDatabase):
        _keep_wal_open(db.database)
    return db


#: one idle connection per SQLite file this process uses, held for the life of the process
_wal_keepers: dict[str, sqlite3.Connection] = {}
_wal_keepers_lock = threading.Lock()


def _keep_wal_open(path: str) -> None:
    """Hold one idle connection to the SQLite file ``path`` open for the life of the process.

    In WAL mode the last connection to a database that closes checkpoints the WAL into it and
    deletes it, with fsyncs: 1-3 ms per close here, 10 ms and more on a busy disk. peewee opens
    and closes a connection for every unit of work (``connection_context``), so each scheduler
    step of a task and each API request paid for a checkpoint. With this connection open (it
    holds no transaction, so it never blocks a writer or a checkpoint) a close costs nothing and
    SQLite checkpoints the WAL as it grows (its automatic checkpoint, every 1000 pages).
    """
    if path == ":memory:" or path.startswith("file:"):
        return
    key = str(Path(path).resolve())
    with _wal_keepers_lock:
        if key in _wal_keepers:
            return
        keeper = sqlite3.connect(key, isolation_level=None, check_same_thread=False)
        keeper.execute("SELECT count(*) FROM sqlite_master").fetchall()  # opens the WAL and its index
        _wal_keepers[key] = keeper


def _add_missing_columns(db: peewee.Database) -> None:
    """Forward-only migration: a column added to a model is added to an existing table."""
    from playhouse.migrate import SchemaMigrator, migrate

    migrator = SchemaMigrator.from_database(db)
    operations = []
    for model in MODELS:
        table = model._meta.table_name
        existing = {c.name for c in db.get_columns(table)}
        for fld in model._meta.sorted_fields:
            if fld.column_name not in existing:
                if not fld.null and fld.default is None:
                    fld = fld.clone()  # type: ignore[assignment]
                    fld.null = True
                operations.append(migrator.add_column(table, fld.column_name, fld))
    if operations:
        with db.atomic():
            migrate(*operations)
