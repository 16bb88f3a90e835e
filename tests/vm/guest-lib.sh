# Set-up steps for guest tests (tests/vm/tests/*.sh). Source it inside the
# guest:   source "$ISERGW_REPO/tests/vm/guest-lib.sh"
# Every function fails the test (message on stderr, exit 1) when its step
# does not work, so a test can call them under `set -e` without checks.
#
# Addresses: only 192.0.2.0/24 (TEST-NET-1). The target side is 192.0.2.1
# (veth0, rxe0), the initiator side 192.0.2.2 (veth1, rxe1).

VM_TARGET_IP=192.0.2.1
VM_INITIATOR_IP=192.0.2.2
VM_CONFIGFS=/sys/kernel/config/target
# Set by vm_net_split to the initiator's network namespace; empty otherwise.
VM_INI_NS=""

# vm_fail MESSAGE...: prints "FAIL: MESSAGE" and ends the test with status 1.
vm_fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# vm_step MESSAGE...: prints a progress line (with seconds since boot), so a
# failing test's output shows how far it got.
vm_step() {
  local up
  up="$(cut -d' ' -f1 /proc/uptime)"
  echo "== [${up}s] $*"
}

# vm_wait SECONDS COMMAND...: runs COMMAND every 0.2 s until it succeeds;
# returns 1 if it never did within SECONDS.
vm_wait() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# vm_expect_fail COMMAND...: runs COMMAND and fails the test if it succeeds.
vm_expect_fail() {
  if "$@"; then vm_fail "expected to fail but succeeded: $*"; fi
  return 0
}

# vm_load_modules [MODULE...]: loads kernel modules with modprobe (the
# guest's /lib/modules is the unpacked Debian kernel, so dependencies and the
# kernel's own request_module() calls work). Without arguments loads the set
# the system tests need: ublk, nbd, Soft-RoCE (with crc32_generic, without
# which `rdma link add` fails), LIO with fileio/iblock/ramdisk backstores,
# its iSCSI and iSER targets (crc32c_generic, without which LIO logins fail),
# the kernel initiators (iscsi_tcp, ib_iser) and the SCSI disk driver
# sd_mod (no udev in the guest loads it on demand), veth, 8021q, netem.
vm_load_modules() {
  local mods=("$@") m
  if ((${#mods[@]} == 0)); then
    mods=(crc32_generic crc32c_generic ublk_drv nbd veth 8021q sch_netem
      rdma_rxe ib_uverbs rdma_ucm ib_umad
      target_core_mod target_core_file target_core_iblock iscsi_target_mod ib_isert
      iscsi_tcp ib_iser sd_mod)
  fi
  # LIO wants its db_root to exist ("db_root: cannot open").
  mkdir -p /etc/target
  [ -d /sys/kernel/config ] || modprobe configfs || vm_fail "modprobe configfs failed"
  for m in "${mods[@]}"; do
    modprobe "$m" || vm_fail "modprobe $m failed"
  done
  mountpoint -q /sys/kernel/config || mount -t configfs configfs /sys/kernel/config
}

# vm_rxe_port_active DEVICE: succeeds when the rxe DEVICE's port 1 is ACTIVE.
vm_rxe_port_active() {
  grep -q ACTIVE "/sys/class/infiniband/$1/ports/1/state" 2>/dev/null
}

# vm_net_shared: veth pair veth0 (192.0.2.1/24) and veth1 (192.0.2.2/24),
# both in the initial namespace, with Soft-RoCE devices rxe0 on veth0 and
# rxe1 on veth1; waits until both ports are ACTIVE. Note: with both ends in
# one namespace, connections to 192.0.2.1 run over rxe0's loopback and TCP
# over lo: nothing crosses the veth. Use vm_net_split for link faults.
vm_net_shared() {
  _vm_veth_pair
  ip addr add "$VM_TARGET_IP/24" dev veth0
  ip addr add "$VM_INITIATOR_IP/24" dev veth1
  _vm_rxe_pair
}

_vm_veth_pair() {
  [ -d /sys/module/veth ] || vm_load_modules veth
  [ -d /sys/module/rdma_rxe ] || vm_load_modules crc32_generic rdma_rxe ib_uverbs rdma_ucm
  ip link add veth0 type veth peer name veth1 || vm_fail "cannot create veth pair"
  ip link set veth0 up
  ip link set veth1 up
}

_vm_rxe_pair() {
  rdma link add rxe0 type rxe netdev veth0 || vm_fail "rdma link add rxe0 failed"
  rdma link add rxe1 type rxe netdev veth1 || vm_fail "rdma link add rxe1 failed"
  vm_wait 10 vm_rxe_port_active rxe0 || vm_fail "rxe0 port not ACTIVE"
  vm_wait 10 vm_rxe_port_active rxe1 || vm_fail "rxe1 port not ACTIVE"
}

# vm_net_split [NAMESPACE]: like vm_net_shared, but the initiator's end lives
# in network namespace NAMESPACE (default "ini"), so traffic between
# 192.0.2.2 and 192.0.2.1 really crosses the veth pair and link faults
# (vm_link_down, vm_link_loss) cut it. Run initiator programs with vm_ini.
#
# How (Linux 6.12's rdma_rxe is initial-namespace only, so both rxe devices
# stay there): veth1 keeps 192.0.2.2/32 in the initial namespace so rxe1
# receives there. The namespace gets a VLAN device (id 2) on veth1 holding
# 192.0.2.2/24: RDMA CM in the namespace resolves through it and picks rxe1
# (a VLAN device's GIDs belong to the rxe of its real device). rxe looks up
# its route by that netdev's ifindex in the initial namespace, so the VLAN
# device is recreated until its ifindex equals veth1's: then RoCE frames
# leave veth1 untagged. TCP from the namespace leaves tagged and arrives on
# veth0.2 (initial namespace); the target's replies to 192.0.2.2, which is
# also a local address there, are steered out of veth0.2 by a policy rule
# placed before the `local` table, with accept_local=1 and rp_filter=0.
vm_net_split() {
  local ns="${1:-ini}" vid=2 want idx tries=0
  _vm_veth_pair
  ip addr add "$VM_TARGET_IP/24" dev veth0
  ip addr add "$VM_INITIATOR_IP/32" dev veth1
  ip link add link veth0 name veth0.$vid type vlan id $vid || vm_fail "cannot create veth0.$vid"
  ip link set veth0.$vid up
  ip netns add "$ns" || vm_fail "ip netns add $ns failed"
  ip -n "$ns" link set lo up
  want="$(cat /sys/class/net/veth1/ifindex)"
  # Indexes are allocated per namespace, increasing; recreate until equal.
  while :; do
    ip link add link veth1 name ini0 netns "$ns" type vlan id $vid ||
      vm_fail "cannot create the VLAN device in namespace $ns"
    idx="$(ip netns exec "$ns" cat /sys/class/net/ini0/ifindex)"
    ((idx == want)) && break
    ((idx < want)) || vm_fail "VLAN device index $idx passed veth1's $want"
    ip -n "$ns" link del ini0
    ((++tries < 64)) || vm_fail "could not match veth1's ifindex $want"
  done
  ip -n "$ns" addr add "$VM_INITIATOR_IP/24" dev ini0
  ip -n "$ns" link set ini0 up
  # (Through /proc: sysctl would read the dot in veth0.2 as a separator.)
  for dev in all default veth0 veth1 veth0.$vid; do
    echo 0 >"/proc/sys/net/ipv4/conf/$dev/rp_filter"
    echo 1 >"/proc/sys/net/ipv4/conf/$dev/accept_local"
  done
  # Replies from the target (initial namespace) to 192.0.2.2 go out on the
  # VLAN device instead of to lo. Move the `local` rule behind ours.
  ip route add "$VM_INITIATOR_IP/32" dev veth0.$vid table 100
  ip rule add pref 10 to "$VM_INITIATOR_IP/32" iif lo lookup 100
  ip rule add pref 100 lookup local
  ip rule del pref 0 lookup local
  _vm_rxe_pair
  VM_INI_NS="$ns"
  vm_wait 10 ip netns exec "$ns" ping -c1 -W1 "$VM_TARGET_IP" ||
    vm_fail "no ping from namespace $ns to $VM_TARGET_IP"
}

# vm_ini COMMAND...: runs COMMAND on the initiator side: inside the
# initiator's namespace after vm_net_split, directly after vm_net_shared.
vm_ini() {
  if [ -n "$VM_INI_NS" ]; then
    ip netns exec "$VM_INI_NS" "$@"
  else
    "$@"
  fi
}

# vm_counter IF_OR_RXE NAME: prints a traffic counter. For a netdev
# (veth0, veth1) NAME is a statistics file (tx_bytes, rx_packets...); for
# an rxe device NAME is a hw_counters file (sent_pkts, rcvd_pkts...).
vm_counter() {
  if [ -d "/sys/class/infiniband/$1" ]; then
    cat "/sys/class/infiniband/$1/ports/1/hw_counters/$2"
  else
    cat "/sys/class/net/$1/statistics/$2"
  fi
}

# vm_netem_install: puts a netem qdisc (0% loss) on veth0 and veth1. Do it
# before traffic starts: adding or removing a qdisc under rxe traffic has
# failed an rxe send and put the target's queue pair in error.
vm_netem_install() {
  tc qdisc add dev veth0 root netem loss 0% || vm_fail "netem on veth0"
  tc qdisc add dev veth1 root netem loss 0% || vm_fail "netem on veth1"
}

# vm_link_loss PERCENT: sets the packet loss of both veth ends' netem.
vm_link_loss() {
  tc qdisc change dev veth0 root netem loss "$1%" || vm_fail "netem change veth0"
  tc qdisc change dev veth1 root netem loss "$1%" || vm_fail "netem change veth1"
}

# vm_link_down / vm_link_up: cuts and restores the veth link (veth1 side).
vm_link_down() { ip link set veth1 down; }
vm_link_up() { ip link set veth1 up; }

# vm_isergw: prints the isergw binary to test: $ISERGW_BIN, else the first
# build that has the attach verb among $ISERGW_BUILD (the suite's Release
# build), build/release and build-ublk; fails the test when none is built.
vm_isergw() {
  local b
  if [ -n "${ISERGW_BIN:-}" ]; then
    echo "$ISERGW_BIN"
    return 0
  fi
  for b in ${ISERGW_BUILD:-} "$ISERGW_REPO/build/release" "$ISERGW_REPO/build-ublk"; do
    if "$b/tools/isergw" help 2>/dev/null | grep -q attach; then
      echo "$b/tools/isergw"
      return 0
    fi
  done
  vm_fail "isergw is not built (set ISERGW_BIN or ISERGW_BUILD)"
}

# ---------------------------------------------------------------- LIO ----

# vm_lio_serial DIR: gives backstore DIR a unit serial number, as targetcli
# does; without one LIO reports no serial (VPD 0x80) and no NAA identifier
# (VPD 0x83), so the LUN has no WWN.
vm_lio_serial() {
  cat /proc/sys/kernel/random/uuid >"$1/wwn/vpd_unit_serial" || vm_fail "cannot set a serial on $1"
}

# vm_lio_fileio NAME PATH SIZE: creates (or reuses) the file PATH of SIZE
# bytes (suffixes K M G allowed) and a LIO fileio backstore NAME on it.
# Prints the backstore's configfs path relative to core/: fileio_0/NAME.
vm_lio_fileio() {
  local name="$1" path="$2" size bytes
  size="$3"
  bytes="$(numfmt --from=iec "$size")" || vm_fail "bad size $size"
  [ -d "$VM_CONFIGFS" ] || vm_load_modules target_core_mod target_core_file
  [ -f "$path" ] || truncate -s "$bytes" "$path" || vm_fail "cannot create $path"
  local dir="$VM_CONFIGFS/core/fileio_0/$name"
  mkdir -p "$dir" || vm_fail "cannot create backstore $dir"
  echo "fd_dev_name=$path,fd_dev_size=$bytes" >"$dir/control" || vm_fail "fileio control $name"
  echo 1 >"$dir/enable" || vm_fail "cannot enable fileio backstore $name"
  vm_lio_serial "$dir"
  echo "fileio_0/$name"
}

# vm_lio_ramdisk NAME SIZE: a LIO ramdisk (rd_mcp) backstore of SIZE bytes
# (K M G allowed), the fast one for benchmarks. Prints rd_mcp_0/NAME.
vm_lio_ramdisk() {
  local name="$1" bytes
  bytes="$(numfmt --from=iec "$2")" || vm_fail "bad size $2"
  [ -d "$VM_CONFIGFS" ] || vm_load_modules target_core_mod
  local dir="$VM_CONFIGFS/core/rd_mcp_0/$name"
  mkdir -p "$dir" || vm_fail "cannot create backstore $dir"
  echo "rd_pages=$((bytes / 4096))" >"$dir/control" || vm_fail "ramdisk control $name"
  echo 1 >"$dir/enable" || vm_fail "cannot enable ramdisk backstore $name"
  vm_lio_serial "$dir"
  echo "rd_mcp_0/$name"
}

# vm_lio_target IQN: creates iSCSI target IQN with TPG 1 in demo mode (any
# initiator may log in and gets every LUN read-write, no CHAP). Not enabled
# until vm_lio_enable.
vm_lio_target() {
  local tpg="$VM_CONFIGFS/iscsi/$1/tpgt_1"
  [ -d /sys/module/iscsi_target_mod ] || vm_load_modules iscsi_target_mod
  mkdir -p "$tpg" || vm_fail "cannot create target $1"
  echo 0 >"$tpg/attrib/authentication"
  echo 1 >"$tpg/attrib/generate_node_acls"
  echo 0 >"$tpg/attrib/demo_mode_write_protect"
  echo 1 >"$tpg/attrib/cache_dynamic_acls"
}

# vm_lio_lun IQN LUN BACKSTORE: exports BACKSTORE (as printed by
# vm_lio_fileio / vm_lio_ramdisk) as LUN number LUN of target IQN.
vm_lio_lun() {
  local tpg="$VM_CONFIGFS/iscsi/$1/tpgt_1"
  mkdir -p "$tpg/lun/lun_$2" || vm_fail "cannot create lun_$2 on $1"
  ln -s "$VM_CONFIGFS/core/$3" "$tpg/lun/lun_$2/port" || vm_fail "cannot map $3 to $1 lun $2"
}

# vm_lio_portal IQN [tcp|iser|both] [ADDRESS] [PORT]: adds a network portal
# (default 192.0.2.1:3260) to IQN, over TCP, iSER or both (default both).
# iSER is a flag on the TCP portal: LIO listens with RDMA CM on the same
# address and port.
vm_lio_portal() {
  local iqn="$1" kind="${2:-both}" addr="${3:-$VM_TARGET_IP}" port="${4:-3260}"
  local np="$VM_CONFIGFS/iscsi/$iqn/tpgt_1/np/$addr:$port"
  mkdir -p "$np" || vm_fail "cannot create portal $addr:$port on $iqn"
  case "$kind" in
    tcp) ;;
    iser | both)
      [ -d /sys/module/ib_isert ] || vm_load_modules ib_isert
      echo 1 >"$np/iser" || vm_fail "cannot enable iSER on $addr:$port"
      ;;
    *) vm_fail "vm_lio_portal: unknown kind $kind" ;;
  esac
  # With "iser" alone the TCP listener is still there; LIO has no switch
  # to turn it off, which is harmless for tests.
}

# vm_lio_chap IQN USER PASSWORD [MUTUAL_USER MUTUAL_PASSWORD]: requires CHAP
# on IQN for every initiator (TPG-wide credentials, demo mode). With the
# mutual pair the target also proves itself to the initiator.
vm_lio_chap() {
  local tpg="$VM_CONFIGFS/iscsi/$1/tpgt_1"
  echo -n "$2" >"$tpg/auth/userid" || vm_fail "chap userid"
  echo -n "$3" >"$tpg/auth/password" || vm_fail "chap password"
  if (($# >= 5)); then
    echo -n "$4" >"$tpg/auth/userid_mutual" || vm_fail "chap userid_mutual"
    echo -n "$5" >"$tpg/auth/password_mutual" || vm_fail "chap password_mutual"
  fi
  echo 1 >"$tpg/attrib/authentication" || vm_fail "cannot require authentication"
}

# vm_lio_enable IQN / vm_lio_disable IQN: start and stop serving IQN.
# Disabling drops its sessions; vm_lio_restart IQN [SECONDS] does both with
# a pause between (default 1 s).
vm_lio_enable() { echo 1 >"$VM_CONFIGFS/iscsi/$1/tpgt_1/enable" || vm_fail "cannot enable $1"; }
vm_lio_disable() { echo 0 >"$VM_CONFIGFS/iscsi/$1/tpgt_1/enable" || vm_fail "cannot disable $1"; }
vm_lio_restart() {
  vm_lio_disable "$1"
  sleep "${2:-1}"
  vm_lio_enable "$1"
}

# vm_lio_simple IQN BACKSTORE... : the common case in one call: target IQN
# with each BACKSTORE as LUN 0, 1, ..., a TCP+iSER portal on 192.0.2.1:3260,
# enabled.
vm_lio_simple() {
  local iqn="$1" lun=0 bs
  shift
  vm_lio_target "$iqn"
  for bs in "$@"; do
    vm_lio_lun "$iqn" "$lun" "$bs"
    lun=$((lun + 1))
  done
  vm_lio_portal "$iqn" both
  vm_lio_enable "$iqn"
}

# vm_lio_clear: removes every LIO target and backstore.
vm_lio_clear() {
  local tpg iqn d
  [ -d "$VM_CONFIGFS/iscsi" ] || return 0
  for tpg in "$VM_CONFIGFS"/iscsi/iqn.*/tpgt_*; do
    [ -d "$tpg" ] || continue
    echo 0 >"$tpg/enable" 2>/dev/null
    for d in "$tpg"/lun/lun_*; do
      [ -d "$d" ] || continue
      find "$d" -maxdepth 1 -type l -delete
      rmdir "$d"
    done
    for d in "$tpg"/np/*; do [ -d "$d" ] && rmdir "$d"; done
    rmdir "$tpg"
  done
  for iqn in "$VM_CONFIGFS"/iscsi/iqn.*; do [ -d "$iqn" ] && rmdir "$iqn"; done
  for d in "$VM_CONFIGFS"/core/*_*/*/; do
    [ -f "$d/enable" ] && rmdir "$d"
  done
  return 0
}

# vm_random_file PATH BYTES: writes BYTES of random data to PATH (a pattern
# to write somewhere and compare later).
vm_random_file() {
  head -c "$(numfmt --from=iec "$2")" /dev/urandom >"$1" || vm_fail "cannot write $1"
}

# vm_put PATTERN TARGET [OFFSET]: writes the file PATTERN into TARGET (a
# backing file or block device) at byte OFFSET (default 0), without
# truncating, and flushes it.
vm_put() {
  dd if="$1" of="$2" bs=4096 seek="${3:-0}" oflag=seek_bytes conv=notrunc,fsync status=none ||
    vm_fail "cannot write $1 into $2"
}

# vm_same PATTERN SOURCE [OFFSET]: succeeds when SOURCE (a backing file or
# block device, read with O_DIRECT for devices) holds PATTERN at byte OFFSET.
vm_same() {
  local len flag=""
  len="$(stat -c %s "$1")"
  [ -b "$2" ] && flag="iflag=direct,skip_bytes,count_bytes" || flag="iflag=skip_bytes,count_bytes"
  dd if="$2" bs=4096 skip="${3:-0}" count="$len" $flag status=none | cmp -s - "$1"
}

# ---------------------------------------------------------------- tgtd ---

# vm_tgtd_start [iscsi|iser]: starts tgtd in the foreground (background job)
# with the chosen driver. iscsi listens on 192.0.2.1:3261 (TCP) so it can run
# beside LIO; iser listens on RDMA CM port 3260 (the only port tgt 1.0.85
# accepts: its --iser port= parser is broken), so LIO's iSER portal must not
# be there. Sets VM_TGTD_PID.
vm_tgtd_start() {
  local kind="${1:-iscsi}"
  mkdir -p /var/run/tgtd /run/lock
  case "$kind" in
    iscsi) tgtd -f --iscsi "portal=$VM_TARGET_IP:3261" >/tmp/tgtd.log 2>&1 & ;;
    iser) tgtd -f >/tmp/tgtd.log 2>&1 & ;;
    *) vm_fail "vm_tgtd_start: unknown kind $kind" ;;
  esac
  VM_TGTD_PID=$!
  vm_wait 10 tgtadm --lld "$kind" --mode sys --op show ||
    { cat /tmp/tgtd.log >&2; vm_fail "tgtd ($kind) did not start"; }
}

# vm_tgtd_target KIND TID IQN: creates target TID named IQN on the
# tgtd driver KIND (iscsi or iser), open to every initiator.
vm_tgtd_target() {
  tgtadm --lld "$1" --mode target --op new --tid "$2" --targetname "$3" ||
    vm_fail "tgtadm new target $3"
  tgtadm --lld "$1" --mode target --op bind --tid "$2" --initiator-address ALL ||
    vm_fail "tgtadm bind target $3"
}

# vm_tgtd_lun KIND TID LUN PATH|null: adds a LUN backed by a file or block
# device, or a null LUN (bstype null: reads zeros, drops writes; tgt gives
# it a fixed size of about 1 TiB).
vm_tgtd_lun() {
  local kind="$1" tid="$2" lun="$3" what="$4"
  if [ "$what" = null ]; then
    tgtadm --lld "$kind" --mode logicalunit --op new --tid "$tid" --lun "$lun" \
      --bstype null --backing-store "/dev/null" ||
      vm_fail "tgtadm null lun $lun"
  else
    tgtadm --lld "$kind" --mode logicalunit --op new --tid "$tid" --lun "$lun" \
      --backing-store "$what" || vm_fail "tgtadm lun $lun on $what"
  fi
}

# vm_tgtd_stop: stops tgtd (it ignores SIGTERM: ask it, then SIGKILL).
vm_tgtd_stop() {
  [ -n "${VM_TGTD_PID:-}" ] || return 0
  tgtadm --op update --mode sys --name State -v offline >/dev/null 2>&1 || true
  tgtadm --mode sys --op delete --force >/dev/null 2>&1 || true
  sleep 0.5
  kill -9 "$VM_TGTD_PID" 2>/dev/null || true
  wait "$VM_TGTD_PID" 2>/dev/null || true
  VM_TGTD_PID=""
}

# ---------------------------------------------------- open-iscsi (kernel) ---

# vm_iscsid_start: starts open-iscsi's iscsid in the guest. Gives it a
# private /etc/iscsi (tmpfs holding initiatorname.iscsi and a copy of the
# host's iscsid.conf) so nothing of the host's configuration is used.
vm_iscsid_start() {
  local conf
  conf="$(cat /etc/iscsi/iscsid.conf 2>/dev/null)"
  mount -t tmpfs tmpfs /etc/iscsi || vm_fail "tmpfs /etc/iscsi"
  printf '%s\n' "$conf" >/etc/iscsi/iscsid.conf
  echo "InitiatorName=iqn.2024-01.org.isergw:vm-initiator" >/etc/iscsi/initiatorname.iscsi
  mkdir -p /run/lock/iscsi /var/lib/iscsi /etc/iscsi/nodes /etc/iscsi/send_targets
  [ -d /sys/module/iscsi_tcp ] || vm_load_modules iscsi_tcp
  iscsid -f >/tmp/iscsid.log 2>&1 &
  VM_ISCSID_PID=$!
  # Ready once its control socket (abstract unix name) is listening.
  vm_wait 10 grep -q ISCSIADM_ABSTRACT_NAMESPACE /proc/net/unix ||
    { cat /tmp/iscsid.log >&2; vm_fail "iscsid did not start"; }
}

# vm_iscsi_login IQN tcp|iser [PORTAL] [CHAP_USER CHAP_PASS [MUT_USER MUT_PASS]]:
# logs the kernel initiator in to IQN at PORTAL (default 192.0.2.1:3260)
# over iscsi_tcp or ib_iser, optionally with CHAP, and waits for its disks.
vm_iscsi_login() {
  local iqn="$1" transport="$2" portal="${3:-$VM_TARGET_IP:3260}"
  case "$transport" in
    tcp) [ -d /sys/module/iscsi_tcp ] || vm_load_modules iscsi_tcp sd_mod ;;
    iser) [ -d /sys/module/ib_iser ] || vm_load_modules ib_iser sd_mod ;;
    *) vm_fail "vm_iscsi_login: transport is tcp or iser, not $transport" ;;
  esac
  iscsiadm -m node -o new -T "$iqn" -p "$portal" >/dev/null || vm_fail "iscsiadm new node $iqn"
  iscsiadm -m node -T "$iqn" -p "$portal" -o update -n iface.transport_name -v "$transport" ||
    vm_fail "iscsiadm set transport $transport"
  if (($# >= 5)); then
    iscsiadm -m node -T "$iqn" -p "$portal" -o update -n node.session.auth.authmethod -v CHAP
    iscsiadm -m node -T "$iqn" -p "$portal" -o update -n node.session.auth.username -v "$4"
    iscsiadm -m node -T "$iqn" -p "$portal" -o update -n node.session.auth.password -v "$5"
  fi
  if (($# >= 7)); then
    iscsiadm -m node -T "$iqn" -p "$portal" -o update -n node.session.auth.username_in -v "$6"
    iscsiadm -m node -T "$iqn" -p "$portal" -o update -n node.session.auth.password_in -v "$7"
  fi
  timeout 60 iscsiadm -m node -T "$iqn" -p "$portal" --login || vm_fail "kernel initiator login to $iqn over $2 failed"
}

# vm_iscsi_disk IQN LUN: prints /dev/sdX of LUN in the kernel initiator's
# session to IQN (waits up to 20 s for it to appear). There is no udev in
# the guest, so the disk is found through sysfs.
vm_iscsi_disk() {
  local iqn="$1" lun="$2" s dev deadline=$((SECONDS + 20))
  while ((SECONDS < deadline)); do
    for s in /sys/class/iscsi_session/session*; do
      [ "$(cat "$s/targetname" 2>/dev/null)" = "$iqn" ] || continue
      for dev in "$s"/device/target*/*:*:*:"$lun"/block/*; do
        [ -e "$dev" ] || continue
        dev="/dev/$(basename "$dev")"
        if [ -b "$dev" ]; then
          echo "$dev"
          return 0
        fi
      done
    done
    sleep 0.2
  done
  vm_fail "no disk for $iqn lun $lun"
}

# vm_iscsi_logout_all: logs the kernel initiator out of every session.
vm_iscsi_logout_all() {
  iscsiadm -m node --logoutall=all >/dev/null 2>&1 || true
  iscsiadm -m node -o delete >/dev/null 2>&1 || true
  return 0
}
