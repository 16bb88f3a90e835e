// isergw discover [iscsi://|iser://]HOST[:PORT]: SendTargets over a
// discovery session, over TCP (a bare HOST or iscsi://, as open-iscsi does)
// or over iSER (iser://).
#include <cstdio>
#include <string>
#include <string_view>

#include "iser_client/client/initiator.h"
#include "iser_client/config/exit_codes.h"
#include "iser_client/config/url.h"
#include "tools/cli/flags.h"
#include "tools/cli/rdma_flags.h"
#include "tools/cli/report.h"
#include "tools/cli/target.h"
#include "tools/verbs/verbs.h"

namespace isergw::cli {

namespace {

// The portal after an optional scheme, and the transport the scheme names.
std::string_view StripScheme(std::string_view portal, iscsi::TransportKind& transport) {
  transport = iscsi::TransportKind::kTcp;
  for (auto [prefix, kind] :
       {std::pair{std::string_view("iscsi://"), iscsi::TransportKind::kTcp},
        std::pair{std::string_view("iser://"), iscsi::TransportKind::kIser}}) {
    if (portal.substr(0, prefix.size()) == prefix) {
      transport = kind;
      portal.remove_prefix(prefix.size());
      if (!portal.empty() && portal.back() == '/') portal.remove_suffix(1);
      break;
    }
  }
  return portal;
}

}  // namespace

int RunDiscover(const std::vector<std::string>& args) {
  if (args.size() != 1) {
    return ReportFailure(iscsi::WithFailure(
        absl::InvalidArgumentError("usage: isergw discover [iscsi://|iser://]HOST[:PORT]"),
        iscsi::FailureKind::kInvalidArgument));
  }
  iscsi::TransportKind transport;
  const std::string portal(StripScheme(args[0], transport));
  auto options = ResolveDiscovery(portal);
  if (!options.ok()) return ReportFailure(options.status());
  options->transport = transport;
  ApplyRdmaFlags(*options);
  auto loop = uring::EventLoop::Create();
  if (!loop.ok()) return ReportFailure(loop.status());
  auto initiator = iscsi::Initiator::Login(loop->get(), std::move(*options));
  if (!initiator.ok()) return ReportFailure(initiator.status(), "discovery login");
  auto targets = (*initiator)->SendTargets();
  (void)(*initiator)->Logout();
  if (!targets.ok()) return ReportFailure(targets.status(), "SendTargets");

  const iscsi::Endpoint& where = (*initiator)->session().endpoint();
  if (FLAGS_json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& t : *targets) {
      nlohmann::json portals = nlohmann::json::array();
      for (const auto& p : t.portals) {
        nlohmann::json portal = {{"host", p.host}, {"port", p.port}};
        if (p.portal_group_tag) portal["tpgt"] = *p.portal_group_tag;
        portals.push_back(portal);
      }
      list.push_back({{"name", t.name}, {"portals", portals}});
    }
    PrintJson({{"targets", list}});
    return 0;
  }
  // The layout of `iscsiadm -m discovery`: "host:port,tpgt target".
  for (const auto& t : *targets) {
    if (t.portals.empty()) {
      printf("%s,1 %s\n", iscsi::FormatPortal(where.host, where.port).c_str(), t.name.c_str());
    }
    for (const auto& p : t.portals) {
      printf("%s,%u %s\n", iscsi::FormatPortal(p.host, p.port).c_str(),
             p.portal_group_tag.value_or(1), t.name.c_str());
    }
  }
  return 0;
}

}  // namespace isergw::cli
