"""A strictly typed host type-checks against the installed package (``py.typed``).

``mypy --strict`` runs on ``tests/typing/host.py``, copied into a folder of its own so that the
package is found as a host finds it (installed, here editable) and not as source beside the
file; ``--follow-imports=silent`` keeps the package's own internals out of the verdict.
"""

import subprocess
import sys
from pathlib import Path

import pytest

HOST = Path(__file__).resolve().parent / "typing" / "host.py"


@pytest.fixture(scope="module")
def mypy(tmp_path_factory):
    """Run ``mypy --strict`` on one file in a fresh folder; returns (exit status, output)."""
    cache = tmp_path_factory.mktemp("mypy-cache")  # shared: the second run reuses the first

    def run(name: str, source: str) -> tuple[int, str]:
        folder = tmp_path_factory.mktemp("host")
        (folder / name).write_text(source, encoding="utf-8")
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "mypy",
                "--strict",
                "--follow-imports=silent",
                "--no-color-output",
                "--cache-dir",
                str(cache),
                name,
            ],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=240,
        )
        return done.returncode, done.stdout + done.stderr

    return run


def test_a_strictly_typed_host_passes_mypy(mypy):
    status, output = mypy("host.py", HOST.read_text(encoding="utf-8"))
    assert status == 0, output


def test_the_package_types_reach_the_host(mypy):
    # Not Any everywhere: mistakes in a host are caught.
    status, output = mypy(
        "mistakes.py",
        "from flask_industry_auth import Lifecycle, current_account\n"
        "\n"
        "\n"
        "def account_id() -> str:\n"
        "    return current_account().account_id\n"
        "\n"
        "\n"
        "Lifecycle.default().add_state('suspended', can_log_in='no')\n",
    )
    assert status == 1, output
    errors = [line for line in output.splitlines() if ": error: " in line]
    assert len(errors) == 2, output
    # current_account() may be None; can_log_in is a bool.
    assert errors[0].startswith("mistakes.py:5:") and errors[0].endswith("[union-attr]"), output
    assert errors[1].startswith("mistakes.py:8:") and errors[1].endswith("[arg-type]"), output
