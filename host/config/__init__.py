"""config.yaml or a wrangler file -> frozen dataclasses, validated with one-line errors naming file,
key path and problem.

model: the dataclasses; load: finding, reading and completing a deployment (load_config);
checks, workers and validator: the keys, from single values up to a whole file; dropins: the
drop-in workers of functions/ and the checks that span workers; retention: the retention keys.
"""

from host.config.dropins import discover_dropins
from host.config.load import find_config, load_config, watch_targets
from host.config.model import (
    CONFIG_YAML,
    DASHBOARD_PREFIX,
    FUNCTIONS_DIR,
    MAX_STEPS,
    RESERVED_PREFIX,
    Config,
    HostConfig,
    ServiceConfig,
    WorkerConfig,
    WorkflowConfig,
    display_path,
)

__all__ = [
    "CONFIG_YAML",
    "DASHBOARD_PREFIX",
    "FUNCTIONS_DIR",
    "MAX_STEPS",
    "RESERVED_PREFIX",
    "Config",
    "HostConfig",
    "ServiceConfig",
    "WorkerConfig",
    "WorkflowConfig",
    "discover_dropins",
    "display_path",
    "find_config",
    "load_config",
    "watch_targets",
]
