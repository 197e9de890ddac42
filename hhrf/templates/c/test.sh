#!/bin/sh
# Builds the function and calls it through `hhrf invoke` (one call through the runner, as hhrf
# makes it): GET must answer 200 with the greeting, POST 405.
#
#   ./test.sh
#
# Environment: HHRF, the hhrf command (default hhrf); and build.sh's.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
hhrf=${HHRF:-hhrf}
"$here/build.sh"
library=$here/lib{{lib}}.so

failures=0
expect() {
    case $2 in
        *"$3"*) echo "test.sh: ok: $1" ;;
        *) echo "test.sh: FAILED: $1: expected $3 in:" >&2; echo "$2" >&2; failures=$((failures + 1)) ;;
    esac
}
expect "GET says hello" "$("$hhrf" invoke "$library" /{{name}}/test 2>/dev/null)" "hello from C at /{{name}}/test"
expect "GET is 200" "$("$hhrf" invoke "$library" /{{name}}/test 2>/dev/null)" "HTTP/1.1 200 OK"
expect "POST is 405" "$("$hhrf" invoke -X POST "$library" / 2>/dev/null)" "HTTP/1.1 405"
if [ "$failures" -ne 0 ]; then
    exit 1
fi
