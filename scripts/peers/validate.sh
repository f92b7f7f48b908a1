# Part of scripts/bench-peers (sourced): the same BODIES device-list answers (default 2,000,
# made from the bundled cassette's, each with its own ids and names) checked against
# the same schema (device.json#/$defs/DeviceList with the common.json definitions it uses,
# formats checked) by `tailtape validate` (one cassette holding them all, its embedded schemas),
# check-jsonschema and ajv-cli (one file per body, the schema bundled into one file). Each tool
# runs on core 0, once on the BODIES and once on one body (its start-up), interleaved over
# ROUNDS, after each has rejected a control body (exit 1); prints bodies/s over the whole run
# and past start-up, and ratios to tailtape.
BODIES=${BODIES:-2000}
python3 - "$dir" "$BODIES" <<'PY'
import json, os, re, sys
out, count = sys.argv[1], int(sys.argv[2])
bundled = json.load(open("cassettes/devices.json"))["interactions"][1]
text = json.dumps(bundled["response"]["json"], separators=(",", ":"))
os.makedirs(f"{out}/bodies", exist_ok=True)
os.makedirs(f"{out}/one", exist_ok=True)
interactions = []
for i in range(count):
    # Distinct bodies of the same shape: every id and name gets the body's number.
    body = json.loads(re.sub(r'"(id|nodeId|name|hostname)":"([^"]*)"', rf'"\1":"\2-{i}"', text))
    line = json.dumps(body, separators=(",", ":"))
    open(f"{out}/bodies/{i:05d}.json", "w").write(line)
    if i == 0:
        open(f"{out}/one/00000.json", "w").write(line)
    interactions.append({"request": bundled["request"], "response": {**bundled["response"], "json": body}})
def cassette(items):
    return {"tailtape": 1, "recorded": {"upstream": "bench"}, "interactions": items}
json.dump(cassette(interactions), open(f"{out}/bodies.json", "w"))
json.dump(cassette(interactions[:1]), open(f"{out}/one.json", "w"))
# The control: one body whose first address is no IPv4 address, wrong by its format alone.
bad = json.loads(json.dumps(interactions[0]))
bad["response"]["json"]["devices"][0]["addresses"][0] = "100.64.0.999"
os.makedirs(f"{out}/bad", exist_ok=True)
open(f"{out}/bad/00000.json", "w").write(json.dumps(bad["response"]["json"]))
json.dump(cassette([bad]), open(f"{out}/bad.json", "w"))
device, common = (json.load(open(f"schemas/{n}.json")) for n in ("device", "common"))
defs = {**common["$defs"], **device["$defs"]}
assert len(defs) == len(common["$defs"]) + len(device["$defs"])
schema = json.loads(json.dumps({"$schema": device["$schema"], "$ref": "#/$defs/DeviceList",
                                 "$defs": defs}).replace('"common.json#/$defs/', '"#/$defs/'))
json.dump(schema, open(f"{out}/devicelist.schema.json", "w"))
PY
echo "  $BODIES bodies, $(( $(cat "$dir"/bodies/*.json | wc -c) / BODIES )) bytes each on average; cassette $(( $(wc -c < "$dir/bodies.json") / 1000 )) KB"

# run NAME WHICH: times one tool (on core 0) over $dir/WHICH (bodies, one, or bad: the control,
# which each must reject); sets SECONDS_TAKEN.
run() {
  local began status=0 out
  began=$(date +%s%N)
  case $1 in
    tailtape) out=$(taskset -c 0 "$tailtape" validate -q "$dir/$2.json" 2>&1) || status=$? ;;
    check-jsonschema) out=$(taskset -c 0 "$CHECK_JSONSCHEMA" --schemafile "$dir/devicelist.schema.json" "$dir/$2"/*.json 2>&1) || status=$? ;;
    ajv) out=$(taskset -c 0 "$AJV" validate --spec=draft2020 -c ajv-formats --strict=false -s "$dir/devicelist.schema.json" -d "$dir/$2/*.json" 2>&1) || status=$? ;;
  esac
  SECONDS_TAKEN=$(awk -v ns=$(( $(date +%s%N) - began )) 'BEGIN {printf "%.3f", ns/1e9}')
  if [ "$2" = bad ]; then
    [ "$status" -eq 1 ] || { echo "bench-peers: $1 did not reject the control body (an address 100.64.0.999) with exit 1 (exit $status): ${out:0:600}" >&2; exit 1; }
  elif [ "$status" -ne 0 ]; then
    echo "bench-peers: $1 failed on $2 (exit $status): ${out:0:600}" >&2; exit 1
  fi
}
# ajv resolves -c from its working directory's node_modules.
tailtape=$PWD/target/release/tailtape
cd "$NODE_DIR"
label=([tailtape]="tailtape validate" [check-jsonschema]="check-jsonschema" [ajv]="ajv-cli")
tools=(tailtape check-jsonschema ajv)
declare -A whole once
for name in "${tools[@]}"; do run "$name" bad; done
echo "  each tool rejects the control body (an address 100.64.0.999: wrong by its format alone)"
printf '  %-6s %-20s %12s %12s\n' round tool "$BODIES bodies" "one body"
for round in $(seq 1 "$ROUNDS"); do
  for name in "${tools[@]}"; do
    run "$name" bodies; all=$SECONDS_TAKEN
    run "$name" one; first=$SECONDS_TAKEN
    printf '  %-6s %-20s %11ss %11ss\n' "$round" "${label[$name]}" "$all" "$first"
    whole[$name]=$(awk -v a="${whole[$name]:-0}" -v b="$all" 'BEGIN {print a+b}')
    once[$name]=$(awk -v a="${once[$name]:-0}" -v b="$first" 'BEGIN {print a+b}')
  done
done
cd - > /dev/null
echo "  validate, $BODIES bodies, mean over $ROUNDS rounds (past start-up: the run less the one-body run):"
for name in "${tools[@]}"; do
  awk -v n="${label[$name]}" -v w="${whole[$name]}" -v o="${once[$name]}" -v tw="${whole[tailtape]}" -v to="${once[tailtape]}" -v b="$BODIES" -v r="$ROUNDS" '
    BEGIN { rate = b*r/w; past = (w > o) ? (b-1)*r/(w-o) : 0; trate = b*r/tw; tpast = (tw > to) ? (b-1)*r/(tw-to) : 0
      printf "  %-20s %9.0f bodies/s (%5.2f of tailtape); past start-up %9.0f bodies/s (%5.2f); start-up %6.0f ms\n",
        n, rate, rate/trate, past, (tpast ? past/tpast : 0), o/r*1000 }'
done
