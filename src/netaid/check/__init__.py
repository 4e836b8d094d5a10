"""`netaid check`: what a rulebook does over the whole space of valid cases, not a sample.

The case space is far too large to enumerate (sets of metastases, syndromes and inherited
conditions alone give 2**17 combinations), so the check enumerates *classes*: sets of valid
cases that every rule treats alike. Everything it reports is exact over the space.

How the class space is built, and why it is complete
----------------------------------------------------

1. **Atoms.** A rule condition tests scalar fields and single members of set fields (the
   engine, too, sees each member as its own yes/no fact). So the unit of the space is an
   *atom*: a scalar field, or one member of a set field that some condition names. A member no
   condition names is left out: it changes no rule, and leaving it out of a case (the
   default) never makes a valid case invalid (see 3).

2. **Blocks.** The values of an atom are grouped into blocks of values that no leaf of any
   condition tells apart *and* that are incompatible (`netaid.case.incompatibilities`) with
   exactly the same values of every other atom. Any value of a block can stand in for any
   other: every rule gives the same answer, and validity does not change. This is "the values
   the conditions distinguish plus one representative of the rest", refined by validity
   (stage `regional` and `metastatic` may look alike to the rules, yet only one of them
   allows liver metastases).

3. **Validity.** The check relies on two properties of the case model, proven exhaustively by
   `tests/unit/test_check.py` over every combination of the fields it reads: a case is valid
   exactly when each pair of its atoms is compatible, and no default value (unknown, no,
   none) is part of an incompatible pair, so resetting fields to their defaults keeps a case
   valid. The check still runs `incompatibilities` itself on every case it builds and stops
   with a CheckError rather than mis-count if the case model ever breaks this.

4. **Independent parts.** Two groups of rules that share no atom, and whose atoms no
   incompatibility couples, can be decided separately: the space they see is the product of
   their own spaces, and any class of one combines with any class of the other into a valid
   case (pairwise validity, 3).

5. **Classes, by AND/OR search.** The search picks the atom with the most neighbours (atoms
   read with it, or coupled to it), branches on its blocks (skipping blocks incompatible
   with what is already fixed), records the rules each branch decides, and splits the rules
   still undecided into independent parts again, each searched on its own. It stops where
   every rule is decided. Identical sub-searches (the same rules, the same fixed atoms they
   depend on) are shared. A *class* takes one branch at every choice it reaches: it is the
   set of cases that agree with it on the atoms it branched on, and every rule is constant
   on it. A valid case follows exactly one branch at every choice (the block of its own
   value), so it lies in exactly one class; and the class's representative (block
   representatives, defaults for the atoms it never branched on) is itself a valid case on
   which every rule fires exactly as on the original.

   The number of classes multiplies across parts (560 million for the shipped rulebook),
   but the search enumerates only its leaves (about a thousand), and every question the
   check asks (does a rule ever fire, do two fire together, the most rules firing at once,
   how many classes lack a treatment) is answered exactly by combining parts: sums and
   maxima over branches, products and sums over parts. `ClassSpace.covering` gives a few
   hundred cases that between them contain every leaf; the check runs them all through the
   engine.

Hence every valid case is equivalent, for every rule at once, to the representative of its
class, and the classes partition the valid cases. `tests/unit/test_check.py` checks this
against brute force; the property suite checks it against random cases and an independent
evaluator of the rule files.
"""

from __future__ import annotations

from netaid.check._loads import ENGINE_MATCH_LIMIT, ExampleResult, RulesetLoad
from netaid.check._report import CheckReport, Conflict, Gap, Redundancy, check_rulebook
from netaid.check._search import Assignment
from netaid.check._space import Atom, ClassSpace, case_from_values, parse_condition, view_of
from netaid.errors import CheckError

__all__ = [
    "ENGINE_MATCH_LIMIT",
    "Assignment",
    "Atom",
    "CheckError",
    "CheckReport",
    "ClassSpace",
    "Conflict",
    "ExampleResult",
    "Gap",
    "Redundancy",
    "RulesetLoad",
    "case_from_values",
    "check_rulebook",
    "parse_condition",
    "view_of",
]
