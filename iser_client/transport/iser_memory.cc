#include "iser_client/transport/iser_memory.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/strings/str_format.h"

namespace isergw::iscsi {

AddressRange PageRange(uintptr_t base, size_t length, size_t page_size) {
  uintptr_t begin = base & ~(uintptr_t{page_size} - 1);
  uintptr_t end = (base + length + page_size - 1) & ~(uintptr_t{page_size} - 1);
  if (end == begin) end = begin + page_size;  // a zero-length buffer still names a page
  return {begin, end};
}

absl::StatusOr<AddressRange> FindMappingIn(std::string_view maps, uintptr_t address) {
  while (!maps.empty()) {
    size_t eol = maps.find('\n');
    std::string_view line = maps.substr(0, eol);
    maps = eol == std::string_view::npos ? std::string_view() : maps.substr(eol + 1);
    // "begin-end perms offset dev inode path", addresses in hex.
    size_t dash = line.find('-');
    size_t space = line.find(' ');
    if (dash == std::string_view::npos || space == std::string_view::npos || dash > space) continue;
    uintptr_t begin = 0, end = 0;
    bool ok = true;
    auto hex = [&ok](std::string_view s) {
      uintptr_t v = 0;
      if (s.empty() || s.size() > 16) ok = false;
      for (char c : s) {
        int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
        if (d < 0) ok = false;
        v = (v << 4) | static_cast<uintptr_t>(d & 0xf);
      }
      return v;
    };
    begin = hex(line.substr(0, dash));
    end = hex(line.substr(dash + 1, space - dash - 1));
    if (!ok || end <= begin) continue;
    if (address >= begin && address < end) return AddressRange{begin, end};
  }
  return absl::NotFoundError(absl::StrFormat("address 0x%x is in no mapping", address));
}

absl::StatusOr<AddressRange> FindMapping(uintptr_t address) {
  // Only on a registration miss, never per I/O.
  int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::NotFoundError(absl::StrFormat("/proc/self/maps: %s", strerror(errno)));
  std::string text;
  char chunk[8192];
  ssize_t got;
  while ((got = read(fd, chunk, sizeof(chunk))) > 0) text.append(chunk, static_cast<size_t>(got));
  close(fd);
  return FindMappingIn(text, address);
}

RegistrationCache::~RegistrationCache() {
  for (ibv_mr* mr : regions_) ibv_dereg_mr(mr);
}

absl::StatusOr<ibv_mr*> RegistrationCache::Find(const void* base, size_t length) {
  auto b = reinterpret_cast<uintptr_t>(base);
  if (last_hit_ < regions_.size()) {
    ibv_mr* mr = regions_[last_hit_];
    auto begin = reinterpret_cast<uintptr_t>(mr->addr);
    if (AddressRange{begin, begin + mr->length}.Contains(b, length)) return mr;
  }
  for (size_t i = 0; i < regions_.size(); ++i) {
    auto begin = reinterpret_cast<uintptr_t>(regions_[i]->addr);
    if (AddressRange{begin, begin + regions_[i]->length}.Contains(b, length)) {
      last_hit_ = i;
      return regions_[i];
    }
  }
  // A miss: register the whole mapping around the buffer, so that its
  // neighbours (the caller's other slots) need no registration of their own.
  static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  AddressRange range = PageRange(b, length, page);
  auto mapping = FindMapping(b);
  if (mapping.ok() && mapping->Contains(b, length) &&
      mapping->end - mapping->begin <= kMaxWholeMapping) {
    range = *mapping;
  }
  auto mr = Register(reinterpret_cast<void*>(range.begin), range.end - range.begin);
  if (!mr.ok() && range.begin != PageRange(b, length, page).begin) {
    range = PageRange(b, length, page);  // e.g. a guard page in the mapping
    mr = Register(reinterpret_cast<void*>(range.begin), range.end - range.begin);
  }
  if (mr.ok()) last_hit_ = regions_.size() - 1;
  return mr;
}

absl::StatusOr<ibv_mr*> RegistrationCache::Register(void* base, size_t length) {
  ++registrations_;
  ibv_mr* mr = ibv_reg_mr(pd_, base, length, access_);
  if (mr == nullptr) {
    int err = errno;
    return absl::ResourceExhaustedError(absl::StrFormat(
        "cannot register %u bytes of memory at %p for RDMA: %s", length, base, strerror(err)));
  }
  regions_.push_back(mr);
  return mr;
}

absl::StatusOr<IoBufferArena> IoBufferArena::Create(size_t bytes) {
  static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  bytes = (bytes + page - 1) & ~(page - 1);
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("cannot map a %u-byte I/O buffer arena: %s", bytes, strerror(errno)));
  }
  // Its own mapping, kept apart from neighbours so one registration covers
  // exactly the arena (MADV_DONTFORK: registered pages must not be COW'd).
  madvise(p, bytes, MADV_DONTFORK);
  return IoBufferArena(static_cast<uint8_t*>(p), bytes);
}

IoBufferArena::IoBufferArena(IoBufferArena&& other) noexcept
    : base_(other.base_), size_(other.size_), used_(other.used_) {
  other.base_ = nullptr;
  other.size_ = 0;
}

IoBufferArena::~IoBufferArena() {
  if (base_ != nullptr) munmap(base_, size_);
}

uint8_t* IoBufferArena::Allocate(size_t bytes, size_t alignment) {
  size_t start = (used_ + alignment - 1) & ~(alignment - 1);
  if (start > size_ || bytes > size_ - start) return nullptr;
  used_ = start + bytes;
  return base_ + start;
}

}  // namespace isergw::iscsi
