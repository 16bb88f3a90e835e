// isergw's URLs: where a block device comes from.
//
//   iscsi://[user[%password]@]host[:port]/target-name/lun[?args]
//   iser://[user[%password]@]host[:port]/target-name/lun[?args]
//   file:///absolute/path
//   mem://SIZE                       SIZE: decimal with K, M, G or T (x1024)
//
// The iSCSI forms are libiscsi's (the ones QEMU users type): the user name
// ends at the first '%' (or, when there is no '%', at the first ':'), the
// password may use %XX escapes, the host may be an IPv6 literal in brackets
// ("[fe80::1%25eth0]" carries a zone), the port defaults to 3260 and the LUN
// is decimal. libiscsi's query arguments are accepted too:
//   target_user=NAME&target_password=SECRET   mutual CHAP
//   header_digest=crc32c|none
//   iser                                      same as the iser:// scheme
//
// Passwords in URLs end up in shell history and `ps` output; they are
// accepted for compatibility, the CLI warns, and no error message or
// RedactedUrl() ever contains them.
#ifndef ISER_CLIENT_CONFIG_URL_H_
#define ISER_CLIENT_CONFIG_URL_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "iser_client/pdu/opcodes.h"

namespace isergw::iscsi {

// Largest LUN in SAM flat space addressing, the widest single-level format.
inline constexpr uint32_t kMaxLun = 16383;
// mem:// sizes must be whole 4 KiB pages.
inline constexpr uint64_t kMemSizeAlignment = 4096;

struct ParsedUrl {
  enum class Scheme { kIscsi, kIser, kFile, kMem };
  Scheme scheme = Scheme::kIscsi;

  // kIscsi / kIser. `host` is without brackets; an IPv6 zone is kept as
  // "fe80::1%eth0".
  std::string host;
  uint16_t port = kDefaultIscsiPort;
  std::string target_iqn;
  uint32_t lun = 0;
  std::string user;                     // empty: no CHAP from the URL
  std::optional<std::string> password;  // set only together with a user
  std::optional<std::string> target_user;
  std::optional<std::string> target_password;
  // header_digest=: true for crc32c, false for none, unset when not given.
  std::optional<bool> header_digest_crc32c;

  // kFile: absolute path, percent-escapes decoded.
  std::string path;

  // kMem: size in bytes (> 0, multiple of kMemSizeAlignment).
  uint64_t mem_size = 0;

  bool IsIscsi() const { return scheme == Scheme::kIscsi || scheme == Scheme::kIser; }
};

// Parses any of the URL forms above. Errors are InvalidArgument, one line,
// and say what is wrong ("iscsi URL is missing the LUN: ..."); they show the
// URL with its secrets replaced by "***".
absl::StatusOr<ParsedUrl> ParseUrl(absl::string_view url);

// A portal for discovery: `isergw discover HOST[:PORT]`.
struct Portal {
  std::string host;  // without brackets
  uint16_t port = kDefaultIscsiPort;
};

// Parses "host", "host:port", "[v6]", "[v6]:port" or a bare IPv6 literal
// ("::1", port then always the default).
absl::StatusOr<Portal> ParsePortal(absl::string_view address);

// "host:port", with brackets around IPv6 hosts. For logs and connect errors.
std::string FormatPortal(absl::string_view host, uint16_t port);

// The URL in canonical form without secrets: a password (and a
// target_password) is shown as "***". Safe for logs and `isergw list`.
std::string RedactedUrl(const ParsedUrl& url);

// Parses a mem:// size ("64M", "1G", "4096"). Exposed for the CLI's --size.
absl::StatusOr<uint64_t> ParseMemSize(absl::string_view text);

// Overwrites the URL's secrets in memory and clears them.
void WipeUrlSecrets(ParsedUrl& url);

}  // namespace isergw::iscsi

#endif  // ISER_CLIENT_CONFIG_URL_H_
