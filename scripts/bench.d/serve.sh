# Sourced by the benchmarks that drive a running Vigil: starts a release `vigil serve` on its
# embedded database in a fresh data folder, waits until it is ready, stops it and removes the
# folder on exit, and makes an administrator's API key.
#
#   start_vigil [VAR=value...]   sets DATA, PORT, BASE and PID (extra variables go to vigil's environment)
#   admin_key                    prints an API key of role admin
#   sql QUERY                    runs QUERY on the embedded database, unaligned output

BINARY=.build/release/vigil
PSQL=/usr/lib/postgresql/15/bin/psql

start_vigil() {
    [ -x "$BINARY" ] || { echo "$(basename "$0"): build first (make build)" >&2; exit 1; }
    DATA=$(mktemp -d "/tmp/vigil-$(basename "$0")-XXXXXX")
    PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    BASE="http://127.0.0.1:$PORT"
    env VIGIL_DATA_DIR="$DATA" VIGIL_PORT="$PORT" VIGIL_LOG_LEVEL=warning "$@" "$BINARY" serve > "$DATA/vigil.log" 2>&1 &
    PID=$!
    trap stop_vigil EXIT
    for _ in $(seq 1 600); do
        curl -fs "$BASE/health/ready" >/dev/null 2>&1 && return 0
        kill -0 "$PID" 2>/dev/null || { cat "$DATA/vigil.log"; exit 1; }
        sleep 0.1
    done
    echo "$(basename "$0"): vigil was not ready within a minute" >&2
    exit 1
}

stop_vigil() {
    # BENCH_KEEP=1 leaves Vigil running on its data, for a look at what the benchmark made.
    if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "kept: $DATA (pid $PID, port $PORT)" >&2; return; fi
    kill -TERM "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
    rm -rf "$DATA"
}

admin_key() {
    echo "bench-password-$$" > "$DATA/password"
    VIGIL_DATA_DIR="$DATA" "$BINARY" user create --admin --username bench --email bench@example.test \
        --password-file "$DATA/password" >/dev/null
    VIGIL_DATA_DIR="$DATA" "$BINARY" apikey create --name bench --role admin 2>/dev/null
}

sql() { "$PSQL" -h "$DATA/run" -U vigil -d vigil -At -c "$1"; }
