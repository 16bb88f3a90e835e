#include "tools/cli/flags.h"

DEFINE_bool(json, false, "print the result as one JSON object (info, bench, discover)");
DEFINE_string(chap_file, "",
              "file with CHAP credentials (username=, password=, username_in=, password_in=); "
              "must not be readable by group or others");
DEFINE_string(header_digest, "none", "header digest to ask for: none, crc32c, or prefer-crc32c");
DEFINE_string(iface, "",
              "the network interface the connection must use (TCP binds to it; iSER resolves from "
              "its address, which picks the RDMA device); --portals may give one per portal as "
              "HOST[:PORT]@IFACE");
DEFINE_string(data_digest, "none", "data digest to ask for: none, crc32c, or prefer-crc32c");
DEFINE_int32(timeout, 15, "seconds allowed for connect and login");
DEFINE_bool(verbose, false, "log protocol events to stderr");
DEFINE_string(rw, "randread", "bench pattern: read, write, randread, randwrite, randrw");
DEFINE_string(bs, "4k", "bench block size (bytes, or with k/m suffix)");
DEFINE_int32(qd, 32, "bench queue depth: commands in flight");
DEFINE_int32(seconds, 10, "bench duration in seconds");
DEFINE_int32(rwmixread, 50, "randrw: percentage of reads");
DEFINE_bool(sparse, false, "copy: skip all-zero blocks (holes in files; WRITE SAME/UNMAP on LUNs)");
DEFINE_bool(progress, true, "copy: show a progress bar when stderr is a terminal");
DEFINE_bool(foreground, false, "attach: serve the device from this process until SIGTERM/SIGINT");
DEFINE_int32(queues, 1, "attach: ublk hardware queues (one thread each, at most one per CPU)");
DEFINE_int32(depth, 128, "attach: requests in flight per queue (1..4096)");
DEFINE_string(recover, "",
              "attach: take over this ublk device (/dev/ublkbN) whose server died, "
              "instead of creating one");
DEFINE_int32(block_size, 0,
             "attach: logical block size in bytes (512..4096, a power of two); "
             "0: 512, or the backing device's");
DEFINE_string(frontend, "ublk",
              "attach: ublk, nbd (the kernel's NBD client, set up through netlink), or auto "
              "(ublk where its driver is, else nbd)");
DEFINE_string(socket, "",
              "export: Unix socket to listen on (mode 0600; default "
              "/run/isergw/nbd-PID.sock unless --port is given); daemon, attach, detach, list, "
              "status: the daemon's control socket (default /run/isergw/control.sock)");
DEFINE_int32(port, -1, "export: TCP port to listen on instead of a Unix socket (0: any free port)");
DEFINE_string(bind, "127.0.0.1", "export: address the TCP port is bound to");
DEFINE_string(name, "",
              "export: the NBD export name clients ask for (\"\" is the default export); "
              "attach: the volume's name (/dev/isergw/NAME; default from the URL)");
