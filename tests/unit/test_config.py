"""config.yaml parsing and validation; every error is one line: file, key path, problem."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from host.config import load_config
from host.errors import ConfigError
from tests.helpers import make_deployment

FILES = {
    "functions/a.py": "async def fetch(request, env):\n    return 'a'\n",
    "functions/b.py": "async def fetch(request, env):\n    return 'b'\n",
    "functions/hello.py": "async def fetch(request, env):\n    return 'hello'\n",
}


def load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: str, **kwargs: object):  # type: ignore[no-untyped-def]
    root = make_deployment(tmp_path, FILES, config)
    monkeypatch.chdir(root)
    return load_config(Path("config.yaml"), environ={}, **kwargs)  # type: ignore[arg-type]


WORKER_A = """
    workers:
      - name: a
        main: functions/a.py
        routes: ["/x"]
"""

A = "workers:\n  - {name: a, main: functions/a.py"
B = "  - {name: b, main: functions/b.py"
WF_A = A + ", workflows: [{name: wf, binding: W, class_name: C}]}\n"

ERRORS = [
    ("foo: 1\n", "config.yaml: foo: unknown key (expected one of: host, workers)"),
    ("- just a list\n", "config.yaml: expected a mapping, got a list"),
    ("workers: [\n", "config.yaml: invalid YAML at line 2"),
    (
        "workers:\n  - {name: a, main: functions/a.py, rout: []}\n",
        "config.yaml: workers[0].rout: unknown key",
    ),
    ("workers:\n  - {name: a}\n", "config.yaml: workers[0].main: required"),
    (
        "workers:\n  - {name: a, main: functions/a.py}\n  - {name: b, main: functions/b.py, routes: [1]}\n",
        "config.yaml: workers[1].routes[0]: expected a string, got a number",
    ),
    (
        "workers:\n  - {name: 'bad name!', main: functions/a.py}\n",
        "config.yaml: workers[0].name: 'bad name!' is not",
    ),
    (f"workers:\n  - {{name: {'n' * 65}, main: functions/a.py}}\n", "config.yaml: workers[0].name: 'nnnn"),
    (
        "workers:\n  - {name: a, main: functions/a.py}\n  - {name: a, main: functions/b.py}\n",
        "config.yaml: workers[1].name: worker 'a' is defined twice",
    ),
    (
        "workers:\n  - {name: a, main: functions/missing.py}\n",
        "config.yaml: workers[0].main: file not found: functions/missing.py",
    ),
    (
        "workers:\n  - {name: a, main: functions/a.py, routes: ['/x']}\n"
        "  - {name: b, main: functions/b.py, routes: ['/y', '/x']}\n",
        "config.yaml: workers[1].routes[1]: route '/x' is already claimed by worker 'a'",
    ),
    (
        "workers:\n  - {name: a, main: functions/a.py, routes: ['/client/v4/accounts/*']}\n",
        "config.yaml: workers[0].routes[0]: '/client/v4/accounts/*' is under /client/v4/*, which is reserved",
    ),
    (
        "workers:\n  - {name: a, main: functions/a.py, routes: ['/__waypost/*']}\n",
        "config.yaml: workers[0].routes[0]: '/__waypost/*' is under /__waypost/*, which is reserved for the dash",
    ),
    (
        "workers:\n  - {name: a, main: functions/a.py, routes: ['nopath']}\n",
        "config.yaml: workers[0].routes[0]: 'nopath' is not a route",
    ),
    (
        "workers:\n  - {name: a, main: functions/a.py, routes: ['/a*b']}\n",
        "config.yaml: workers[0].routes[0]: '/a*b': '*' may only end",
    ),
    (
        "workers:\n  - {name: a, main: functions/a.py, services: [{binding: S, service: nope}]}\n",
        "config.yaml: workers[0].services[0].service: no worker named 'nope'",
    ),
    (
        A + ", vars: {X: 1}, services: [{binding: X, service: a}]}\n",
        "config.yaml: workers[0].services[0].binding: binding 'X' is already used in this worker",
    ),
    (
        "workers:\n  - {name: a, main: functions/a.py, vars: {'not-ident': 1}}\n",
        "config.yaml: workers[0].vars.not-ident: 'not-ident' is not a valid binding",
    ),
    (
        "workers:\n"
        "  - {name: a, main: functions/a.py, workflows: [{name: wf, binding: W, class_name: C}]}\n"
        "  - {name: b, main: functions/b.py, workflows: [{name: wf, binding: W, class_name: C}]}\n",
        "config.yaml: workers[1].workflows[0].name: workflow 'wf' is already defined by worker 'a'",
    ),
    (
        A + ", workflows: [{name: wf, binding: W, class_name: C, script_name: ghost}]}\n",
        "config.yaml: workers[0].workflows[0].script_name: no worker named 'ghost'",
    ),
    (
        WF_A + B + ", workflows: [{name: other, binding: W, class_name: C, script_name: a}]}\n",
        "config.yaml: workers[1].workflows[0].name: worker 'a' defines no workflow named 'other'",
    ),
    (
        WF_A + B + ", workflows: [{name: wf, binding: W, class_name: D, script_name: a}]}\n",
        "config.yaml: workers[1].workflows[0].class_name: worker 'a' defines workflow 'wf' with class 'C'",
    ),
    (
        "workers:\n  - {name: a, main: functions/a.py, workflows: [{name: wf, binding: W}]}\n",
        "config.yaml: workers[0].workflows[0].class_name: required",
    ),
    (
        A + ", workflows: [{name: wf, binding: W, class_name: C, limits: {steps: 0}}]}\n",
        "config.yaml: workers[0].workflows[0].limits.steps: expected a positive whole number, got 0",
    ),
    (
        A + ", workflows: [{name: wf, binding: W, class_name: C, limits: {steps: 10001}}]}\n",
        "config.yaml: workers[0].workflows[0].limits.steps: 10001 is over the limit of 10000",
    ),
    (
        "host: {durability: sometimes}\n",
        "config.yaml: host.durability: expected fsync or relaxed, got 'sometimes'",
    ),
    (
        "host: {hibernate_after: 5 fortnights}\n",
        "config.yaml: host.hibernate_after: unknown unit 'fortnights'",
    ),
    ("host: {hibernate_after: -1}\n", "config.yaml: host.hibernate_after: -1 must not be negative"),
    ("host: {listen: nope}\n", "config.yaml: host.listen: 'nope' is not HOST:PORT"),
    ("host: {max_body: big}\n", "config.yaml: host.max_body: expected a positive whole number, got 'big'"),
    (
        "workers:\n  - {name: other, main: functions/a.py, routes: ['/hello']}\n",
        "functions/hello.py: drop-in route '/hello' is already claimed by worker 'other'",
    ),
    (
        "workers:\n  - {name: hello, main: functions/a.py}\n",
        "functions/hello.py: drop-in worker 'hello' has the name of a configured worker",
    ),
    (
        A + ", durable_objects: {bindings: [{name: C, class_name: C}]}}\n",
        "config.yaml: workers[0].durable_objects: not supported: Waypost has no Durable Objects",
    ),
    (
        A + ", kv_namespaces: [{binding: KV, id: 'a/b'}]}\n",
        "config.yaml: workers[0].kv_namespaces[0].id: 'a/b' is not valid here",
    ),
    (A + ", triggers: {crons: '* * * * *'}}\n", "config.yaml: workers[0].triggers.crons: expected a list"),
]


@pytest.mark.parametrize(("config", "message"), ERRORS, ids=[m.split(": ", 1)[1][:40] for _, m in ERRORS])
def test_config_errors_name_file_key_and_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: str, message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, monkeypatch, config)
    text = str(info.value)
    assert text.startswith(message), text
    assert "\n" not in text


def test_defaults_and_drop_ins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = load(tmp_path, monkeypatch, WORKER_A)
    root = tmp_path / "deployment"
    assert config.root == root.resolve()
    assert config.host.listen == "127.0.0.1:8787"
    assert config.host.data_dir == (root / "data").resolve()
    assert (config.host.account_id, config.host.durability) == ("local", "fsync")
    assert (config.host.hibernate_after, config.host.max_body) == (1.0, 2 * 1024 * 1024)
    a, b, hello = config.workers
    assert (a.name, a.main, a.routes, a.dropin) == ("a", (root / "functions/a.py").resolve(), ("/x",), False)
    # functions/a.py is named by worker a, so only b and hello are drop-ins
    assert [(w.name, w.routes, w.dropin) for w in (b, hello)] == [
        ("b", ("/b", "/b/*"), True),
        ("hello", ("/hello", "/hello/*"), True),
    ]


def test_drop_in_discovery_skips_private_and_non_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_deployment(
        tmp_path,
        {
            "functions/_helpers.py": "X = 1\n",
            "functions/notes.txt": "hi\n",
            "functions/pkg/__init__.py": "async def fetch(r, e):\n    return 'p'\n",
            "functions/not_a_pkg/thing.py": "\n",
            "functions/ok.py": "\n",
        },
    )
    monkeypatch.chdir(root)
    config = load_config(None, environ={})
    assert config.path is None
    assert [(w.name, w.main.name) for w in config.workers] == [("ok", "ok.py"), ("pkg", "__init__.py")]


def test_relative_paths_resolve_against_the_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_deployment(tmp_path, FILES, "host: {data_dir: state}\n" + textwrap.dedent(WORKER_A))
    monkeypatch.chdir(tmp_path)
    config = load_config(root / "config.yaml", environ={})
    assert config.host.data_dir == (root / "state").resolve()
    assert config.workers[0].main == (root / "functions/a.py").resolve()


def test_full_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = load(
        tmp_path,
        monkeypatch,
        """
        host:
          listen: 0.0.0.0:9000
          account_id: acct_1
          durability: relaxed
          hibernate_after: 250 ms
          max_body: 1024
        workers:
          - name: billing-worker
            main: functions/a.py
            routes: ["/billing", "/billing/*", "api.example.com/*"]
            vars: {CURRENCY: EUR, NESTED: {a: [1, 2]}}
            workflows:
              - {name: billing-workflow, binding: FLOW, class_name: MyWorkflow, limits: {steps: 50},
                 concurrency: {limit: 3}}
          - name: web
            main: functions/b.py
            routes: ["/*"]
            services: [{binding: BILLING, service: billing-worker}]
            workflows:
              - {name: billing-workflow, binding: FLOW2, class_name: MyWorkflow, script_name: billing-worker}
    """,
    )
    assert config.host.listen == "0.0.0.0:9000"
    assert (config.host.account_id, config.host.durability, config.host.hibernate_after) == (
        "acct_1",
        "relaxed",
        0.25,
    )
    billing, web = config.workers[:2]
    assert billing.vars == {"CURRENCY": "EUR", "NESTED": {"a": [1, 2]}}
    wf = billing.workflows[0]
    assert (wf.name, wf.binding, wf.class_name, wf.script_name) == (
        "billing-workflow",
        "FLOW",
        "MyWorkflow",
        None,
    )
    assert (wf.steps_limit, wf.concurrency_limit) == (50, 3)
    ref = web.workflows[0]
    assert (ref.script_name, ref.steps_limit, ref.concurrency_limit) == ("billing-worker", 10000, None)
    assert web.services[0].binding == "BILLING" and web.services[0].service == "billing-worker"


def test_environment_and_flags_override_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_deployment(tmp_path, FILES, "host: {listen: 127.0.0.1:1111, hibernate_after: 5}\n")
    monkeypatch.chdir(root)
    env = {
        "WAYPOST_LISTEN": "127.0.0.1:2222",
        "WAYPOST_DATA_DIR": "elsewhere",
        "WAYPOST_HIBERNATE_AFTER": "0",
    }
    config = load_config(Path("config.yaml"), environ=env)
    assert config.host.listen == "127.0.0.1:2222"
    assert config.host.data_dir == (root / "elsewhere").resolve()
    assert config.host.hibernate_after == 0.0
    config = load_config(Path("config.yaml"), environ=env, overrides={"listen": "127.0.0.1:3333"})
    assert config.host.listen == "127.0.0.1:3333"
    with pytest.raises(ConfigError, match=r"^environment: WAYPOST_LISTEN: 'x' is not HOST:PORT"):
        load_config(Path("config.yaml"), environ={"WAYPOST_LISTEN": "x"})
    with pytest.raises(ConfigError, match=r"^command line: --listen: 'y' is not HOST:PORT"):
        load_config(Path("config.yaml"), environ={}, overrides={"listen": "y"})


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="nope.yaml: file not found"):
        load_config(tmp_path / "nope.yaml")


def test_wrangler_keys_pasted_into_a_worker_are_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    with caplog.at_level(logging.INFO, "waypost"):
        config = load(
            tmp_path,
            monkeypatch,
            """
            workers:
              - name: a
                main: functions/a.py
                compatibility_date: "2025-06-01"
                compatibility_flags: [python_workers]
                observability: {enabled: true}
                triggers: {crons: ["*/5 * * * *"]}
            """,
        )
    assert config.workers[0].crons == ("*/5 * * * *",)
    assert config.workers[0].wrangler is None
    assert [r.getMessage() for r in caplog.records if "ignored" in r.getMessage()] == [
        "config.yaml: ignored, no meaning in Waypost: workers[0].compatibility_date, "
        "workers[0].compatibility_flags, workers[0].observability"
    ]
