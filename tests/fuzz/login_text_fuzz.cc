// libFuzzer target for the login layer: text parsing, continuation joining,
// SendTargets answers, CHAP values, negotiation and the login state machine
// all take bytes straight from the target.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "iser_client/login/chap.h"
#include "iser_client/login/login_machine.h"
#include "iser_client/login/negotiation.h"
#include "iser_client/login/send_targets.h"
#include "iser_client/login/text_params.h"

namespace isergw::iscsi {
namespace {

void FuzzText(absl::string_view bytes) {
  auto strict = ParseText(bytes);
  TextParseOptions lenient_options;
  lenient_options.reject_duplicate_keys = false;
  auto lenient = ParseText(bytes, lenient_options);
  // Whatever parses strictly parses leniently, and survives a round trip.
  if (strict.ok()) {
    if (!lenient.ok() || *lenient != *strict) std::abort();
    auto again = ParseText(SerializeText(*strict));
    if (!again.ok() || *again != *strict) std::abort();
  }
  (void)ParseSendTargets(bytes);
  (void)ParseTargetAddress(bytes);
  (void)DecodeChapBinary(bytes);

  auto negotiator = OperationalNegotiator::Create(NegotiationOptions{}, SessionType::kNormal);
  if (negotiator.ok() && lenient.ok()) {
    negotiator->TakeOffer();
    if (negotiator->ApplyResponse(*lenient).ok()) (void)negotiator->Finish();
  }
}

void FuzzAccumulator(FuzzedDataProvider& fdp) {
  TextAccumulator acc(fdp.ConsumeIntegralInRange<size_t>(0, 4096));
  while (fdp.remaining_bytes() > 0 && fdp.ConsumeBool()) {
    std::string piece = fdp.ConsumeRandomLengthString(512);
    const size_t before = acc.size();
    if (!acc.Append(piece).ok() && acc.size() != before) std::abort();
  }
  (void)ParseSendTargets(acc.Take());
}

void FuzzLoginMachine(FuzzedDataProvider& fdp) {
  LoginConfig config;
  config.initiator_name = "iqn.2024-01.org.isergw:fuzz";
  config.target_name = "iqn.2024-01.org.isergw:target";
  config.max_request_data = 512;
  config.max_response_text = 16384;
  switch (fdp.ConsumeIntegralInRange<int>(0, 3)) {
    case 1:
      config.chap = ChapCredentials{"user", "initiator-secret", "", ""};
      break;
    case 2:
      config.chap = ChapCredentials{"user", "initiator-secret", "target", "target-secret!"};
      break;
    case 3:
      config.session_type = SessionType::kDiscovery;
      config.target_name.clear();
      break;
  }
  config.negotiation.iser = fdp.ConsumeBool();
  config.negotiation.header_digests = {Digest::kCrc32c, Digest::kNone};
  auto machine = LoginMachine::Create(config);
  if (!machine.ok()) std::abort();
  if (!machine->Start().ok()) std::abort();
  while (fdp.remaining_bytes() > 0) {
    const uint8_t flags = fdp.ConsumeIntegral<uint8_t>();
    const uint8_t status = fdp.ConsumeIntegral<uint8_t>();
    std::string text = fdp.ConsumeRandomLengthString(1024);
    LoginResponseStep step;
    step.csg = flags & 3;
    step.nsg = (flags >> 2) & 3;
    step.transit = flags & 0x10;
    step.cont = flags & 0x20;
    // Mostly success, sometimes one of the real status classes.
    step.status_class = (status & 0xe0) == 0xe0 ? (status & 3) : 0;
    step.status_detail = (status & 0xe0) == 0xe0 ? ((status >> 2) & 0x0f) : 0;
    step.tsih = fdp.ConsumeIntegral<uint16_t>();
    step.text =
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size());
    auto next = machine->OnResponse(step);
    if (!next.ok()) {
      if (GetLoginFailure(next.status()) == LoginFailure::kNone) std::abort();
      if (machine->state() != LoginMachine::State::kFailed) std::abort();
      return;
    }
    if (!next->has_value()) {
      if (!machine->done()) std::abort();
      return;
    }
    const LoginRequestStep& req = **next;
    if (req.cont && req.transit) std::abort();  // never both
    if (req.text.size() > config.max_request_data) std::abort();
  }
}

}  // namespace
}  // namespace isergw::iscsi

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  FuzzedDataProvider fdp(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      isergw::iscsi::FuzzText(absl::string_view(reinterpret_cast<const char*>(data + 1), size - 1));
      break;
    case 1:
      isergw::iscsi::FuzzAccumulator(fdp);
      break;
    case 2:
      isergw::iscsi::FuzzLoginMachine(fdp);
      break;
  }
  return 0;
}
