#include "tools/cli/target.h"

#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"
#include "iser_client/config/credentials.h"
#include "iser_client/config/digest_option.h"
#include "iser_client/config/exit_codes.h"
#include "iser_client/config/initiator_name.h"
#include "iser_client/scsi/cdb.h"
#include "tools/cli/flags.h"
#include "tools/cli/rdma_flags.h"

namespace isergw::cli {
namespace {

absl::Status FillCommonOptions(const iscsi::ParsedUrl* url, iscsi::InitiatorOptions& options) {
  auto name = iscsi::LoadOrCreateInitiatorName();
  if (!name.ok()) return name.status();
  options.initiator_name = name->name;

  iscsi::CredentialOptions credential_options;
  if (!FLAGS_chap_file.empty()) credential_options.file = FLAGS_chap_file;
  credential_options.url = url;
  auto credentials = iscsi::ResolveChapCredentials(credential_options);
  if (!credentials.ok()) return credentials.status();
  if (credentials->source == iscsi::CredentialSource::kUrl) {
    fprintf(stderr,
            "isergw: warning: the CHAP secret came from the URL, where `ps` and shell history "
            "see it; prefer --chap-file or ISERGW_CHAP_SECRET\n");
  }
  options.chap = std::move(credentials->chap);

  auto header = iscsi::ParseDigestPreference(FLAGS_header_digest, "--header_digest");
  if (!header.ok()) return header.status();
  auto data = iscsi::ParseDigestPreference(FLAGS_data_digest, "--data_digest");
  if (!data.ok()) return data.status();
  options.session.login.negotiation.header_digests = *header;
  options.session.login.negotiation.data_digests = *data;
  if (url != nullptr && url->header_digest_crc32c.has_value()) {
    options.session.login.negotiation.header_digests = {
        *url->header_digest_crc32c ? iscsi::Digest::kCrc32c : iscsi::Digest::kNone};
  }
  ApplyRdmaFlags(options);
  options.session.connect_timeout = absl::Seconds(FLAGS_timeout);
  options.session.login_timeout = absl::Seconds(FLAGS_timeout);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ResolvedTarget> ResolveTarget(const std::string& url_text) {
  auto url = iscsi::ParseUrl(url_text);
  if (!url.ok()) {
    absl::Status status = url.status();
    iscsi::TagFailure(status, iscsi::FailureKind::kInvalidArgument);
    return status;
  }
  if (!url->IsIscsi()) {
    absl::Status status = absl::InvalidArgumentError(
        absl::StrCat("this verb needs an iscsi:// or iser:// URL, not ", iscsi::RedactedUrl(*url)));
    iscsi::TagFailure(status, iscsi::FailureKind::kInvalidArgument);
    return status;
  }
  ResolvedTarget target;
  target.display = iscsi::RedactedUrl(*url);
  target.options.endpoint = iscsi::Endpoint{url->host, url->port, FLAGS_iface};
  target.options.target_name = url->target_iqn;
  target.options.transport = url->scheme == iscsi::ParsedUrl::Scheme::kIser
                                 ? iscsi::TransportKind::kIser
                                 : iscsi::TransportKind::kTcp;
  if (absl::Status filled = FillCommonOptions(&*url, target.options); !filled.ok()) return filled;
  target.url = std::move(*url);
  iscsi::WipeUrlSecrets(target.url);
  return target;
}

absl::StatusOr<iscsi::InitiatorOptions> ResolveDiscovery(const std::string& portal_text) {
  auto portal = iscsi::ParsePortal(portal_text);
  if (!portal.ok()) {
    absl::Status status = portal.status();
    iscsi::TagFailure(status, iscsi::FailureKind::kInvalidArgument);
    return status;
  }
  iscsi::InitiatorOptions options;
  options.endpoint = iscsi::Endpoint{portal->host, portal->port};
  if (absl::Status filled = FillCommonOptions(nullptr, options); !filled.ok()) return filled;
  return options;
}

absl::StatusOr<OpenedLun> OpenLun(const std::string& url_text, uint32_t max_commands) {
  auto target = ResolveTarget(url_text);
  if (!target.ok()) return target.status();
  OpenedLun opened;
  opened.display = target->display;
  opened.transport = target->options.transport;
  auto loop = uring::EventLoop::Create({.entries = 1024});
  if (!loop.ok()) return loop.status();
  opened.loop = std::move(*loop);
  target->options.session.max_commands = max_commands;
  auto initiator = iscsi::Initiator::Login(opened.loop.get(), std::move(target->options));
  if (!initiator.ok()) return initiator.status();
  opened.initiator = std::move(*initiator);
  auto info = iscsi::ProbeLun(*opened.initiator, target->url.lun);
  if (!info.ok()) return info.status();
  opened.info = std::move(*info);
  opened.lun_field = scsi::EncodeLun(target->url.lun);
  return opened;
}

}  // namespace isergw::cli
