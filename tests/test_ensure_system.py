"""`make`'s system set-up: as a normal user it installs nothing and prints the exact command."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

SCRIPT = Path(__file__).parents[1] / "scripts" / "ensure-system"


def _as_normal_user(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    if os.geteuid() == 0:
        argv = [shutil.which("runuser") or "runuser", "-u", "nobody", "--", *argv]
    return subprocess.run(argv, capture_output=True, text=True, env=env, check=False)


def _path_without_npm() -> str:
    # A PATH holding only the tools the script uses, so npm looks missing, and a copy of the
    # script, in a folder the "nobody" user can reach (pytest's tmp_path and the checkout may
    # be private to root).
    bin_dir = Path(tempfile.mkdtemp(prefix="walktalk-path-"))
    shutil.copy(SCRIPT, bin_dir / "ensure-system")
    for tool in ("bash", "id", "ls", "sort", "tail", "grep", "dpkg-query", "env"):
        found = shutil.which(tool)
        assert found, f"{tool} is needed for this test"
        (bin_dir / tool).symlink_to(found)
    bin_dir.chmod(0o755)
    return str(bin_dir)


def test_a_normal_user_is_told_the_command_and_nothing_is_installed() -> None:
    path = _path_without_npm()
    try:
        result = _as_normal_user([f"{path}/bash", f"{path}/ensure-system", "node"], {"PATH": path})
    finally:
        shutil.rmtree(path)
    assert result.returncode == 1
    assert "install them with:  sudo apt-get install -y nodejs npm" in result.stderr


def test_nothing_missing_means_nothing_to_do() -> None:
    folder = Path(tempfile.mkdtemp(prefix="walktalk-script-"))
    folder.chmod(0o755)
    shutil.copy(SCRIPT, folder / "ensure-system")
    try:
        result = _as_normal_user(
            ["bash", str(folder / "ensure-system"), "server", "node", "browser"],
            {"PATH": os.environ["PATH"]},
        )
    finally:
        shutil.rmtree(folder)
    assert (result.returncode, result.stderr) == (0, "")


def test_an_unknown_need_is_refused() -> None:
    result = subprocess.run(["bash", str(SCRIPT), "gpu"], capture_output=True, text=True)
    assert result.returncode == 2
    assert "unknown need 'gpu'" in result.stderr
