"""host.testing as users run it: their test files, run by pytest in a subprocess, against the
sample deployment tests/deployments/testkit (an order workflow with a step that retries 5 times
10 s apart, a 1 hour sleep and a 24 hour event wait).

One user test has a wrong expectation and must fail, with the real output in its message: the
kit really runs the workflow. The outcomes are read from pytest's JUnit XML report.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

SAMPLE = Path(__file__).parent.parent / "deployments" / "testkit"

ANYIO_TESTS = """
import anyio
import pytest

from host import NonRetryableError

pytestmark = pytest.mark.anyio
CONFIG = "deployment/config.yaml"


@pytest.fixture
def anyio_backend():
    return "asyncio"


async def test_shipped_with_sleeps_disabled_and_a_mocked_event(waypost):
    dep = waypost.deployment(CONFIG)
    async with dep.workflow("order-workflow").modify() as m:
        await m.disable_sleeps()
        await m.mock_event("shipment", {"carrier": "dhl"})
    inst = await dep.env("orders").ORDERS.create(id="order-1", params={"total": 5})
    output = await inst.output(timeout=10)
    assert output == {"outcome": "shipped", "carrier": "dhl", "charge_id": "ch_order-1", "currency": "EUR"}
    journal = inst.journal()
    sleep = next(e for e in journal if e["type"] == "sleep")
    assert sleep["name"] == "let it settle" and sleep["until"] - sleep["t"] < 1  # not an hour
    event = next(e for e in journal if e["type"] == "event")
    assert event["event"]["payload"] == {"carrier": "dhl"}  # delivered through the real inbox
    assert (inst.path / "journal.jsonl").is_file()


async def test_refund_when_the_shipment_never_comes(waypost):
    dep = waypost.deployment(CONFIG)
    async with dep.workflow("order-workflow").modify() as m:
        await m.disable_sleeps()
        await m.mock_step_result({"name": "charge card"}, {"charge_id": "ch_mocked"})
        await m.force_event_timeout({"name": "wait for shipment"})
    inst = await dep.env("orders").ORDERS.create(params={"total": 5})
    await inst.wait_for_status("complete", timeout=10)
    output = (await inst.status())["output"]
    assert output["outcome"] == "refunded" and output["refund"] == {"refunded": "ch_mocked"}
    assert await inst.wait_for_step_result({"name": "charge card", "index": 1}) == {"charge_id": "ch_mocked"}
    waited = [e["type"] for e in inst.journal() if e.get("name") == "wait for shipment"]
    assert waited == ["wait", "wait_timeout"]


async def test_a_flaky_gateway_is_retried_without_the_delays(waypost):
    dep = waypost.deployment(CONFIG)
    async with dep.workflow("order-workflow").modify() as m:
        await m.disable_retry_delays()
        await m.disable_sleeps()
        await m.mock_step_error({"name": "charge card"}, ConnectionError("gateway timed out"), times=2)
        await m.mock_event("shipment", {"carrier": "ups"})
    inst = await dep.env("orders").ORDERS.create(params={"total": 7})
    charge = await inst.wait_for_step_result("charge card")
    assert charge["attempt"] == 3  # the real callback ran once the two mocked failures were spent
    fails = [e for e in inst.journal() if e["type"] == "step_fail"]
    assert [f["error"] for f in fails] == [{"name": "ConnectionError", "message": "gateway timed out"}] * 2
    assert all(f["retry_at"] - f["t"] < 1 for f in fails)  # not 10 s
    assert (await inst.output())["carrier"] == "ups"


async def test_a_gateway_down_for_good_errors_the_instance(waypost):
    dep = waypost.deployment(CONFIG)
    async with dep.workflow("order-workflow").modify() as m:
        await m.mock_step_error({"name": "charge card"}, NonRetryableError("card declined"))
    inst = await dep.env("orders").ORDERS.create(params={"total": 7})
    assert await inst.error() == {"name": "NonRetryableError", "message": "card declined"}
    assert sum(e["type"] == "step_start" for e in inst.journal()) == 1  # not retried


async def test_a_step_that_always_times_out_uses_up_its_retries(waypost):
    dep = waypost.deployment(CONFIG)
    async with dep.workflow("order-workflow").modify() as m:
        await m.disable_retry_delays()
        await m.force_step_timeout({"name": "charge card"})
    inst = await dep.env("orders").ORDERS.create(params={"total": 7})
    error = await inst.error()
    assert error["name"] == "TimeoutError" and "after 30 s" in error["message"], error
    assert sum(e["type"] == "step_fail" for e in inst.journal()) == 5  # limit 5: six attempts


async def test_every_wait_hibernates_and_the_run_replays(waypost):
    dep = waypost.deployment(CONFIG)
    async with dep.workflow("order-workflow").modify() as m:
        await m.hibernate_every_wait()
        await m.disable_sleeps()
        await m.disable_retry_delays()
        await m.mock_step_error({"name": "charge card"}, ConnectionError("flaky"), times=1)
    inst = await dep.env("orders").ORDERS.create(params={"total": 9})

    def hibernated_in_the_event_wait():
        types = [e.get("status", e["type"]) for e in inst.journal()]
        return "wait" in types and "waiting" in types[types.index("wait") :]

    while not hibernated_in_the_event_wait():
        await inst.wait_for_status(["waiting", "running", "queued"])
        await anyio.sleep(0.005)
    await inst.send_event(type="shipment", payload={"carrier": "post"})
    assert (await inst.output())["carrier"] == "post"
    statuses = [e["status"] for e in inst.journal() if e["type"] == "status"]
    # unloaded at the retry delay, the sleep and the event wait; each time run() replayed
    assert statuses.count("waiting") == 3 and statuses.count("running") == 4, statuses


async def test_every_wait_hibernates_even_one_a_modifier_ends_at_once(waypost):
    dep = waypost.deployment(CONFIG)
    async with dep.workflow("order-workflow").modify() as m:
        await m.hibernate_every_wait()
        await m.disable_sleeps()
        await m.force_event_timeout({"name": "wait for shipment"})
    inst = await dep.env("orders").ORDERS.create(params={"total": 3})
    assert (await inst.output())["outcome"] == "refunded"
    statuses = [e["status"] for e in inst.journal() if e["type"] == "status"]
    # the sleep and the event wait both ended at once, and the instance still unloaded at each
    assert statuses.count("waiting") == 2 and statuses.count("running") == 3, statuses


async def test_without_modifiers_the_hour_long_sleep_is_real(waypost):
    dep = waypost.deployment(CONFIG)
    inst = await dep.env("orders").ORDERS.create(params={"total": 1})
    await inst.wait_for_status("waiting")
    sleep = next(e for e in inst.journal() if e["type"] == "sleep")
    assert sleep["until"] - sleep["t"] > 3599  # the real hour: the instance hibernated until then


async def test_disable_sleeps_for_one_step_only(waypost):
    dep = waypost.deployment(CONFIG)
    async with dep.workflow("order-workflow").modify() as m:
        await m.disable_sleeps([{"name": "let it settle", "index": 2}])  # there is no second one
        await m.mock_event("shipment", {"carrier": "dhl"})
    first = await dep.env("orders").ORDERS.create(params={"total": 1})
    await first.wait_for_status("waiting")  # its one sleep is index 1: a real hour
    async with dep.workflow("order-workflow").modify() as m:
        await m.disable_sleeps([{"name": "let it settle", "index": 1}])
    second = await dep.env("orders").ORDERS.create(params={"total": 1})
    assert (await second.output())["outcome"] == "shipped"
    assert (await first.status())["status"] == "waiting"  # recorded before: it keeps its hour


async def test_bad_selectors_and_mocks_are_clear_errors(waypost):
    dep = waypost.deployment(CONFIG)
    with pytest.raises(LookupError, match="no workflow 'nope'"):
        dep.workflow("nope")
    with pytest.raises(LookupError, match="no worker 'nope'"):
        dep.env("nope")
    async with dep.workflow("order-workflow").modify() as m:
        with pytest.raises(ValueError, match="'index' counts uses of the name from 1"):
            await m.mock_step_result({"name": "charge card", "index": 0}, 1)
        with pytest.raises(ValueError, match="unknown key 'idx'"):
            await m.force_step_timeout({"name": "charge card", "idx": 1})
        with pytest.raises(ValueError, match="times must be a positive integer"):
            await m.mock_step_error("charge card", "boom", times=0)
        with pytest.raises(ValueError, match="not JSON|JSON"):
            await m.mock_step_result("charge card", object())
    inst = await dep.env("orders").ORDERS.create(params={"total": 1})
    with pytest.raises(ValueError, match="unknown status 'done'"):
        await inst.wait_for_status("done")
    from host.testing import WaitFailed

    await inst.wait_for_status("waiting")  # at its sleep, so the message below names it
    with pytest.raises(WaitFailed, match="still waiting .for sleep 'let it settle'. after 0.2 s, not comp"):
        await inst.output(timeout=0.2)


LEFT_RUNNING = []


async def test_a_test_that_leaves_its_deployment_running(waypost):
    dep = waypost.deployment(CONFIG)
    inst = await dep.env("orders").ORDERS.create(params={"total": 1})
    await inst.wait_for_status("waiting")
    LEFT_RUNNING.append(dep)


def test_the_fixture_stopped_it_and_its_threads_at_the_end_of_that_test():
    import threading

    assert LEFT_RUNNING and not any(dep.running for dep in LEFT_RUNNING)
    assert not [t.name for t in threading.enumerate() if t.name.startswith("waypost")]


async def test_expected_to_fail_a_wrong_expectation(waypost):
    dep = waypost.deployment(CONFIG)
    async with dep.workflow("order-workflow").modify() as m:
        await m.disable_sleeps()
        await m.mock_event("shipment", {"carrier": "dhl"})
    inst = await dep.env("orders").ORDERS.create(params={"total": 5})
    assert (await inst.output())["outcome"] == "refunded"
"""

ASYNCIO_TESTS = """
import pytest

from host.testing import WaitFailed


@pytest.mark.asyncio
async def test_pytest_asyncio_runs_the_kit_too(waypost):
    dep = waypost.deployment("deployment")  # the folder works as well as its config.yaml
    async with dep.workflow("order-workflow").modify() as m:
        await m.disable_sleeps()
        await m.force_event_timeout({"name": "wait for shipment"})
    inst = await dep.env("orders").ORDERS.create(params={"total": 3})
    assert (await inst.output())["outcome"] == "refunded"
    with pytest.raises(WaitFailed, match="ended complete"):
        await inst.error()
"""

SYNC_TESTS = """
import importlib.util

import pytest

from host.testing import replay


async def until_waiting(dep):
    inst = await dep.env("orders").ORDERS.create(id="o-sync", params={"total": 2})
    await inst.wait_for_status("waiting")
    return inst


def test_a_plain_test_runs_the_async_part_with_waypost_run(waypost, tmp_path):
    dep = waypost.deployment("deployment/config.yaml", data_dir=tmp_path / "data")
    inst = waypost.run(until_waiting, dep)
    assert not dep.running  # stopped when run() returned
    journal = inst.path / "journal.jsonl"
    spec = importlib.util.spec_from_file_location("orders_now", "deployment/functions/orders.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = replay(journal, module.OrderWorkflow)
    assert result.ok and result.replayed == 2  # charge card, then the sleep it is in
    again = waypost.run(still_asleep, dep)  # a new host on the same data dir, as after a restart
    assert again == {"status": "waiting", "output": None, "error": None}
    assert sum(e["type"] == "step_start" for e in inst.journal()) == 1  # the charge did not run again


async def still_asleep(dep):
    inst = await dep.env("orders").ORDERS.get("o-sync")
    return await inst.wait_for_status("waiting")


def test_waypost_run_refuses_a_running_loop(waypost):
    import asyncio

    async def inside():
        waypost.run(until_waiting, None)

    with pytest.raises(RuntimeError, match="plain test functions"):
        asyncio.run(inside())

"""

INERT_TEST = """
import sys


def test_the_plugin_imported_no_deployment_code():
    assert "host.testing.kit" not in sys.modules
    assert "host.testing.deployment" not in sys.modules
    assert "host.app" not in sys.modules
"""

PYTEST_INI = """
[pytest]
asyncio_mode = strict
asyncio_default_fixture_loop_scope = function
filterwarnings = error
"""


def run_user_tests(tmp_path: Path, files: dict[str, str], *args: str) -> dict[str, tuple[str, str]]:
    """Run the user's test files with pytest; {test name: (outcome, failure message)}."""
    project = tmp_path / "project"
    shutil.copytree(SAMPLE, project / "deployment", ignore=shutil.ignore_patterns("__pycache__", "data"))
    (project / "pytest.ini").write_text(PYTEST_INI)
    for name, text in files.items():
        (project / name).write_text(textwrap.dedent(text))
    report = tmp_path / "report.xml"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--junitxml={report}", "-q", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert report.is_file(), done.stdout + done.stderr
    print(done.stdout[-20000:])  # shown by pytest if the test fails
    outcomes: dict[str, tuple[str, str]] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        failure = case.find("failure")
        error = case.find("error")
        if failure is not None:
            outcomes[case.attrib["name"]] = ("failed", failure.attrib.get("message", ""))
        elif error is not None:
            outcomes[case.attrib["name"]] = ("error", error.attrib.get("message", "") + (error.text or ""))
        elif case.find("skipped") is not None:
            outcomes[case.attrib["name"]] = ("skipped", "")
        else:
            outcomes[case.attrib["name"]] = ("passed", "")
    return outcomes


def test_user_tests_run_the_real_workflow_and_a_wrong_expectation_fails(tmp_path: Path) -> None:
    outcomes = run_user_tests(
        tmp_path,
        {
            "test_orders_anyio.py": ANYIO_TESTS,
            "test_orders_asyncio.py": ASYNCIO_TESTS,
            "test_orders_sync.py": SYNC_TESTS,
        },
    )
    wrong = outcomes.pop("test_expected_to_fail_a_wrong_expectation")
    assert wrong[0] == "failed" and "'shipped' == 'refunded'" in wrong[1], wrong
    assert outcomes == dict.fromkeys(outcomes, ("passed", "")), outcomes
    assert len(outcomes) == 15


def test_the_plugin_is_inert_until_the_fixture_is_used(tmp_path: Path) -> None:
    outcomes = run_user_tests(tmp_path, {"test_inert.py": INERT_TEST})
    assert outcomes == {"test_the_plugin_imported_no_deployment_code": ("passed", "")}


def _blocks(text: str, lang: str) -> list[str]:
    parts = text.split(f"```{lang}\n")[1:]
    return [part.split("```", 1)[0] for part in parts]


def test_the_example_of_docs_testing_passes_as_written(tmp_path: Path) -> None:
    doc = (Path(__file__).parent.parent.parent / "docs" / "testing.md").read_text()
    config = next(b for b in _blocks(doc, "yaml") if b.startswith("# config.yaml"))
    python = _blocks(doc, "python")
    module = next(b for b in python if b.startswith("# functions/orders.py"))
    tests = next(b for b in python if "def test_shipped" in b)
    project = tmp_path / "project"
    (project / "functions").mkdir(parents=True)
    (project / "config.yaml").write_text(config)
    (project / "functions" / "orders.py").write_text(module)
    (project / "pytest.ini").write_text(PYTEST_INI)
    (project / "test_orders.py").write_text(tests)
    report = tmp_path / "report.xml"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--junitxml={report}", "-q"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    root = ET.parse(report).getroot()
    assert sum(1 for _ in root.iter("testcase")) == 6
