"""The compose reader itself (no processes): interpolation as compose does it, the loopback mapping."""

from __future__ import annotations

import pytest

from .compose import ComposeError, Localiser, interpolate, read_dockerfile, read_services


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
    web = " ".join(localiser.command(services["web"].command))
    assert "--host 127.0.0.1 --port 41234" in web and "0.0.0.0" not in web
    assert "127.0.0.1:41234/readyz" in " ".join(localiser.command(services["web"].healthcheck))
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
