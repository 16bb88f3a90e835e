#include "ublk/params.h"

#include <unistd.h>

#include <algorithm>
#include <bit>
#include <fstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace isergw::ublk {
namespace {

bool IsPowerOfTwo(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

}  // namespace

uint8_t Log2(uint32_t power_of_two) {
  uint8_t shift = 0;
  while ((1u << shift) < power_of_two) {
    ++shift;
  }
  return shift;
}

absl::Status ValidateOptions(const DeviceOptions& options, uint32_t max_queues) {
  if (options.queues == 0) {
    return absl::InvalidArgumentError("--queues must be at least 1");
  }
  const uint32_t limit = std::min(max_queues, kMaxQueues);
  if (options.queues > limit) {
    return absl::InvalidArgumentError(absl::StrCat(
        "too many queues: ", options.queues, " (at most ", limit, " here: one per possible CPU)"));
  }
  if (options.depth == 0 || options.depth > kMaxQueueDepth) {
    return absl::InvalidArgumentError(
        absl::StrCat("--depth must be between 1 and ", kMaxQueueDepth, ", got ", options.depth));
  }
  return absl::OkStatus();
}

absl::Status ValidateGeometry(const Geometry& g) {
  const uint32_t lbs = g.logical_block_size;
  if (!IsPowerOfTwo(lbs) || lbs < 512 || lbs > 4096) {
    return absl::InvalidArgumentError(
        absl::StrCat("block size ", lbs, " is not a power of two between 512 and 4096"));
  }
  const uint32_t pbs = g.physical_block_size == 0 ? lbs : g.physical_block_size;
  if (!IsPowerOfTwo(pbs) || pbs < lbs || pbs > 65536) {
    return absl::InvalidArgumentError(absl::StrCat(
        "physical block size ", pbs, " is not a power of two between ", lbs, " and 65536"));
  }
  if (g.capacity_bytes == 0) {
    return absl::InvalidArgumentError("size is zero");
  }
  if (g.capacity_bytes % lbs != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("size ", g.capacity_bytes, " is not a multiple of the block size ", lbs));
  }
  if (g.max_io_bytes < 4096 || g.max_io_bytes % 4096 != 0 || g.max_io_bytes > kMaxIoBufBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "maximum I/O size ", g.max_io_bytes, " must be a multiple of 4096 up to ", kMaxIoBufBytes));
  }
  if (g.discard_granularity != 0) {
    if (!IsPowerOfTwo(g.discard_granularity) || g.discard_granularity < lbs) {
      return absl::InvalidArgumentError(absl::StrCat("discard granularity ", g.discard_granularity,
                                                     " is not a power of two >= ", lbs));
    }
    if (g.max_discard_bytes == 0 || g.max_discard_bytes % lbs != 0) {
      return absl::InvalidArgumentError(absl::StrCat("maximum discard size ", g.max_discard_bytes,
                                                     " must be a non-zero multiple of ", lbs));
    }
  }
  if (g.max_write_zeroes_bytes % lbs != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "maximum write-zeroes size ", g.max_write_zeroes_bytes, " is not a multiple of ", lbs));
  }
  if (g.fua && !g.volatile_cache) {
    return absl::InvalidArgumentError("FUA without a volatile cache means nothing");
  }
  return absl::OkStatus();
}

uint32_t MaxQueuesOnThisMachine() {
  // "0-3" or "0,2-5": the highest CPU number plus one, as nr_cpu_ids.
  std::ifstream in("/sys/devices/system/cpu/possible");
  std::string text;
  if (in && std::getline(in, text)) {
    uint32_t highest = 0;
    bool any = false;
    for (absl::string_view range : absl::StrSplit(absl::StripAsciiWhitespace(text), ',')) {
      absl::string_view last =
          range.substr(range.rfind('-') == absl::string_view::npos ? 0 : range.rfind('-') + 1);
      uint32_t cpu;
      if (absl::SimpleAtoi(last, &cpu)) {
        highest = std::max(highest, cpu);
        any = true;
      }
    }
    if (any) {
      return highest + 1;
    }
  }
  const int64_t n = sysconf(_SC_NPROCESSORS_CONF);
  return n > 0 ? static_cast<uint32_t>(n) : 1;
}

uint64_t ChooseDeviceFlags(uint64_t features, bool features_known) {
  uint64_t flags = UBLK_F_USER_RECOVERY;
  if (!features_known || (features & UBLK_F_USER_RECOVERY_REISSUE)) {
    flags |= UBLK_F_USER_RECOVERY_REISSUE;
  }
  return flags;
}

ublksrv_ctrl_dev_info BuildDeviceInfo(const DeviceOptions& options, const Geometry& geometry,
                                      uint64_t flags) {
  ublksrv_ctrl_dev_info info{};
  info.nr_hw_queues = options.queues;
  info.queue_depth = options.depth;
  info.max_io_buf_bytes = geometry.max_io_bytes;
  info.dev_id = ~0u;  // let the driver choose
  info.ublksrv_pid = getpid();
  info.flags = flags;
  return info;
}

ublk_params BuildParams(const Geometry& g, uint32_t max_io_buf_bytes) {
  ublk_params p{};
  p.len = sizeof(p);
  p.types = UBLK_PARAM_TYPE_BASIC;
  const uint32_t pbs = g.physical_block_size == 0 ? g.logical_block_size : g.physical_block_size;
  p.basic.attrs = (g.read_only ? UBLK_ATTR_READ_ONLY : 0) |
                  (g.rotational ? UBLK_ATTR_ROTATIONAL : 0) |
                  (g.volatile_cache ? UBLK_ATTR_VOLATILE_CACHE : 0) | (g.fua ? UBLK_ATTR_FUA : 0);
  p.basic.logical_bs_shift = Log2(g.logical_block_size);
  p.basic.physical_bs_shift = Log2(pbs);
  // The driver takes these as shifts: powers of two, never below a block.
  p.basic.io_min_shift = Log2(std::max(pbs, std::bit_floor(g.min_io_bytes)));
  p.basic.io_opt_shift = Log2(std::max(pbs, std::bit_floor(g.optimal_io_bytes)));
  p.basic.max_sectors = std::min(g.max_io_bytes, max_io_buf_bytes) >> 9;
  p.basic.dev_sectors = g.capacity_bytes >> 9;
  if (g.discard_granularity != 0 || g.max_write_zeroes_bytes != 0) {
    p.types |= UBLK_PARAM_TYPE_DISCARD;
    // The driver wants a granularity whenever the discard type is present,
    // even when only write-zeroes is offered (max_discard_sectors 0).
    p.discard.discard_granularity =
        g.discard_granularity != 0 ? g.discard_granularity : g.logical_block_size;
    p.discard.max_discard_sectors = g.discard_granularity != 0 ? g.max_discard_bytes >> 9 : 0;
    p.discard.max_write_zeroes_sectors = g.max_write_zeroes_bytes >> 9;
    // The driver takes single-range discards only.
    p.discard.max_discard_segments = 1;
  }
  return p;
}

}  // namespace isergw::ublk
