"""The statistics tests on the demo: one demo store, built and released once per
session in a process of its own (tests/demo_store.py), started as soon as these
tests are collected so that it is made while the rest of the suite runs; each
module here waits for it and works on a copy of its own (`demo`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.demo_store import demo, start

__all__ = ["demo"]

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.option.collectonly:
        return
    if any(HERE in Path(item.path).resolve().parents for item in items):
        start(config._tmp_path_factory)  # type: ignore[attr-defined] - pytest's own factory
