# Part of scripts/bench-peers (sourced): recording proxies in front of the same local upstream
# (examples/bare_hyper answering with the device list after DELAYS ms, default 0), each keeping
# every exchange: tailtape record (to a cassette), WireMock's recorder (the recordings API,
# exchanges kept in its journal until the recording is stopped), mountebank's proxyAlways
# (kept in memory) and mitmproxy's `mitmdump -w` (a flow file). The baseline is
# examples/bare_proxy, bench-record's hyper proxy that records nothing. Interleaved rounds;
# req/s and each proxy's ratio to the bare proxy's, then the time WireMock takes to stop its
# recording (bounded by STOP_TIMEOUT seconds, default 30).
STOP_TIMEOUT=${STOP_TIMEOUT:-30}
for delay in ${DELAYS:-0}; do
  echo "  upstream answers after $delay ms"
  TAILTAPE_BENCH_DELAY_MS=$delay start upstream target/release/examples/bare_hyper "$dir/body.json"
  first_url upstream; upstream=$URL
  start proxy target/release/examples/bare_proxy "$upstream"
  first_url proxy; PROXY_URL=$URL
  rm -f "$dir/recorded.json"
  start recorder target/release/tailtape record --cassette "$dir/recorded.json" --upstream "$upstream" --listen 127.0.0.1:0
  first_url recorder; RECORDER_URL=$URL
  port=$(free_port)
  start wiremock-rec java -jar "$WIREMOCK_JAR" --bind-address 127.0.0.1 --port "$port" \
    --root-dir "$dir/wiremock-rec" --disable-banner
  WIREMOCK_URL=http://127.0.0.1:$port
  admin=$(free_port)
  start mountebank-rec "$MB" start --host 127.0.0.1 --port "$admin" --nologfile --loglevel warn
  wait_http "http://127.0.0.1:$admin" /imposters
  port=$(free_port)
  printf '{"port": %s, "protocol": "http", "host": "127.0.0.1", "stubs": [{"responses": [{"proxy": {"to": "%s", "mode": "proxyAlways"}}]}]}' \
    "$port" "$upstream" | curl -sf -o /dev/null -H 'content-type: application/json' --data-binary @- "http://127.0.0.1:$admin/imposters"
  MOUNTEBANK_URL=http://127.0.0.1:$port
  port=$(free_port)
  start mitmdump "$MITMDUMP" --mode "reverse:$upstream" --listen-host 127.0.0.1 --listen-port "$port" -q -w "$dir/flows.mitm"
  MITM_URL=http://127.0.0.1:$port
  wait_http "$WIREMOCK_URL" /__admin/health
  curl -sf -o /dev/null -H 'content-type: application/json' --data "{\"targetBaseUrl\": \"$upstream\"}" "$WIREMOCK_URL/__admin/recordings/start"
  wait_http "$MITM_URL"

  label=([proxy]="bare proxy (records nothing)" [tailtape]="tailtape record" [wiremock]="WireMock recorder"
         [mountebank]="mountebank proxyAlways" [mitmdump]="mitmdump -w")
  declare -A url=([proxy]=$PROXY_URL [tailtape]=$RECORDER_URL [wiremock]=$WIREMOCK_URL
                  [mountebank]=$MOUNTEBANK_URL [mitmdump]=$MITM_URL)
  proxies=(proxy tailtape wiremock mountebank mitmdump)
  sum=()
  for name in "${proxies[@]}"; do load "${url[$name]}" "$WARMUP"; done
  rounds "${proxies[@]}"
  echo "  record, upstream delay $delay ms, mean over $ROUNDS rounds of $DURATION:"
  ratios proxy "${proxies[@]}"
  began=$(date +%s%N)
  if curl -sf -o /dev/null -m "$STOP_TIMEOUT" -X POST "$WIREMOCK_URL/__admin/recordings/stop"; then
    echo "  WireMock: stopping the recording took $(( ($(date +%s%N) - began) / 1000000 )) ms"
  else
    echo "  WireMock: stopping the recording did not finish within $STOP_TIMEOUT s"
  fi
  stop_servers
  echo "  kept: tailtape $(grep -c '"request": {' "$dir/recorded.json") exchanges, mitmdump $(wc -c < "$dir/flows.mitm") bytes of flows"
done
