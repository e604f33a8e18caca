// Package limitscript holds the shell programs the resource-limit tests
// run inside real bottles (local and docker backends, and end to end).
// Each reads its limit from inside the bottle first and refuses to start
// without it, so a fork loop or a memory hog is never let loose on a
// machine whose limit did not hold.
package limitscript

// ReadLimit defines a shell function, limit CONTROLLER FILE, printing a
// limit file of the bottle's own cgroup as the bottle sees it (cgroup v1
// or v2, local or docker, with or without a cgroup namespace), or "none".
const ReadLimit = `limit() {
  p=$(grep -E "^[0-9]+:([^:]*,)?$1(,[^:]*)?:" /proc/self/cgroup | cut -d: -f3)
  [ -n "$p" ] || p=$(grep '^0::' /proc/self/cgroup | cut -d: -f3)
  for d in /sys/fs/cgroup/$1$p /sys/fs/cgroup$p /sys/fs/cgroup/$1 /sys/fs/cgroup; do
    if [ -r "$d/$2" ]; then cat "$d/$2"; return; fi
  done
  echo none
}
`

// forkLoopBody forks at most 200 processes (each blocked on the FIFO
// hold) once $lim is 64. After the loop has failed it uses builtins only
// (a fork could fail while the pids are taken): it frees the processes,
// then waits on the FIFO go until the test says.
const forkLoopBody = `echo "pids.max=$lim"
[ "$lim" = 64 ] || { echo "NO PIDS LIMIT: not running the fork loop"; exit 99; }
( i=0; while [ $i -lt 200 ]; do cat hold >/dev/null & i=$((i+1)); echo $i > forked; done ) 2>forkerr
read n < forked; echo "forked=$n"
read e < forkerr; echo "forkerr=$e"
echo > hold
read x < go
echo done
`

// ForkLoop runs the bounded fork loop only under a cgroup pids limit of
// 64 read from inside. It runs in the workdir, beside the FIFOs hold and
// go.
const ForkLoop = ReadLimit + `lim=$(limit pids pids.max)
` + forkLoopBody

// ForkLoopOrNproc is ForkLoop that also takes an RLIMIT_NPROC of 64
// where the bottle has no cgroup (the local backend's fallback).
const ForkLoopOrNproc = ReadLimit + `lim=$(limit pids pids.max)
if [ "$lim" = none ]; then lim=$(grep -i '^max processes' /proc/self/limits | tr -s ' ' | cut -d' ' -f3); fi
` + forkLoopBody

// MemoryHog reads a memory limit of 64MiB from inside, then has dd take
// a 200MiB buffer (harmless without the limit) beside a sleep the OOM
// killer does not choose: the whole bottle must still end.
const MemoryHog = ReadLimit + `lim=$(limit memory memory.max); [ "$lim" != none ] || lim=$(limit memory memory.limit_in_bytes)
echo "memory.max=$lim"
[ "$lim" = 67108864 ] || { echo "NO MEMORY LIMIT: not running the hog"; exit 99; }
sleep 120 &
dd if=/dev/zero of=/dev/null bs=200M count=1 2>/dev/null
echo "dd-exit=$?"
sleep 120
echo still-running
`
