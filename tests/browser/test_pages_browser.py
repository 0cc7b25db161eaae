"""The pages in headless Chromium: the services run as processes (a real broker and PostgreSQL,
messages to the local outbox) and ``journey.mjs`` (playwright-core, the machine's Chromium)
fills in the public form, sees field errors, follows the track link from the outbox message,
signs in as a coordinator, sees only their own watch's redacted items, records an action, and
sees the informant's update arrive; then no public page (the dashboard, the neighbourhoods' "you
said, we did", its JSON) shows any of it: the action's words, the report's, the informant's name
or number, or a sensitive category. Screenshots at 375px and 1280px go to
test-artifacts/screenshots/."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.processes import ROOT, Service, free_port, service_env
from infra import frontend

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"


@pytest.fixture(scope="module")
def intake_url(kafka_bootstrap: str, database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not Path(CHROMIUM).exists() or shutil.which("node") is None:
        pytest.skip(f"needs Chromium at {CHROMIUM} and node (apt-get install -y chromium nodejs)")
    frontend.install(quiet=True)
    logs = Path(tmp_path_factory.mktemp("browser-logs"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = service_env(kafka=kafka_bootstrap, database_url=database_url, extra={
        "PUBLIC_BASE_URL": url, "OUTBOX_PATH": str(logs / "outbox.jsonl"), "SHOW_OUTBOX": "true"})
    router_port, feedback_port = free_port(), free_port()
    services = [
        Service("router", {**env, "ROUTER_WEB_PORT": str(router_port)}, router_port, logs / "router.log"),
        Service("feedback", {**env, "FEEDBACK_WEB_PORT": str(feedback_port)}, feedback_port, logs / "feedback.log"),
        Service("intake", {**env, "INTAKE_PORT": str(port)}, port, logs / "intake.log"),
    ]
    try:
        for service in services:
            service.start()
        yield url
    finally:
        for service in services:
            service.stop()
        if os.environ.get("BROWSER_TEST_LOGS"):
            for service in services:
                print(f"--- {service.name}\n{service.log_tail(80)}")


def test_the_public_and_coordinator_journey_in_chromium(intake_url: str) -> None:
    env = {**os.environ, "INTAKE_URL": intake_url, "SCREENSHOT_DIR": str(SCREENSHOTS), "CHROMIUM": CHROMIUM,
           "NODE_MODULES": str(frontend.NODE_PREFIX / "node_modules"), "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1"}
    result = subprocess.run(["node", str(Path(__file__).with_name("journey.mjs"))], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=240, check=False)
    assert result.returncode == 0, f"journey failed:\n{result.stdout}\n{result.stderr[-4000:]}"
    assert '{"step":"done"}' in result.stdout
    for page in ("report", "report-errors", "report-done", "track", "inbox", "inbox-preview", "dashboard"):
        for width in (375, 1280):
            assert (SCREENSHOTS / f"{page}-{width}.png").stat().st_size > 0
