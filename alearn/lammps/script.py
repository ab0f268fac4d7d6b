"""Find the ``fix ... external pf/callback`` line of a LAMMPS input script.

The potential is attached to that fix, which must exist before LAMMPS can take the callback,
and the callback must be set before the first ``run`` or ``minimize``.  So the driver runs the
script in two parts: up to and including the fix line, then (after attaching) the rest.  Logical
lines follow LAMMPS' rules: ``&`` at the end of a line continues it, ``#`` starts a comment
outside quotes, and triple quotes span lines.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from alearn.errors import UserError

EXAMPLE_FIX = "fix ml all external pf/callback 1 1"


@dataclass(frozen=True)
class ExternalFix:
    """One ``fix ID GROUP external pf/callback NCALL NAPPLY`` command of a script."""

    fix_id: str
    group: str
    ncall: int
    napply: int
    line: int            # 1-based number of the line the command ends on


@dataclass(frozen=True)
class SplitScript:
    """A script cut after its external fix: ``head`` defines the fix, ``tail`` runs."""

    head: str
    tail: str
    fix: ExternalFix


def _strip_comment(text: str) -> str:
    quote = ""
    for k, char in enumerate(text):
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "#":
            return text[:k]
    return text


def logical_lines(lines: list[str]) -> Iterator[tuple[int, str]]:
    """(index of the last physical line, command text without comments) of each command."""
    pending: list[str] = []
    in_triple = False
    for index, raw in enumerate(lines):
        line = raw.rstrip("\n")
        if raw.count('"""') % 2 == 1:
            in_triple = not in_triple
        if in_triple:
            pending.append(line)
            continue
        body = _strip_comment(line).rstrip()
        if body.endswith("&"):
            pending.append(body[:-1])
            continue
        pending.append(body)
        yield index, " ".join(part.strip() for part in pending).strip()
        pending = []
    if pending:
        yield len(lines) - 1, " ".join(part.strip() for part in pending).strip()


def _external_fix(command: str, line: int) -> ExternalFix | None:
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    if len(words) < 4 or words[0] != "fix" or words[3] != "external":
        return None
    if len(words) < 7 or words[4] != "pf/callback":
        raise UserError(f"line {line}: alearn drives 'fix ID GROUP external pf/callback NCALL "
                        f"NAPPLY' (e.g. '{EXAMPLE_FIX}'); found '{command}'")
    try:
        ncall, napply = int(words[5]), int(words[6])
    except ValueError:
        raise UserError(f"line {line}: NCALL and NAPPLY of '{command}' must be integers") from None
    return ExternalFix(words[1], words[2], ncall, napply, line)


def find_fixes(text: str) -> list[ExternalFix]:
    """Every external fix in ``text``, in order."""
    lines = text.splitlines(keepends=True)
    found = [_external_fix(command, index + 1) for index, command in logical_lines(lines)]
    return [fix for fix in found if fix is not None]


def split_script(text: str, fix_id: str | None = None, *, source: str = "the script") -> SplitScript:
    """Cut ``text`` after the external fix ``fix_id`` (default: its only external fix)."""
    fixes = find_fixes(text)
    if fix_id is not None:
        fixes = [fix for fix in fixes if fix.fix_id == fix_id]
    if not fixes:
        which = f"'fix {fix_id} GROUP external pf/callback 1 1'" if fix_id else f"'{EXAMPLE_FIX}'"
        raise UserError(f"{source} has no {which} line; add one after the box and atoms are "
                        f"defined (read_data, create_atoms) and before the first run "
                        f"(see docs/lammps.md)")
    if len(fixes) > 1:
        ids = ", ".join(fix.fix_id for fix in fixes)
        raise UserError(f"{source} has several external fixes ({ids}); choose one with --fix ID")
    fix = fixes[0]
    lines = text.splitlines(keepends=True)
    return SplitScript("".join(lines[:fix.line]), "".join(lines[fix.line:]), fix)


def read_script(path: Path, fix_id: str | None = None) -> SplitScript:
    """:func:`split_script` of the file ``path`` (a UserError names a missing file)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"LAMMPS input script {path} does not exist")
    return split_script(path.read_text(encoding="utf-8"), fix_id, source=str(path))
