"""Graceful shutdown: SIGTERM lets in-flight requests and ctx.wait_until work finish."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import httpx
import pytest

from tests.helpers import ServerProcess, make_deployment, wait_for

FILES = {
    "functions/slow.py": """
        import asyncio
        from pathlib import Path

        async def fetch(request, env):
            Path("slow.started").write_text("yes")
            await asyncio.sleep(0.8)
            return "finished slowly"
    """,
    "functions/later.py": """
        import asyncio
        from pathlib import Path

        async def write_after(delay, name):
            await asyncio.sleep(delay)
            Path(name).write_text("done")

        async def fetch(request, env, ctx):
            ctx.wait_until(write_after(3.0, "later.done"))
            return "responded"
    """,
}


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_lets_an_in_flight_request_finish(tmp_path: Path, sig: int) -> None:
    root = make_deployment(tmp_path, FILES)
    result: dict[str, httpx.Response] = {}
    with ServerProcess(root) as server:
        worker = threading.Thread(target=lambda: result.update(r=httpx.get(server.url + "/slow", timeout=10)))
        worker.start()
        wait_for(lambda: (root / "slow.started").exists(), what="the slow request to start")
        server.stop(sig)
        worker.join(10)
    assert result["r"].status_code == 200
    assert result["r"].text == "finished slowly"
    assert "GET /slow worker=slow status=200" in server.log


def test_wait_until_runs_after_the_response_and_shutdown_waits_for_it(tmp_path: Path) -> None:
    root = make_deployment(tmp_path, FILES)
    with ServerProcess(root) as server:
        r = server.get("/later")
        assert r.text == "responded"
        assert not (root / "later.done").exists()  # the response did not wait for it
        server.stop(signal.SIGTERM)
    assert (root / "later.done").read_text() == "done"
    assert "wait_until" in server.log
