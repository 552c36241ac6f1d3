"""Loading worker files: the three handler forms, their arity, module isolation, user-facing import errors."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from host.errors import WorkerLoadError
from host.runtime.loader import load_worker, module_name
from tests.helpers import write_files

SOURCES = {
    "two.py": "async def fetch(request, env):\n    return ('two', request, env)\n",
    "three.py": "async def fetch(request, env, ctx):\n    return ('three', request, env, ctx)\n",
    "old.py": "async def on_fetch(request, env, ctx):\n    return ('on_fetch', request, env, ctx)\n",
    "cls.py": (
        "from workers import WorkerEntrypoint\n\n"
        "class Default(WorkerEntrypoint):\n"
        "    async def fetch(self, request):\n"
        "        return ('class', request, self.env, self.ctx)\n"
    ),
    "both.py": (
        "async def fetch(request, env):\n    return 'fetch wins'\n\n"
        "async def on_fetch(request, env, ctx):\n    return 'on_fetch'\n"
    ),
}


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("file", "form", "expected"),
    [
        ("two.py", "fetch", ("two", "req", "env")),
        ("three.py", "fetch", ("three", "req", "env", "ctx")),
        ("old.py", "on_fetch", ("on_fetch", "req", "env", "ctx")),
        ("cls.py", "class", ("class", "req", "env", "ctx")),
        ("both.py", "fetch", "fetch wins"),
    ],
)
async def test_handler_forms(tmp_path: Path, file: str, form: str, expected: object) -> None:
    write_files(tmp_path, SOURCES)
    worker = load_worker(f"w-{file[:-3]}", tmp_path / file)
    assert worker.form == form
    assert worker.handler is not None
    assert await worker.handler("req", "env", "ctx") == expected


def test_each_worker_gets_its_own_module(tmp_path: Path) -> None:
    write_files(tmp_path, {"a.py": "STATE = []\n", "b.py": "STATE = []\n"})
    a, b = load_worker("a", tmp_path / "a.py"), load_worker("b", tmp_path / "b.py")
    assert a.module is not b.module and a.module.STATE is not b.module.STATE
    assert sys.modules[module_name("a")] is a.module
    assert (a.handler, a.form) == (None, "none")


def test_import_error_points_at_the_users_line_and_keeps_the_old_module(tmp_path: Path) -> None:
    write_files(tmp_path, {"w.py": "VERSION = 1\n"})
    good = load_worker("keep", tmp_path / "w.py")
    write_files(tmp_path, {"w.py": "VERSION = 2\n\n\ndef helper():\n    return {}['missing']\n\nhelper()\n"})
    with pytest.raises(WorkerLoadError) as info:
        load_worker("keep", tmp_path / "w.py")
    assert str(info.value).endswith("w.py:5: KeyError: 'missing'")
    assert sys.modules[module_name("keep")] is good.module


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    write_files(tmp_path, {"s.py": "x = 1\ny = (\n"})
    with pytest.raises(WorkerLoadError, match=r"s\.py:2: SyntaxError: "):
        load_worker("s", tmp_path / "s.py")


ARITY = {
    "none.py": "async def fetch():\n    return ('none',)\n",
    "one.py": "def fetch(request):\n    return ('one', request)\n",
    "defaults.py": "async def on_fetch(request, env=None):\n    return ('defaults', request, env)\n",
    "star.py": "async def fetch(*args):\n    return ('star', *args)\n",
    "cls0.py": (
        "from workers import WorkerEntrypoint\n\n"
        "class Default(WorkerEntrypoint):\n"
        "    async def fetch(self):\n"
        "        return ('cls0', self.env, self.ctx)\n"
    ),
    "cls3.py": (
        "class Default:\n"  # not a WorkerEntrypoint: env and ctx are still set
        "    async def fetch(self, request, env, ctx):\n"
        "        return ('cls3', request, env, ctx, self.env, self.ctx)\n"
    ),
    "static.py": (
        "class Default:\n"
        "    @staticmethod\n"
        "    async def fetch(request):\n"
        "        return ('static', request)\n"
    ),
    "client.py": (
        "from workers import Response, WorkerEntrypoint, fetch\n\n"
        "class Default(WorkerEntrypoint):\n"
        "    async def fetch(self, request):\n"
        "        return ('class, not the imported fetch', request)\n"
    ),
}


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("file", "expected"),
    [
        ("none.py", ("none",)),
        ("one.py", ("one", "req")),
        ("defaults.py", ("defaults", "req", "env")),
        ("star.py", ("star", "req", "env", "ctx")),
        ("cls0.py", ("cls0", "env", "ctx")),
        ("cls3.py", ("cls3", "req", "env", "ctx", "env", "ctx")),
        ("static.py", ("static", "req")),
        ("client.py", ("class, not the imported fetch", "req")),
    ],
)
async def test_handlers_get_as_many_arguments_as_they_take(
    tmp_path: Path, file: str, expected: object
) -> None:
    write_files(tmp_path, ARITY)
    worker = load_worker(f"a-{file[:-3]}", tmp_path / file)
    assert worker.handler is not None
    result = worker.handler("req", "env", "ctx")
    if not isinstance(result, tuple):
        result = await result
    assert result == expected


@pytest.mark.parametrize(
    ("source", "hint"),
    [
        ("from js import HTMLRewriter\n", "Waypost's js stand-in has Date, Headers, JSON"),
        ("from workers import DurableObject\n", "Waypost's workers stand-in has FetchResponse, Headers"),
        (
            "import pyodide.code\n",
            "Waypost's pyodide stand-in has no pyodide.code; there is pyodide, pyodide.ffi",
        ),
    ],
)
def test_an_import_the_stand_ins_lack_names_what_they_have(tmp_path: Path, source: str, hint: str) -> None:
    write_files(tmp_path, {"w.py": source})
    with pytest.raises(WorkerLoadError) as info:
        load_worker("hint", tmp_path / "w.py")
    assert "w.py:1: " in str(info.value) and hint in str(info.value)
