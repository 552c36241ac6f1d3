"""Fixtures of the store contract suite: one store per backend of impls.BACKENDS."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from host.workflows.store import InstanceStore
from tests.store.crash import Zygote
from tests.store.impls import BACKENDS, Backend


@pytest.fixture(params=BACKENDS, ids=[backend.name for backend in BACKENDS])
def backend(request: pytest.FixtureRequest) -> Backend:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


class Stores:
    """Stores on one data directory, as separate processes would each have one; all closed at
    the end of the test."""

    def __init__(self, backend: Backend, data_dir: Path) -> None:
        self.backend = backend
        self.data_dir = data_dir
        self._made: list[InstanceStore] = []

    def new(self) -> InstanceStore:
        store = self.backend.make(self.data_dir)
        self._made.append(store)
        return store

    async def finish(self, store: InstanceStore) -> None:
        """Close `store` now: every write it queued has landed when this returns."""
        self._made.remove(store)
        await store.aclose()

    async def close(self) -> None:
        for store in reversed(self._made):
            await store.aclose()


@pytest.fixture
async def stores(backend: Backend, data_dir: Path, anyio_backend: str) -> AsyncIterator[Stores]:
    made = Stores(backend, data_dir)
    yield made
    await made.close()


@pytest.fixture
def store(stores: Stores) -> InstanceStore:
    return stores.new()


@pytest.fixture(scope="session")
def zygote() -> Iterator[Zygote]:
    server = Zygote()
    yield server
    server.close()
