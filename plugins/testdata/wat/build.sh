#!/bin/sh
# build.sh rebuilds every *.wasm in this directory from the *.wat next to it.
# Each module is built with the plain command `wat2wasm X.wat -o X.wasm` (wabt 1.0.32;
# its default features already include bulk memory), then checked with wasm-validate;
# an invalid-*.wat is built with --no-check and must fail wasm-validate.
# The Makefile calls this script; run it from any directory.
set -eu

if ! command -v wat2wasm >/dev/null 2>&1; then
	echo "build.sh: wat2wasm not found; install wabt (apt-get install wabt)" >&2
	exit 1
fi

cd "$(dirname "$0")"

for wat in *.wat; do
	wasm="${wat%.wat}.wasm"
	case "$wat" in
	invalid-*)
		# Deliberately invalid (and well-formed): built without validation, and it must
		# stay invalid.
		wat2wasm --no-check "$wat" -o "$wasm"
		if command -v wasm-validate >/dev/null 2>&1 && wasm-validate "$wasm" 2>/dev/null; then
			echo "build.sh: $wasm validates, but an invalid-* fixture must not" >&2
			exit 1
		fi
		;;
	*)
		wat2wasm "$wat" -o "$wasm"
		if command -v wasm-validate >/dev/null 2>&1; then
			wasm-validate "$wasm"
		fi
		;;
	esac
done
