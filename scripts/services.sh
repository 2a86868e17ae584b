#!/usr/bin/env bash
# etcd and ZooKeeper for Tensile's registry tests and benches (Debian/Ubuntu).
#
#   scripts/services.sh install   install etcd-server, zookeeper and a JRE if missing (idempotent)
#   scripts/services.sh start     run etcd (127.0.0.1:2379) and ZooKeeper (127.0.0.1:2181) in the background
#   scripts/services.sh stop      stop what `start` started
#   scripts/services.sh status    show what is installed and running
#
# Tests do not need `start`: they launch their own servers on free ports (src/registry/test-servers.ts).
# Ports and the state directory can be changed with ETCD_PORT, ZK_PORT and TENSILE_SERVICES_DIR.
set -euo pipefail

ETCD_PORT="${ETCD_PORT:-2379}"
ZK_PORT="${ZK_PORT:-2181}"
STATE_DIR="${TENSILE_SERVICES_DIR:-${TMPDIR:-/tmp}/tensile-services}"
ZK_JAR=/usr/share/java/zookeeper.jar

log() { printf 'services: %s\n' "$*" >&2; }
have_etcd() { command -v etcd >/dev/null 2>&1 || [ -x /usr/bin/etcd ]; }
have_zk() { [ -f "$ZK_JAR" ]; }
have_java() { command -v java >/dev/null 2>&1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"
  else log "need root (or passwordless sudo) to run: $*"; exit 1
  fi
}

install() {
  local pkgs=()
  have_etcd || pkgs+=(etcd-server)
  have_zk || pkgs+=(zookeeper)
  have_java || pkgs+=(default-jre-headless)
  if [ "${#pkgs[@]}" -eq 0 ]; then
    log "etcd, ZooKeeper and java already installed"
    return
  fi
  command -v apt-get >/dev/null 2>&1 || { log "apt-get not found; install ${pkgs[*]} by hand"; exit 1; }
  # The packaged daemons must not grab 2379/2181 (or start at all): tests run their own servers.
  # policy-rc.d exit 101 tells invoke-rc.d not to start services during this install.
  local policy=/usr/sbin/policy-rc.d created_policy=0
  if [ ! -e "$policy" ]; then
    as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
    created_policy=1
  fi
  log "installing ${pkgs[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" \
    || { [ "$created_policy" -eq 1 ] && as_root rm -f "$policy"; exit 1; }
  [ "$created_policy" -eq 1 ] && as_root rm -f "$policy"
  # On a systemd host, keep the etcd unit we just installed from starting at boot.
  if [[ " ${pkgs[*]} " == *" etcd-server "* ]] && [ -d /run/systemd/system ]; then
    as_root systemctl disable --now etcd.service >/dev/null 2>&1 || true
  fi
  have_etcd && have_zk && have_java || { log "installation incomplete"; exit 1; }
  log "installed: $(etcd --version 2>/dev/null | head -n1); zookeeper $(basename "$(readlink -f "$ZK_JAR")")"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  local name=$1 port=$2 logfile=$3
  for _ in $(seq 1 150); do
    port_open "$port" && { log "$name ready on 127.0.0.1:$port"; return; }
    sleep 0.2
  done
  log "$name did not start on port $port; see $logfile"
  tail -n 20 "$logfile" >&2 || true
  exit 1
}

running() { [ -f "$STATE_DIR/$1.pid" ] && kill -0 "$(cat "$STATE_DIR/$1.pid")" 2>/dev/null; }

start() {
  have_etcd && have_zk && have_java || { log "missing servers; run: $0 install"; exit 1; }
  mkdir -p "$STATE_DIR/etcd" "$STATE_DIR/zookeeper"
  if running etcd; then log "etcd already running"
  elif port_open "$ETCD_PORT"; then log "port $ETCD_PORT is taken (a packaged etcd?); set ETCD_PORT"; exit 1
  else
    local peer=$((ETCD_PORT + 1)) url="http://127.0.0.1:$ETCD_PORT"
    # etcd also reads ETCD_* variables, which would clash with these flags.
    local unset=() var
    for var in $(compgen -e | grep '^ETCD_' || true); do unset+=(-u "$var"); done
    env "${unset[@]}" nohup etcd --name tensile --data-dir "$STATE_DIR/etcd" \
      --listen-client-urls "$url" --advertise-client-urls "$url" \
      --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
      --initial-cluster "tensile=http://127.0.0.1:$peer" >"$STATE_DIR/etcd.log" 2>&1 &
    echo $! >"$STATE_DIR/etcd.pid"
    wait_port etcd "$ETCD_PORT" "$STATE_DIR/etcd.log"
  fi
  if running zookeeper; then log "ZooKeeper already running"
  elif port_open "$ZK_PORT"; then log "port $ZK_PORT is taken; set ZK_PORT"; exit 1
  else
    cat >"$STATE_DIR/zoo.cfg" <<EOF
tickTime=200
minSessionTimeout=400
maxSessionTimeout=60000
dataDir=$STATE_DIR/zookeeper
clientPort=$ZK_PORT
clientPortAddress=127.0.0.1
admin.enableServer=false
4lw.commands.whitelist=srvr,ruok
EOF
    local cp="$ZK_JAR"
    [ -f /usr/share/java/slf4j-simple.jar ] && cp="$cp:/usr/share/java/slf4j-simple.jar"
    nohup java -Xmx256m -XX:+UseSerialGC -Dzookeeper.snapshot.trust.empty=true \
      -cp "$cp" org.apache.zookeeper.server.ZooKeeperServerMain "$STATE_DIR/zoo.cfg" \
      >"$STATE_DIR/zookeeper.log" 2>&1 &
    echo $! >"$STATE_DIR/zookeeper.pid"
    wait_port ZooKeeper "$ZK_PORT" "$STATE_DIR/zookeeper.log"
  fi
  echo "ETCD_ENDPOINT=127.0.0.1:$ETCD_PORT"
  echo "ZOOKEEPER_CONNECTION_STRING=127.0.0.1:$ZK_PORT"
}

stop() {
  for name in etcd zookeeper; do
    if running "$name"; then
      kill "$(cat "$STATE_DIR/$name.pid")" && log "stopped $name"
    fi
    rm -f "$STATE_DIR/$name.pid"
  done
}

status() {
  have_etcd && log "etcd: $(command -v etcd || echo /usr/bin/etcd)" || log "etcd: not installed"
  have_zk && log "zookeeper: $ZK_JAR" || log "zookeeper: not installed"
  have_java && log "java: $(command -v java)" || log "java: not installed"
  for name in etcd zookeeper; do
    running "$name" && log "$name: running (pid $(cat "$STATE_DIR/$name.pid"))" || log "$name: not started by this script"
  done
}

case "${1:-install}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
