"""Classic chart repositories against a real HTTP server on 127.0.0.1 (testkit.chart_repo: TLS from a
test CA, Basic auth): index, version selection, credentials from the auth file, and every failure."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from bundler.auth import AuthStore
from bundler.content.helm import (
    ChartAuthError,
    ChartError,
    ChartNotFoundError,
    ChartRepository,
    ChartRepositoryError,
    find_images,
)
from bundler.content.helm.repository import resolve_url
from testkit.certs import CA
from testkit.chart_repo import ChartRepoServer
from testkit.charts import tgz, webapp
from testkit.charts_platform import common, platform
from testkit.registry import write_authfile


@pytest.fixture
def repo(tls_ca: CA) -> Iterator[ChartRepoServer]:
    with ChartRepoServer(ca=tls_ca, username="charts-user") as server:
        for version in ("1.3.0", "1.4.2", "1.5.0-rc.1"):
            server.add("webapp", version, webapp(version=version).archive(), app_version="2.3.1")
        server.add("platform", "0.7.0", platform().archive())
        server.add("common", "2.1.0", common("2.1.0"), type="library")
        yield server


def client(server: ChartRepoServer, tmp_path: Path, **kw: object) -> ChartRepository:
    auth = AuthStore.load(write_authfile(tmp_path / "auth.json", {server.host: (server.username, server.password)}))
    return ChartRepository(server.url, ca_file=str(server.tls.ca_file) if server.tls else None,
                           auth=auth, **kw)  # type: ignore[arg-type]


def test_download_newest_stable_with_auth_file_credentials(repo: ChartRepoServer, tmp_path: Path) -> None:
    got = client(repo, tmp_path).download("webapp")
    assert (got.name, got.version, got.chart.label) == ("webapp", "1.4.2", "webapp 1.4.2")
    assert got.url == f"{repo.url}/charts/webapp-1.4.2.tgz"
    assert got.data == webapp(version="1.4.2").archive()
    assert got.digest.startswith("sha256:")
    assert [s.user for s in repo.requests] == ["charts-user", "charts-user"]
    assert "registry.example.com/apps/webapp:2.3.1" in find_images(got.chart).references


@pytest.mark.parametrize("asked, version", [
    ("1.3.0", "1.3.0"), ("~1.3", "1.3.0"), ("^1.0.0", "1.4.2"), (">=1.5.0-0", "1.5.0-rc.1"), ("1.5.0-rc.1", "1.5.0-rc.1"),
])
def test_version_selection(repo: ChartRepoServer, tmp_path: Path, asked: str, version: str) -> None:
    assert client(repo, tmp_path).download("webapp", asked).version == version


def test_explicit_basic_auth(repo: ChartRepoServer) -> None:
    r = ChartRepository(repo.url, ca_file=str(repo.tls.ca_file) if repo.tls else None,
                        username="charts-user", password=repo.password)
    assert r.index().get("platform").version == "0.7.0"


def test_all_charts_skips_library_charts(repo: ChartRepoServer, tmp_path: Path) -> None:
    names = {(e.name, e.version) for e in client(repo, tmp_path).index().all_charts()}
    assert names == {("webapp", "1.3.0"), ("webapp", "1.4.2"), ("webapp", "1.5.0-rc.1"), ("platform", "0.7.0")}


def test_no_credentials_401(repo: ChartRepoServer) -> None:
    r = ChartRepository(repo.url, ca_file=str(repo.tls.ca_file) if repo.tls else None, auth=AuthStore())
    with pytest.raises(ChartAuthError, match=r"requires credentials for index.yaml \(HTTP 401\)") as info:
        r.index()
    assert info.value.status == 401 and repo.host in (info.value.hint or "")


def test_wrong_credentials_401_does_not_show_the_password(repo: ChartRepoServer) -> None:
    r = ChartRepository(repo.url, ca_file=str(repo.tls.ca_file) if repo.tls else None,
                        username="charts-user", password="wrong-secret")
    with pytest.raises(ChartAuthError, match="refused the credentials") as info:
        r.download("webapp")
    assert "wrong-secret" not in str(info.value)


def test_unknown_ca(repo: ChartRepoServer, tmp_path: Path) -> None:
    r = ChartRepository(repo.url, auth=AuthStore())
    with pytest.raises(ChartRepositoryError, match="TLS failed fetching index.yaml: certificate signed by an "
                                                   "unknown CA") as info:
        r.index()
    assert "--ca-file" in (info.value.hint or "")


def test_unreachable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ChartRepositoryError, match=rf"chart repository http://127.0.0.1:{port}/x is unreachable"):
        ChartRepository(f"http://127.0.0.1:{port}/x", timeout=5).index()


@pytest.mark.parametrize("status, message", [(404, r"index.yaml not found \(HTTP 404\)"),
                                             (500, "index.yaml failed with HTTP 500")])
def test_index_errors(repo: ChartRepoServer, tmp_path: Path, status: int, message: str) -> None:
    repo.index_status = status
    with pytest.raises(ChartRepositoryError, match=message):
        client(repo, tmp_path).index()


def test_not_an_index(repo: ChartRepoServer, tmp_path: Path) -> None:
    repo.index_body = b"<html>login page</html>"
    with pytest.raises(ChartRepositoryError, match="did not serve a chart repository index"):
        client(repo, tmp_path).index()


def test_chart_or_version_not_in_repository(repo: ChartRepoServer, tmp_path: Path) -> None:
    r = client(repo, tmp_path)
    with pytest.raises(ChartNotFoundError, match="chart nginx is not in the chart repository") as info:
        r.download("nginx", "1.0.0")
    assert "platform, webapp" in (info.value.hint or "")
    with pytest.raises(ChartNotFoundError, match="chart webapp has no version 2.0.0") as info:
        r.download("webapp", "2.0.0")
    assert "1.5.0-rc.1, 1.4.2, 1.3.0" in (info.value.hint or "")
    with pytest.raises(ChartNotFoundError, match="neither a version of the chart nor a semver constraint"):
        r.download("webapp", "latest!")


def test_corrupt_archive_names_chart_version_and_url(repo: ChartRepoServer, tmp_path: Path) -> None:
    good = webapp(version="2.0.0").archive()
    repo.add("webapp", "2.0.0", good[:200])
    with pytest.raises(ChartError) as info:
        client(repo, tmp_path).download("webapp", "2.0.0")
    assert f"chart webapp 2.0.0 from {repo.url}/charts/webapp-2.0.0.tgz is a corrupt chart archive" in info.value.message


def test_digest_mismatch(repo: ChartRepoServer, tmp_path: Path) -> None:
    repo.add("webapp", "2.0.1", webapp(version="2.0.1").archive(), digest="0" * 64)
    with pytest.raises(ChartRepositoryError, match="does not match the index digest"):
        client(repo, tmp_path).download("webapp", "2.0.1")


def test_archive_missing_on_server(repo: ChartRepoServer, tmp_path: Path) -> None:
    repo.add("webapp", "2.0.2", b"x", url="charts/elsewhere/webapp-2.0.2.tgz")
    del repo.files[f"{repo.prefix}/charts/elsewhere/webapp-2.0.2.tgz"]
    with pytest.raises(ChartRepositoryError, match=r"chart webapp 2.0.2 archive not found \(HTTP 404\)"):
        client(repo, tmp_path).download("webapp", "2.0.2")


def test_archive_holding_another_chart(repo: ChartRepoServer, tmp_path: Path) -> None:
    repo.add("impostor", "1.4.2", webapp().archive())
    with pytest.raises(ChartRepositoryError, match="holds chart webapp 1.4.2 instead"):
        client(repo, tmp_path).download("impostor", "1.4.2")


def test_credentials_stay_on_the_repository_host(repo: ChartRepoServer, tmp_path: Path) -> None:
    """An index may point at archives on another host: helm does not send the repository's
    credentials there (without --pass-credentials), neither do we."""
    with ChartRepoServer(prefix="/cdn") as cdn:
        archive = tgz("elsewhere", {"Chart.yaml": "apiVersion: v2\nname: elsewhere\nversion: 1.0.0\n"})
        cdn.files["/cdn/elsewhere-1.0.0.tgz"] = archive
        repo.add("elsewhere", "1.0.0", archive, url=f"{cdn.url}/elsewhere-1.0.0.tgz")
        got = client(repo, tmp_path).download("elsewhere")
        assert got.chart.label == "elsewhere 1.0.0"
        assert [s.user for s in cdn.requests] == [None]


@pytest.mark.parametrize("base, ref, want", [
    ("https://h/charts", "index.yaml", "https://h/charts/index.yaml"),
    ("https://h/charts/", "a-1.tgz", "https://h/charts/a-1.tgz"),
    ("https://h/charts?token=x", "a-1.tgz", "https://h/charts/a-1.tgz?token=x"),
    ("https://h/charts", "/other/a-1.tgz", "https://h/other/a-1.tgz"),
    ("https://h/charts", "https://cdn/a-1.tgz", "https://cdn/a-1.tgz"),
])
def test_resolve_url(base: str, ref: str, want: str) -> None:
    assert resolve_url(base, ref) == want


def test_oci_url_is_not_a_classic_repository() -> None:
    with pytest.raises(ChartRepositoryError, match="is not http"):
        ChartRepository("oci://registry.example.com/charts")
