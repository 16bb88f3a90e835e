# PID 1 of the guest, run by host's /bin/bash after the initramfs switched
# root into the overlay of the host root (see initramfs-init). Sets up the
# minimal system, runs the job that run-guest wrote into the results folder,
# records its exit status there and powers off.
#
# The job file (RESULTS/job.sh) defines:
#   VM_MODE      script | shell
#   VM_ARGV      the command to run (array), for script mode
#   VM_CWD       working directory to start in
#   VM_KVER      kernel version, VM_CACHE the host cache folder
#   VM_BUSYBOX   path of the static busybox (for poweroff -f)
#   VM_BOOT      which boot of this run (run-guest boots again when one dies
#                before the script starts); VM_CRASH_BOOTS: crash boots up
#                to this one on purpose (the selftest)
# The command's output goes to /dev/ttyS1, which run-guest streams; the
# kernel console (ttyS0) goes to RESULTS/console.log.

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM="${TERM:-linux}" LANG=C.UTF-8
exec </dev/console >/dev/console 2>&1

results=""
power_off() {
  sync
  if [ -n "${VM_BUSYBOX:-}" ] && [ -x "$VM_BUSYBOX" ]; then
    "$VM_BUSYBOX" poweroff -f
  fi
  echo o >/proc/sysrq-trigger
  sleep 60
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
for word in $(</proc/cmdline); do
  case "$word" in isergw.results=*) results="${word#*=}" ;; esac
done
mkdir -p /dev/pts /dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts
ln -sf pts/ptmx /dev/ptmx
mount -t tmpfs tmpfs /dev/shm
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
# Fresh, empty runtime folders rather than the host's (stale pid files).
# /tmp stays the host's (through the overlay) so host scripts there run.
for d in /run /var/log; do
  mount -t tmpfs tmpfs "$d" 2>/dev/null
done
mkdir -p /run/lock
mount -t configfs configfs /sys/kernel/config 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
hostname isergw-vm
ip link set lo up 2>/dev/null

if [ -z "$results" ] || [ ! -f "$results/job.sh" ]; then
  echo "guest-init: no job file (results=$results)"
  power_off
fi
source "$results/job.sh"

# The unpacked modules become /lib/modules/KVER in the overlay, so plain
# modprobe works, and so do the kernel's own module requests.
mkdir -p /lib/modules
ln -sfn "$VM_CACHE/kernel-$VM_KVER/lib/modules/$VM_KVER" "/lib/modules/$VM_KVER"
echo /sbin/modprobe >/proc/sys/kernel/modprobe

export VM_RESULTS="$results/files"
mkdir -p "$VM_RESULTS"
cd "$VM_CWD" 2>/dev/null || cd /

status=0
if [ "$VM_MODE" = shell ]; then
  echo "guest-init: interactive shell; 'exit' powers the guest off"
  setsid -c bash -l </dev/ttyS0 >/dev/ttyS0 2>&1
  status=$?
else
  if ((VM_BOOT <= VM_CRASH_BOOTS)); then
    echo "guest-init: crashing boot $VM_BOOT as asked (ISERGW_VM_CRASH_BOOTS)"
    echo c >/proc/sysrq-trigger
  fi
  echo "guest-init: running ${VM_ARGV[*]}"
  # Tells run-guest that the boot is over: a guest that dies after this
  # died under the script, not during boot.
  : >"$results/started"
  # Its own session and process group, output to the streamed port.
  setsid -w "${VM_ARGV[@]}" </dev/null >/dev/ttyS1 2>&1
  status=$?
  echo "guest-init: exit status $status"
fi
echo "$status" >"$results/status.tmp"
mv "$results/status.tmp" "$results/status"
power_off
