from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cluster.ray_cluster import RayCluster, ray_cluster


@pytest.fixture(scope="session")
def cluster() -> Iterator[RayCluster]:
    """One Ray cluster for the session's cluster tests (2 CPUs, 100 MiB of object store)."""
    with ray_cluster() as started:
        yield started
