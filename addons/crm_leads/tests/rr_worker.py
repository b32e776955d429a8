"""A second server process for the round robin test: creates leads, one transaction each.

python rr_worker.py DATABASE_URL ADDONS_PATH TEAM_ID COUNT START_AT
"""

import importlib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from core import load_config
from core.modules.loading import load_registry
from core.modules.manager import AddonManager


def main(url, addons_path, team_id, count, start_at):
    overrides = {"database.url": url, "addons.paths": [addons_path], "jobs.backend": "immediate"}
    config = load_config(environ={}, overrides=overrides)
    manager = AddonManager(config)
    registry = load_registry(config, manager.db)
    capture = importlib.import_module("kontora_addons.crm_leads.capture")
    time.sleep(max(0.0, float(start_at) - time.time()))
    for index in range(int(count)):
        with registry.transaction() as env:
            capture.create_leads(env, {"phone": f"+7 900 {index:07d}"}, team=int(team_id))


if __name__ == "__main__":
    main(*sys.argv[1:])
