#!/usr/bin/env bash
# TAP: the test scripts' assertions assert what they say.
#   test-scripts-check.sh SOURCE_ROOT
# `vt_check "what" [ a ] && [ b ]` runs vt_check on `[ a ]` only: vt_check prints ok or not ok
# and returns 0, so `[ b ]` is then evaluated but never reported, and the line passes whatever
# b is.  Every assertion wrapper of the test scripts (a shell function whose body reports
# `if "$@"` as ok / not ok: vt_check, check, ...) is looked up in every tests/**/*.sh; each call
# of one is joined with its continuation lines (a trailing backslash, &&, || or |) and fails when
# an &&, || or | follows outside quotes, $(...), backquotes and comments.  One TAP line per script
# (file:line of each offender as a diagnostic), and first a self-test on known-bad and known-good
# samples, so that a scanner that stops finding anything fails too.
set -u
root=${1:?usage: test-scripts-check.sh SOURCE_ROOT}
command -v python3 >/dev/null || { echo "1..0 # SKIP python3 is not installed"; exit 0; }

exec python3 - "$root" <<'EOF_PY'
import os
import re
import sys

root = sys.argv[1]
# Always checked, even if their definition moves out of the tree's scripts.
KNOWN = {"vt_check", "check"}
FUNC_DEF = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*\(\)\s*\{")


def wrappers(texts):
    """Names of functions whose body (up to the closing brace) reports `if "$@"`."""
    names = set(KNOWN)
    for text in texts:
        lines = text.splitlines()
        for i, l in enumerate(lines):
            m = FUNC_DEF.match(l)
            if not m:
                continue
            body = [l]
            one_line = re.search(r"\}\s*$", l[m.end():])
            for k in range(i + 1, i + 1 if one_line else min(i + 40, len(lines))):
                body.append(lines[k])
                if re.match(r"^\s*\}\s*$", lines[k]):
                    break
            if re.search(r'\bif\s+"\$@"', "\n".join(body)):
                names.add(m.group(1))
    return names


def chained(cmd):
    """Offset of the first && or || outside quotes, $(...), `...` and comments; else -1."""
    i, n = 0, len(cmd)
    stack = []  # open contexts: "'", '"', "`", ")" (a $( ... ) or ( ... ))
    while i < n:
        c = cmd[i]
        top = stack[-1] if stack else None
        if top == "'":
            if c == "'":
                stack.pop()
            i += 1
            continue
        if c == "\\":
            i += 2
            continue
        if top == '"':
            if c == '"':
                stack.pop()
            elif cmd.startswith("$(", i):
                stack.append(")")
                i += 2
                continue
            elif c == "`":
                stack.append("`")
            i += 1
            continue
        if top == "`":
            if c == "`":
                stack.pop()
            i += 1
            continue
        # Unquoted, at the top level or inside $( ... ).
        if c == "'":
            stack.append("'")
        elif c == '"':
            stack.append('"')
        elif c == "`":
            stack.append("`")
        elif cmd.startswith("$((", i):
            stack.append(")")
            stack.append(")")
            i += 3
            continue
        elif cmd.startswith("$(", i) or c == "(":
            stack.append(")")
        elif c == ")" and top == ")":
            stack.pop()
        elif c == "#" and (i == 0 or cmd[i - 1] in " \t\n;"):
            j = cmd.find("\n", i)
            if j < 0:
                break
            i = j
            continue
        elif not stack and (cmd.startswith("&&", i) or cmd.startswith("||", i)):
            return i
        elif not stack and c == "|" and not cmd.startswith("|&", i):
            return i  # a pipe: the wrapper's TAP line would go into the next command
        i += 1
    return -1


CONTINUED = re.compile(r"(\\|&&|\|\||\|)\s*$")


def scan(text, names, path):
    """Offenders in one script: (line, call's first line, what)."""
    lines = text.splitlines()
    call = re.compile(r"^\s*(?:if\s+|!\s*)?(" + "|".join(sorted(map(re.escape, names))) + r")\s")
    found = []
    i = 0
    while i < len(lines):
        m = call.match(lines[i])
        if not m:
            i += 1
            continue
        start = i
        cmd = lines[i]
        while CONTINUED.search(lines[i]) and i + 1 < len(lines):
            i += 1
            cmd += "\n" + lines[i]
        at = chained(cmd)
        if at >= 0:
            line = start + 1 + cmd.count("\n", 0, at)
            op = cmd[at:at + 2] if cmd[at:at + 2] in ("&&", "||") else "|"
            found.append(f"{path}:{line}: '{op}' after {m.group(1)} (called at line {start + 1}): "
                         f"only the command before it is asserted")
        i += 1
    return found


BAD = [
    'vt_check "a and b" [ "$x" = 1 ] && [ "$y" = 2 ]\n',
    'vt_check "a and b" \\\n    [ "$x" = 1 ] &&\n    [ "$y" = 2 ]\n',
    'vt_check "a or b" [ -e f ] || [ -e g ]\n',
    'check "inner" [ $rc = 0 ] && grep -q x "$f"\n',
    'check "q" [ "$(echo "a && b")" = "a && b" ] \\\n    && kill -0 "$pid"\n',
    'vt_check "piped" grep -q x "$f" | tee log\n',
    'my_assert() {\n    if "$@"; then echo ok; else echo not ok; fi\n}\n'
    'my_assert "custom" [ 1 = 1 ] && [ 2 = 3 ]\n',
]
GOOD = [
    'vt_check "one test" [ "$x" = 1 -a "$y" = 2 ]\n',
    'vt_check "quoted" [ "$(json "a && b" <<<"$s")" = "x || y" ]\n',
    "vt_check \"single\" grep -q 'a && b' <<<\"$out\"\n",
    'check "eval" eval \'running a && running b\'\n',
    'vt_check "both" both_hold  # a && b in a comment\n',
    'vt_check "arith" [ $((a + b)) -eq 3 ]\n',
    'vt_check "a pipe inside" [ "$(echo x | tr x y)" = y ]\n',
    '[ "$x" = 1 ] && vt_check "guarded" [ -e f ]\n',
]


def self_test():
    problems = []
    for s in BAD:
        if not scan(s, wrappers([s]), "sample"):
            problems.append(f"not found in: {s!r}")
    for s in GOOD:
        f = scan(s, wrappers([s]), "sample")
        if f:
            problems.append(f"false alarm {f} in: {s!r}")
    return problems


def main():
    scripts = []
    for d, subdirs, files in os.walk(os.path.join(root, "tests")):
        subdirs.sort()
        for f in sorted(files):
            if f.endswith(".sh"):
                scripts.append(os.path.join(d, f))
    texts = {p: open(p, encoding="utf-8", errors="replace").read() for p in scripts}
    names = wrappers(texts.values())
    print(f"1..{len(scripts) + 1}")
    n = 1
    problems = self_test()
    print(("ok" if not problems else "not ok") +
          f" {n} - the scanner finds {len(BAD)} chained assertions and passes {len(GOOD)} good lines")
    for p in problems:
        print(f"#   {p}")
    failed = bool(problems)
    print(f"# assertion wrappers: {', '.join(sorted(names))}")
    for p in scripts:
        n += 1
        rel = os.path.relpath(p, root)
        found = scan(texts[p], names, rel)
        print(("ok" if not found else "not ok") +
              f" {n} - {rel}: no assertion is chained with &&, || or |")
        for f in found:
            print(f"#   {f}")
        failed |= bool(found)
    return 1 if failed else 0


sys.exit(main())
EOF_PY
