"""The store: peewee models shared by the API and the scheduler, and how to open the database.

One module holds every model so that dependencies keep pointing one way: the web layer and the
scheduler both import the store, and neither imports the other. Rows reference schedule entries
by *name* (not a foreign key): the task log and the recordings are the record of what ran, and
an entry is deleted only when no task of it is running (409) and none of its recordings is left
(400), so a name that is taken again never inherits rows of the entry that had it before.

SQLite is the embedded default (WAL mode, so the web threads read while the scheduler process
writes); PostgreSQL is chosen with ``DATABASE_URL=postgresql://...``. ``init_store`` creates
missing tables and adds missing columns, so an upgrade never loses data.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import secrets
from pathlib import Path
from typing import Any

import peewee
from playhouse.db_url import parse as parse_url
from playhouse.pool import PooledPostgresqlDatabase, PooledSqliteDatabase

database = peewee.DatabaseProxy()

TASK_IN_PROGRESS = "in-progress"
TASK_SUCCESS = "success"
TASK_FAILURE = "failure"
RETENTION_REMOVED = "removed"

CALLBACK_PENDING = "pending"
CALLBACK_DELIVERED = "delivered"
CALLBACK_FAILED = "failed"


def utcnow() -> _dt.datetime:
    """Naive UTC datetime (stored as such on both backends)."""
    return _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None)


def utc_of(epoch: float) -> _dt.datetime:
    """The naive UTC datetime of an epoch time (as :func:`utcnow` gives)."""
    return _dt.datetime.fromtimestamp(epoch, _dt.timezone.utc).replace(tzinfo=None)


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
    #: RETENTION_REMOVED when data retention removed its recording (the row stays)
    retention = peewee.CharField(max_length=16, null=True)

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
    faults = JSONField(null=True)  # what the scheduler finds wrong: [{"kind", "detail", "since"}]


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

#: names that differ only in case are one name (spec): (table, column) made unique whatever the case
CASE_INSENSITIVE_UNIQUE = ((User, "name"), (ScheduleEntry, "name"))


def same_name(field: peewee.Field, name: str) -> peewee.Expression:
    """``field`` holds ``name`` in any case (spec: names differing only in case are one name)."""
    return peewee.fn.LOWER(field) == name.lower()


#: connections a process keeps open (the web server's 16 threads, the scheduler's few, margin)
POOL_CONNECTIONS = 32
#: seconds a statement waits for a lock (SQLite's busy timeout, PostgreSQL's lock_timeout) before
#: it fails with "database is locked" (then the API answers 503, the scheduler retries)
LOCK_WAIT_S = 10
#: seconds to wait for a PostgreSQL server that does not answer at all
CONNECT_TIMEOUT_S = 5


def open_database(url: str) -> peewee.Database:
    """Open (without binding) the database for ``url``, tuned for our threads and processes.

    Pooled on both backends (``connection_context()`` takes a connection from the process's pool
    and gives it back): on PostgreSQL a new connection per request cost 27 ms; on SQLite open
    connections keep the WAL files in place, so reads go on when the disk is full or read-only
    (the last connection to close deletes them, and a full disk refuses to make them again).
    """
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        path.parent.mkdir(parents=True, exist_ok=True)
        return PooledSqliteDatabase(
            str(path),
            pragmas={
                "journal_mode": "wal",
                "synchronous": "normal",
                "busy_timeout": LOCK_WAIT_S * 1000,
                "foreign_keys": 1,
            },
            timeout=LOCK_WAIT_S,
            max_connections=POOL_CONNECTIONS,
            check_same_thread=False,  # a pooled connection serves whichever thread takes it next
        )
    # PostgreSQL: peewee runs in autocommit mode, so a failed statement does not leave the
    # connection aborted; a connection found broken (server restarted) is dropped from the pool
    return PooledPostgresqlDatabase(
        **parse_url(url), max_connections=POOL_CONNECTIONS, stale_timeout=300, timeout=LOCK_WAIT_S,
        connect_timeout=CONNECT_TIMEOUT_S, options=f"-c lock_timeout={LOCK_WAIT_S * 1000}")


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
    previous = database.obj
    database.initialize(db)
    if isinstance(previous, PooledSqliteDatabase | PooledPostgresqlDatabase) and previous is not db:
        previous.close_idle()  # rebound (tests do it): its idle connections are no one's now
    with db.connection_context():
        db.create_tables(MODELS, safe=True)
        _add_missing_columns(db)
        _add_case_insensitive_unique_indexes(db)
    return db


def _add_case_insensitive_unique_indexes(db: peewee.Database) -> None:
    """A unique index on LOWER(name), so two requests racing with ``Alpha`` and ``alpha`` cannot
    both win. A database made before this rule may already hold such a pair: it is kept (nothing
    is lost), logged, and the check before each insert still refuses new ones."""
    import logging

    for model, column in CASE_INSENSITIVE_UNIQUE:
        table = model._meta.table_name
        index = f"{table}_{column}_lower"
        try:
            with db.atomic():
                db.execute_sql(f'CREATE UNIQUE INDEX IF NOT EXISTS "{index}" ON "{table}" (LOWER("{column}"))')
        except peewee.IntegrityError as exc:
            logging.getLogger(__name__).warning(
                "%s: names that differ only in case exist already (%s); new ones are refused, but without "
                "the unique index %s", table, exc, index)


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
