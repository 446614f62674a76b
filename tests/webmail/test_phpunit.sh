#!/bin/sh
# phpunit (Debian's) over the Roundcube plugin's PHP unit tests.
src=${BOUNCEINFO_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
if ! command -v phpunit >/dev/null 2>&1; then
	echo "SKIP: phpunit is not installed (scripts/install-deps-webmail)"
	exit 77
fi
exec phpunit --colors=never --do-not-cache-result "$src/roundcube/bounceinfo/tests"
