"""Run the production set of ``docker-compose.yml`` without Docker: its application services
(``migrate``, ``web1``/``web2``, ``worker`` × its ``deploy.replicas``, ``beat``: every service built
from the Dockerfile) and its nginx ``proxy`` become real processes on this machine, each with the
service's own ``command`` and ``environment`` (nginx with the committed config file, rendered).

What the compose file says is what runs, so the file and the end-to-end suite cannot drift apart:

* the ``x-app-env`` anchor and compose's interpolation (``${VAR}``, ``${VAR:-default}``,
  ``${VAR-default}``, ``${VAR:?error}``, ``${VAR?error}``, ``$$``) are resolved with values the
  suite supplies (a random secret key, the web port's SITE_URL, ...), never the caller's
  environment; a ``${VAR:?…}`` the suite did not supply fails as ``docker compose up`` would;
* the Dockerfile's ``ENV`` lines are the image's environment, and its build-time
  ``manage.py`` steps (collectstatic) run first, as the image build does;
* the containers' network is mapped onto loopback: URLs that point at the compose services
  (``postgres``, ``redis``) are swapped for a fresh PostgreSQL database and a Redis database of the
  suite's own, ``--host 0.0.0.0`` becomes ``127.0.0.1``, each web process's port and the proxy's
  published port a free one, a fixed address on the compose network (the proxy's ``ipv4_address``)
  a loopback alias of its own (``127.0.0.2``, …: nginx binds it as its source address, so "the
  request came from the proxy" means here what it means in compose), and paths in the image's
  work directory (``/app/var``) a temporary directory;
* compose's order: ``migrate`` runs to completion before the web processes start
  (``service_completed_successfully``), the proxy after the web processes are healthy;
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
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from tests.processes import ROOT, ManagedProcess, free_port, wait_until

COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
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
    container_ports: list[int]  # published ones ("host:container")
    replicas: int = 1
    image: str = ""  # "" for a service built from the Dockerfile
    addresses: list[str] = field(default_factory=list)  # fixed ipv4_address on compose networks
    volumes: list[str] = field(default_factory=list)
    depends_on: dict[str, str] = field(default_factory=dict)  # service -> condition

    @property
    def built(self) -> bool:
        return not self.image

    @property
    def is_web(self) -> bool:
        return "uvicorn" in self.command

    @property
    def is_proxy(self) -> bool:
        return self.image.split(":")[0].rsplit("/", 1)[-1] == "nginx"

    def container_port(self) -> int | None:
        """The port the process listens on inside its container (``--port``), if it serves one."""
        if "--port" in self.command:
            return int(self.command[self.command.index("--port") + 1])
        return None


def _command(raw) -> list[str]:
    """Compose's ``command``: a list as is, a string split as a shell would (no shell added)."""
    if isinstance(raw, list):
        return [str(part) for part in raw]
    return shlex.split(str(raw))


def _healthcheck(raw: dict | None) -> list[str]:
    test = (raw or {}).get("test") or []
    if isinstance(test, str):
        return ["sh", "-c", test]
    if not test:
        return []
    kind, *rest = test
    if kind == "CMD-SHELL":
        return ["sh", "-c", " ".join(rest)]
    if kind == "CMD":
        return list(rest)
    return []


def _depends_on(raw) -> dict[str, str]:
    if isinstance(raw, list):
        return dict.fromkeys(raw, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in (raw or {}).items()}


def _addresses(raw) -> list[str]:
    if not isinstance(raw, dict):
        return []
    return [spec["ipv4_address"] for spec in raw.values() if spec and spec.get("ipv4_address")]


def read_services(variables: dict[str, str], path: Path = COMPOSE_FILE) -> dict[str, Service]:
    """The services the suite runs (built from the Dockerfile, and the nginx proxy), with their
    command, environment, healthcheck, replicas and addresses, interpolated."""
    document = yaml.safe_load(path.read_text())  # resolves anchors and merge keys (*app-env, *web)
    services = interpolate(document["services"], variables)
    result = {}
    for name, spec in services.items():
        image = "" if "build" in spec else str(spec.get("image") or "")
        environment = spec.get("environment") or {}
        if isinstance(environment, list):
            environment = dict(item.partition("=")[::2] for item in environment)
        ports = [int(str(p).rsplit(":", 1)[-1].split("/")[0]) for p in spec.get("ports") or []]
        service = Service(
            name=name,
            command=_command(spec["command"]) if spec.get("command") else [],
            environment={key: "" if value is None else str(value) for key, value in environment.items()},
            healthcheck=_healthcheck(spec.get("healthcheck")),
            container_ports=ports,
            replicas=int((spec.get("deploy") or {}).get("replicas", 1)),
            image=image,
            addresses=_addresses(spec.get("networks")),
            volumes=[str(v) for v in spec.get("volumes") or []],
            depends_on=_depends_on(spec.get("depends_on")),
        )
        if service.built or service.is_proxy:
            result[name] = service
    result["_names"] = set(services)  # type: ignore[assignment]  # every service (hosts on the network)
    return result


def app_services(services: dict[str, Service]) -> list[str]:
    return [name for name, service in services.items() if name != "_names" and service.built]


def one_shot_services(services: dict[str, Service]) -> set[str]:
    """Services another waits for with ``service_completed_successfully`` (migrate)."""
    return {
        name
        for service in services.values()
        if isinstance(service, Service)
        for name, condition in service.depends_on.items()
        if condition == "service_completed_successfully"
    }


def instance_names(service: Service) -> list[str]:
    """Compose's replicas: ``worker-1``, ``worker-2``; a single one keeps the service's name."""
    if service.replicas <= 1:
        return [service.name]
    return [f"{service.name}-{index}" for index in range(1, service.replicas + 1)]


APP_SERVICES = tuple(
    app_services(
        read_services(
            {"DJANGO_SECRET_KEY": "-", "POSTGRES_PASSWORD": "-", "SITE_URL": "-", "DEFAULT_FROM_EMAIL": "-"}
        )
    )
)


# --- mapping the containers' network and paths onto this machine --------------------------------


@dataclass
class Localiser:
    """Rewrites one service's command and environment for loopback."""

    service_hosts: set[str]  # the compose service names (host names on the compose network)
    urls: dict[str, str]  # service host -> the URL that replaces any URL pointing at it
    ports: dict[int, int]  # container port -> free loopback port
    paths: dict[str, str]  # path prefix in the image -> directory here
    addresses: dict[str, str] = field(default_factory=dict)  # fixed network address -> loopback alias

    def text(self, value: str) -> str:
        for old, new in self.paths.items():
            value = value.replace(old, new)
        for old, new in self.addresses.items():
            value = re.sub(rf"(?<![\d.]){re.escape(old)}(?![\d.])", new, value)
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


def render_nginx_conf(
    text: str,
    *,
    upstreams: dict[str, list[str]],
    listen: dict[int, str],
    bind_address: str | None,
    temp_dir: Path,
) -> str:
    """The committed nginx config for loopback: ``server web1:8000`` becomes the web process's
    loopback address (one line per replica), ``listen 80`` a free port, the proxy's network
    address its source address (``proxy_bind``), temp files in ``temp_dir``."""

    def upstream(match: re.Match) -> str:
        host, rest = match["host"], match["rest"]
        if host not in upstreams:
            raise ComposeError(f"nginx upstream {host!r} is not a service the suite runs")
        return "\n".join(f"{match['indent']}server {address}{rest}" for address in upstreams[host])

    text = re.sub(
        r"(?m)^(?P<indent>[ \t]*)server\s+(?P<host>[A-Za-z][\w.-]*):\d+(?P<rest>[^;\n]*;)", upstream, text
    )
    for container_port, address in listen.items():
        text = re.sub(rf"(?m)^(\s*)listen\s+{container_port}\b", rf"\g<1>listen {address}", text)
    extra = [
        f"client_body_temp_path {temp_dir / 'body'};",
        f"proxy_temp_path {temp_dir / 'proxy'};",
        f"fastcgi_temp_path {temp_dir / 'fastcgi'};",
        f"uwsgi_temp_path {temp_dir / 'uwsgi'};",
        f"scgi_temp_path {temp_dir / 'scgi'};",
    ]
    if bind_address:
        extra.append(f"proxy_bind {bind_address};")
    return re.sub(r"(?m)^http\s*\{", "http {\n    " + "\n    ".join(extra), text, count=1)


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(path).exists()), None
    )


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
    """The application services of docker-compose.yml (each replica a process) behind its nginx
    proxy, on a fresh database and Redis database. ``url`` is the proxy (what customers use);
    ``web_urls`` reach each web process directly."""

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
            "DJANGO_SECURE_SSL_REDIRECT": "0",  # no TLS terminator in front of the proxy here
            "SITE_URL": self.url,
            "DEFAULT_FROM_EMAIL": "RevivaTech <repairs@revivatech.test>",
        }
        self.services = read_services(self.variables)
        self.service_hosts: set[str] = self.services.pop("_names")  # type: ignore[arg-type]
        self.one_shot = one_shot_services(self.services)
        # each fixed address on the compose network gets a loopback alias of its own
        fixed = [address for service in self.services.values() for address in service.addresses]
        self.addresses = {address: f"127.0.0.{index}" for index, address in enumerate(fixed, start=2)}
        #: instance name -> service name, in compose's file order
        self.instances = {
            instance: name for name, service in self.services.items() for instance in instance_names(service)
        }
        self.instance_ports = {
            instance: free_port() for instance, name in self.instances.items() if self.services[name].is_web
        }
        self.web_urls = {
            instance: f"http://{LOOPBACK}:{port}" for instance, port in self.instance_ports.items()
        }
        self.processes: dict[str, ManagedProcess] = {}
        self.retired: list[ManagedProcess] = []  # killed or restarted ones, logs kept for the report

    # --- naming ---

    def instances_of(self, service: str) -> list[str]:
        return [instance for instance, name in self.instances.items() if name == service]

    @property
    def web_instances(self) -> list[str]:
        return list(self.instance_ports)

    @property
    def worker_instances(self) -> list[str]:
        return [i for i, name in self.instances.items() if "worker" in self.services[name].command]

    @property
    def proxy_instance(self) -> str:
        return next(i for i, name in self.instances.items() if self.services[name].is_proxy)

    def localiser(self, instance: str) -> Localiser:
        service = self.services[self.instances.get(instance, instance)]
        ports = {port: self.port for port in service.container_ports}
        container_port = service.container_port()
        if container_port is not None and instance in self.instance_ports:
            ports[container_port] = self.instance_ports[instance]
        return Localiser(
            service_hosts=self.service_hosts,
            urls={"postgres": self.app_database_url, "redis": self.app_redis_url},
            ports=ports,
            paths={f"{self.image.workdir.rstrip('/')}/var": str(self.var_dir)},
            addresses=self.addresses,
        )

    # --- environment ---

    def env(self, instance: str) -> dict[str, str]:
        service = self.services[self.instances.get(instance, instance)]
        localiser = self.localiser(instance)
        base = {
            "PATH": _bin_path(),
            "HOME": os.environ.get("HOME", str(self.tmp)),
            "LANG": os.environ.get("LANG", "C.UTF-8"),
            "HOSTNAME": socket.gethostname(),  # as a container has it (the worker's healthcheck uses it)
            "TMPDIR": str(self.tmp),
        }
        image_env = {key: localiser.text(value) for key, value in self.image.env.items()}
        compose_env = localiser.environment(service.environment)
        return {**base, **image_env, **compose_env, **self.config.extra_env}

    def command(self, instance: str) -> list[str]:
        service = self.services[self.instances.get(instance, instance)]
        if service.is_proxy:
            return self._nginx_command()
        return self.localiser(instance).command(service.command)

    def healthcheck(self, instance: str) -> list[str]:
        return self.localiser(instance).command(
            self.services[self.instances.get(instance, instance)].healthcheck
        )

    # --- the proxy ---

    def nginx_conf(self) -> str:
        """The proxy's config file as compose mounts it (``./deploy/nginx.conf:/etc/nginx/nginx.conf``),
        rendered for loopback."""
        service = self.services[self.instances[self.proxy_instance]]
        source = next(
            (v.split(":")[0] for v in service.volumes if v.split(":")[1] == "/etc/nginx/nginx.conf"), None
        )
        if source is None:
            raise ComposeError("the proxy service mounts no /etc/nginx/nginx.conf")
        upstreams = {
            name: [f"{LOOPBACK}:{self.instance_ports[i]}" for i in self.instances_of(name)]
            for name, s in self.services.items()
            if s.is_web
        }
        temp = self.tmp / "nginx"
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (temp / sub).mkdir(parents=True, exist_ok=True)
        return render_nginx_conf(
            (ROOT / source).read_text(),
            upstreams=upstreams,
            listen={port: f"{LOOPBACK}:{self.port}" for port in service.container_ports},
            bind_address=self.addresses.get(service.addresses[0]) if service.addresses else None,
            temp_dir=temp,
        )

    def _nginx_command(self) -> list[str]:
        binary = nginx_binary()
        if binary is None:
            raise ComposeError("nginx is not installed (apt-get install -y nginx-light)")
        conf = self.tmp / "nginx" / "nginx.conf"
        conf.parent.mkdir(parents=True, exist_ok=True)
        conf.write_text(self.nginx_conf())
        # the image's own command (nginx -g 'daemon off;'), with a prefix, pid file and startup
        # error log of the suite's own
        pid = self.tmp / "nginx" / "nginx.pid"
        return [
            binary,
            "-p",
            str(conf.parent),
            "-c",
            str(conf),
            "-e",
            "stderr",
            "-g",
            f"daemon off; pid {pid};",
        ]

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
        need no database, so they run while migrate does (the image is built before ``up``)."""
        web = self.web_instances[0]
        base = self.env(web)
        build_env = {key: base[key] for key in ("PATH", "HOME", "LANG", "TMPDIR")}
        localiser = self.localiser(web)
        image_env = {key: localiser.text(value) for key, value in self.image.env.items()}
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

    def start_service(self, instance: str) -> ManagedProcess:
        """Start one instance (``web1``, ``worker-2``, ``beat``, the proxy …)."""
        old = self.processes.get(instance)
        if old is not None:
            if old.running:
                raise ComposeError(f"{instance} is already running")
            if old not in self.retired:
                self.retired.append(old)
        process = ManagedProcess(
            self.command(instance), env=self.env(instance), name=f"e2e-{instance}", log_dir=self.tmp
        )
        self.processes[instance] = process.start()
        return process

    def wait_one_shot(self, instance: str, timeout: float = 300) -> None:
        process = self.processes[instance]
        try:
            process.process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
        if process.process.returncode != 0:
            raise ComposeError(f"{instance} did not complete:\n{process.output()}")
        self.retired.append(self.processes.pop(instance))

    def wait_web(self, instance: str | None = None, timeout: float = 300) -> None:
        """``instance`` answers /readyz (default: the proxy, i.e. the site as customers see it)."""
        name = instance or self.proxy_instance
        process = self.processes[name]
        url = self.web_urls.get(name, self.url)
        ready = wait_until(
            lambda: not process.running or http_status(f"{url}/readyz") == 200, timeout=timeout, interval=0.2
        )
        if not (ready and process.running):
            raise ComposeError(f"{name} did not answer /readyz within {timeout} s:\n{process.output()}")

    def wait_worker(self, instance: str | None = None, timeout: float = 90) -> None:
        for name in [instance] if instance else self.worker_instances:
            worker = self.processes[name]
            ready = wait_until(
                lambda worker=worker: not worker.running or " ready." in worker.text(),
                timeout=timeout,
                interval=0.2,
            )
            if not (ready and worker.running):
                raise ComposeError(f"{name} did not become ready within {timeout} s:\n{worker.output()}")

    def beat_schedule_written(self) -> bool:
        """Beat's schedule file exists: what compose's beat healthcheck tests (``test -f …``).
        The image's Python has gdbm (the file is exactly that name); a Python built without it
        (shelve falls back to ndbm/dumb) adds a suffix (``.db``, ``.dat``), accepted here too."""
        command = self.services["beat"].command
        path = Path(self.localiser("beat").text(command[command.index("-s") + 1]))
        return path.exists() or any(path.parent.glob(f"{path.name}.*"))

    def wait_beat(self, timeout: float = 90) -> None:
        beat = self.processes["beat"]
        ready = wait_until(
            lambda: not beat.running or self.beat_schedule_written(), timeout=timeout, interval=0.3
        )
        if not (ready and beat.running):
            raise ComposeError(f"beat did not start within {timeout} s:\n{beat.output()}")

    def start(self) -> ComposeStack:
        """As ``docker compose up``: the image first (collectstatic, here in parallel with
        migrate), migrate to completion, the web processes, then the proxy; workers and beat from
        the start (compose waits only for PostgreSQL and Redis for them: they meet the tables when
        migrate has made them)."""
        self.create_resources()
        build = self.start_build()
        others = [i for i in self.instances if i not in self.web_instances and i != self.proxy_instance]
        for instance in others:
            self.start_service(instance)
        for instance in others:
            if self.instances[instance] in self.one_shot:
                self.wait_one_shot(instance)
        self.wait_build(build)
        for instance in self.web_instances:
            self.start_service(instance)
        for instance in self.web_instances:
            self.wait_web(instance)
        self.start_service(self.proxy_instance)
        self.wait_web()
        self.wait_worker()
        self.wait_beat()
        return self

    def kill_worker(self, instance: str | None = None) -> None:
        """SIGKILL a worker and its pool in one go (a crash, an OOM kill)."""
        worker = self.processes[instance or self.worker_instances[0]]
        worker.kill()
        self.retired.append(worker)

    def restart_worker(self, instance: str | None = None) -> None:
        """Start compose's worker command again (what ``restart: unless-stopped`` does)."""
        name = instance or self.worker_instances[0]
        old = self.processes.get(name)
        if old is not None and old.running:
            old.terminate()
        self.start_service(name)
        self.wait_worker(name)

    def restart_web(self, instance: str, timeout: float = 60) -> dict[str, float]:
        """One step of a rolling restart (``docker compose restart web1``): SIGTERM (uvicorn's
        graceful shutdown), wait for the exit, start it again, wait until it answers /readyz."""
        started = time.monotonic()
        self.processes[instance].terminate(timeout)
        stopped = time.monotonic()
        self.start_service(instance)
        self.wait_web(instance)
        ready = time.monotonic()
        return {"stop_seconds": stopped - started, "start_seconds": ready - stopped, "total": ready - started}

    def served_by(self, marker: str) -> Counter:
        """Which web process the proxy sent each request containing ``marker`` to (from its access
        log, ``upstream=<address>``; a retried request counts for every process it reached)."""
        by_port = {str(port): instance for instance, port in self.instance_ports.items()}
        proxy_names = {f"e2e-{self.proxy_instance}"}
        logs = "\n".join(p.text() for p in [*self.retired, *self.processes.values()] if p.name in proxy_names)
        counts: Counter = Counter()
        for line in logs.splitlines():
            if marker in line and "upstream=" in line:
                for address in line.split("upstream=", 1)[1].split(" ", 1)[0].split(","):
                    counts[by_port.get(address.strip().rsplit(":", 1)[-1], address.strip())] += 1
        return counts

    def text(self, service: str) -> str:
        """Every log of a service's instances (current and retired), e.g. both web processes'."""
        names = {f"e2e-{instance}" for instance in self.instances_of(service)} | {f"e2e-{service}"}
        return "\n".join(p.text() for p in [*self.retired, *self.processes.values()] if p.name in names)

    def run_healthcheck(self, instance: str, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run(  # noqa: S603 - compose's own healthcheck
            self.healthcheck(instance),
            env=self.env(instance),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def manage(self, operation: str, run_timeout: float = 120, **arguments) -> dict:
        """Run one of :mod:`tests.e2e.ops` in the web service's environment (``docker compose
        exec web1 python …``); returns its JSON answer."""
        command = [sys.executable, "-m", "tests.e2e.ops", operation, json.dumps(arguments)]
        done = subprocess.run(  # noqa: S603 - our own module
            command,
            cwd=ROOT,
            env=self.env(self.web_instances[0]),
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
        # the proxy first (no new requests), then the rest
        order = sorted(self.processes.items(), key=lambda item: item[0] != self.proxy_instance)
        for process in [*(p for _, p in order), *self.retired]:
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
