"""The OpenAPI document (``openapi.yaml``), served at ``/api/v1/schema/``."""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

DOCUMENT_PATH = Path(__file__).resolve().parent / "openapi.yaml"


@functools.cache
def document() -> dict[str, Any]:
    """The parsed document (read once per process: it ships with the code and never changes)."""
    return yaml.safe_load(DOCUMENT_PATH.read_text(encoding="utf-8"))
