"""The compose reader itself (no processes): interpolation as compose does it, the loopback mapping."""

from __future__ import annotations

import pytest

from tests.processes import ROOT

from .compose import (
    ComposeError,
    Localiser,
    instance_names,
    interpolate,
    one_shot_services,
    read_dockerfile,
    read_services,
    render_nginx_conf,
)


def test_interpolation_follows_compose():
    values = {"SET": "x", "EMPTY": ""}
    assert interpolate("${SET:-d} ${EMPTY:-d} ${UNSET:-d}", values) == "x d d"
    assert interpolate("${SET-d} ${EMPTY-d} ${UNSET-d}", values) == "x  d"
    assert interpolate("$$HOSTNAME ${SET} $SET", values) == "$HOSTNAME x x"
    assert interpolate({"a": ["${SET:?need it}"]}, values) == {"a": ["x"]}
    with pytest.raises(ComposeError, match="need it"):
        interpolate("${EMPTY:?need it}", values)
    assert interpolate("${EMPTY?need it}", values) == ""
    with pytest.raises(ComposeError):
        interpolate("${UNSET?need it}", values)


def test_the_compose_file_refuses_to_start_without_its_secrets():
    with pytest.raises(ComposeError, match="DJANGO_SECRET_KEY"):
        read_services({"POSTGRES_PASSWORD": "p"})


REQUIRED = {
    "DJANGO_SECRET_KEY": "k",
    "POSTGRES_PASSWORD": "p",
    "SITE_URL": "https://shop.example.com",
    "DEFAULT_FROM_EMAIL": "RevivaTech <repairs@shop.example.com>",
}


@pytest.mark.parametrize("missing", sorted(REQUIRED))
def test_the_compose_file_names_each_required_variable(missing):
    with pytest.raises(ComposeError, match=missing):
        read_services({k: v for k, v in REQUIRED.items() if k != missing})


def test_services_are_mapped_onto_loopback():
    services = read_services(REQUIRED)
    localiser = Localiser(
        service_hosts=services.pop("_names"),
        urls={"postgres": "postgres://postgres@127.0.0.1:5432/e2e", "redis": "redis://127.0.0.1:6379/9"},
        ports={8000: 41234},
        paths={"/app/var": "/tmp/var"},
    )
    web = " ".join(localiser.command(services["web1"].command))
    assert "--host 127.0.0.1 --port 41234" in web and "0.0.0.0" not in web
    assert "127.0.0.1:41234/readyz" in " ".join(localiser.command(services["web1"].healthcheck))
    assert localiser.command(services["beat"].command)[-1] == "/tmp/var/celerybeat-schedule"
    env = localiser.environment(services["worker"].environment)
    assert env["DATABASE_URL"] == "postgres://postgres@127.0.0.1:5432/e2e"
    assert env["REDIS_URL"] == "redis://127.0.0.1:6379/9"
    assert env["DJANGO_PRODUCTION"] == "1"


def test_the_image_build_steps_are_read_from_the_dockerfile():
    image = read_dockerfile()
    assert image.workdir == "/app"
    assert image.env["DJANGO_VAR_DIR"] == "/app/var"
    (inline, words), *_ = image.build_steps
    assert words[-2:] == ["collectstatic", "--noinput"] and "DJANGO_SECRET_KEY" in inline


def test_the_scaled_set_is_read_from_compose():
    services = read_services(REQUIRED)
    services.pop("_names")
    assert [instance for s in services.values() for instance in instance_names(s)] == [
        "migrate",
        "web1",
        "web2",
        "proxy",
        "worker-1",
        "worker-2",
        "beat",
    ]
    assert one_shot_services(services) == {"migrate"}
    assert services["web1"].command == services["web2"].command
    assert "migrate" not in services["web1"].command  # once, before them: never two at once
    (proxy_address,) = services["proxy"].addresses
    # X-Forwarded-* believed from the proxy only, by uvicorn and by Django alike
    web = services["web1"].command
    assert "--proxy-headers" in web and web[web.index("--forwarded-allow-ips") + 1] == proxy_address
    assert services["web1"].environment["ANALYTICS_TRUSTED_PROXIES"] == proxy_address
    assert "--timeout-graceful-shutdown" in web


def test_the_nginx_config_is_rendered_for_loopback(tmp_path):
    conf = render_nginx_conf(
        (ROOT / "deploy" / "nginx.conf").read_text(),
        upstreams={"web1": ["127.0.0.1:1001"], "web2": ["127.0.0.1:1002"]},
        listen={80: "127.0.0.1:1000"},
        bind_address="127.0.0.2",
        temp_dir=tmp_path,
    )
    assert "server 127.0.0.1:1001 max_fails=0;" in conf and "server 127.0.0.1:1002 max_fails=0;" in conf
    assert "listen 127.0.0.1:1000;" in conf and "proxy_bind 127.0.0.2;" in conf
    assert "web1:" not in conf
    # what the rolling restart relies on
    for directive in (
        "proxy_http_version 1.1;",
        "proxy_set_header Upgrade $http_upgrade;",
        "proxy_set_header Connection $connection_upgrade;",
        "proxy_set_header X-Forwarded-For $remote_addr;",
        "proxy_set_header X-Forwarded-Proto $scheme;",
        "proxy_next_upstream error timeout http_502 http_503;",
    ):
        assert directive in conf
