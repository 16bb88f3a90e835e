#!/usr/bin/env python3
"""A scripted NBD handshake client for tests that must watch the server
between steps (how many iSCSI sessions exist after LIST, INFO, GO...).

usage: nbd_option_client.py SOCKET STEP...
Steps: list, info, go, abort, badmagic, wait (print "waiting" and read a
line from stdin), read (one 4 KiB READ at offset 0, simple reply).
Prints one line per step ("list ok", "go ok" ...); exits 1 on a surprise.
"""
import socket
import struct
import sys

NBDMAGIC = 0x4E42444D41474943
IHAVEOPT = 0x49484156454F5054
REPLY_MAGIC = 0x3E889045565A9
OPT_ABORT, OPT_LIST, OPT_INFO, OPT_GO = 2, 3, 6, 7
REP_ACK, REP_SERVER, REP_INFO = 1, 2, 3


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError("server closed the connection")
        data += chunk
    return data


def send_option(sock, option, data=b""):
    sock.sendall(struct.pack(">QII", IHAVEOPT, option, len(data)) + data)


def final_reply(sock):
    while True:
        magic, option, rtype, length = struct.unpack(">QIII", recv_exact(sock, 20))
        if magic != REPLY_MAGIC:
            raise ValueError("bad option reply magic %x" % magic)
        recv_exact(sock, length)
        if rtype not in (REP_INFO, REP_SERVER):
            return rtype


def main():
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(30)
    sock.connect(sys.argv[1])
    magic, opt, flags = struct.unpack(">QQH", recv_exact(sock, 18))
    if magic != NBDMAGIC or opt != IHAVEOPT:
        sys.exit("not an NBD newstyle server")
    sock.sendall(struct.pack(">I", 3))  # fixed newstyle, no zeroes
    name = b"vol"
    for step in sys.argv[2:]:
        if step == "list":
            send_option(sock, OPT_LIST)
            ok = final_reply(sock) == REP_ACK
        elif step in ("info", "go"):
            send_option(sock, OPT_INFO if step == "info" else OPT_GO,
                        struct.pack(">I", len(name)) + name + struct.pack(">H", 0))
            ok = final_reply(sock) == REP_ACK
        elif step == "abort":
            send_option(sock, OPT_ABORT)
            ok = final_reply(sock) == REP_ACK
        elif step == "badmagic":
            sock.sendall(struct.pack(">QII", 0x1122334455667788, OPT_GO, 0))
            try:
                ok = sock.recv(1) == b""
            except ConnectionResetError:
                ok = True
        elif step == "read":
            sock.sendall(struct.pack(">IHHQQI", 0x25609513, 0, 0, 77, 0, 4096))
            magic, error, cookie = struct.unpack(">IIQ", recv_exact(sock, 16))
            recv_exact(sock, 4096)
            ok = magic == 0x67446698 and error == 0 and cookie == 77
        elif step == "wait":
            print("waiting", flush=True)
            sys.stdin.readline()
            continue
        else:
            sys.exit("unknown step " + step)
        print(step, "ok" if ok else "FAILED", flush=True)
        if not ok:
            sys.exit(1)


if __name__ == "__main__":
    main()
