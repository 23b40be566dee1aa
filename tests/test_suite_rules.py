"""The suite's own rules (tests/conftest.py): a skip fails the run unless its reason is one of
the named expected ones, and no test's environment variables reach the next test."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

SKIPPING = """
import pytest

from tests.conftest import NO_CUDA


def test_without_cuda():
    pytest.skip(NO_CUDA)


@pytest.mark.skipif(True, reason=NO_CUDA)
def test_marked_without_cuda():
    pass


def test_without_an_extra():
    pytest.importorskip("a_module_that_is_not_installed")


def test_without_offscreen_gl():
    pytest.skip("no EGL")


@pytest.mark.xfail(reason="a known failure", strict=True)
def test_known_failure():
    assert False
"""


def test_only_named_skips_pass(tmp_path: Path) -> None:
    (tmp_path / "test_skipping.py").write_text(SKIPPING)
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.conftest", "-p", "no:cacheprovider",
         "-q", "-rA", str(tmp_path / "test_skipping.py")],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 1, out.stdout[-3000:]
    summary = out.stdout.strip().splitlines()[-1]
    assert re.search(r"\b2 failed\b", summary) and re.search(r"\b2 skipped\b", summary), summary
    assert re.search(r"\b1 xfailed\b", summary), summary
    failed = sorted(re.findall(r"^FAILED \S+::(\w+)", out.stdout, re.MULTILINE))
    assert failed == ["test_without_an_extra", "test_without_offscreen_gl"], out.stdout[-3000:]
    assert "skipped for 'no EGL'" in out.stdout


def test_a_module_skipped_at_import_fails_the_run(tmp_path: Path) -> None:
    module = tmp_path / "test_module_skip.py"
    module.write_text('import pytest\n\npytest.importorskip("a_module_that_is_not_installed")\n')
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.conftest", "-p", "no:cacheprovider",
         "-q", str(module)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode != 0 and "skipped" not in out.stdout.splitlines()[-1], out.stdout
    assert "skipped for 'could not import 'a_module_that_is_not_installed'" in out.stdout


def test_a_variable_set_by_a_test() -> None:
    """Sets a variable the way a command run in-process does (no monkeypatch)."""
    assert "OFFPCC_SUITE_RULES_PROBE" not in os.environ
    os.environ["OFFPCC_SUITE_RULES_PROBE"] = "1"


def test_is_gone_in_the_next_test() -> None:
    assert "OFFPCC_SUITE_RULES_PROBE" not in os.environ
