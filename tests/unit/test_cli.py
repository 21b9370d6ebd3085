"""The `oid` command as an operator runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

TOP = Path(__file__).resolve().parents[2]
CATALOG = TOP / "examples" / "catalog.yml"


def oid(*args):
    return subprocess.run(
        [sys.executable, "-m", "oid.cli", *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_scope_check_prints_canonical_json():
    result = oid("scope", "check", "{nova: Berlin, glance: Denver|Paris}", "--catalog", str(CATALOG))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "compute": "Berlin",
        "identity": "Berlin",
        "image": "Denver|Paris",
        "network": "Berlin",
        "placement": "Berlin",
    }
    assert result.stdout.strip() == json.dumps(json.loads(result.stdout), sort_keys=True, separators=(",", ":"))


def test_scope_check_entry_fills_omitted_services():
    result = oid("scope", "check", '{"compute": "Paris"}', "--catalog", str(CATALOG), "--entry", "denver")
    assert json.loads(result.stdout)["image"] == "Denver"


def test_scope_check_normalizes_as_the_interposer_does():
    result = oid("scope", "check", "{nova: Paris}", "--catalog", str(CATALOG), "--entry", "Berlin")
    normalized = json.loads(result.stdout)
    assert normalized["network"] == normalized["placement"] == normalized["volume"] == "Paris"
    assert normalized["image"] == "Berlin"


def test_scope_check_without_catalog_only_parses():
    result = oid("scope", "check", "{nova: B|A&C}")
    assert result.returncode == 0
    assert result.stdout.strip() == '{"compute":"B|A&C"}'


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{nova: Berlin&}"], "oid: bad scope at position 14: expected a location name, '*' or '(', found '}'"),
        (
            ["{nova: Tokyo}", "--catalog", str(CATALOG)],
            "oid: bad scope: unknown location 'Tokyo'; known locations: Berlin, Denver, Paris",
        ),
        (["{nova: Berlin}", "--entry", "Berlin"], "oid: bad scope: --entry needs --catalog"),
        (["{}", "--catalog", "/nonexistent.yml"], "oid: cannot read the catalog: "),
    ],
)
def test_scope_check_errors_are_one_line_and_exit_2(args, message):
    result = oid("scope", "check", *args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith(message)
    assert result.stderr.count("\n") == 1


def test_help_lists_the_scope_command():
    result = oid("--help")
    assert result.returncode == 0 and "scope" in result.stdout
    assert "canonical JSON" in oid("scope", "check", "--help").stdout


def test_verify_help_names_every_cell(capsys):
    """`oid verify --help` lists the cells without importing the scenarios
    (the interposer's image ships `oid` without requests)."""
    from oid import verify
    from oid.cli import main

    with pytest.raises(SystemExit):
        main(["verify", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert ("(default: all): " + ", ".join(cell.key for cell in verify.CELLS)) in text.replace("- ", "-")
