# Sourced by scripts/fuzz.sh and scripts/fuzz_smoke.sh: reads one target's
# libFuzzer log and records the result in the callers' `summary` and
# `failed` arrays.
#   fuzz_record TARGET EXIT_CODE LOG [HINT]
# On a crash it prints the first error lines and the crashing input's file
# (HINT after it, e.g. how to replay it).
fuzz_record() {
    local t=$1 rc=$2 log=$3 hint=${4:-} execs crash
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -n 1)
    if [ "$rc" -ne 0 ]; then
        crash=$(grep -o "Test unit written to [^ ]*" "$log" | tail -n 1 | sed 's/Test unit written to //')
        grep -E '^(==[0-9]+==ERROR|thread .* panicked|SUMMARY)' "$log" | head -n 5 || true
        echo "CRASH in $t: ${crash:-see $log}${hint:+ ($hint)}"
        failed+=("$t")
        summary+=("$t ${execs:-?} CRASH ${crash:-}")
    else
        summary+=("$t ${execs:-?} ok")
    fi
}
