#!/usr/bin/env bash
# A real Slurm cluster on this one machine, for the Slurm tests: munged, slurmctld and two slurmd
# nodes (n1, n2) on localhost, configured in a private state directory.
#
#   .ci/slurm.sh up      install the packages if missing (Debian, needs root), start, wait until idle
#   .ci/slurm.sh down    stop the daemons by their pid files, remove the state directory
#   .ci/slurm.sh env     print the variables that point Slurm's commands at this cluster
#
# COHORT_SLURM_STATE (default /tmp/cohort-slurm-$UID) is the state directory;
# COHORT_SLURM_PORT (default 6817) slurmctld's port, the nodes take 6820 and 6821 (clear of
# slurmdbd's 6819).
set -euo pipefail

STATE=${COHORT_SLURM_STATE:-/tmp/cohort-slurm-$(id -u)}
CTLD_PORT=${COHORT_SLURM_PORT:-6817}
CONF=$STATE/slurm.conf
MUNGE=$STATE/munge
# Bounded waits, seconds.
WAIT_IDLE=${COHORT_SLURM_WAIT:-60}

log() { echo "slurm.sh: $*" >&2; }

install() {
    local missing=()
    for cmd in slurmctld slurmd sbatch munged; do
        command -v "$cmd" >/dev/null || PATH=$PATH:/usr/sbin:/sbin command -v "$cmd" >/dev/null || missing+=("$cmd")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        log "missing ${missing[*]}; installing Slurm needs root (apt-get install slurmctld slurmd slurm-client munge)"
        return 1
    fi
    log "installing slurmctld slurmd slurm-client munge"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        slurmctld slurmd slurm-client munge >/dev/null
}

write_config() {
    local mem
    mem=$(awk '/MemTotal/ { print int($2 / 1024 / 4) }' /proc/meminfo)
    mkdir -p "$STATE"/{state,spool/n1,spool/n2,run,log} "$MUNGE"
    cat >"$CONF" <<CONF
ClusterName=cohort
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE/munge.socket
StateSaveLocation=$STATE/state
SlurmdSpoolDir=$STATE/spool/%n
SlurmctldPidFile=$STATE/run/slurmctld.pid
SlurmdPidFile=$STATE/run/slurmd-%n.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd-%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
ReturnToService=2
KillWait=10
NodeName=n[1-2] NodeHostname=localhost NodeAddr=127.0.0.1 Port=[6820-6821] CPUs=2 RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
}

start_munge() {
    local key=$MUNGE/munge.key
    # The socket directory must be searchable by every user (munged checks).
    chown munge:munge "$MUNGE" && chmod 0755 "$MUNGE"
    if [ ! -f "$key" ]; then
        dd if=/dev/urandom of="$key" bs=1024 count=1 status=none
        chown munge:munge "$key" && chmod 0400 "$key"
    fi
    runuser -u munge -- /usr/sbin/munged --socket="$MUNGE/munge.socket" --key-file="$key" \
        --pid-file="$MUNGE/munged.pid" --log-file="$MUNGE/munged.log" --seed-file="$MUNGE/munged.seed"
}

print_env() {
    echo "export SLURM_CONF=$CONF"
    echo "export COHORT_SLURM_TESTS=1"
}

up() {
    install
    if [ -f "$STATE/run/slurmctld.pid" ]; then
        log "already up in $STATE (run '$0 down' first for a fresh cluster)"
    else
        write_config
        chmod 0755 "$STATE"
        start_munge
        export SLURM_CONF=$CONF
        /usr/sbin/slurmctld -f "$CONF" -i
        /usr/sbin/slurmd -f "$CONF" -N n1
        /usr/sbin/slurmd -f "$CONF" -N n2
    fi
    export SLURM_CONF=$CONF
    local deadline=$((SECONDS + WAIT_IDLE)) states=""
    while [ $SECONDS -lt $deadline ]; do
        states=$(sinfo -h -N -o '%N %t' 2>/dev/null || true)
        if [ "$(echo "$states" | grep -c ' idle$')" -eq 2 ]; then
            log "up: nodes n1 and n2 idle (SLURM_CONF=$CONF)"
            return 0
        fi
        sleep 0.2
    done
    log "the nodes did not become idle within ${WAIT_IDLE}s: ${states:-no answer from slurmctld}"
    tail -n 20 "$STATE"/log/*.log >&2 || true
    return 1
}

stop_pidfile() {
    local file=$1 pid
    [ -f "$file" ] || return 0
    pid=$(cat "$file")
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        # Bounded: 10 s, then SIGKILL.
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$file"
}

down() {
    [ -d "$STATE" ] || return 0
    # Jobs first, so no job step outlives its slurmd (bounded: 20 s).
    if [ -f "$STATE/run/slurmctld.pid" ]; then
        export SLURM_CONF=$CONF
        local jobs
        jobs=$(squeue -h -o %A 2>/dev/null | sort -u || true)
        if [ -n "$jobs" ]; then
            # shellcheck disable=SC2086
            scancel $jobs 2>/dev/null || true
            for _ in $(seq 100); do
                [ -z "$(squeue -h -o %A 2>/dev/null)" ] && break
                sleep 0.2
            done
            jobs=$(squeue -h -o %i 2>/dev/null || true)
            [ -z "$jobs" ] || log "jobs still listed after scancel: $jobs"
        fi
    fi
    for f in "$STATE"/run/slurmd-*.pid "$STATE/run/slurmctld.pid" "$MUNGE/munged.pid"; do
        stop_pidfile "$f"
    done
    rm -rf "$STATE"
    log "down"
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    env) print_env ;;
    *) echo "usage: $0 up|down|env" >&2; exit 2 ;;
esac
