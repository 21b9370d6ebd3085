"""Make the checkout's collection importable as `ansible_collections.oid.cloud`,
the way Ansible imports it (next to the collections of the `ansible` package)."""

import sys
from pathlib import Path

from hypothesis import settings

COLLECTIONS = Path(__file__).resolve().parents[1] / "collections"
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))

# The lab (real OpenStack DCs in containers), shared by every suite that needs it.
from tests.support.lab import lab  # noqa: E402,F401

# No per-example deadline: make test runs suites side by side on two cores, and a
# property test must fail on a wrong answer, not on a busy machine (speed is
# measured by benchmarks/, never asserted).
settings.register_profile("oid", deadline=None)
settings.load_profile("oid")


# --suite-times FILE: the time each test file took (setup, call and teardown of its
# tests, so a session fixture's cost lands where it is first used), as
# "file<TAB>seconds<TAB>tests" lines; make check and make test print them
# (scripts/timed --table).
def pytest_addoption(parser):
    parser.addoption("--suite-times", metavar="FILE", help="write each test file's total time to FILE (TSV)")


_suite_times: dict[str, list[float]] = {}


def pytest_runtest_logreport(report):
    entry = _suite_times.setdefault(report.nodeid.split("::", 1)[0], [0.0, 0])
    entry[0] += report.duration
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        entry[1] += 1


def pytest_sessionfinish(session):
    target = session.config.getoption("suite_times")
    if target:
        path = Path(target)
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = (f"{name}\t{round(seconds)}\t{count}\n" for name, (seconds, count) in sorted(_suite_times.items()))
        path.write_text("".join(lines))
