#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""README's and the man pages' example blocks against the transcripts (tests/docs/*.t).

The transcripts run under cram (ctest -L docs) and check what the commands print, with the
figures that vary masked by cram's (re) and (glob) lines. This script checks the other half:
that each example block in README.md, man/kmemshim.1 and man/kmemshim.7 is what its transcript
runs and prints, so that an example cannot change without its transcript, nor the transcript
without the example. Every example block carries a marker right before it, naming its kind:

  README.md:   <!-- docs: KIND FILE -->       or   <!-- docs: not run: WHY -->
  man pages:   .\\" docs: KIND FILE            or   .\\" docs: not run: WHY

KIND is one of
  transcript  "$ command" lines and what each prints, as in the transcript FILE: the commands
              in the same order, each followed by all of its output, where the README's
              concrete line must match the transcript's line (exactly, or its (re) or (glob)
              pattern); a line "..." stands for output lines left out;
  output      lines a command prints (no "$"), a run of consecutive output lines of FILE;
  commands    command lines without output (README's first block, the man pages' EXAMPLES),
              each run as a command, exactly as written, somewhere in FILE.
A block without a marker, or whose marker names a missing file, is an error: a new example
needs a transcript or a reason.

usage: examples.py SOURCE_DIR
"""
import os
import re
import sys

DOCS = ["README.md", "man/kmemshim.1", "man/kmemshim.7"]
MARK = re.compile(r"docs: (?:(transcript|output|commands) (\S+)|not run: .+)$")


def readme_blocks(path):
    """(line number, marker or None, lines) of each indented code block of a Markdown file."""
    lines = open(path, encoding="utf-8").read().split("\n")
    blocks, i = [], 0
    while i < len(lines):
        starts = lines[i].startswith("    ") and (i == 0 or lines[i - 1].strip() == "")
        # A list item's continuation is indented by two; an indented block follows a blank line.
        if not starts or lines[i].strip() == "":
            i += 1
            continue
        j = i
        while j < len(lines) and (lines[j].startswith("    ") or lines[j].strip() == ""):
            j += 1
        body = [l[4:] for l in lines[i:j]]
        while body and body[-1].strip() == "":
            body.pop()
        # The marker: the last non-blank line before the block, an HTML comment.
        k = i - 1
        while k >= 0 and lines[k].strip() == "":
            k -= 1
        m = re.fullmatch(r"<!-- (docs: .*) -->", lines[k].strip()) if k >= 0 else None
        blocks.append((i + 1, m.group(1) if m else None, body))
        i = j
    return blocks


def roff_text(s):
    """What a roff line of an .EX block shows: escapes resolved, fonts dropped."""
    s = re.sub(r"\\f[BIRP]", "", s)
    s = s.replace("\\-", "-").replace("\\&", "").replace("\\e", "\\")
    return s


def man_blocks(path):
    """(line number, marker or None, lines) of each .EX/.EE block of a man page."""
    lines = open(path, encoding="utf-8").read().split("\n")
    blocks = []
    for i, l in enumerate(lines):
        if l.strip() != ".EX":
            continue
        j = i + 1
        while lines[j].strip() != ".EE":
            j += 1
        body = [roff_text(x) for x in lines[i + 1:j] if not x.startswith(".")]
        k = i - 1
        while k >= 0 and lines[k].strip() in (".PP", ""):
            k -= 1
        m = re.fullmatch(r'\.\\" (docs: .*)', lines[k].strip()) if k >= 0 else None
        blocks.append((i + 1, m.group(1) if m else None, body))
    return blocks


def transcript(path):
    """The transcript's lines as ("$", command) and ("out", expected line); prose left out,
    and cram's exit-status lines ("[1]"), which the examples do not show."""
    out = []
    for l in open(path, encoding="utf-8").read().split("\n"):
        if l.startswith("  $ "):
            out.append(["$", l[4:]])
        elif l.startswith("  > ") and out and out[-1][0] == "$":
            out[-1][1] += "\n" + l[4:]
        elif l.startswith("  ") and not re.fullmatch(r"  \[\d+\]", l):
            out.append(["out", l[2:]])
    return [tuple(x) for x in out]


def cram_line(line):
    """An output line as cram compares it: with a control character (a tab), escaped and
    marked " (esc)"."""
    if not re.search(r"[\x00-\x09\x0b-\x1f\x7f]", line):
        return line
    esc = {"\\": "\\\\", "\r": "\\r", "\t": "\\t"}
    return re.sub(r"[\x00-\x09\x0b-\x1f\\\x7f]",
                  lambda m: esc.get(m.group(0), "\\x%02x" % ord(m.group(0))), line) + " (esc)"


def glob_re(pattern):
    """cram's (glob): * any run, ? one character, a backslash escapes *, ? and itself."""
    out, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "*?\\":
            out += re.escape(pattern[i + 1])
            i += 2
            continue
        out += ".*" if c == "*" else "." if c == "?" else re.escape(c)
        i += 1
    return out


def matches(expected, line):
    """Whether an example's concrete line is what the transcript's line expects, compared as
    cram compares the output of a run with it."""
    actual = cram_line(line)
    try:
        if expected.endswith(" (re)"):
            return re.match(expected[:-5] + r"\Z", actual) is not None
        if expected.endswith(" (glob)"):
            return re.match(glob_re(expected[:-7]) + r"\Z", actual) is not None
    except re.error:
        return False
    return expected == actual


def match_from(block, t, i, j=0):
    """How far block[j:] matches t[i:]: (True, _) or (False, (block index, t index))."""
    while j < len(block):
        b = block[j]
        if b == "...":  # any output lines, none at all included
            for k in range(i, len(t) + 1):
                ok, where = match_from(block, t, k, j + 1)
                if ok:
                    return True, None
                if k < len(t) and t[k][0] != "out":
                    break
            return False, where
        if b.startswith("$ "):
            if i >= len(t) or t[i] != ("$", b[2:]):
                return False, (j, i)
        elif i >= len(t) or t[i][0] != "out" or not matches(t[i][1], b):
            return False, (j, i)
        i, j = i + 1, j + 1
    # The last command's output is shown whole (or ends in "...").
    if i < len(t) and t[i][0] == "out" and block[-1] != "...":
        return False, (j, i)
    return True, None


def check_block(doc, lineno, kind, tfile, body, t):
    where = f"{doc}:{lineno}"
    if kind == "commands":
        cmds = {c for k, c in t if k == "$"}
        bad = [b for b in body if b.strip() and b not in cmds]
        return [f"{where}: not a command of {tfile}: {b}" for b in bad]
    starts = [i for i in range(len(t) + 1)
              if (kind == "output" and (i < len(t) and t[i][0] == "out"))
              or (kind == "transcript" and i < len(t) and body and t[i] == ("$", body[0][2:]))]
    if kind == "transcript" and not (body and body[0].startswith("$ ")):
        return [f"{where}: a transcript block starts with a '$ ' command"]
    best = (-1, None)
    for i in starts:
        ok, fail = match_from(body, t, i)
        if ok:
            return []
        if fail and fail[0] > best[0]:
            best = fail
    if best[0] < 0:
        return [f"{where}: {tfile} has no {'command ' + body[0] if kind == 'transcript' else 'such output'}"]
    j, i = best
    got = body[j] if j < len(body) else "(the end of the example)"
    want = ("%s %s" % ("$" if t[i][0] == "$" else "", t[i][1])).strip() if i < len(t) else "(the end of the transcript)"
    return [f"{where}: example line {j + 1} differs from {tfile}:\n  example:    {got}\n  transcript: {want}"]


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
    errors, checked = [], 0
    for doc in DOCS:
        path = os.path.join(src, doc)
        blocks = readme_blocks(path) if doc.endswith(".md") else man_blocks(path)
        for lineno, marker, body in blocks:
            m = MARK.fullmatch(marker or "")
            if not m:
                errors.append(f"{doc}:{lineno}: an example block without a marker "
                              f"('docs: transcript|output|commands FILE' or 'docs: not run: WHY')"
                              + (f", found '{marker}'" if marker else ""))
                continue
            if not m.group(1):
                continue
            tpath = os.path.join(src, m.group(2))
            if not os.path.isfile(tpath):
                errors.append(f"{doc}:{lineno}: {m.group(2)} does not exist")
                continue
            errors += check_block(doc, lineno, m.group(1), m.group(2), body, transcript(tpath))
            checked += 1
    for e in errors:
        print(e)
    print(f"examples.py: {checked} example blocks checked against their transcripts, "
          f"{len(errors)} error(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
