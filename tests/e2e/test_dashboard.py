"""The web dashboard in a real browser (Debian's headless Chromium driven by Playwright) on the local cluster.

A `ramp controller` runs for the test's namespace and `ramp dashboard` as its own process. The page lists the
Rollout and follows it live as it steps (no reload); each button changes the cluster as the CLI's verb would
(promote, abort, retry, pause, promote-full, restart, set image, rollback); an action without the token is
refused with HTTP 401 and the page says so. Screenshots of the list (1280x800 and 390x844) and of the rollout
page mid-canary with an analysis chart land in build/screenshots/.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.e2e.harness import ROOT, Cluster, ControllerProcess, build_dir, free_port, ramp_command, wait_until
from tests.e2e.metrics_source import MetricsSource
from tests.e2e.scenario import Scenario

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = ROOT / "build" / "screenshots"
TOKEN = "e2e-dashboard-token-0123456789abcdefghij"
OLD, NEW, NEWER = "nginx:1.27", "nginx:1.28", "nginx:1.29"
ANALYSIS = {"analysis": {"templates": [{"templateName": "health-ratio"}]}}
STEPS = [{"setWeight": 25}, {"pause": {}}, ANALYSIS, {"setWeight": 50}, {"pause": {}}]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium, installed with apt-get when missing (the test fails, never skips, if it cannot be)."""
    if not CHROMIUM.exists():
        if os.geteuid() != 0 or shutil.which("apt-get") is None:
            pytest.fail(
                f"{CHROMIUM} is missing and cannot be installed here: run `apt-get install -y chromium` as root"
            )
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        installed = subprocess.run(
            ["apt-get", "install", "-y", "chromium"], capture_output=True, text=True, env=env, check=False
        )
        if installed.returncode != 0 or not CHROMIUM.exists():
            pytest.fail(f"`apt-get install -y chromium` failed ({installed.returncode}):\n{installed.stderr[-2000:]}")
    return CHROMIUM


@pytest.fixture
def browser_context(chromium: Path, tmp_path: Path) -> Iterator[Any]:
    playwright_api = pytest.importorskip("playwright.sync_api", reason="pip install the dev extras (playwright)")
    with playwright_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(chromium),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport=DESKTOP,
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def source() -> Iterator[MetricsSource]:
    """A health document whose ratio wanders above the success threshold, so the chart has a shape."""
    serving = MetricsSource()
    serving.set_document({"ratio": 0.97})
    stop = threading.Event()

    def wander() -> None:
        for ratio in itertools.cycle((0.97, 0.958, 0.985, 0.964, 0.992, 0.975)):
            serving.set_document({"ratio": ratio})
            if stop.wait(0.6):
                return

    thread = threading.Thread(target=wander, daemon=True)
    thread.start()
    yield serving
    stop.set()
    thread.join(5)
    serving.stop()


@pytest.fixture
def start_dashboard(cluster: Cluster, namespace: str) -> Iterator[Callable[..., str]]:
    """Start `ramp dashboard` for the test's namespace (reads open unless `open_reads=False`, actions need TOKEN);
    gives its base URL."""
    started: list[subprocess.Popen[bytes]] = []

    def start(kubeconfig: Path, *, open_reads: bool = True) -> str:
        port = free_port()
        log = build_dir() / f"dashboard-{namespace}-{len(started)}.log"
        command = [*ramp_command(), "dashboard", "--kubeconfig", str(kubeconfig), "-n", namespace]
        command += ["--port", str(port), "--token", TOKEN] + (["--insecure-read-only"] if open_reads else [])
        with log.open("wb") as sink:
            process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        started.append(process)
        base = f"http://127.0.0.1:{port}"

        def is_up() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"ramp dashboard exited {process.returncode}:\n{log.read_text()[-3000:]}")
            try:
                return httpx.get(f"{base}/api/v1/config", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(is_up, 30, "the dashboard to answer")
        return base

    yield start
    for process in started:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def dashboard(cluster: Cluster, start_dashboard: Callable[..., str]) -> str:
    return start_dashboard(cluster.kubeconfig)


def _given_template(s: Scenario, source: MetricsSource) -> None:
    metric = {
        "name": "health-ratio",
        "interval": "1s",
        "count": 6,
        "successCondition": "result >= 0.95",
        "failureCondition": "result < 0.8",
        "provider": {"web": {"url": f"{source.url}/health", "jsonPath": "{$.ratio}"}},
    }
    manifest = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisTemplate",
        "metadata": {"name": "health-ratio"},
        "spec": {"metrics": [metric]},
    }
    s.given(json.dumps(manifest))


def _spec(s: Scenario) -> dict[str, Any]:
    return dict(s.get("rollout", "web")["spec"])


def _image(s: Scenario) -> str:
    return str(_spec(s)["template"]["spec"]["containers"][0]["image"])


def _shoot(page: Any, name: str, *, full_page: bool = False) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # Toasts of earlier clicks would cover the page; they fade by themselves, a screenshot cannot wait.
    page.evaluate("document.querySelectorAll('#toasts .toast').forEach((toast) => toast.remove())")
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def _click(page: Any, action: str) -> None:
    button = page.locator(f'.actions button[data-action="{action}"]')
    button.wait_for(state="visible")
    wait_until(button.is_enabled, 30, f"the {action} button to be enabled")
    button.click()


def _expect_toast(page: Any, text: str) -> None:
    page.locator("#toasts .toast", has_text=text).first.wait_for(timeout=15000)


def test_dashboard_follows_rollouts_live_and_acts_as_the_cli(
    cluster: Cluster,
    namespace: str,
    start_controller: Callable[..., ControllerProcess],
    source: MetricsSource,
    dashboard: str,
    browser_context: Any,
) -> None:
    start_controller("--namespaced", "--namespace", namespace, "--leader-elect=false").wait_for_log("workers started")
    s = Scenario(cluster, namespace)
    _given_template(s, source)
    s.given_rollout("web", image=OLD, replicas=4, canary={"steps": STEPS})
    s.given_rollout("api", image=OLD, replicas=2, canary={"steps": STEPS})
    s.then_phase("web", "Healthy")
    s.then_phase("api", "Healthy")
    page = browser_context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())

    # The list shows the Rollout, Healthy, with its image
    page.goto(f"{dashboard}/#/ns/{namespace}")
    row = page.locator('.row[data-rollout="web"]')
    row.locator('[data-phase="Healthy"]').wait_for(timeout=20000)
    assert OLD in row.inner_text()
    page.locator("#live.live-live").wait_for(timeout=10000)

    # It follows the rollout live when it steps: a new image pauses it at step 1/5, without a reload
    s.when_image("rollout", "web", "app", NEW)
    row.locator('[data-phase="Paused"]').wait_for(timeout=30000)
    wait_until(lambda: "1/5" in row.inner_text(), 20, "the list to show step 1/5")
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1

    # The filters: "needs attention" and a phase keep the paused one; the name filter finds the other
    page.locator(".chip-attention").click()
    wait_until(lambda: page.locator(".rows .row").count() == 1, 10, "the needs-attention filter")
    page.locator(".chip-attention").click()
    page.locator(".chip-healthy").click()
    page.locator('.row[data-rollout="api"]').wait_for()
    assert page.locator('.row[data-rollout="web"]').count() == 0
    page.locator(".chip", has_text="All").click()
    page.locator("#filter-name").fill("we")
    wait_until(lambda: page.locator(".rows .row").count() == 1, 10, "the name filter")
    page.locator("#filter-name").fill("")

    # An action without the token is refused: HTTP 401, the cluster unchanged, and the page says so
    refused = httpx.post(f"{dashboard}/api/v1/namespaces/{namespace}/rollouts/web/promote", timeout=10)
    assert refused.status_code == 401
    wrong = httpx.post(
        f"{dashboard}/api/v1/namespaces/{namespace}/rollouts/web/promote",
        headers={"Authorization": "Bearer not-the-token"},
        timeout=10,
    )
    assert wrong.status_code == 401
    row.click()
    page.locator(".rollout-head h1", has_text="web").wait_for()
    _click(page, "promote")
    _expect_toast(page, "needs the dashboard token")
    assert s.status("web")["currentStepIndex"] == 1
    page.locator("#token-input").fill(TOKEN)
    page.locator("#token-save").click()
    page.locator("#signin.signed-in").wait_for()

    # Promote: on to the analysis step; its measurements are charted against the thresholds
    page.locator(".rollout-head h1", has_text="web").wait_for()
    _click(page, "promote")
    _expect_toast(page, "rollout 'web' promoted")
    s.then_step("web", 2)
    page.locator("#analysis svg.chart circle.pt").nth(2).wait_for(timeout=30000)
    page.locator("#analysis .threshold-success").first.wait_for(state="attached")
    page.locator('#steps li[data-step="2"] summary').click()
    _shoot(page, "rollout-mid-canary-1280x800")
    _shoot(page, "rollout-mid-canary-1280-full", full_page=True)
    s.then_step("web", 4, timeout=60)
    s.then_phase("web", "Paused")
    page.locator('#steps li.step-current[data-step="4"]').wait_for(timeout=20000)
    _shoot(page, "rollout-paused-after-analysis-1280-full", full_page=True)
    page.set_viewport_size(PHONE)
    _shoot(page, "rollout-390x844")
    _shoot(page, "rollout-390-full", full_page=True)
    page.goto(f"{dashboard}/#/ns/{namespace}")
    row.locator('[data-phase="Paused"]').wait_for(timeout=20000)
    _shoot(page, "list-390x844")
    page.set_viewport_size(DESKTOP)
    _shoot(page, "list-1280x800")
    row.click()

    # Abort: status.abort, Degraded; Retry: status.abort cleared
    _click(page, "abort")
    _expect_toast(page, "rollout 'web' aborted")
    assert s.status("web").get("abort") is True
    s.then_phase("web", "Degraded")
    _click(page, "retry")
    _expect_toast(page, "rollout 'web' retried")
    wait_until(lambda: not s.status("web").get("abort"), 20, "status.abort to be cleared")

    # Pause: spec.paused; Promote-Full: unpaused and straight to the new version
    s.then_step("web", 1, timeout=60)
    _click(page, "pause")
    _expect_toast(page, "rollout 'web' paused")
    assert _spec(s).get("paused") is True
    _click(page, "promote-full")
    _expect_toast(page, "fully promoted")
    s.then_phase("web", "Healthy", timeout=60)
    s.then_ready_images("app=web", {NEW: 4})
    assert not _spec(s).get("paused")

    # Restart: spec.restartAt set, as `ramp restart`
    _click(page, "restart")
    _expect_toast(page, "restarts")
    assert _spec(s).get("restartAt")

    # Set image from the Containers card
    image_input = page.locator('#containers input[data-container="app"]')
    wait_until(lambda: image_input.input_value() == NEW, 20, "the containers card to show the new image")
    image_input.fill(NEWER)
    page.locator('#containers button[data-action="set-image"]').click()
    _expect_toast(page, "image updated")
    assert _image(s) == NEWER
    s.then_step("web", 1, timeout=60)

    # Rollback to revision 2 (nginx:1.28), as `ramp undo --to-revision 2`
    rollback = page.locator('#revisions button[data-action="undo"][data-revision="2"]')
    rollback.wait_for(timeout=20000)
    rollback.click()
    _expect_toast(page, "rolled back to revision 2")
    assert _image(s) == NEW

    audit = httpx.get(f"{dashboard}/api/v1/audit", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10).json()
    done = [(entry["action"], entry["outcome"]) for entry in audit["items"]]
    assert ("promote", "refused: no valid token") in done
    assert {"promote", "abort", "retry", "pause", "promote-full", "restart", "set-image", "undo"} <= {
        action for action, outcome in done if outcome == "ok"
    }
    assert httpx.get(f"{dashboard}/api/v1/openapi.json", timeout=10).json()["openapi"].startswith("3.")
    # Each action is in the dashboard's log too, one line each
    log = (build_dir() / f"dashboard-{namespace}-0.log").read_text()
    assert "audit: dashboard action promote" in log
    assert "refused: no valid token" in log
    assert "audit: dashboard action undo" in log


def _viewer_kubeconfig(cluster: Cluster, namespace: str) -> Path:
    """A kubeconfig for a ServiceAccount that may read rollouts and their objects in `namespace`, not change them."""
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": "rollout-viewer"},
        "rules": [
            {
                "apiGroups": ["argoproj.io"],
                "resources": ["rollouts", "analysisruns", "experiments"],
                "verbs": ["get", "list", "watch"],
            },
            {"apiGroups": ["apps"], "resources": ["replicasets"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
        ],
    }
    cluster.kubectl("create", "serviceaccount", "viewer", "-n", namespace)
    cluster.apply(json.dumps(role), namespace=namespace)
    cluster.kubectl(
        "create",
        "rolebinding",
        "viewer",
        "--role=rollout-viewer",
        f"--serviceaccount={namespace}:viewer",
        "-n",
        namespace,
    )
    token = cluster.kubectl("create", "token", "viewer", "-n", namespace, "--duration=1h").strip()
    admin = yaml.safe_load(cluster.kubeconfig.read_text())
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "local", "cluster": admin["clusters"][0]["cluster"]}],
        "users": [{"name": "viewer", "user": {"token": token}}],
        "contexts": [{"name": "viewer", "context": {"cluster": "local", "user": "viewer", "namespace": namespace}}],
        "current-context": "viewer",
    }
    path = build_dir() / f"viewer-{namespace}.kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return path


def test_a_forbidden_action_is_explained_in_plain_words(
    cluster: Cluster, namespace: str, start_dashboard: Callable[..., str], browser_context: Any
) -> None:
    # Given a Rollout, and a dashboard whose kubeconfig may read it but not change it
    Scenario(cluster, namespace).given_rollout("web", image=OLD, replicas=1, canary={"steps": STEPS})
    dashboard = start_dashboard(_viewer_kubeconfig(cluster, namespace))
    page = browser_context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    # When the user, signed in, pauses it
    page.goto(f"{dashboard}/#/ns/{namespace}/rollouts/web?token={TOKEN}")
    page.locator(".rollout-head h1", has_text="web").wait_for(timeout=20000)
    response = httpx.post(
        f"{dashboard}/api/v1/namespaces/{namespace}/rollouts/web/pause",
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=10,
    )
    _click(page, "restart")
    # Then the API answers 403 and the page says who may not do what, and what to ask for
    assert response.status_code == 403
    assert "not allowed to patch Rollout" in response.json()["error"]
    _expect_toast(page, "ask for RBAC permission to patch rollouts")
    assert not cluster.get("rollout", "web", namespace)["spec"].get("restartAt")


async def _come_and_go(dashboard: str, path: str, clients: int, wave: int) -> list[int]:
    """`clients` event streams, `wave` at a time: each gets a ticket with the token, opens the stream, reads its
    first event and hangs up. The statuses of the streams."""

    async def one(client: httpx.AsyncClient) -> int:
        issued = await client.post(f"{dashboard}/api/v1/stream-ticket", headers={"Authorization": f"Bearer {TOKEN}"})
        ticket = issued.json()["ticket"]
        async with client.stream("GET", f"{dashboard}{path}", params={"ticket": ticket}) as response:
            if response.status_code == 200:
                async for line in response.aiter_lines():
                    if line.startswith("event: rollouts"):
                        break
            return response.status_code

    statuses: list[int] = []
    limits = httpx.Limits(max_connections=wave * 2, max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        for start in range(0, clients, wave):
            statuses += await asyncio.gather(*(one(client) for _ in range(min(wave, clients - start))))
    return statuses


def _first_event(dashboard: str, path: str) -> dict[str, Any]:
    """Open one stream with a fresh ticket and give the data of its first `rollouts` event."""
    with httpx.Client(timeout=30) as client:
        ticket = client.post(f"{dashboard}/api/v1/stream-ticket", headers={"Authorization": f"Bearer {TOKEN}"})
        with client.stream("GET", f"{dashboard}{path}", params={"ticket": ticket.json()["ticket"]}) as response:
            assert response.status_code == 200
            lines = response.iter_lines()
            for line in lines:
                if line.startswith("event: rollouts"):
                    data: dict[str, Any] = json.loads(next(lines).removeprefix("data: "))
                    return data
    raise AssertionError("the stream ended without a rollouts event")


def test_the_live_stream_keeps_working_after_50_clients_come_and_go(
    cluster: Cluster,
    namespace: str,
    start_controller: Callable[..., ControllerProcess],
    start_dashboard: Callable[..., str],
    browser_context: Any,
) -> None:
    # Given a Rollout, a dashboard whose reads need the token, and a signed-in page following the list live
    start_controller("--namespaced", "--namespace", namespace, "--leader-elect=false").wait_for_log("workers started")
    s = Scenario(cluster, namespace)
    s.given_rollout("web", image=OLD, replicas=2, canary={"steps": [{"setWeight": 50}, {"pause": {}}]})
    s.then_phase("web", "Healthy")
    dashboard = start_dashboard(cluster.kubeconfig, open_reads=False)
    page = browser_context.new_page()
    page.goto(f"{dashboard}/#/ns/{namespace}?token={TOKEN}")
    assert "token" not in page.url
    row = page.locator('.row[data-rollout="web"]')
    row.locator('[data-phase="Healthy"]').wait_for(timeout=20000)
    page.locator("#live.live-live").wait_for(timeout=10000)
    path = f"/api/v1/namespaces/{namespace}/rollouts/watch"
    # The token in a URL opens no stream
    assert httpx.get(f"{dashboard}{path}", params={"token": TOKEN}, timeout=10).status_code == 401

    # When 50 clients connect and disconnect, 10 at a time
    # (in a thread of their own: Playwright's sync API runs an event loop in this one)
    with ThreadPoolExecutor(1) as runner:
        statuses = runner.submit(asyncio.run, _come_and_go(dashboard, path, clients=50, wave=10)).result(300)

    # Then every one was served, and a change still reaches the page that stayed and a client that comes after
    assert statuses == [200] * 50
    s.when_image("rollout", "web", "app", NEW)
    row.locator('[data-phase="Paused"]').wait_for(timeout=30000)
    wait_until(lambda: "1/2" in row.inner_text(), 20, "the list to show step 1/2")
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
    items = _first_event(dashboard, path)["items"]
    assert [(item["name"], item["phase"]) for item in items] == [("web", "Paused")]
