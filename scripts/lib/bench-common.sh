# shellcheck shell=bash disable=SC2034,SC2154  # variables set for, and by, the caller
# What scripts/bench-io and scripts/bench-echo-peers share: building the bench tools, placing
# client and servers on CPUs, starting and stopping a bench/io server. Sourced; the script
# sets `repo` and `name` (for messages) first.
#
# Placement: on a machine with 2 or more CPUs (and taskset), the client runs on the last CPU
# and the single-threaded servers on CPU 0, so the two never share a core and the figures stop
# depending on where the scheduler put them (unpinned, CPU per message of one binary moved by
# +-15% between runs on the 2-core VM). Multi-threaded servers are not pinned: they share the
# cores with the client.

log() { echo "[$name] $*" >&2; }
fail() {
  log "error: $*"
  exit 1
}

# bench_build BUILD_DIR TARGET...: builds the targets in BUILD_DIR, or with the release preset
# if it is empty; sets bench_tree to the build tree.
bench_build() {
  local dir=$1
  shift
  if [[ -z "$dir" ]]; then
    log "configuring and building $* (release preset)"
    cmake --preset release >/dev/null
    cmake --build --preset release --target "$@" >&2
    bench_tree="$repo/build/release"
  else
    log "building $* in $dir"
    cmake --build "$dir" --target "$@" >&2
    bench_tree=$(cd "$dir" && pwd)
  fi
}

# bench_pinning PIN: sets the command prefixes `client` and `single` (see Placement), empty
# when PIN is not 1 or the machine cannot pin; sets `placement` to describe it.
bench_pinning() {
  client=() single=() placement="unpinned"
  if [[ "$1" == 1 ]] && (($(nproc) >= 2)) && command -v taskset >/dev/null; then
    client=(taskset -c $(($(nproc) - 1)))
    single=(taskset -c 0)
    placement="client on CPU $(($(nproc) - 1)), 1-thread / 1-loop servers on CPU 0, the others unpinned"
  fi
}

# The server still running when the script exits (an error, ^C) is killed.
server_pid=
kill_server() {
  [[ -z "$server_pid" ]] || kill -KILL "$server_pid" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap kill_server EXIT
trap 'exit 130' INT TERM

# True while $1 runs: kill -0 also succeeds on a zombie, so the state field must not be Z.
alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ "${stat%% *}" != Z ]]
}

# start_server PREFIX SINGLE PROGRAM ARGS...: starts PROGRAM PORT ARGS... on a free port (from
# weft-probe), on CPU 0 if SINGLE is 1, its output in PREFIX.server.{out,err}; waits for its
# "listening on" line; sets server_pid and server_port.
start_server() {
  local prefix=$1 place=() program=$3 i
  [[ "$2" == 1 ]] && place=("${single[@]}")
  shift 3
  server_port=$("$bench_tree/bench/suite/weft-probe" free-port)
  "${place[@]}" "$program" "$server_port" "$@" >"$prefix.server.out" 2>"$prefix.server.err" &
  server_pid=$!
  for ((i = 0; i < 100; i++)); do
    grep -q "listening on 127.0.0.1:$server_port" "$prefix.server.out" && return 0
    alive "$server_pid" || fail "${program##*/} $* did not start: $(cat "$prefix.server.err")"
    sleep 0.05
  done
  fail "${program##*/} $* printed no 'listening on' line within 5 s: $(cat "$prefix.server.err")"
}

# stop_server: SIGINT, the servers' clean path. Returns 1, the reason in stop_error, unless
# the server exits with status 0 within $stop_seconds (5); kills it then.
stop_seconds=5
stop_server() {
  local pid=$server_pid i status=0
  server_pid=
  kill -INT "$pid" 2>/dev/null || true
  for ((i = 0; i < stop_seconds * 20; i++)); do
    alive "$pid" || break
    sleep 0.05
  done
  if alive "$pid"; then
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    stop_error="server $pid did not exit within $stop_seconds s of SIGINT: killed"
    return 1
  fi
  wait "$pid" || status=$?
  stop_error="server $pid exited with status $status after SIGINT"
  ((status == 0))
}

# value KEY FILE: KEY's value in the key=value lines of weft-load and weft-probe.
value() { sed -n "s/^$1=//p" "$2"; }

# The line that says where a run took place, given the load averages before and after it.
machine_line() {
  echo "kernel $(uname -r); $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)," \
    "$(nproc) CPUs; load average before $1, after $2"
}
