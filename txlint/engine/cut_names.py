"""What a file names in the code txlint did not interpret, read off its text.

The front-end interprets only the functions that can operate; the others are
cut. When a project function a file imports turns out to operate, the functions
of the file naming it must be kept after all (`Shard._keeps_more`): these scans
find those names cheaply, on the text, without parsing it again.
"""

from __future__ import annotations

import re


def named_in_cut_code(text: str, cut_lines: tuple[tuple[int, int], ...] | None, words: set[str]) -> set[str]:
    """Which of `words` the functions that were cut name (`cut_lines` None: the whole text), and
    `word.method` for each method called on one (`OrderLine.get_current_order_line_for_user(user)`:
    a static or class method of a project class)."""
    if not words:
        return set()
    pattern = re.compile(r"\b(" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + r")\b(?:\.(\w+)\s*\()?")
    texts = [text] if cut_lines is None else ["\n".join(text.split("\n")[first - 1 : last]) for first, last in cut_lines]
    found: set[str] = set()
    for cut in texts:
        for word, method in pattern.findall(cut):
            found.add(word)
            if method:
                found.add(f"{word}.{method}")
    return found


# Where a class names the classes whose methods its own call through `self`: its bases, the
# parameters of its `__init__`, its annotated members, what it assigns to `self.<attr>` by calling.
_CLASS_BASES = re.compile(r"^[ \t]*class[ \t]+\w+[ \t]*\(([^)]*)\)", re.MULTILINE)
_INIT_PARAMETERS = re.compile(r"\bdef[ \t]+__init__[ \t]*\(([^)]*)\)")
_ANNOTATED_MEMBERS = re.compile(r"^[ \t]+(?:self\.)?\w+[ \t]*:([^=\n]*)", re.MULTILINE)
_MADE_MEMBERS = re.compile(r"\bself\.\w+[ \t]*=[ \t]*(?:await[ \t]+)?([\w.]+)[ \t]*\(")
HELD = "held:"  # `Shard._cut_names`: a class a class here derives from or holds, asked `class_operates`


def held_or_derived(text: str) -> set[str]:
    """The names the module's classes derive from (`class AddToCart(WebshopMixin, View)`) or hold
    (`def __init__(self, crud: LedgerCrud)`, `crud: LedgerCrud`, `self.crud = LedgerCrud()`): their
    methods call that class's through `self`, which their own text does not name."""
    found = [*_CLASS_BASES.findall(text), *_INIT_PARAMETERS.findall(text), *_ANNOTATED_MEMBERS.findall(text), *_MADE_MEMBERS.findall(text)]
    return {word for part in found for word in re.findall(r"\w+", part)}
