"""Fixtures of the panel's tests: each test module gets its own panel stack (module scope), and a client area in
Chromium over it where the module asks for `site`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rig.panel_sites import Site
from rig.services import MariaDB, MinIO
from tests.support.panel_rig import PanelStack, start_client_area, start_panel_stack


@pytest.fixture(scope="module")
def stack(mariadb: MariaDB, whmcs_db: str, minio: MinIO) -> Iterator[PanelStack]:
    yield from start_panel_stack(mariadb, whmcs_db, minio)


@pytest.fixture(scope="module")
def site(stack: PanelStack) -> Iterator[Site]:
    yield from start_client_area(stack)
