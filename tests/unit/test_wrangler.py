"""Wrangler files read as workers: keys used, ignored (logged once) or refused; .dev.vars; errors."""

from __future__ import annotations

import logging
import textwrap
from pathlib import Path

import pytest

from host.config import Config, find_config, load_config
from host.errors import ConfigError
from tests.helpers import write_files

ENTRY = "async def fetch(request, env):\n    return 'ok'\n"

JSONC = """
    // comments, trailing commas and keys with no meaning here, as wrangler writes them
    {
      "$schema": "node_modules/wrangler/config-schema.json",
      "name": "shop",
      "main": "src/entry.py",
      "compatibility_date": "2025-06-01",
      "compatibility_flags": ["python_workers",],
      /* block comment */
      "observability": {"enabled": true,},
      "vars": {"CURRENCY": "EUR", "LIMITS": {"max": 3}, "TOKEN": "from-vars"},
      "triggers": {"crons": ["*/5 * * * *", "0 0 * * mon"]},
      "workflows": [{"name": "orders", "binding": "ORDERS", "class_name": "Orders", "remote": false}],
      "services": [{"binding": "SELF", "service": "shop"}],
    }
"""

TOML = """
    name = "shop"
    main = "src/entry.py"
    compatibility_date = "2025-06-01"
    workers_dev = true

    [vars]
    CURRENCY = "EUR"

    [triggers]
    crons = ["*/5 * * * *"]

    [[workflows]]
    name = "orders"
    binding = "ORDERS"
    class_name = "Orders"
"""


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Errors name files relative to the working directory."""
    monkeypatch.chdir(tmp_path)


def folder(tmp_path: Path, files: dict[str, str], name: str = "project") -> Path:
    root = tmp_path / name
    write_files(root, {"src/entry.py": ENTRY, **files})
    return root


def load_jsonc(tmp_path: Path, text: str, **files: str) -> Config:
    root = folder(tmp_path, {"wrangler.jsonc": text, **files})
    return load_config(root / "wrangler.jsonc", environ={})


def error_of(tmp_path: Path, text: str, **files: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_jsonc(tmp_path, text, **files)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_a_jsonc_file_is_one_worker_at_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # main resolves against the wrangler file's folder, not the cwd
    root = folder(tmp_path, {"wrangler.jsonc": JSONC, ".dev.vars": 'TOKEN="from-dev-vars"\nSECRET=s3\n'})
    config = load_config(root / "wrangler.jsonc", environ={})
    assert (config.path, config.root, config.file) == (
        (root / "wrangler.jsonc").resolve(),
        root.resolve(),
        "project/wrangler.jsonc",
    )
    assert config.host.data_dir == (root / "data").resolve()
    [shop] = config.workers
    assert (shop.name, shop.main, shop.routes, shop.dropin) == (
        "shop",
        (root / "src/entry.py").resolve(),
        ("/*",),
        False,
    )
    assert shop.vars == {"CURRENCY": "EUR", "LIMITS": {"max": 3}, "TOKEN": "from-dev-vars", "SECRET": "s3"}
    assert shop.crons == ("*/5 * * * *", "0 0 * * mon")
    assert shop.wrangler == (root / "wrangler.jsonc").resolve()
    [wf] = shop.workflows
    assert (wf.name, wf.binding, wf.class_name, wf.script_name) == ("orders", "ORDERS", "Orders", None)
    assert [(s.binding, s.service) for s in shop.services] == [("SELF", "shop")]


def test_toml_and_json_read_the_same_keys(tmp_path: Path) -> None:
    toml_root = folder(tmp_path, {"wrangler.toml": TOML}, "t")
    json_root = folder(
        tmp_path,
        {
            "wrangler.json": '{"name": "shop", "main": "src/entry.py", "vars": {"CURRENCY": "EUR"},'
            ' "triggers": {"crons": ["*/5 * * * *"]},'
            ' "workflows": [{"name": "orders", "binding": "ORDERS", "class_name": "Orders"}]}'
        },
        "j",
    )
    a = load_config(toml_root / "wrangler.toml", environ={}).workers[0]
    b = load_config(json_root / "wrangler.json", environ={}).workers[0]
    for w in (a, b):
        assert (w.name, w.routes, w.vars, w.crons) == ("shop", ("/*",), {"CURRENCY": "EUR"}, ("*/5 * * * *",))
        assert [x.class_name for x in w.workflows] == ["Orders"]


def test_find_config_prefers_config_yaml_then_wrangler_order(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert find_config(tmp_path) is None
    (tmp_path / "wrangler.toml").write_text("")
    assert find_config(tmp_path) == tmp_path / "wrangler.toml"
    (tmp_path / "wrangler.jsonc").write_text("")
    (tmp_path / "wrangler.json").write_text("")
    with caplog.at_level(logging.WARNING, "waypost"):
        assert find_config(tmp_path) == tmp_path / "wrangler.json"  # wrangler's own order
    assert "using wrangler.json, as wrangler would; ignoring wrangler.jsonc, wrangler.toml" in caplog.text
    (tmp_path / "config.yaml").write_text("")
    assert find_config(tmp_path) == tmp_path / "config.yaml"


def test_ignored_keys_are_logged_once_and_again_only_when_they_change(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = folder(tmp_path, {"wrangler.jsonc": JSONC})
    with caplog.at_level(logging.INFO, "waypost"):
        first = load_config(root / "wrangler.jsonc", environ={})
        second = load_config(root / "wrangler.jsonc", environ={}, previous=first)  # a reload
    lines = [r.getMessage() for r in caplog.records if "ignored" in r.getMessage()]
    assert lines == [
        "project/wrangler.jsonc: ignored, no meaning in Waypost: $schema, compatibility_date, "
        "compatibility_flags, observability, workflows[0].remote"
    ]
    caplog.clear()
    text = (root / "wrangler.jsonc").read_text().replace('"$schema"', '"account_id": "abc", "$schema"')
    (root / "wrangler.jsonc").write_text(text)
    with caplog.at_level(logging.INFO, "waypost"):
        load_config(root / "wrangler.jsonc", environ={}, previous=second)
    assert [r.getMessage().count("account_id") for r in caplog.records] == [1]


def test_empty_declarations_of_missing_features_are_ignored(tmp_path: Path) -> None:
    text = '{"name": "a", "main": "src/entry.py", "kv_namespaces": [], "durable_objects": {"bindings": []}}'
    assert load_jsonc(tmp_path, text).workers[0].name == "a"


BASE = '{"name": "a", "main": "src/entry.py", '

ERRORS = [
    (
        BASE + '"durable_objects": {"bindings": [{"name": "C", "class_name": "C"}]}}',
        "durable_objects: not supported: Waypost has no Durable Objects",
    ),
    (BASE + '"ai": {"binding": "AI"}}', "ai: not supported: Waypost has no Workers AI"),
    (
        BASE + '"queues": {"producers": [{"binding": "Q", "queue": "q"}]}}',
        "queues: not supported: Waypost has no Queues",
    ),
    (BASE + '"assets": {"directory": "public"}}', "assets: not supported: Waypost has no static assets"),
    (BASE + '"kv_namespaces": [{"id": "x"}]}', "kv_namespaces[0].binding: required"),
    (
        BASE + '"d1_databases": [{"binding": "DB", "database_name": "../x"}]}',
        "d1_databases[0].database_name: '../x' is not valid here",
    ),
    (
        BASE + '"r2_buckets": [{"binding": "B", "jurisdiction": "eu", "colour": 1}]}',
        "r2_buckets[0].colour: unknown key",
    ),
    (
        BASE + '"services": [{"binding": "S", "service": "a", "entrypoint": "Admin"}]}',
        "services[0].entrypoint: not supported: Waypost has no named entrypoints",
    ),
    (BASE + '"nme": "typo"}', "nme: unknown key (not a wrangler configuration key)"),
    ('{"main": "src/entry.py"}', "name: required"),
    ('{"name": "a"}', "main: required"),
    ('{"name": "a", "main": "src/missing.py"}', "main: file not found: src/missing.py"),
    ('{"name": "a", "main": "src/entry.py",\n "vars": {"X": 1}\n "y": 2}', "invalid JSONC at line 3:"),
    ("[1, 2]", "expected an object at the top, got list"),
    (BASE + '"triggers": {"crons": [5]}}', "triggers.crons[0]: expected a string, got a number"),
    (BASE + '"triggers": {"cron": ["* * * * *"]}}', "triggers.cron: unknown key (expected one of: crons)"),
    (BASE + '"vars": {"bad-name": 1}}', "vars.bad-name: 'bad-name' is not a valid binding name"),
    (BASE + '"workflows": [{"name": "w", "binding": "W"}]}', "workflows[0].class_name: required"),
    (
        BASE + '"services": [{"binding": "S", "service": "nobody"}]}',
        "services[0].service: no worker named 'nobody'",
    ),
]


@pytest.mark.parametrize(("text", "message"), ERRORS, ids=[m.split(":")[0][:30] for _, m in ERRORS])
def test_errors_name_the_wrangler_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    assert error_of(tmp_path, text).startswith(f"project/wrangler.jsonc: {message}")


def test_invalid_toml_names_the_file_and_line(tmp_path: Path) -> None:
    root = folder(tmp_path, {"wrangler.toml": 'name = "a"\nmain = \n'})
    with pytest.raises(ConfigError, match=r"^project/wrangler.toml: invalid TOML: .*line 2"):
        load_config(root / "wrangler.toml", environ={})


def test_dev_vars_names_must_be_bindings_and_wrangler_does_not_expand_them(tmp_path: Path) -> None:
    config = load_jsonc(
        tmp_path, BASE + '"vars": {"A": "1"}}', **{".dev.vars": "B=${A}\nexport C='x y'\nD\n"}
    )
    assert config.workers[0].vars == {"A": "1", "B": "${A}", "C": "x y"}
    message = error_of(tmp_path / "2", BASE + '"vars": {}}', **{".dev.vars": "not-ok=1\n"})
    assert message.startswith("2/project/.dev.vars: not-ok: 'not-ok' is not a valid binding name")


def test_a_secret_may_not_take_a_binding_name(tmp_path: Path) -> None:
    text = BASE + '"workflows": [{"name": "w", "binding": "FLOW", "class_name": "W"}]}'
    message = error_of(tmp_path, text, **{".dev.vars": "FLOW=x\n"})
    assert message.startswith("project/wrangler.jsonc: workflows[0].binding: binding 'FLOW' is already used")


def test_secrets_required_picks_the_dev_vars_and_warns_of_missing_ones(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    text = BASE + '"secrets": {"required": ["API_KEY", "OTHER"]}}'
    with caplog.at_level(logging.WARNING, "waypost"):
        config = load_jsonc(tmp_path, text, **{".dev.vars": "API_KEY=k\nEXTRA=e\n"})
    assert config.workers[0].vars == {"API_KEY": "k"}
    assert "secrets.required names OTHER, not set in project/.dev.vars" in caplog.text


# ---- config.yaml entries --------------------------------------------------------------------


def host_folder(tmp_path: Path, config: str) -> Path:
    root = tmp_path / "host"
    write_files(
        root,
        {
            "a/wrangler.jsonc": '{"name": "a", "main": "src/entry.py", "compatibility_date": "2025-01-01",'
            ' "workflows": [{"name": "jobs", "binding": "JOBS", "class_name": "Jobs"}]}',
            "a/src/entry.py": ENTRY,
            "a/.dev.vars": "A_SECRET=1\n",
            "b/wrangler.toml": 'name = "b"\nmain = "main.py"\n[[services]]\nbinding = "A"\nservice = "a"\n'
            '[[workflows]]\nname = "jobs"\nbinding = "JOBS"\nclass_name = "Jobs"\nscript_name = "a"\n',
            "b/main.py": ENTRY,
            "functions/solo.py": ENTRY,
            "config.yaml": textwrap.dedent(config),
        },
    )
    return root


def test_config_yaml_serves_wrangler_projects_side_by_side(tmp_path: Path) -> None:
    root = host_folder(
        tmp_path,
        """
        workers:
          - {wrangler: a/wrangler.jsonc, routes: ["/a/*"]}
          - {wrangler: b}
        """,
    )
    config = load_config(root / "config.yaml", environ={})
    a, b, solo = config.workers
    assert (a.name, a.routes, a.vars, a.main) == (
        "a",
        ("/a/*",),
        {"A_SECRET": "1"},
        (root / "a/src/entry.py").resolve(),
    )
    assert (b.name, b.routes, b.main) == ("b", (), (root / "b/main.py").resolve())  # no routes: services only
    assert b.workflows[0].script_name == "a" and b.services[0].service == "a"
    assert (solo.name, solo.dropin) == ("solo", True)  # functions/ drop-ins are still served


YAML_ERRORS = [
    (
        "{wrangler: a/wrangler.jsonc, name: x}",
        "config.yaml: workers[0].name: a {wrangler: PATH} worker takes only routes",
    ),
    ("{wrangler: a/src/entry.py}", "config.yaml: workers[0].wrangler: a/src/entry.py is not a wrangler.json"),
    (
        "{wrangler: a/src}",
        "config.yaml: workers[0].wrangler: no wrangler.json, wrangler.jsonc, wrangler.toml in a/src",
    ),
    ("{wrangler: nowhere.toml}", "config.yaml: workers[0].wrangler: file not found: nowhere.toml"),
    ("{wrangler: a, routes: [3]}", "config.yaml: workers[0].routes[0]: expected a string, got a number"),
    ("{wrangler: b}", "b/wrangler.toml: services[0].service: no worker named 'a'"),
    (
        "{wrangler: a}\n  - {wrangler: a/wrangler.jsonc}",
        "config.yaml: workers[1].wrangler: worker 'a' (named in a/wrangler.jsonc) is defined twice",
    ),
]


@pytest.mark.parametrize(("entry", "message"), YAML_ERRORS, ids=[m.split(": ", 2)[1] for _, m in YAML_ERRORS])
def test_config_yaml_wrangler_entry_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, entry: str, message: str
) -> None:
    root = host_folder(tmp_path, f"workers:\n  - {entry}\n")
    monkeypatch.chdir(root)
    with pytest.raises(ConfigError) as info:
        load_config(Path("config.yaml"), environ={})
    assert str(info.value).startswith(message), str(info.value)


def test_config_where_names_the_wrangler_file_for_its_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = host_folder(
        tmp_path, "workers:\n  - {wrangler: a, routes: ['/a']}\n  - {name: s, main: functions/solo.py}\n"
    )
    monkeypatch.chdir(root)
    config = load_config(Path("config.yaml"), environ={})
    assert config.where(0, "workflows[0].class_name") == ("a/wrangler.jsonc", "workflows[0].class_name")
    assert config.where(1, "workflows[0].class_name") == ("config.yaml", "workers[1].workflows[0].class_name")


def test_a_wrangler_main_in_functions_owns_the_folder(tmp_path: Path) -> None:
    root = tmp_path / "p"
    write_files(
        root,
        {
            "wrangler.toml": 'name = "app"\nmain = "functions/app.py"\n',
            "functions/app.py": "import helpers\n" + ENTRY,
            "functions/helpers.py": "X = 1\n",
        },
    )
    assert [w.name for w in load_config(root / "wrangler.toml", environ={}).workers] == ["app"]
