#!/bin/sh
# Rewrites the CLI reference in README.md (between the cli-reference markers) from `unet <command> --help`.
# Tests/CLITests/CLIReferenceTests.swift fails when the README and the built tool disagree.
#   swift build && scripts/cli_reference.sh [path/to/unet]
set -eu
cd "$(dirname "$0")/.."
UNET=${1:-.build/debug/unet}
section=$(mktemp)
for command in $("$UNET" --help | awk '/^SUBCOMMANDS:/{on=1; next} on && !NF {exit} on && /^  [a-z]/ {print $1}'); do
    nested=$("$UNET" "$command" --help | awk '/^SUBCOMMANDS:/{on=1; next} on && !NF {exit} on && /^  [a-z]/ {print $1}')
    for sub in ${nested:-""}; do
        name=$(echo "$command $sub" | sed 's/ *$//')
        # shellcheck disable=SC2086
        { printf '### unet %s\n\n```text\n' "$name"; "$UNET" $name --help; printf '```\n\n'; } >> "$section"
    done
done
awk -v section="$section" '
    /<!-- cli-reference:start -->/ { print; while ((getline line < section) > 0) print line; skip = 1; next }
    /<!-- cli-reference:end -->/ { skip = 0 }
    !skip { print }
' README.md > README.md.new
mv README.md.new README.md
rm -f "$section"
echo "README.md: CLI reference updated from $UNET"
