"""Static pipeline (hashed, precompressed, immutable) and the installable PWA."""

import json

import pytest
from django.core.management import call_command
from django.test import Client, override_settings

from revivatech import pwa

MANIFEST_STORAGE = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}


@pytest.fixture(scope="module")
def collected_root(tmp_path_factory):
    """One collectstatic run (brotli is slow) into a temporary STATIC_ROOT, production storage."""
    root = tmp_path_factory.mktemp("static")
    with override_settings(STATIC_ROOT=root, STORAGES=MANIFEST_STORAGE):
        call_command("collectstatic", interactive=False, verbosity=0)
    return root


@pytest.fixture
def collected(collected_root, settings):
    settings.STATIC_ROOT = collected_root
    settings.STORAGES = MANIFEST_STORAGE
    settings.WHITENOISE_USE_FINDERS = False
    settings.WHITENOISE_AUTOREFRESH = False
    manifest = (collected_root / "staticfiles.json").read_text()
    pwa._manifest_version.cache_clear()
    yield collected_root
    (collected_root / "staticfiles.json").write_text(manifest)
    pwa._manifest_version.cache_clear()


def test_collectstatic_writes_hashed_gzip_and_brotli_files(collected):
    manifest = json.loads((collected / "staticfiles.json").read_text())
    hashed_css = manifest["paths"]["css/site.css"]
    assert hashed_css != "css/site.css" and hashed_css.startswith("css/site.")
    for suffix in ("", ".gz", ".br"):
        assert (collected / (hashed_css + suffix)).exists()
    assert (collected / (manifest["paths"]["js/live-tracking.js"] + ".br")).exists()


@pytest.mark.django_db
def test_hashed_static_files_are_served_compressed_and_cached_forever(collected):
    manifest = json.loads((collected / "staticfiles.json").read_text())
    url = "/static/" + manifest["paths"]["js/live-tracking.js"]
    response = Client().get(url, HTTP_ACCEPT_ENCODING="gzip, br")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "br"
    assert "immutable" in response["Cache-Control"] and "max-age=315360000" in response["Cache-Control"]
    page = Client().get("/book/").content.decode()
    assert manifest["paths"]["css/site.css"] in page  # pages link the hashed names


@pytest.mark.django_db
def test_service_worker_is_versioned_with_the_static_manifest(collected, client):
    first = client.get("/sw.js")
    assert first.status_code == 200
    assert first["Content-Type"].startswith("application/javascript")
    assert first["Service-Worker-Allowed"] == "/"
    assert "no-cache" in first["Cache-Control"]
    config = json.loads(first.content.decode().split("const CONFIG = ", 1)[1].split(";\n", 1)[0])
    manifest = json.loads((collected / "staticfiles.json").read_text())
    assert "/static/" + manifest["paths"]["css/site.css"] in config["shell"]
    assert "/offline/" in config["shell"] and config["staticNetworkFirst"] is False

    # A deploy that changes any static file changes the manifest, hence the worker's bytes.
    (collected / "staticfiles.json").write_text(json.dumps({**manifest, "hash": "next-deploy"}))
    pwa._manifest_version.cache_clear()
    second = json.loads(
        client.get("/sw.js").content.decode().split("const CONFIG = ", 1)[1].split(";\n", 1)[0]
    )
    assert second["version"] != config["version"]


@pytest.mark.django_db
def test_web_app_manifest_is_installable(client):
    response = client.get("/manifest.webmanifest")
    assert response["Content-Type"] == "application/manifest+json"
    manifest = response.json()
    assert manifest["display"] == "standalone" and manifest["start_url"].startswith("/")
    sizes = {(icon["sizes"], icon["purpose"]) for icon in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
    from django.contrib.staticfiles import finders

    for icon in manifest["icons"]:
        assert finders.find(icon["src"].removeprefix("/static/"))
    page = client.get("/").content.decode()
    assert 'rel="manifest"' in page and "js/pwa.js" in page


@pytest.mark.django_db
def test_offline_page(client):
    response = client.get("/offline/")
    assert response.status_code == 200 and "You are offline" in response.content.decode()


@override_settings(DEBUG=False)
def test_tracking_page_javascript_stays_small():
    """The tracking page's own JavaScript stays far under the 15 KB gzipped budget."""
    import gzip
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "static" / "js"
    total = sum(len(gzip.compress((root / name).read_bytes(), 9)) for name in ("live-tracking.js", "pwa.js"))
    assert total < 6 * 1024
