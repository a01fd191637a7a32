#!/bin/sh
# fuzz/run.sh DIR SECONDS TARGET... - runs each libFuzzer target in DIR for
# SECONDS on a working corpus DIR/corpus/TARGET seeded (read-only) from
# fuzz/corpus/TARGET, then prints one line per target: executions, rate,
# corpus size, and whether it crashed.  Exits 1 when any target crashed or
# did not run; the crashing input is kept in DIR/artifacts/TARGET/ and the
# whole log in DIR/logs/TARGET.log.
set -u
dir=$1
seconds=$2
shift 2
failed=0
here=$(dirname "$0")
printf '%-20s %14s %10s %8s  %s\n' target executions exec/s corpus result
for t in "$@"; do
    bin=$dir/$t
    work=$dir/corpus/$t
    art=$dir/artifacts/$t
    log=$dir/logs/$t.log
    mkdir -p "$work" "$art" "$dir/logs"
    seeds=
    [ -d "$here/corpus/$t" ] && seeds=$here/corpus/$t
    if [ ! -x "$bin" ]; then
        printf '%-20s %14s %10s %8s  %s\n' "$t" - - - "MISSING ($bin)"
        failed=1
        continue
    fi
    # -timeout: one input taking 10 s is a hang; -rss_limit_mb: ASan's
    # shadow and quarantine stay well below it, a leak per input does not.
    "$bin" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2560 \
        -artifact_prefix="$art/" $work $seeds >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    corpus=$(ls "$work" | wc -l)
    if [ $rc -eq 0 ] && ! grep -q -e '^==[0-9]*==ERROR' -e 'runtime error:' -e 'invariant broken' "$log"; then
        result=ok
    else
        result="CRASH (exit $rc): see $log and $art/"
        failed=1
    fi
    printf '%-20s %14s %10s %8s  %s\n' "$t" "${execs:-0}" "${rate:-0}" "$corpus" "$result"
done
exit $failed
