"""docs/security.md names the tests that prove each control; every one must exist."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_test_named_in_the_security_evidence_exists():
    document = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    named = set(re.findall(r"tests/(test_\w+\.py)::(test_\w+)", document))
    assert len(named) > 40
    missing = []
    for filename, test in sorted(named):
        source = ROOT / "tests" / filename
        if not source.exists() or not re.search(rf"^def {test}\(", source.read_text(), re.M):
            missing.append(f"{filename}::{test}")
    assert missing == []
