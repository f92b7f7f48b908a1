# Sourced by the bench scripts: builds what they run, makes a scratch folder ($dir) that goes
# away on exit with every server started into $pids, and writes the body the servers answer
# with ($dir/body.json: the bundled device list, ~2 KB, as the API sends it, compact).
# need_wrk installs the load generator (apt) for the scripts that use it.
need_wrk() {
  command -v wrk >/dev/null && return
  echo "installing wrk (apt)" >&2
  { apt-get install -y -qq wrk || { apt-get update -qq && apt-get install -y -qq wrk; }; } >/dev/null \
    || { echo "this bench needs wrk: apt-get install wrk failed" >&2; exit 2; }
}
cargo build --quiet --release --bin tailtape --example bare_hyper --example bare_proxy
dir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT
python3 -c '
import json, sys
listing = json.load(open("cassettes/devices.json"))["interactions"][1]["response"]["json"]
open(sys.argv[1], "w").write(json.dumps(listing, separators=(",", ":")))
' "$dir/body.json"
