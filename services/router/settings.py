from __future__ import annotations

from pathlib import Path

from services.common.config_files import DEFAULT_ROUTING_DIR
from services.common.settings import CommonSettings


class RouterSettings(CommonSettings):
    #: Directory holding the routing data: categories, areas, postcodes, teams, watches, rules.
    routing_config_dir: Path = DEFAULT_ROUTING_DIR
    #: faust's web server: health (/ping) and metrics for the router, on loopback.
    router_web_port: int = 6067
    #: Kafka consumer group id (the faust app id).
    router_app_id: str = "mecc-router"
    #: faust's data folder; unset, ``.local/faust/<app id>`` (never the working directory).
    router_datadir: Path | None = None
    #: How often the public dashboard's figures are brought up to date (the months whose reports
    #: changed since the last time); 0: never (``python -m services.dashboard`` then).
    dashboard_refresh_seconds: float = 60.0
