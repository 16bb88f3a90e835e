#include "ublk/tag_buffers.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace isergw::ublk {

absl::StatusOr<TagBuffers> TagBuffers::Allocate(uint32_t tags, uint32_t bytes_per_tag) {
  if (tags == 0 || bytes_per_tag == 0) {
    return absl::InvalidArgumentError("tag buffers need at least one tag of at least one byte");
  }
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  TagBuffers buffers;
  buffers.stride_ = (size_t{bytes_per_tag} + page - 1) / page * page;
  buffers.tags_ = tags;
  buffers.mapped_ = buffers.stride_ * tags;
  void* base = mmap(nullptr, buffers.mapped_, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot map ", buffers.mapped_, " bytes of tag buffers: ", strerror(errno)));
  }
  buffers.base_ = static_cast<char*>(base);
  return buffers;
}

TagBuffers::TagBuffers(TagBuffers&& other) noexcept { *this = std::move(other); }

TagBuffers& TagBuffers::operator=(TagBuffers&& other) noexcept {
  if (this != &other) {
    if (base_ != nullptr) {
      munmap(base_, mapped_);
    }
    base_ = std::exchange(other.base_, nullptr);
    mapped_ = std::exchange(other.mapped_, 0);
    stride_ = std::exchange(other.stride_, 0);
    tags_ = std::exchange(other.tags_, 0);
  }
  return *this;
}

TagBuffers::~TagBuffers() {
  if (base_ != nullptr) {
    munmap(base_, mapped_);
  }
}

}  // namespace isergw::ublk
