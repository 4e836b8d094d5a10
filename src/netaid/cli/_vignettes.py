from __future__ import annotations

import argparse
import datetime as dt
import random
from pathlib import Path
from typing import Any

from netaid._api import discuss
from netaid.case import case_from_text
from netaid.cli._common import EXIT_OK, say, whole_number, write_out
from netaid.cli._discuss import (
    add_case_flags,
    add_output_flags,
    case_flag_values,
    engine_for,
    out_dir,
    write_file,
)
from netaid.render import EXTENSIONS, render, render_many
from netaid.vignettes import MAX_VIGNETTES, draw_cases


def _count(text: str) -> int:
    count = whole_number(text)
    if not 1 <= count <= MAX_VIGNETTES:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_VIGNETTES}, got {count}")
    return count


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "vignettes",
        help="draw valid teaching cases reproducibly and write a handout for each",
        description="Draw --count valid, varied cases and write a handout for each. Cases are "
        "coherent (no note of the rulebook says the documents make the profile implausible) "
        "unless --include-flagged is given, and their sites follow the documents' figures "
        "for how often NETs start there. The same --seed, constraints, --as-of and netaid "
        "version give byte-identical output. Case flags constrain every case: a set flag "
        "gives the whole set (none: the empty set), a yes/no flag has a --no- twin, and "
        "every scalar takes unknown; --title prefixes the numbered titles.",
    )
    p.add_argument("--count", type=_count, required=True, help="how many cases to draw")
    p.add_argument(
        "--seed",
        type=int,
        help="the draw's seed (default: a random one, printed on stderr so the draw can be "
        "repeated)",
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument("--out", type=Path, metavar="DIR", help="one file per case in this folder")
    where.add_argument(
        "--combined",
        metavar="FILE",
        help="every case in one file, - for standard output (the default)",
    )
    p.add_argument(
        "--include-flagged",
        action="store_true",
        help="also draw profiles that a note.coherence. or note.flag. note of the rulebook "
        "flags as implausible (by default every case is coherent)",
    )
    add_output_flags(p, default_format="markdown")
    add_case_flags(p)


def run(args: argparse.Namespace) -> int:
    seed = random.SystemRandom().randrange(2**32) if args.seed is None else args.seed
    constraints = case_flag_values(args)
    # Checked as typed first, so that an error offers the values the flags take; a missing
    # site gets a stand-in, as draw_cases gives it.
    case_from_text({"site": "unknown", **constraints}, origin="vignette constraints")
    today = args.as_of or dt.date.today()
    with engine_for(args) as engine:
        cases = draw_cases(
            args.count,
            seed,
            constraints,
            rules=engine,
            coherent=not args.include_flagged,
        )
        if args.seed is None:
            say(f"netaid: vignettes drawn with --seed {seed}")
        discussions = [discuss(case, engine=engine, today=today) for case in cases]
    if args.out is not None:
        folder = out_dir(args.out)
        width = max(2, len(str(len(discussions))))
        for number, discussion in enumerate(discussions, start=1):
            name = f"vignette-{number:0{width}d}.{EXTENSIONS[args.format]}"
            write_file(folder / name, render(discussion, args.format, audience=args.audience))
        say(f"netaid: wrote {len(discussions)} vignettes to {folder}")
        return EXIT_OK
    output = render_many(discussions, args.format, audience=args.audience)
    if args.combined in (None, "-"):
        write_out(output)
    else:
        write_file(Path(args.combined), output)
        say(f"netaid: wrote {len(discussions)} vignettes to {args.combined}")
    return EXIT_OK
