#!/usr/bin/env bash
# TAP: `meson install --destdir` into a temp dir, then what an operator gets from it.
#   install-check.sh BUILD_DIR SOURCE_DIR PRINT_KEYS   (the installed paths come in the
#   environment from tests/unit/install/meson.build: BINDIR, SBINDIR, MANDIR, GUESTDIR, ...)
# The tree has every file; the installed vnuma runs from / (no path into the source tree) and
# looks for its guest image where install put it; every man page renders without a warning;
# vnuma(1) has an entry for every command of `vnuma help`, vnuma.cfg(5) one for every key of
# the config key table, vnumad(8) one for every option of `vnumad --help`; the installed bash
# completion offers exactly the commands and the domains of the state dir; systemd accepts
# the unit and the tmpfiles entry creates /run/vnuma owner-only.
set -u
build=${1:?usage: install-check.sh BUILD_DIR SOURCE_DIR PRINT_KEYS}
src=${2:?} print_keys=${3:?}
n=0
out=()
ok() { n=$((n + 1)); out+=("ok $n - $1"); }
notok() {
    n=$((n + 1))
    out+=("not ok $n - $1")
    shift
    local l
    while IFS= read -r l; do out+=("#   $l"); done < <(printf '%s\n' "$@")
}
skip() { n=$((n + 1)); out+=("ok $n - $1 # SKIP $2"); }
check() { # check DESCRIPTION DIAGNOSTIC COMMAND...: ok when COMMAND succeeds
    local what=$1 diag=$2
    shift 2
    if "$@"; then ok "$what"; else notok "$what" "$diag"; fi
}
finish() {
    echo "1..$n"
    printf '%s\n' "${out[@]}"
    exit 0
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vnuma-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/dest
log=$(meson install -C "$build" --no-rebuild --destdir "$dest" 2>&1)
if [ $? -ne 0 ]; then
    notok "meson install --destdir succeeds" "$(tail -n 5 <<<"$log")"
    finish
fi
ok "meson install --destdir succeeds"

# 1. The tree.
vnuma=$dest$BINDIR/vnuma vnumad=$dest$SBINDIR/vnumad
missing=()
for f in "$BINDIR/vnuma" "$SBINDIR/vnumad" "$GUESTDIR/initramfs.cpio.gz" "$GUESTDIR/vnuma-probe" \
    "$MANDIR/man1/vnuma.1" "$MANDIR/man5/vnuma.cfg.5" "$MANDIR/man8/vnumad.8" \
    "$COMPLETIONDIR/vnuma" "$COMPLETIONDIR/vnumad" "$UNITDIR/vnumad.service" \
    "$TMPFILESDIR/vnuma.conf" "$DOCDIR/examples/demo.cfg" "$DOCDIR/README.md"; do
    [ -e "$dest$f" ] || missing+=("$f")
done
check "the tree has the binaries, guest image, man pages, completion, unit and docs" \
    "missing: ${missing[*]-}" [ ${#missing[@]} -eq 0 ]
check "vnuma and vnumad are executable" "$(ls -l "$vnuma" "$vnumad" 2>&1)" \
    test -x "$vnuma" -a -x "$vnumad"
# The binaries know the build tree (they use its guest image when they run from there).
leaks=$(grep -rlIF -- "$src/" "$dest" 2>/dev/null | grep -v '/doc/' || true)
check "no installed text file names the source tree" "$leaks" [ -z "$leaks" ]

# 2. The installed tools, run from / with a clean environment.
run() { (cd / && env -i PATH=/usr/bin:/bin "$@"); }
v=$(run "$vnuma" --version 2>&1)
check "installed vnuma --version says $VERSION" "$v" [ "$v" = "vnuma $VERSION" ]
v=$(run "$vnuma" check --no-host "$dest$DOCDIR/examples/demo.cfg" 2>&1)
check "installed vnuma check accepts the installed demo.cfg" "$v" \
    grep -q "demo.cfg: valid" <<<"$v"
# The guest image: the installed binary asks for PREFIX/lib/vnuma (which is in the
# destdir, not yet at its final place), never for the build tree's copy.
state=$tmp/state
mkdir -m 0700 "$state"
# As root, QEMU runs as the qemu_user, which must get through to the state dir (searchable,
# not readable: the dir lists nothing to it).
chmod 0711 "$tmp"
host='synthetic:pack:1 numa:2 core:2 pu:1'
v=$(run "$vnuma" create --dry-run --accel tcg --state-dir "$state" --host "$host" \
    "$dest$DOCDIR/examples/demo.cfg" 2>&1)
check "installed vnuma looks for its guest image in $GUESTDIR" "$v" \
    grep -qF "$GUESTDIR/initramfs.cpio.gz" <<<"$v"
check "... and not in the build tree" "$v" eval '! grep -qF "$build/guest" <<<"$v"'
v=$(run "$build/src/cli/vnuma" create --dry-run --accel tcg --state-dir "$state" --host "$host" \
    "$src/examples/demo.cfg" 2>&1)
check "the build tree's vnuma boots the build tree's guest image" "$v" \
    grep -qF "$build/guest/initramfs.cpio.gz" <<<"$v"

# 3. Man pages: rendered by man-db as `man` would show them, groff warnings on.
for page in man1/vnuma.1 man5/vnuma.cfg.5 man8/vnumad.8; do
    f=$dest$MANDIR/$page
    warn=$(MANWIDTH=80 man --warnings -l "$f" 2>&1 >/dev/null)
    check "man -l $page renders without warnings" "$warn" [ -z "$warn" ]
    name=$(lexgrog "$f" 2>&1)
    check "lexgrog finds the NAME section of $page" "$name" grep -q ': "[a-z.]* - ' <<<"$name"
done
# section TITLE PAGE: the rendered text of one section of an installed page.
section() {
    MANWIDTH=200 man -l "$dest$MANDIR/$2" 2>/dev/null | col -b |
        awk -v t="$1" '/^[A-Z]/ {on = ($0 == t)} on'
}
# entries WHAT SECTION_TEXT REGEX NAME...: one case, ok when the section has a line matching
# REGEX with @ replaced by each NAME (and there are at least 3 names, so an empty list fails).
entries() {
    local what=$1 text=$2 re=$3 name missing=()
    shift 3
    for name; do grep -qE "${re//@/$name}" <<<"$text" || missing+=("$name"); done
    check "$what ($# of them)" "no entry for: ${missing[*]-}" test $# -ge 3 -a ${#missing[@]} -eq 0
}
commands=$("$vnuma" help | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p')
entries "vnuma(1) has an entry for each command of vnuma help" \
    "$(section COMMANDS man1/vnuma.1)" '^       @( |$)' $commands
entries "vnuma(1) documents the exit codes 0, 1 and 2" \
    "$(section "EXIT STATUS" man1/vnuma.1)" '^       @$' 0 1 2
entries "vnuma.cfg(5) has an entry for each key of the config key table" \
    "$(section KEYS man5/vnuma.cfg.5; section EXTENSIONS man5/vnuma.cfg.5)" '^       @ = ' \
    $("$print_keys")
entries "vnumad(8) has an entry for each option of vnumad --help" \
    "$(section OPTIONS man8/vnumad.8)" '^       (-[a-z], )?@( |$)' \
    $("$vnumad" --help 2>&1 | grep -oE -- '--[a-z][a-z-]*' | sort -u)

# 4. Bash completion, sourced from the installed file in a clean bash.
mkdir -p "$state/domains"
: >"$state/domains/web1.json"
: >"$state/domains/db.json"
: >"$state/domains/.web2.json.tmp1"
complete_words() { # complete_words WORD...: COMPREPLY for the last word, one a line, sorted
    bash --norc --noprofile -c '
        source "$1" || exit 1
        shift
        [[ $(complete -p vnuma) == "complete -F _vnuma vnuma" ]] || { echo "no complete -F"; exit 1; }
        COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        _vnuma vnuma "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
        printf "%s\n" "${COMPREPLY[@]}"' _ "$dest$COMPLETIONDIR/vnuma" "$@" | sort
}
got=$(complete_words "$vnuma" "")
want=$(printf '%s\n' $commands --help --version | sort)
check "completion offers exactly the commands of vnuma help" "got: $(echo $got)" [ "$got" = "$want" ]
got=$(complete_words "$vnuma" mem)
check "completion completes 'mem' to mem-move" "got: $(echo $got)" [ "$got" = "mem-move" ]
got=$(complete_words "$vnuma" create --)
check "completion offers create's options" "got: $(echo $got)" \
    grep -qx -- --dry-run <<<"$got"
got=$(complete_words "$vnuma" destroy --state-dir "$state" "")
check "completion offers the state dir's domains, not records being written" \
    "got: $(echo $got)" [ "$got" = "$(printf 'db\nweb1')" ]
got=$(VNUMA_STATE_DIR=$state complete_words "$vnuma" balance web1 "")
check "completion offers on/off after 'balance DOMAIN' (state dir from VNUMA_STATE_DIR)" \
    "got: $(echo $got)" [ "$got" = "$(printf 'off\non')" ]
got=$(cd "$dest$DOCDIR/examples" && complete_words "$vnuma" check "")
check "completion offers config files for check" "got: $(echo $got)" grep -qx demo.cfg <<<"$got"
bc=/usr/share/bash-completion/bash_completion
if [ -r "$bc" ]; then
    # bash-completion loads a command's completion from XDG_DATA_DIRS on first use.
    got=$(XDG_DATA_DIRS=$dest${COMPLETIONDIR%/bash-completion/completions} bash --norc -c '
        source "$1"; __load_completion vnumad; complete -p vnumad' _ "$bc" 2>&1)
    check "bash-completion loads the installed completion of vnumad from its layout" "$got" \
        [ "$got" = "complete -F _vnumad vnumad" ]
else
    skip "bash-completion loads the installed completion" "bash-completion is not installed ($bc)"
fi

# 5. systemd: the unit as systemd-analyze sees it (its binary and man pages at their installed
# places in the destdir), and the tmpfiles entry applied to an empty root.
unit=$dest$UNITDIR/vnumad.service
if command -v systemd-analyze >/dev/null; then
    check "the unit starts $SBINDIR/vnumad" "$(grep ^ExecStart "$unit")" \
        grep -q "^ExecStart=$SBINDIR/vnumad " "$unit"
    mkdir "$tmp/unit"
    sed "s|^ExecStart=$SBINDIR/|ExecStart=$dest$SBINDIR/|" "$unit" >"$tmp/unit/vnumad.service"
    v=$(MANPATH=$dest$MANDIR systemd-analyze verify "$tmp/unit/vnumad.service" 2>&1)
    rc=$?
    check "systemd-analyze verify accepts vnumad.service without a message" "rc $rc: $v" \
        test $rc -eq 0 -a -z "$v"
else
    skip "systemd-analyze verify" "systemd-analyze is not installed"
fi
if ! command -v systemd-tmpfiles >/dev/null; then
    skip "the tmpfiles entry" "systemd-tmpfiles is not installed"
elif [ "$(id -u)" -ne 0 ]; then
    skip "the tmpfiles entry creates /run/vnuma" "not root: systemd-tmpfiles cannot chown to root"
else
    mkdir "$tmp/root"
    v=$(systemd-tmpfiles --create --root="$tmp/root" "$dest$TMPFILESDIR/vnuma.conf" 2>&1)
    check "systemd-tmpfiles creates /run/vnuma 0700 root" "$v $(stat -c '%a %U' "$tmp/root/run/vnuma" 2>&1)" \
        [ "$(stat -c '%a %U %F' "$tmp/root/run/vnuma" 2>/dev/null)" = "700 root directory" ]
fi
finish
