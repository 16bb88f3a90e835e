// The default per-tag buffers for backends that do not bring their own:
// one anonymous mapping, page aligned, split into equal slots. Pages are
// faulted in on first use, so a deep queue of large buffers costs address
// space, not memory, until the I/O is that large.
#ifndef UBLK_TAG_BUFFERS_H_
#define UBLK_TAG_BUFFERS_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"

namespace isergw::ublk {

class TagBuffers {
 public:
  // `bytes_per_tag` is rounded up to whole pages.
  static absl::StatusOr<TagBuffers> Allocate(uint32_t tags, uint32_t bytes_per_tag);
  TagBuffers() = default;
  TagBuffers(TagBuffers&& other) noexcept;
  TagBuffers& operator=(TagBuffers&& other) noexcept;
  ~TagBuffers();

  void* buffer(uint32_t tag) const { return base_ + size_t{tag} * stride_; }
  uint32_t tags() const { return tags_; }
  size_t stride() const { return stride_; }

 private:
  char* base_ = nullptr;
  size_t mapped_ = 0;
  size_t stride_ = 0;
  uint32_t tags_ = 0;
};

}  // namespace isergw::ublk

#endif  // UBLK_TAG_BUFFERS_H_
