// A volume in RAM (like ublksrv's null and loop targets, for tests and for
// measuring the frontend alone). Requests complete inline on the queue
// thread: a memcpy each. Contents die with the process, so a RAM device
// survives a server restart (user recovery) only in shape, not in data.
#ifndef UBLK_RAM_BACKEND_H_
#define UBLK_RAM_BACKEND_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "ublk/backend.h"

namespace isergw::ublk {

class RamBackend final : public Backend {
 public:
  // `size` bytes (a multiple of `logical_block_size`), zero-filled; pages
  // are allocated as they are first written.
  static absl::StatusOr<std::unique_ptr<RamBackend>> Create(uint64_t size,
                                                            uint32_t logical_block_size = 512);
  ~RamBackend() override;

  const Geometry& geometry() const override { return geometry_; }
  absl::StatusOr<std::unique_ptr<QueueBackend>> OpenQueue(const QueueContext& context) override;
  absl::Status Flush() override { return absl::OkStatus(); }
  std::string Describe() const override;

  // Serves one request synchronously; returns the ublk result. Exposed for
  // tests and for the queue backend.
  int32_t Execute(const IoRequest& io);

  const uint8_t* data() const { return data_; }

 private:
  RamBackend() = default;
  void Zero(uint64_t offset, uint64_t length);

  Geometry geometry_;
  uint8_t* data_ = nullptr;
  uint64_t mapped_ = 0;
};

}  // namespace isergw::ublk

#endif  // UBLK_RAM_BACKEND_H_
