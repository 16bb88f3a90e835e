#include "nbd/kernel_device.h"

#include <fcntl.h>
#include <glog/logging.h>
#include <linux/genetlink.h>
#include <linux/nbd-netlink.h>
#include <linux/nbd.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "nbd/connection.h"
#include "nbd/protocol.h"
#include "nbd/server.h"

namespace isergw::nbd {
namespace {

// Appends netlink attributes to a message (host byte order, 4-byte aligned).
class MessageWriter {
 public:
  MessageWriter(uint16_t type, uint16_t flags, uint32_t sequence, uint8_t command) {
    bytes_.resize(NLMSG_HDRLEN + GENL_HDRLEN);
    auto* header = reinterpret_cast<nlmsghdr*>(bytes_.data());
    header->nlmsg_type = type;
    header->nlmsg_flags = flags;
    header->nlmsg_seq = sequence;
    auto* genl = reinterpret_cast<genlmsghdr*>(bytes_.data() + NLMSG_HDRLEN);
    genl->cmd = command;
    // Both the controller and the NBD family are at version 1.
    genl->version = NBD_GENL_VERSION;
  }
  void Put(uint16_t type, const void* data, size_t length) {
    const size_t at = bytes_.size();
    bytes_.resize(at + NLA_ALIGN(NLA_HDRLEN + length));
    nlattr attr{static_cast<uint16_t>(NLA_HDRLEN + length), type};
    std::memcpy(bytes_.data() + at, &attr, sizeof(attr));
    std::memcpy(bytes_.data() + at + NLA_HDRLEN, data, length);
  }
  void PutU32(uint16_t type, uint32_t value) { Put(type, &value, sizeof(value)); }
  void PutU64(uint16_t type, uint64_t value) { Put(type, &value, sizeof(value)); }
  size_t BeginNest(uint16_t type) {
    const size_t at = bytes_.size();
    bytes_.resize(at + NLA_HDRLEN);
    nlattr attr{0, static_cast<uint16_t>(type | NLA_F_NESTED)};
    std::memcpy(bytes_.data() + at, &attr, sizeof(attr));
    return at;
  }
  void EndNest(size_t at) {
    const auto length = static_cast<uint16_t>(bytes_.size() - at);
    std::memcpy(bytes_.data() + at, &length, sizeof(length));
  }
  std::vector<uint8_t> Finish() {
    reinterpret_cast<nlmsghdr*>(bytes_.data())->nlmsg_len = static_cast<uint32_t>(bytes_.size());
    return std::move(bytes_);
  }

 private:
  std::vector<uint8_t> bytes_;
};

// Finds attribute `type` among the attributes in [p, p + length).
const nlattr* FindAttr(const uint8_t* p, size_t length, uint16_t type) {
  size_t at = 0;
  while (at + NLA_HDRLEN <= length) {
    nlattr attr;
    std::memcpy(&attr, p + at, sizeof(attr));
    if (attr.nla_len < NLA_HDRLEN || at + attr.nla_len > length) {
      return nullptr;
    }
    if ((attr.nla_type & NLA_TYPE_MASK) == type) {
      return reinterpret_cast<const nlattr*>(p + at);
    }
    at += NLA_ALIGN(attr.nla_len);
  }
  return nullptr;
}

// Sends `request` and reads the answer: the first generic netlink message's
// attributes into `attrs` (if any), and the ACK's error.
absl::Status Transact(int sock, const std::vector<uint8_t>& request, std::vector<uint8_t>* attrs) {
  if (send(sock, request.data(), request.size(), 0) != static_cast<ssize_t>(request.size())) {
    return absl::InternalError(absl::StrCat("netlink send: ", strerror(errno)));
  }
  std::vector<uint8_t> buffer(16384);
  for (;;) {
    const ssize_t got = recv(sock, buffer.data(), buffer.size(), 0);
    if (got < 0) {
      return absl::InternalError(absl::StrCat("netlink recv: ", strerror(errno)));
    }
    size_t at = 0;
    while (at + NLMSG_HDRLEN <= static_cast<size_t>(got)) {
      nlmsghdr header;
      std::memcpy(&header, buffer.data() + at, sizeof(header));
      if (header.nlmsg_len < NLMSG_HDRLEN || at + header.nlmsg_len > static_cast<size_t>(got)) {
        return absl::DataLossError("malformed netlink answer");
      }
      if (header.nlmsg_type == NLMSG_ERROR) {
        nlmsgerr error;
        if (header.nlmsg_len < NLMSG_HDRLEN + sizeof(error)) {
          return absl::DataLossError("short netlink error");
        }
        std::memcpy(&error, buffer.data() + at + NLMSG_HDRLEN, sizeof(error));
        if (error.error == 0) {
          return absl::OkStatus();
        }
        const int code = -error.error;
        std::string what = strerror(code);
        if (code == ENOENT) {
          return absl::UnavailableError(what);
        }
        if (code == EBUSY) {
          return absl::AlreadyExistsError(what);
        }
        if (code == EPERM) {
          return absl::PermissionDeniedError(what);
        }
        return absl::InternalError(what);
      }
      if (attrs && attrs->empty() && header.nlmsg_len > NLMSG_HDRLEN + GENL_HDRLEN) {
        attrs->assign(buffer.data() + at + NLMSG_HDRLEN + GENL_HDRLEN,
                      buffer.data() + at + header.nlmsg_len);
      }
      at += NLMSG_ALIGN(header.nlmsg_len);
    }
  }
}

absl::StatusOr<int> OpenGenetlink() {
  const int sock = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
  if (sock < 0) {
    return absl::InternalError(absl::StrCat("netlink socket: ", strerror(errno)));
  }
  timeval tv{10, 0};
  setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return sock;
}

}  // namespace

std::vector<uint8_t> EncodeGetFamily(uint32_t sequence) {
  MessageWriter m(GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_ACK, sequence, CTRL_CMD_GETFAMILY);
  m.Put(CTRL_ATTR_FAMILY_NAME, NBD_GENL_FAMILY_NAME, sizeof(NBD_GENL_FAMILY_NAME));
  return m.Finish();
}

std::vector<uint8_t> EncodeConnect(uint16_t family, uint32_t sequence, const ExportInfo& info,
                                   const std::vector<int>& fds,
                                   const KernelDeviceOptions& options) {
  MessageWriter m(family, NLM_F_REQUEST | NLM_F_ACK, sequence, NBD_CMD_CONNECT);
  if (options.index >= 0) {
    m.PutU32(NBD_ATTR_INDEX, static_cast<uint32_t>(options.index));
  }
  m.PutU64(NBD_ATTR_SIZE_BYTES, info.size);
  m.PutU64(NBD_ATTR_BLOCK_SIZE_BYTES, info.min_block);
  m.PutU64(NBD_ATTR_SERVER_FLAGS, info.transmission_flags);
  m.PutU64(NBD_ATTR_TIMEOUT, options.timeout_seconds);
  // The device goes away once disconnected (nbd-client -N's default too).
  m.PutU64(NBD_ATTR_CLIENT_FLAGS, NBD_CFLAG_DESTROY_ON_DISCONNECT);
  const size_t sockets = m.BeginNest(NBD_ATTR_SOCKETS);
  for (int fd : fds) {
    const size_t item = m.BeginNest(NBD_SOCK_ITEM);
    m.PutU32(NBD_SOCK_FD, static_cast<uint32_t>(fd));
    m.EndNest(item);
  }
  m.EndNest(sockets);
  return m.Finish();
}

std::vector<uint8_t> EncodeDisconnect(uint16_t family, uint32_t sequence, uint32_t index) {
  MessageWriter m(family, NLM_F_REQUEST | NLM_F_ACK, sequence, NBD_CMD_DISCONNECT);
  m.PutU32(NBD_ATTR_INDEX, index);
  return m.Finish();
}

absl::StatusOr<std::unique_ptr<KernelDevice>> KernelDevice::Attach(
    ublk::Backend* backend, const KernelDeviceOptions& options) {
  std::unique_ptr<KernelDevice> device(new KernelDevice());
  device->export_ = ExportInfoFor(backend->geometry(), "", backend->Describe());
  // The kernel sends no DF and reads structured replies never; the rest of
  // the flags it honours as given.
  device->export_.transmission_flags &= static_cast<uint16_t>(~kTxSendDf);
  if (options.connections < 1) {
    return absl::InvalidArgumentError("an NBD device needs at least one connection");
  }

  auto sock = OpenGenetlink();
  if (!sock.ok()) {
    return sock.status();
  }
  std::vector<uint8_t> attrs;
  absl::Status found = Transact(*sock, EncodeGetFamily(1), &attrs);
  const nlattr* id = FindAttr(attrs.data(), attrs.size(), CTRL_ATTR_FAMILY_ID);
  if (!found.ok() || id == nullptr || id->nla_len < NLA_HDRLEN + sizeof(uint16_t)) {
    close(*sock);
    return absl::UnavailableError(
        "the kernel has no NBD driver (no 'nbd' generic netlink family; modprobe nbd)");
  }
  std::memcpy(&device->family_, reinterpret_cast<const uint8_t*>(id) + NLA_HDRLEN,
              sizeof(uint16_t));

  std::vector<int> kernel_fds;
  ConnectionOptions connection;
  connection.depth = options.depth;
  connection.skip_handshake = true;
  for (uint16_t i = 0; i < options.connections; ++i) {
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
      const absl::Status error = absl::InternalError(absl::StrCat("socketpair: ", strerror(errno)));
      for (int fd : kernel_fds) {
        close(fd);
      }
      close(*sock);
      return error;
    }
    kernel_fds.push_back(pair[0]);
    auto worker = std::make_unique<Worker>();
    worker->fd = pair[1];
    connection.queue_id = i;
    Worker* w = worker.get();
    w->thread = std::thread(ServeConnection, w->fd, backend, &device->export_, connection, &w->done,
                            &w->result);
    device->workers_.push_back(std::move(worker));
  }

  attrs.clear();
  absl::Status connected = Transact(
      *sock, EncodeConnect(device->family_, 2, device->export_, kernel_fds, options), &attrs);
  // The kernel holds its own references to the sockets now (or failed).
  for (int fd : kernel_fds) {
    close(fd);
  }
  close(*sock);
  if (!connected.ok()) {
    // Device destructor: the servers see EOF and end.
    return absl::Status(connected.code(),
                        absl::StrCat("NBD connect through netlink: ", connected.message()));
  }
  const nlattr* index = FindAttr(attrs.data(), attrs.size(), NBD_ATTR_INDEX);
  if (index == nullptr || index->nla_len < NLA_HDRLEN + sizeof(uint32_t)) {
    return absl::DataLossError("the kernel did not say which NBD device it connected");
  }
  std::memcpy(&device->index_, reinterpret_cast<const uint8_t*>(index) + NLA_HDRLEN,
              sizeof(uint32_t));
  device->attached_ = true;

  // NBD has no way to tell the kernel the largest request; the block layer
  // would otherwise send up to 32 MiB.
  const std::string limit = absl::StrCat("/sys/block/nbd", device->index_, "/queue/max_sectors_kb");
  const int fd = open(limit.c_str(), O_WRONLY | O_CLOEXEC);
  const std::string kib = std::to_string(device->export_.max_block / 1024);
  if (fd < 0 || write(fd, kib.data(), kib.size()) != static_cast<ssize_t>(kib.size())) {
    LOG(WARNING) << "cannot limit " << limit << " to " << kib << " KiB: " << strerror(errno);
  }
  if (fd >= 0) {
    close(fd);
  }
  return device;
}

KernelDevice::~KernelDevice() { (void)Detach(); }

bool KernelDevice::disconnected() const {
  for (const auto& w : workers_) {
    if (!w->done.load(std::memory_order_acquire)) {
      return false;
    }
  }
  return true;
}

absl::Status KernelDevice::failure() const {
  for (const auto& w : workers_) {
    if (w->done.load(std::memory_order_acquire) && !w->result.ok()) return w->result;
  }
  return absl::OkStatus();
}

absl::Status KernelDevice::Detach() {
  absl::Status result;
  if (attached_) {
    attached_ = false;
    auto sock = OpenGenetlink();
    if (!sock.ok()) {
      result = sock.status();
    } else {
      result = Transact(*sock, EncodeDisconnect(family_, 3, index_), nullptr);
      close(*sock);
    }
  }
  // The kernel closes its ends on disconnect: the connections see EOF. If it
  // did not, ending our ends makes sure the threads return.
  for (auto& w : workers_) {
    if (!result.ok()) {
      shutdown(w->fd, SHUT_RDWR);
    }
  }
  for (auto& w : workers_) {
    w->thread.join();
    close(w->fd);
  }
  workers_.clear();
  return result;
}

}  // namespace isergw::nbd
