"""`traceport gs1 parse TEXT`: JSON on success, the message and exit 2 on a bad code; no database."""

from __future__ import annotations

import json

from click.testing import CliRunner

from portal.cli import main as cli

GTIN = "09506000134352"


def test_parse_prints_the_data_as_json():
    result = CliRunner().invoke(cli, ["gs1", "parse", f"(01){GTIN}(10)ABC123"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert (body["kind"], body["gtin"], body["lot"]) == ("gs1", GTIN, "ABC123")


def test_parse_reads_a_scan_with_written_separators_and_a_trailing_newline():
    result = CliRunner().invoke(cli, ["gs1", "parse", f"]C101{GTIN}10ABC<GS>21S1\n"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["serial"] == "S1"


def test_a_bad_code_exits_2_with_the_message_on_stderr():
    result = CliRunner().invoke(cli, ["gs1", "parse", "(01)09506000134353"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "The check digit of GTIN 09506000134353 in AI (01) is wrong: it should be 2." in result.stderr
