#!/usr/bin/env bash
# Cold runs of a lab's checks: `umlab test LAB` N times in a row, each booting the lab from
# nothing and taking it down, then the pass/fail counts and which checks failed how often.
# For races between `up` and the first checks (issue 15: services not yet listening).
# Not part of `npm test`. Usage: bash bench/cold-runs.sh labs/firewall.yaml 30
set -euo pipefail
cd "$(dirname "$0")/.."
LAB=${1:?usage: bash bench/cold-runs.sh LAB.yaml N}
N=${2:?usage: bash bench/cold-runs.sh LAB.yaml N}
HOME_DIR=$(mktemp -d "${TMPDIR:-/tmp}/umlab-cold-XXXXXX")
trap 'UMLAB_HOME=$HOME_DIR bin/umlab down --all >/dev/null 2>&1 || true; rm -rf "$HOME_DIR"' EXIT
pass=0 fail=0 other=0
failures=""
for i in $(seq 1 "$N"); do
  set +e
  UMLAB_HOME=$HOME_DIR bin/umlab test "$LAB" --json >"$HOME_DIR/run.json" 2>"$HOME_DIR/run.err"
  rc=$?
  set -e
  case $rc in
    0) pass=$((pass + 1)); echo "run $i: pass" ;;
    1)
      fail=$((fail + 1))
      bad=$(node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));console.log(r.results.filter(x=>x.status!=="pass").map(x=>x.name+": "+x.message).join("\n"))' "$HOME_DIR/run.json")
      echo "run $i: FAIL"; echo "$bad" | sed 's/^/    /'
      failures+="$bad"$'\n' ;;
    *) other=$((other + 1)); echo "run $i: exit $rc"; tail -5 "$HOME_DIR/run.err" | sed 's/^/    /' ;;
  esac
done
echo "$LAB: $N cold runs: $pass passed, $fail failed a check, $other did not run (up failed or other errors)"
if [ -n "$failures" ]; then
  echo "failing checks (runs):"
  printf %s "$failures" | sed 's/: .*//' | sort | uniq -c | sort -rn
fi
