#!/usr/bin/env bash
# Rebuild the shipped corpus after a change of the trace writer or the report schema:
# re-import the real recordings, regenerate the generated traces, then rewrite every expectation.
# Review `git diff traces/` before committing: the expectations are regression snapshots.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${SKIP_BUILD:-}" ] || npm run build --silent
ar() { node bin/asid-replay.js "$@"; }
R=traces/real/recordings
ar import ftrace "$R/lisa-juno-trace-txt/trace.txt" -o traces/real/juno-trace-txt.csv
ar import ftrace "$R/lisa-juno-rtapp/trace.dat.report.txt" -o traces/real/juno-rtapp.csv
ar import systrace "$R/trappy-android-msm8998-systrace/trace_surfaceflinger.html" -o traces/real/msm8998-surfaceflinger.csv
ar import systrace "$R/catapult-android-tegra3-systrace/android_systrace.html" -o traces/real/tegra3-systrace.csv
ar import ftrace "$R/catapult-android-tegra3-systrace/atrace_fixed_tgids" -o traces/real/tegra3-atrace-tgids.csv
ar import ftrace "$R/lisa-juno-trace-txt/trace.txt" -o traces/real/juno-trace-txt-sva.csv --overlay top:2 --overlay-btm --overlay-ats
# One trace per profile, named after it. Other files a user put here (build.csv from the README)
# are left alone: they are not ours to regenerate.
for p in $(node --input-type=module -e "import { PROFILE_NAMES } from './dist/generate/profiles.js'; console.log(PROFILE_NAMES.join(' '))"); do
  ar generate "$p" -n 5000 --seed 1 --cpus 4 --asid-bits 8 -o "traces/generated/$p.csv"
done
ar check traces --update --jobs 2
