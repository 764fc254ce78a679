#!/usr/bin/env bash
#
# tests/cli/valgrind.sh BUILD_DIR: run droverctl through its argument and
# config paths under valgrind; any leak or invalid access fails (exit 99
# from valgrind), and so does an unexpected exit status. Needs no services.
set -uo pipefail

build="${1:?usage: tests/cli/valgrind.sh BUILD_DIR}"
ctl="$build/ctl/droverctl"
root="$(cd "$(dirname "$0")/../.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fails=0

# expect STATUS ARGS...: run droverctl ARGS under valgrind, check STATUS.
expect() {
    local want="$1" got
    shift
    valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite,indirect \
        --show-leak-kinds=definite,indirect --error-exitcode=99 \
        "$ctl" "$@" >"$tmp/out" 2>"$tmp/err"
    got=$?
    if [[ "$got" != "$want" ]]; then
        echo "FAIL: droverctl $* exited $got, expected $want" >&2
        sed 's/^/    /' "$tmp/err" >&2
        fails=$((fails + 1))
    fi
}

printf 'kafka:\n  brokr: x\n' >"$tmp/bad.yaml"
expect 0 --help
expect 0 --version
expect 2
expect 2 no-such-command
expect 2 task submit
expect 0 task submit --help
expect 2 task submit --handler echo --priority 11
expect 2 task submit --handler echo --payload '{not json'
expect 2 task submit --handler echo --delay soon
expect 2 task submit --handler echo --wait soon
printf 'worker:\n  task_state: failures\n' >"$tmp/nostate.yaml"
expect 2 -c "$tmp/nostate.yaml" task submit --handler echo --wait 1s
expect 2 event emit
expect 0 config check "$root/examples/drover.yaml"
expect 1 config check "$tmp/bad.yaml"
expect 1 config check "$tmp/missing.yaml"
expect 0 config reference
expect 2 -c "$tmp/bad.yaml" topics ensure
expect 2 dlq show
expect 0 dlq list --help
expect 2 dlq list --since yesterday
expect 2 dlq list --reason exploded --label a=b
expect 2 dlq stats --limit 3
expect 0 dlq resubmit --help
expect 2 dlq resubmit
expect 2 dlq resubmit --all 01ARZ3NDEKTSV4RRFFQ69G5FAV
expect 2 dlq resubmit --all --set '{bad'
expect 2 dlq resubmit --all --set a=1 --set 'b.=2'
expect 2 dlq resubmit --all --rate 0/s
expect 2 dlq resubmit not-an-id
expect 0 dlq discard --help
expect 2 dlq discard
expect 2 dlq discard --all --set a=1
expect 2 dlq discard --all 01ARZ3NDEKTSV4RRFFQ69G5FAV
expect 2 dlq job start --kind drop
expect 0 dlq import --help
expect 2 dlq import a b
expect 1 dlq import "$tmp/missing.jsonl"
expect 0 audit list --help
expect 2 audit list --since yesterday
expect 2 audit list --since 1h --until 2h
expect 2 intervention report --limit 3
expect 0 task show --help
expect 2 task show
expect 2 task show not-an-id
expect 0 task pause --help
expect 2 task pause
expect 2 task skip 01ARZ3NDEKTSV4RRFFQ69G5FAV
expect 2 task cancel 01ARZ3NDEKTSV4RRFFQ69G5FAV --reason x
expect 2 task retry
expect 2 task retry 01ARZ3NDEKTSV4RRFFQ69G5FAV --all
expect 2 task retry 01ARZ3NDEKTSV4RRFFQ69G5FAV --set '{bad'
expect 0 pause --handler --help
expect 2 pause --handler
expect 2 resume --handler a b
expect 0 schedule next '*/15 * * * *' --tz Europe/London --count 3 --json
expect 2 schedule next '* 99 * * *'
expect 2 schedule next no-such-schedule --count 2
expect 2 schedule add
expect 2 schedule add x --cron '* 99 * * *' --handler echo
expect 2 schedule add x --cron '* * * * *' --handler echo --overlap maybe
expect 0 schedule list --help
expect 2 schedule show
expect 2 schedule enable

# The daemons refuse a bad config before starting anything: exit 2 and the
# place of the error.
for daemon in worker/drover-worker coordinator/drover-coordinator; do
    valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite,indirect \
        --show-leak-kinds=definite,indirect --error-exitcode=99 \
        "$build/$daemon" -c "$tmp/bad.yaml" >"$tmp/out" 2>"$tmp/err"
    got=$?
    if [[ "$got" != 2 ]] || ! grep -q "bad.yaml:2:3: unknown key 'kafka.brokr'" "$tmp/err"; then
        echo "FAIL: $daemon with a bad config exited $got" >&2
        sed 's/^/    /' "$tmp/err" >&2
        fails=$((fails + 1))
    fi
done

if [[ $fails -gt 0 ]]; then
    echo "cli valgrind: $fails failed" >&2
    exit 1
fi
echo "cli valgrind: all droverctl runs clean"
