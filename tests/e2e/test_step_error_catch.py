"""A step's final error caught in run() (SPEC 3.2), through a real served host: the user's own
exception class arrives as host.StepError with `.name` the class name and str() the message; a
built-in one as its own type. Both live and when the error is replayed from the journal."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.helpers import ServerProcess, wait_for

DEPLOYMENT = Path(__file__).parent.parent / "deployments" / "steperror"


def test_a_user_exception_caught_in_run_is_a_step_error_named_after_its_class(tmp_path: Path) -> None:
    root = tmp_path / "deployment"
    shutil.copytree(DEPLOYMENT, root, ignore=shutil.ignore_patterns("__pycache__", "data"))
    with ServerProcess(root, extra_args=("--no-reload",)) as server:
        assert server.post("/catch", json={"id": "one"}).status_code == 200
        status = wait_for(
            lambda: (
                s if (s := server.get("/catch/one").json())["status"] in ("complete", "errored") else None
            ),
            what="the instance to finish",
        )
    assert status["status"] == "complete", status
    user = {
        "type": "StepError",
        "step_error": True,
        "name": "CardDeclined",
        "str": "card ending 4242 was declined",
    }
    builtin = {"type": "ValueError", "step_error": False, "name": None, "str": "not a number: 'x'"}
    assert status["output"] == {
        "user live": user,
        "user replayed": user,
        "builtin live": builtin,
        "builtin replayed": builtin,
    }
