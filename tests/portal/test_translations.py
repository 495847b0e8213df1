"""Every message in the code has a real translation in both catalogs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ("en", "zh_Hans_CN")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")
KEYWORDS = ("_", "gettext", "ngettext:1,2", "lazy_gettext", "N_")


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    args = [str(Path(sys.executable).parent / "pybabel"), "-q", "extract", "-F", "babel.cfg", "-o", str(pot)]
    for keyword in KEYWORDS:
        args += ["-k", keyword]
    subprocess.run([*args, "."], cwd=ROOT, check=True)
    with pot.open("rb") as f:
        return [m for m in read_po(f) if m.id]


def test_extraction_finds_the_messages(extracted):
    ids = {m.id if isinstance(m.id, str) else m.id[0] for m in extracted}
    # One from each kind of source: a template, a domain error, a form label.
    assert {"Skip to main content", "The email or password is not correct.", "Password"} <= ids


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_is_translated(extracted, locale):
    with (ROOT / "portal" / "translations" / locale / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f, locale=locale)
    problems = []
    for message in extracted:
        entry = catalog.get(message.id)
        strings = entry.string if entry is not None and isinstance(entry.string, tuple) else (entry.string,) if entry else ()
        if entry is None:
            problems.append(f"missing: {message.id!r}")
        elif entry.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        elif not all(strings):
            problems.append(f"empty: {message.id!r}")
    assert not problems, f"{locale}: run `make messages` and translate:\n" + "\n".join(problems)


@pytest.mark.parametrize("locale", LOCALES)
def test_placeholders_survive_translation(locale):
    with (ROOT / "portal" / "translations" / locale / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f)
    for message in catalog:
        if message.id and isinstance(message.id, str):
            assert sorted(PLACEHOLDER.findall(message.id)) == sorted(PLACEHOLDER.findall(message.string)), message.id
