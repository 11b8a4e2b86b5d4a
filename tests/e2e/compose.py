"""Run the production set of ``docker-compose.yml`` without Docker: its ``web``, ``worker`` and
``beat`` services' own ``command`` and ``environment`` become real processes on this machine.

What the compose file says is what runs, so the file and the end-to-end suite cannot drift apart:

* the ``x-app-env`` anchor and compose's interpolation (``${VAR}``, ``${VAR:-default}``,
  ``${VAR-default}``, ``${VAR:?error}``, ``${VAR?error}``, ``$$``) are resolved with values the
  suite supplies (a random secret key, the web port's SITE_URL, ...), never the caller's
  environment; a ``${VAR:?…}`` the suite did not supply fails as ``docker compose up`` would;
* the Dockerfile's ``ENV`` lines are the image's environment, and its build-time
  ``manage.py`` steps (collectstatic) run first, as the image build does;
* the containers' network is mapped onto loopback: URLs that point at the compose services
  (``postgres``, ``redis``) are swapped for a fresh PostgreSQL database and a Redis database of the
  suite's own, ``--host 0.0.0.0`` becomes ``127.0.0.1``, the published port a free one, and paths
  in the image's work directory (``/app/var``) a temporary directory;
* the commands run from the repository root with the virtualenv's binaries first on ``PATH``
  (``sh -c "python manage.py migrate --noinput && uvicorn …"`` exactly as compose runs it).

On top of compose's environment the suite adds only what the loopback fakes need (see
:func:`tests.e2e.conftest.provider_env`): a test environment, not a different configuration.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from tests.processes import ROOT, ManagedProcess, free_port, wait_until

COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
APP_SERVICES = ("web", "worker", "beat")
LOOPBACK = "127.0.0.1"


class ComposeError(RuntimeError):
    """The compose file cannot be run as it stands (what ``docker compose up`` would refuse)."""


# --- compose's variable interpolation ----------------------------------------------------------

_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


def interpolate(value, variables: dict[str, str]):
    """Compose's interpolation over strings, lists and mappings, with ``variables`` only."""
    if isinstance(value, dict):
        return {key: interpolate(item, variables) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, variables) for item in value]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match) -> str:
        if match["escaped"]:
            return "$"
        name = match["braced"] or match["bare"]
        current = variables.get(name)
        op, arg = match["op"], match["arg"] or ""
        missing = not current if op in (":-", ":?") else current is None
        if op and op.endswith("-"):
            return arg if missing else current
        if op and op.endswith("?"):
            if missing:
                raise ComposeError(f"required variable {name} is missing a value: {arg}")
            return current
        return current or ""

    return _VARIABLE.sub(replace, value)


# --- the image: Dockerfile ENV, WORKDIR and build-time manage.py steps ---------------------------


@dataclass
class Image:
    workdir: str = "/"
    env: dict[str, str] = field(default_factory=dict)
    #: ``manage.py`` commands the build runs (e.g. collectstatic), with their inline env.
    build_steps: list[tuple[dict[str, str], list[str]]] = field(default_factory=list)


def read_dockerfile(path: Path = DOCKERFILE) -> Image:
    image = Image()
    text = re.sub(r"\\\n", " ", path.read_text())  # continuation lines
    for line in text.splitlines():
        instruction, _, rest = line.strip().partition(" ")
        instruction = instruction.upper()
        if instruction == "WORKDIR":
            image.workdir = rest.strip()
        elif instruction == "ENV":
            for pair in shlex.split(rest):
                key, _, value = pair.partition("=")
                image.env[key] = value
        elif instruction == "RUN":
            for step in re.split(r"&&|;", rest):
                words = shlex.split(step)
                inline = {}
                while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):
                    key, _, value = words.pop(0).partition("=")
                    inline[key] = value
                if "manage.py" in words:
                    image.build_steps.append((inline, words))
    return image


# --- services ------------------------------------------------------------------------------------


@dataclass
class Service:
    name: str
    command: list[str]
    environment: dict[str, str]
    healthcheck: list[str]
    container_ports: list[int]


def _command(raw) -> list[str]:
    """Compose's ``command``: a list as is, a string split as a shell would (no shell added)."""
    if isinstance(raw, list):
        return [str(part) for part in raw]
    return shlex.split(str(raw))


def _healthcheck(raw: dict | None) -> list[str]:
    test = (raw or {}).get("test") or []
    if isinstance(test, str):
        return ["sh", "-c", test]
    kind, *rest = test
    if kind == "CMD-SHELL":
        return ["sh", "-c", " ".join(rest)]
    if kind == "CMD":
        return list(rest)
    return []


def read_services(variables: dict[str, str], path: Path = COMPOSE_FILE) -> dict[str, Service]:
    """The application services with their command, environment and healthcheck, interpolated."""
    document = yaml.safe_load(path.read_text())  # resolves the x-app-env anchor (*app-env)
    services = interpolate(document["services"], variables)
    result = {}
    for name in APP_SERVICES:
        spec = services[name]
        environment = spec.get("environment") or {}
        if isinstance(environment, list):
            environment = dict(item.partition("=")[::2] for item in environment)
        ports = [int(str(p).rsplit(":", 1)[-1].split("/")[0]) for p in spec.get("ports") or []]
        result[name] = Service(
            name=name,
            command=_command(spec["command"]),
            environment={key: "" if value is None else str(value) for key, value in environment.items()},
            healthcheck=_healthcheck(spec.get("healthcheck")),
            container_ports=ports,
        )
    result["_names"] = set(services)  # type: ignore[assignment]  # every service (hosts on the network)
    return result


# --- mapping the containers' network and paths onto this machine --------------------------------


@dataclass
class Localiser:
    """Rewrites one service's command and environment for loopback."""

    service_hosts: set[str]  # the compose service names (host names on the compose network)
    urls: dict[str, str]  # service host -> the URL that replaces any URL pointing at it
    ports: dict[int, int]  # container port -> free loopback port
    paths: dict[str, str]  # path prefix in the image -> directory here

    def text(self, value: str) -> str:
        for old, new in self.paths.items():
            value = value.replace(old, new)
        value = re.sub(r"(--host[= ]+)0\.0\.0\.0\b", rf"\g<1>{LOOPBACK}", value)
        for old, new in self.ports.items():
            value = re.sub(rf"(--port[= ]+){old}\b", rf"\g<1>{new}", value)
            value = re.sub(rf"\b(127\.0\.0\.1|localhost):{old}\b", rf"{LOOPBACK}:{new}", value)
        return value

    def command(self, command: list[str]) -> list[str]:
        localised = [self.text(part) for part in command]
        for index, part in enumerate(localised[:-1]):
            if part == "--host" and localised[index + 1] == "0.0.0.0":
                localised[index + 1] = LOOPBACK
            if part == "--port" and localised[index + 1].isdigit():
                localised[index + 1] = str(self.ports.get(int(localised[index + 1]), localised[index + 1]))
        return localised

    def environment(self, environment: dict[str, str]) -> dict[str, str]:
        result = {}
        for key, value in environment.items():
            host = urlsplit(value).hostname if "://" in value else None
            if host in self.service_hosts:
                if host not in self.urls:
                    raise ComposeError(
                        f"{key} points at compose service {host!r}, which the suite does not run"
                    )
                value = self.urls[host]
            result[key] = self.text(value)
        return result


# --- the stack -----------------------------------------------------------------------------------


def _bin_path() -> str:
    """The virtualenv's binaries first (python, uvicorn, celery), then the system's (sh)."""
    return os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "/usr/bin:/bin")])


def http_status(url: str, timeout: float = 2.0) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


@dataclass
class StackConfig:
    database_url: str  # the server to create the fresh database on (its name is the base of ours)
    redis_url: str  # the Redis server (its database number is the base of ours)
    extra_env: dict[str, str] = field(default_factory=dict)
    redis_db: int | None = None


class ComposeStack:
    """web + worker + beat of docker-compose.yml, on a fresh database and Redis database."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.tmp = Path(tempfile.mkdtemp(prefix="e2e-compose-"))
        self.var_dir = self.tmp / "var"
        self.var_dir.mkdir()
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        base = urlsplit(config.database_url)
        self.db_name = f"{(base.path.lstrip('/') or 'revivatech')}_e2e_{secrets.token_hex(4)}"
        self.admin_url = base._replace(path="/postgres").geturl()
        self.app_database_url = base._replace(path=f"/{self.db_name}").geturl()
        redis_base = urlsplit(config.redis_url)
        base_db = int((redis_base.path or "/0").lstrip("/") or 0)
        self.redis_db = config.redis_db if config.redis_db is not None else (base_db + 8) % 16
        self.app_redis_url = redis_base._replace(path=f"/{self.redis_db}").geturl()
        self.secret_key = secrets.token_urlsafe(50)
        self.image = read_dockerfile()
        self.variables = {
            "DJANGO_SECRET_KEY": self.secret_key,
            "POSTGRES_PASSWORD": secrets.token_urlsafe(16),  # only in URLs swapped for loopback ones
            "DJANGO_ALLOWED_HOSTS": LOOPBACK,
            "DJANGO_SECURE_SSL_REDIRECT": "0",  # no TLS terminator in front of uvicorn here
            "SITE_URL": self.url,
            "DEFAULT_FROM_EMAIL": "RevivaTech <repairs@revivatech.test>",
        }
        self.services = read_services(self.variables)
        names = self.services.pop("_names")  # type: ignore[arg-type]
        web = self.services["web"]
        self.localiser = Localiser(
            service_hosts=set(names),
            urls={"postgres": self.app_database_url, "redis": self.app_redis_url},
            ports={port: self.port for port in web.container_ports},
            paths={f"{self.image.workdir.rstrip('/')}/var": str(self.var_dir)},
        )
        self.processes: dict[str, ManagedProcess] = {}
        self.retired: list[ManagedProcess] = []  # killed or restarted ones, logs kept for the report

    # --- environment ---

    def env(self, service: str) -> dict[str, str]:
        base = {
            "PATH": _bin_path(),
            "HOME": os.environ.get("HOME", str(self.tmp)),
            "LANG": os.environ.get("LANG", "C.UTF-8"),
            "HOSTNAME": socket.gethostname(),  # as a container has it (the worker's healthcheck uses it)
            "TMPDIR": str(self.tmp),
        }
        image_env = {key: self.localiser.text(value) for key, value in self.image.env.items()}
        compose_env = self.localiser.environment(self.services[service].environment)
        return {**base, **image_env, **compose_env, **self.config.extra_env}

    def command(self, service: str) -> list[str]:
        return self.localiser.command(self.services[service].command)

    def healthcheck(self, service: str) -> list[str]:
        return self.localiser.command(self.services[service].healthcheck)

    # --- resources ---

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql)

    def _redis(self):
        import redis

        return redis.Redis.from_url(self.app_redis_url, socket_timeout=5)

    def create_resources(self) -> None:
        self._admin(f'CREATE DATABASE "{self.db_name}"')
        client = self._redis()
        client.flushdb()  # the suite's own Redis database: queues and caches of an earlier run
        client.close()

    def drop_resources(self) -> None:
        try:
            self._admin(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        finally:
            client = self._redis()
            client.flushdb()
            client.close()

    # --- build step: what the image build runs (collectstatic) ---

    def start_build(self) -> list[ManagedProcess]:
        """The Dockerfile's ``manage.py`` build steps (collectstatic), in the background: they
        need no database, so they run while web migrates (the image is built before ``up``)."""
        base = self.env("web")
        build_env = {key: base[key] for key in ("PATH", "HOME", "LANG", "TMPDIR")}
        image_env = {key: self.localiser.text(value) for key, value in self.image.env.items()}
        steps = []
        for index, (inline, words) in enumerate(self.image.build_steps):
            # the build sees the image's ENV only (no compose environment), plus the suite's extras
            env = {**build_env, **image_env, **self.config.extra_env, **inline}
            step = ManagedProcess(words, env=env, name=f"e2e-build{index}", log_dir=self.tmp)
            self.retired.append(step.start())
            steps.append(step)
        return steps

    def wait_build(self, steps: list[ManagedProcess], timeout: float = 400) -> None:
        for step in steps:
            try:
                step.process.wait(timeout)
            except subprocess.TimeoutExpired:
                step.kill()
            if step.process.returncode != 0:
                raise ComposeError(f"build step {' '.join(step.command)} failed:\n{step.output()}")

    # --- processes ---

    def start_service(self, service: str) -> ManagedProcess:
        process = ManagedProcess(
            self.command(service), env=self.env(service), name=f"e2e-{service}", log_dir=self.tmp
        )
        self.processes[service] = process.start()
        return process

    def wait_web(self, timeout: float = 300) -> None:
        web = self.processes["web"]
        ready = wait_until(
            lambda: not web.running or http_status(f"{self.url}/readyz") == 200, timeout=timeout, interval=0.3
        )
        if not (ready and web.running):
            raise ComposeError(f"web did not answer /readyz within {timeout} s:\n{web.output()}")

    def wait_worker(self, timeout: float = 90) -> None:
        worker = self.processes["worker"]
        ready = wait_until(
            lambda: not worker.running or " ready." in worker.text(), timeout=timeout, interval=0.2
        )
        if not (ready and worker.running):
            raise ComposeError(f"the worker did not become ready within {timeout} s:\n{worker.output()}")

    def beat_schedule_written(self) -> bool:
        """Beat's schedule file exists: what compose's beat healthcheck tests (``test -f …``).
        The image's Python has gdbm (the file is exactly that name); a Python built without it
        (shelve falls back to ndbm/dumb) adds a suffix (``.db``, ``.dat``), accepted here too."""
        path = Path(
            self.localiser.text(self.services["beat"].command[self.services["beat"].command.index("-s") + 1])
        )
        return path.exists() or any(path.parent.glob(f"{path.name}.*"))

    def wait_beat(self, timeout: float = 90) -> None:
        beat = self.processes["beat"]
        ready = wait_until(
            lambda: not beat.running or self.beat_schedule_written(), timeout=timeout, interval=0.3
        )
        if not (ready and beat.running):
            raise ComposeError(f"beat did not start within {timeout} s:\n{beat.output()}")

    def start(self) -> ComposeStack:
        """As ``docker compose up``: the image first (collectstatic, here in parallel), then web,
        worker and beat together (compose waits only for PostgreSQL and Redis to be healthy; web
        migrates before it serves, and the workers meet the tables when they appear)."""
        self.create_resources()
        build = self.start_build()
        for service in APP_SERVICES:
            self.start_service(service)
        self.wait_build(build)
        self.wait_web()
        self.wait_worker()
        self.wait_beat()
        return self

    def kill_worker(self) -> None:
        """SIGKILL the worker and its pool in one go (a crash, an OOM kill)."""
        worker = self.processes["worker"]
        worker.kill()
        self.retired.append(worker)

    def restart_worker(self) -> None:
        """Start compose's worker command again (what ``restart: unless-stopped`` does)."""
        old = self.processes.get("worker")
        if old is not None and old.running:
            old.stop()
        if old is not None and old not in self.retired:
            self.retired.append(old)
        self.start_service("worker")
        self.wait_worker()

    def run_healthcheck(self, service: str, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run(  # noqa: S603 - compose's own healthcheck
            self.healthcheck(service),
            env=self.env(service),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def manage(self, operation: str, run_timeout: float = 120, **arguments) -> dict:
        """Run one of :mod:`tests.e2e.ops` in the web service's environment (``docker compose
        exec web python …``); returns its JSON answer."""
        command = [sys.executable, "-m", "tests.e2e.ops", operation, json.dumps(arguments)]
        done = subprocess.run(  # noqa: S603 - our own module
            command,
            cwd=ROOT,
            env=self.env("web"),
            capture_output=True,
            text=True,
            timeout=run_timeout,
            check=False,
        )
        if done.returncode:
            raise ComposeError(f"ops {operation} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    def logs(self, tail: int = 3000) -> str:
        parts = []
        for process in [*self.retired, *self.processes.values()]:
            state = (
                "running"
                if process.running
                else f"exited {process.process.returncode if process.process else '-'}"
            )
            parts.append(f"----- {process.name} ({state}) -----\n{process.output(tail)}")
        return "\n".join(parts)

    def stop(self) -> None:
        for process in [*self.processes.values(), *self.retired]:
            try:
                process.close()
            except Exception as error:  # keep stopping the others
                print(f"could not stop {process.name}: {error!r}")
        try:
            self.drop_resources()
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)


def wait_for(
    condition, *, timeout: float, what: str, stack: ComposeStack | None = None, interval: float = 0.1
):
    """Wait for ``condition`` (returns a truthy value); on timeout fail with the processes' logs."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            logs = f"\n{stack.logs()}" if stack is not None else ""
            raise AssertionError(f"{what}: not within {timeout} s{logs}")
        time.sleep(interval)
