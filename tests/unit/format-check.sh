#!/usr/bin/env bash
# Every C file in the repository is formatted with the repository's .clang-format (STYLE.md).
# TAP: one line per file.  usage: format-check.sh SRCDIR
set -u
src=$1
if ! command -v clang-format >/dev/null; then
  echo "1..0 # SKIP clang-format is not installed"
  exit 0
fi
mapfile -t files < <(git -C "$src" ls-files '*.c' '*.h' 2>/dev/null)
if [ ${#files[@]} -eq 0 ]; then
  echo "1..0 # SKIP not a git checkout: no list of files to check"
  exit 0
fi
echo "1..${#files[@]}"
n=0
for f in "${files[@]}"; do
  n=$((n + 1))
  if clang-format --style=file --dry-run -Werror "$src/$f" >/dev/null 2>&1; then
    echo "ok $n - clang-format: $f"
  else
    echo "not ok $n - clang-format: $f (run: clang-format -i $f)"
  fi
done
