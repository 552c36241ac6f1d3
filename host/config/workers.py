"""A worker's own keys: name, main, routes, vars, services, workflows, triggers and storage."""

from __future__ import annotations

from typing import Any

from host import wrangler
from host.config.checks import Checks, join_key, kind_of
from host.config.model import (
    DASHBOARD_PREFIX,
    MAX_STEPS,
    RESERVED_PREFIX,
    WORKER_KEYS,
    ServiceConfig,
    WorkerConfig,
    WorkflowConfig,
)
from host.config.retention import workflow_retention
from host.schedules.crons import parse_cron
from host.storage import settings as storage


class WorkerFields(Checks):
    """The keys of one worker entry, from config.yaml or a wrangler file."""

    def worker_keys(self, raw: Any, key: str) -> tuple[str, ...]:
        """The keys a config.yaml worker may have: Waypost's and, as in a wrangler file, the wrangler
        keys that mean nothing here (logged once); a key naming a missing feature is an error."""
        if not isinstance(raw, dict):
            return WORKER_KEYS
        ignored = wrangler.sort_keys(raw, self.file, key, WORKER_KEYS)
        if ignored and self.source is not None:
            self.ignored.setdefault(self.source, []).extend(ignored)
        skip = {k.rpartition(".")[2] for k in ignored}
        return WORKER_KEYS + tuple(k for k in raw if k in skip)

    def routes(self, raw: Any, key: str) -> tuple[str, ...]:
        return tuple(self.route(r, f"{key}[{j}]") for j, r in enumerate(self.sequence(raw or [], key)))

    def worker_fields(
        self, raw: dict[str, Any], key: str, secrets: dict[str, str] | None = None
    ) -> WorkerConfig:
        """name, main, vars (plus `secrets` from .dev.vars), services, workflows and triggers."""
        name = self.name(raw["name"], join_key(key, "name"))
        main = self.path(raw["main"], join_key(key, "main"), must_exist=True)
        if main.is_dir():
            if not (main / "__init__.py").is_file():
                raise self.fail(join_key(key, "main"), f"{raw['main']} is a folder without __init__.py")
            main = main / "__init__.py"
        used: set[str] = set()
        vars_raw = raw.get("vars") or {}
        if not isinstance(vars_raw, dict):
            raise self.fail(join_key(key, "vars"), f"expected a mapping, got {kind_of(vars_raw)}")
        variables = {self.binding(k, join_key(key, f"vars.{k}"), used): v for k, v in vars_raw.items()}
        for k, value in (secrets or {}).items():  # a secret overrides a var of its name, as in wrangler dev
            used.add(k)
            variables[k] = value
        services = tuple(
            self.service(s, join_key(key, f"services[{j}]"), used)
            for j, s in enumerate(self.sequence(raw.get("services") or [], join_key(key, "services")))
        )
        workflows = tuple(
            self.workflow(w, join_key(key, f"workflows[{j}]"), used)
            for j, w in enumerate(self.sequence(raw.get("workflows") or [], join_key(key, "workflows")))
        )
        return WorkerConfig(
            name=name,
            main=main,
            routes=(),
            vars=variables,
            services=services,
            workflows=workflows,
            crons=self.triggers(raw.get("triggers"), join_key(key, "triggers")),
            **storage.parse_storage(raw, key, self, used),
        )

    def triggers(self, raw: Any, key: str) -> tuple[str, ...]:
        if raw is None:
            return ()
        raw = self.mapping(raw, key, ("crons",))
        return self.crons(raw.get("crons"), f"{key}.crons")

    def crons(self, raw: Any, key: str) -> tuple[str, ...]:
        """A list of cron expressions (host.schedules.crons), each checked, kept as written."""
        items = self.sequence(raw or [], key)
        for j, cron in enumerate(items):
            try:
                parse_cron(self.string(cron, f"{key}[{j}]"))
            except ValueError as exc:
                raise self.fail(f"{key}[{j}]", str(exc)) from None
        return tuple(items)

    def route(self, value: Any, key: str) -> str:
        text = self.string(value, key)
        host, slash, path = text.partition("/")
        if not slash or not text or any(c.isspace() for c in text):
            raise self.fail(key, f"{text!r} is not a route like '/path', '/path/*' or 'example.com/*'")
        if "*" in path[:-1] or "*" in host.removeprefix("*."):
            raise self.fail(key, f"{text!r}: '*' may only end the path or start the host ('*.example.com')")
        if ("/" + path).startswith(RESERVED_PREFIX):
            raise self.fail(
                key, f"{text!r} is under {RESERVED_PREFIX}/*, which is reserved for the admin API"
            )
        if ("/" + path).startswith(DASHBOARD_PREFIX):
            raise self.fail(
                key, f"{text!r} is under {DASHBOARD_PREFIX}/*, which is reserved for the dashboard"
            )
        return text

    def service(self, raw: Any, key: str, used: set[str]) -> ServiceConfig:
        raw = self.mapping(raw, key, ("binding", "service"), required=("binding", "service"))
        return ServiceConfig(
            binding=self.binding(raw["binding"], f"{key}.binding", used),
            service=self.name(raw["service"], f"{key}.service"),
        )

    def workflow(self, raw: Any, key: str, used: set[str]) -> WorkflowConfig:
        raw = self.mapping(
            raw,
            key,
            (
                "name",
                "binding",
                "class_name",
                "script_name",
                "limits",
                "concurrency",
                "schedules",
                "retention",
            ),
            required=("name", "binding", "class_name"),
        )
        steps = MAX_STEPS
        if raw.get("limits") is not None:
            limits = self.mapping(raw["limits"], f"{key}.limits", ("steps",))
            if "steps" in limits:
                steps = self.positive_int(limits["steps"], f"{key}.limits.steps", MAX_STEPS)
        concurrency = None
        if raw.get("concurrency") is not None:
            conc = self.mapping(raw["concurrency"], f"{key}.concurrency", ("limit",))
            if "limit" in conc:
                concurrency = self.positive_int(conc["limit"], f"{key}.concurrency.limit")
        script = raw.get("script_name")
        class_name = self.string(raw["class_name"], f"{key}.class_name")
        if not class_name.isidentifier():
            raise self.fail(f"{key}.class_name", f"{class_name!r} is not a Python class name")
        return WorkflowConfig(
            name=self.name(raw["name"], f"{key}.name"),
            binding=self.binding(raw["binding"], f"{key}.binding", used),
            class_name=class_name,
            script_name=None if script is None else self.name(script, f"{key}.script_name"),
            steps_limit=steps,
            concurrency_limit=concurrency,
            retention=workflow_retention(raw.get("retention"), f"{key}.retention", self.fail),
            schedules=self.crons(raw.get("schedules"), f"{key}.schedules"),
        )
