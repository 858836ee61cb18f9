"""The embedded cluster, as `walktalk db up/down/status/url` use it, in a folder of its own."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from service.cluster import Cluster, ClusterError
from service.settings import default_home


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    home = Path(tempfile.mkdtemp(prefix="walktalk-cl-"))
    home.chmod(0o755)
    made = Cluster(home, server_options=("fsync=off",))
    try:
        yield made
    finally:
        if made.status().running:
            made.down()
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(made.socket_dir, ignore_errors=True)


def test_up_twice_is_harmless_and_url_works_in_psql(cluster: Cluster) -> None:
    first = cluster.up()
    assert any("created a PostgreSQL cluster" in line for line in first)
    assert any("started" in line for line in first)
    pid = cluster.status().pid
    second = cluster.up()
    assert second == [f"PostgreSQL already running (pid {pid})"]
    url = cluster.url()
    assert url.startswith("postgresql://walktalk@/walktalk?host=")
    out = subprocess.run(
        ["psql", url, "-Atc", "SELECT postgis_lib_version() IS NOT NULL, current_user"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert out == "t|walktalk"


def test_listens_on_a_unix_socket_only(cluster: Cluster) -> None:
    cluster.up()
    with psycopg.connect(cluster.url()) as conn:
        assert conn.execute("SHOW listen_addresses").fetchone() == ("",)
        assert conn.execute("SHOW unix_socket_permissions").fetchone() == ("0700",)
    sockets = [p.name for p in cluster.socket_dir.iterdir()]
    assert ".s.PGSQL.5432" in sockets


def test_runs_as_postgres_user_when_root(cluster: Cluster) -> None:
    cluster.up()
    pid = cluster.status().pid
    assert pid is not None
    owner = pwd.getpwuid(os.stat(f"/proc/{pid}").st_uid).pw_name
    expected = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
    assert owner == expected


def test_status_and_down(cluster: Cluster) -> None:
    assert not cluster.status().initialised
    cluster.up()
    assert cluster.status().running
    assert cluster.down() == ["PostgreSQL stopped"]
    assert not cluster.status().running
    assert cluster.down() == ["PostgreSQL is not running"]


def test_stale_pid_file_after_a_crash_is_recovered(cluster: Cluster) -> None:
    cluster.up()
    pid = cluster.status().pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    cluster.wait_stopped()
    # After a crash and reboot the recorded pid may belong to another live process; PostgreSQL
    # alone would refuse to start then. Our own process is such a live, unrelated pid.
    pid_file = cluster.data_dir / "postmaster.pid"
    lines = pid_file.read_text().splitlines()
    pid_file.write_text("\n".join([str(os.getpid()), *lines[1:]]) + "\n")
    assert not cluster.status().running
    said = cluster.up()
    assert "removed a stale postmaster.pid left by a crash" in said
    with psycopg.connect(cluster.url()) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_long_home_gets_a_short_socket_folder() -> None:
    home = Path("/tmp") / ("h" * 120)
    cluster = Cluster(home)
    assert len(f"{cluster.socket_dir}/.s.PGSQL.5432".encode()) <= 107
    assert cluster.socket_dir.parent == Path(tempfile.gettempdir())
    short = Cluster(Path("/tmp/wt"))
    assert short.socket_dir == Path("/tmp/wt/run")


def test_default_home_is_one_the_server_user_can_reach(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    if os.geteuid() == 0:
        assert default_home() == Path("/var/lib/walktalk")
        with pytest.raises(ClusterError, match="under /root"):
            Cluster(Path("/root/walktalk-test-home")).up()
    else:
        assert default_home() == Path.home() / ".local" / "share" / "walktalk"
