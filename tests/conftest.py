"""Fixtures for the whole suite."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session", autouse=True)
def scratch_under_pytest_tmp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Service logs and deploy staging folders that the code under test makes in the temp dir
    (this process's and its children's) land in pytest's own temporary tree, which pytest
    prunes, instead of piling up in /tmp."""
    scratch = tmp_path_factory.mktemp("scratch")
    patch = pytest.MonkeyPatch()
    patch.setenv("TMPDIR", str(scratch))
    patch.setattr(tempfile, "tempdir", str(scratch))
    yield
    patch.undo()
