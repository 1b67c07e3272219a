"""Fixtures shared by every room's tests."""
from __future__ import annotations

import pytest

from scos_gr.config import Settings, load_settings
from scos_gr import store


@pytest.fixture
def settings(tmp_path) -> Settings:
    """Settings with a private data dir and SQLite database under tmp_path."""
    return load_settings({"SCOS_DATA_DIR": str(tmp_path / "data")})


@pytest.fixture
def sqlite_store(settings):
    """The store bound to a fresh SQLite database; yields the peewee database."""
    db = store.init_store(settings.database_url)
    yield db
    db.close()


@pytest.fixture(scope="session")
def pg_cluster():
    """A throwaway PostgreSQL cluster for the whole run (tests/pgcluster.py); fails if it can't start."""
    from tests.pgcluster import PostgresCluster

    cluster = PostgresCluster().start()
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request, settings):
    """The store on SQLite and on a throwaway PostgreSQL database, for what must hold on both
    (upserts, foreign keys' ON DELETE rules)."""
    url = request.getfixturevalue("pg_cluster").create_database() if request.param == "postgresql" \
        else settings.database_url
    db = store.init_store(url)
    yield db
    db.close()
