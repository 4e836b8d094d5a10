"""`netaid diff`: the impact of a rulebook change over every class of valid cases
(see `netaid.diff`)."""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from netaid.cli._common import EXIT_OK, UsageError, load_rulebook_from, write_out_or_file

if TYPE_CHECKING:
    from netaid.diff import Movement, RulebookDiff

FORMATS = ("text", "json")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "diff",
        help="what changing one rulebook into another does, over every class of valid cases",
        description=(
            "For each point that appears or disappears: for how many classes of valid cases "
            "(sets of cases both rulebooks treat alike), with the smallest example case; then "
            "the rules added, removed or changed (condition, text, citations, ...). "
            "`netaid diff OLD NEW` compares two rulebook folders; `netaid diff --git REV "
            "[FOLDER]` compares FOLDER (default: the shipped rules) as committed at REV with "
            "the working tree. Exits 0 whether or not they differ."
        ),
    )
    p.add_argument("folders", nargs="*", metavar="FOLDER", help="OLD NEW, or FOLDER with --git")
    p.add_argument(
        "--git",
        metavar="REV",
        help="OLD is FOLDER as committed at this git revision, NEW the folder as it is now",
    )
    p.add_argument("--format", default="text", choices=FORMATS)
    p.add_argument("--out", type=Path, metavar="FILE", help="write here instead of stdout")


def run(args: argparse.Namespace) -> int:
    from netaid.diff import diff_rulebooks  # loaded only when asked for: it builds on check

    folders: list[Path] = [Path(f) for f in args.folders]
    if args.git is None:
        if len(folders) != 2:
            raise UsageError("give two rulebook folders, OLD and NEW (or --git REV [FOLDER])")
        old_dir, new_dir = folders
        old = load_rulebook_from(old_dir, "OLD")
        new = load_rulebook_from(new_dir, "NEW")
        names = (str(old_dir), str(new_dir))
    else:
        if len(folders) > 1:
            raise UsageError("with --git, give at most one folder: the rulebook to compare")
        from netaid.rulebook import default_rules_dir

        folder = folders[0] if folders else default_rules_dir()
        new = load_rulebook_from(folder, "NEW")
        with tempfile.TemporaryDirectory(prefix="netaid-diff-") as tmp:
            _export(folder, args.git, Path(tmp))
            old = load_rulebook_from(Path(tmp), f"OLD ({folder} at {args.git})")
        names = (f"{folder} at {args.git}", str(folder))
    report = diff_rulebooks(old, new, old_name=names[0], new_name=names[1])
    if args.format == "json":
        output = json.dumps(report.as_dict(), indent=2, ensure_ascii=False) + "\n"
    else:
        output = format_text(report)
    write_out_or_file(output, args.out)
    return EXIT_OK


def _git(cwd: Path, *argv: str) -> bytes:
    try:
        done = subprocess.run(["git", *argv], cwd=cwd, capture_output=True, check=False)
    except OSError as exc:
        raise UsageError(f"--git: cannot run git: {exc.strerror or exc}") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise UsageError(f"--git: git {argv[0]} failed: {message[-1] if message else '?'}")
    return done.stdout


def _export(folder: Path, rev: str, into: Path) -> None:
    """Write the rule files of `folder` as committed at `rev` into `into`."""
    if not folder.is_dir():
        raise UsageError(f"--git: no such folder: {folder}")
    if rev.startswith("-"):
        raise UsageError(f"--git: not a revision: {rev!r}")
    prefix = _git(folder, "rev-parse", "--show-prefix").decode().strip()
    commit = _git(folder, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").decode().strip()
    listing = _git(folder, "ls-tree", "-z", "--name-only", commit, "--", ".")
    names = [PurePosixPath(n).name for n in listing.decode().split("\0") if n]
    files = [n for n in names if n.endswith(".yaml")]
    if not files:
        raise UsageError(f"--git: {folder} has no rule files at {rev}")
    for name in files:
        blob = _git(folder, "show", f"{commit}:{prefix}{name}")
        (into / name).write_bytes(blob)


def _n(count: int, word: str, plural: str | None = None) -> str:
    return f"{count:,} {word if count == 1 else plural or word + 's'}"


def _moves(sign: str, moves: tuple[Movement, ...], total: int) -> list[str]:
    lines = []
    for m in moves:
        status = "" if m.status == "changed" else f" (rule {m.status})"
        lines.append(
            f"  {sign} {m.rule}{status}: {_n(m.classes, 'class', 'classes')} of {total:,}, "
            f"e.g. {json.dumps(m.case, ensure_ascii=False)}"
        )
    return lines


def format_text(report: RulebookDiff) -> str:
    out = [
        f"netaid diff: OLD {report.old} (rulebook {report.old_version}, "
        f"{_n(report.old_rules, 'rule')})",
        f"          -> NEW {report.new} (rulebook {report.new_version}, "
        f"{_n(report.new_rules, 'rule')})",
        f"class space: {_n(report.classes, 'class', 'classes')} (valid cases every rule of "
        "both rulebooks treats alike)",
        f"points that appear (fire with NEW, not with OLD): {len(report.appear)}",
        *_moves("+", report.appear, report.classes),
        f"points that disappear (fire with OLD, not with NEW): {len(report.disappear)}",
        *_moves("-", report.disappear, report.classes),
        f"rules added: {', '.join(report.added) or 'none'}",
        f"rules removed: {', '.join(report.removed) or 'none'}",
    ]
    if report.changed:
        out.append(f"rules changed: {len(report.changed)}")
        for c in report.changed:
            out.append(f"  ~ {c.rule}: {', '.join(c.parts)}")
            if c.was is not None:
                out += [f"      was: {c.was}", f"      now: {c.now}"]
    else:
        out.append("rules changed: none")
    out.append(f"sources changed: {', '.join(report.sources) or 'none'}")
    moved = {m.rule for m in (*report.appear, *report.disappear)}
    out.append(
        "netaid diff: the same rulebook"
        if report.same
        else f"netaid diff: {_n(len(moved), 'point')} fire differently; "
        f"{_n(len(report.added), 'rule')} added, {len(report.removed):,} removed, "
        f"{len(report.changed):,} changed"
    )
    return "\n".join(out) + "\n"
