#include "gateway/login_options.h"

#include "absl/strings/str_cat.h"
#include "iser_client/config/credentials.h"
#include "iser_client/config/digest_option.h"
#include "iser_client/config/exit_codes.h"
#include "iser_client/config/initiator_name.h"

namespace isergw::gateway {

std::string ChapFilePath(const std::string& chap, const std::string& config_dir) {
  if (!chap.empty() && chap.front() == '/') return chap;
  return absl::StrCat(config_dir, "/chap/", chap);
}

absl::StatusOr<iscsi::InitiatorOptions> LoginOptionsFor(const VolumeSpec& spec,
                                                        const iscsi::ParsedUrl& url,
                                                        iscsi::TransportKind transport,
                                                        const std::string& config_dir) {
  iscsi::InitiatorOptions options;
  options.endpoint = iscsi::Endpoint{url.host, url.port, spec.iface};
  options.target_name = url.target_iqn;
  options.transport = transport;
  auto name = iscsi::LoadOrCreateInitiatorName();
  if (!name.ok()) return name.status();
  options.initiator_name = name->name;
  if (!spec.chap.empty()) {
    auto chap = iscsi::ReadChapCredentialsFile(ChapFilePath(spec.chap, config_dir));
    if (!chap.ok()) return chap.status();
    if (!chap->has_value()) {
      return iscsi::WithFailure(absl::InvalidArgumentError(absl::StrCat(
                                    "the CHAP file ", ChapFilePath(spec.chap, config_dir),
                                    " sets no username and password")),
                                iscsi::FailureKind::kInvalidArgument);
    }
    options.chap = std::move(**chap);
  }
  auto header = iscsi::ParseDigestPreference(spec.header_digest, "header digest");
  if (!header.ok()) return header.status();
  auto data = iscsi::ParseDigestPreference(spec.data_digest, "data digest");
  if (!data.ok()) return data.status();
  options.session.login.negotiation.header_digests = *header;
  options.session.login.negotiation.data_digests = *data;
  options.session.max_commands = spec.depth;
  options.iser.strict_rdma = spec.strict_rdma;
  options.iser.busy_poll = spec.busy_poll;
  return options;
}

}  // namespace isergw::gateway
