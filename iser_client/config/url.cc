#include "iser_client/config/url.h"

#include <arpa/inet.h>

#include <algorithm>
#include <limits>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "iser_client/config/iscsi_name.h"
#include "iser_client/config/secure_wipe.h"

namespace isergw::iscsi {
namespace {

constexpr char kRedacted[] = "***";
constexpr absl::string_view kIscsiSyntax = "iscsi://[user[%password]@]host[:port]/target-name/lun";

// The raw input with anything that could be a secret replaced, for error
// messages. It works on unparsed text, so it errs on the side of hiding
// more: everything from the user/password separator up to the LAST '@' of
// the whole string, and every target_password= value.
std::string RedactRawUrl(absl::string_view url) {
  std::string out(url);
  const size_t scheme_end = out.find("://");
  if (scheme_end == std::string::npos) {
    // Not a URL at all; it might still be "user%secret@host", so hide the
    // part before any '@' wholesale.
    const size_t at = out.rfind('@');
    if (at != std::string::npos) {
      out.replace(0, at, kRedacted);
    }
    return out;
  }
  const size_t start = scheme_end + 3;
  const size_t at = out.rfind('@');
  if (at != std::string::npos && at >= start) {
    const size_t sep = out.find_first_of("%:", start);
    if (sep != std::string::npos && sep < at) {
      out.replace(sep + 1, at - sep - 1, kRedacted);
    }
  }
  static constexpr char kKey[] = "target_password=";
  for (size_t pos = out.find(kKey); pos != std::string::npos; pos = out.find(kKey, pos + 1)) {
    const size_t value = pos + sizeof(kKey) - 1;
    size_t end = out.find('&', value);
    if (end == std::string::npos) {
      end = out.size();
    }
    out.replace(value, end - value, kRedacted);
  }
  return out;
}

absl::Status UrlError(absl::string_view what, absl::string_view url) {
  return absl::InvalidArgumentError(absl::StrCat(what, ": ", RedactRawUrl(url)));
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

// Decodes %XX escapes. Returns false on a malformed escape or an escaped
// NUL. Never puts the text into an error: callers name only the field.
bool PercentDecode(absl::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) {
      return false;
    }
    const int hi = HexValue(in[i + 1]);
    const int lo = HexValue(in[i + 2]);
    if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
      return false;
    }
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

// Escapes everything outside RFC 3986's unreserved set and `also_plain`.
std::string PercentEncode(absl::string_view in, absl::string_view also_plain = "") {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : in) {
    const auto u = static_cast<unsigned char>(c);
    if (absl::ascii_isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~' ||
        also_plain.find(c) != absl::string_view::npos) {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

bool IsHostNameChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

absl::StatusOr<uint16_t> ParsePort(absl::string_view text, absl::string_view kind,
                                   absl::string_view url) {
  uint32_t port = 0;
  const bool digits_only =
      !text.empty() && text.size() <= 5 && std::all_of(text.begin(), text.end(), [](char c) {
        return absl::ascii_isdigit(static_cast<unsigned char>(c));
      });
  if (!digits_only || !absl::SimpleAtoi(text, &port) || port == 0 || port > 65535) {
    return UrlError(absl::StrCat(kind, " has a bad port \"", text, "\" (must be 1..65535)"), url);
  }
  return static_cast<uint16_t>(port);
}

// Parses "host", "host:port", "[v6]" or "[v6]:port" into `portal`.
absl::Status ParseHostPort(absl::string_view authority, absl::string_view kind,
                           absl::string_view url, Portal& portal) {
  absl::string_view port_text;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == absl::string_view::npos) {
      return UrlError(absl::StrCat(kind, " has an IPv6 address without its closing ']'"), url);
    }
    absl::string_view inside = authority.substr(1, close - 1);
    absl::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return UrlError(absl::StrCat(kind, " has unexpected text after ']'"), url);
      }
      port_text = after.substr(1);
      has_port = true;
    }
    // RFC 6874 writes the zone as "%25eth0"; accept a bare '%' as well.
    absl::string_view address = inside;
    absl::string_view zone;
    if (const size_t pct = inside.find('%'); pct != absl::string_view::npos) {
      address = inside.substr(0, pct);
      zone = inside.substr(pct + 1);
      if (zone.size() >= 2 && zone.substr(0, 2) == "25") {
        zone.remove_prefix(2);
      }
      if (zone.empty()) {
        return UrlError(absl::StrCat(kind, " has an empty IPv6 zone"), url);
      }
    }
    in6_addr unused;
    if (address.empty() || inet_pton(AF_INET6, std::string(address).c_str(), &unused) != 1) {
      return UrlError(absl::StrCat(kind, " has \"[", inside, "]\" which is not an IPv6 address"),
                      url);
    }
    portal.host = zone.empty() ? std::string(address) : absl::StrCat(address, "%", zone);
  } else {
    const size_t colon = authority.find(':');
    if (colon != absl::string_view::npos &&
        authority.find(':', colon + 1) != absl::string_view::npos) {
      return UrlError(
          absl::StrCat(kind, " has an IPv6 address without brackets (write it as [addr]:port)"),
          url);
    }
    absl::string_view host = authority.substr(0, colon);
    if (colon != absl::string_view::npos) {
      port_text = authority.substr(colon + 1);
      has_port = true;
    }
    if (host.empty()) {
      return UrlError(absl::StrCat(kind, " is missing the host"), url);
    }
    for (char c : host) {
      if (!IsHostNameChar(c)) {
        return UrlError(absl::StrCat(kind, " has an invalid character in the host name"), url);
      }
    }
    portal.host = std::string(host);
  }
  portal.port = kDefaultIscsiPort;
  if (has_port) {
    absl::StatusOr<uint16_t> port = ParsePort(port_text, kind, url);
    if (!port.ok()) {
      return port.status();
    }
    portal.port = *port;
  }
  return absl::OkStatus();
}

absl::Status ParseUserInfo(absl::string_view userinfo, absl::string_view kind,
                           absl::string_view url, ParsedUrl& out) {
  // libiscsi: the user ends at the first '%', or at the first ':' if there
  // is no '%'. With '%' the user itself cannot contain escapes.
  size_t sep = userinfo.find('%');
  const bool percent_separator = sep != absl::string_view::npos;
  if (!percent_separator) {
    sep = userinfo.find(':');
  }
  absl::string_view user_text = userinfo.substr(0, sep);
  if (user_text.empty()) {
    return UrlError(absl::StrCat(kind, " has an empty user name"), url);
  }
  if (percent_separator) {
    out.user = std::string(user_text);
  } else if (!PercentDecode(user_text, out.user)) {
    return UrlError(absl::StrCat(kind, " has an invalid %-escape in the user name"), url);
  }
  if (sep == absl::string_view::npos) {
    return absl::OkStatus();
  }
  absl::string_view password_text = userinfo.substr(sep + 1);
  if (password_text.empty()) {
    return UrlError(absl::StrCat(kind, " has an empty password after the user name"), url);
  }
  std::string password;
  if (!PercentDecode(password_text, password)) {
    WipeString(password);
    return UrlError(absl::StrCat(kind,
                                 " has an invalid %-escape in the password (write a literal '%' "
                                 "as %25)"),
                    url);
  }
  out.password = std::move(password);
  return absl::OkStatus();
}

absl::Status ParseQuery(absl::string_view query, absl::string_view kind, absl::string_view url,
                        ParsedUrl& out) {
  for (absl::string_view arg : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    const size_t eq = arg.find('=');
    const absl::string_view key = arg.substr(0, eq);
    const bool has_value = eq != absl::string_view::npos;
    const absl::string_view value = has_value ? arg.substr(eq + 1) : absl::string_view();
    if (key == "iser") {
      out.scheme = ParsedUrl::Scheme::kIser;
    } else if (key == "header_digest") {
      if (value == "crc32c") {
        out.header_digest_crc32c = true;
      } else if (value == "none") {
        out.header_digest_crc32c = false;
      } else {
        return UrlError(
            absl::StrCat(kind, " has header_digest=\"", value, "\" (must be crc32c or none)"), url);
      }
    } else if (key == "target_user" || key == "target_password") {
      const bool is_password = key == "target_password";
      std::string decoded;
      if (value.empty() || !PercentDecode(value, decoded)) {
        WipeString(decoded);
        return UrlError(absl::StrCat(kind, " has an empty or badly escaped ", key), url);
      }
      (is_password ? out.target_password : out.target_user) = std::move(decoded);
    } else {
      return UrlError(absl::StrCat(kind, " has an unknown argument \"", key,
                                   "\" (known: target_user, target_password, header_digest, "
                                   "iser)"),
                      url);
    }
  }
  if (out.target_user.has_value() != out.target_password.has_value()) {
    return UrlError(absl::StrCat(kind, " needs both target_user and target_password"), url);
  }
  return absl::OkStatus();
}

absl::StatusOr<ParsedUrl> ParseIscsiUrl(ParsedUrl::Scheme scheme, absl::string_view kind,
                                        absl::string_view rest, absl::string_view url) {
  ParsedUrl out;
  out.scheme = scheme;
  absl::string_view query;
  if (const size_t q = rest.find('?'); q != absl::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  // Host names and target names cannot contain '@', so the last one ends
  // the user info; that lets an unescaped '@' or '/' live in a password.
  if (const size_t at = rest.rfind('@'); at != absl::string_view::npos) {
    if (absl::Status s = ParseUserInfo(rest.substr(0, at), kind, url, out); !s.ok()) {
      WipeUrlSecrets(out);
      return s;
    }
    rest = rest.substr(at + 1);
  }
  const size_t slash = rest.find('/');
  Portal portal;
  if (absl::Status s = ParseHostPort(rest.substr(0, slash), kind, url, portal); !s.ok()) {
    WipeUrlSecrets(out);
    return s;
  }
  out.host = std::move(portal.host);
  out.port = portal.port;
  absl::Status status = absl::OkStatus();
  if (slash == absl::string_view::npos || slash + 1 == rest.size()) {
    status = UrlError(
        absl::StrCat(kind, " is missing the target name and LUN (", kIscsiSyntax, ")"), url);
  }
  absl::string_view path = status.ok() ? rest.substr(slash + 1) : absl::string_view();
  const size_t lun_slash = path.find('/');
  if (status.ok() && lun_slash == 0) {
    status = UrlError(absl::StrCat(kind, " is missing the target name"), url);
  } else if (status.ok() &&
             (lun_slash == absl::string_view::npos || lun_slash + 1 == path.size())) {
    status = UrlError(absl::StrCat(kind, " is missing the LUN (", kIscsiSyntax, ")"), url);
  }
  if (status.ok()) {
    const absl::string_view lun_text = path.substr(lun_slash + 1);
    uint32_t lun = 0;
    if (lun_text.find('/') != absl::string_view::npos) {
      status = UrlError(absl::StrCat(kind, " has extra path after the LUN"), url);
    } else if (!std::all_of(lun_text.begin(), lun_text.end(), [](char c) {
                 return absl::ascii_isdigit(static_cast<unsigned char>(c));
               })) {
      status = UrlError(
          absl::StrCat(kind, " has LUN \"", lun_text, "\" which is not a decimal number"), url);
    } else if (lun_text.size() > 5 || !absl::SimpleAtoi(lun_text, &lun) || lun > kMaxLun) {
      status = UrlError(
          absl::StrCat(kind, " has LUN ", lun_text, " out of range (0..", kMaxLun, ")"), url);
    } else {
      out.lun = lun;
    }
  }
  if (status.ok() && !PercentDecode(path.substr(0, lun_slash), out.target_iqn)) {
    status = UrlError(absl::StrCat(kind, " has an invalid %-escape in the target name"), url);
  }
  if (status.ok()) {
    if (absl::Status s = ValidateIscsiName(out.target_iqn, "target name"); !s.ok()) {
      status = UrlError(absl::StrCat(kind, " has an ", s.message()), url);
    }
  }
  if (status.ok()) {
    status = ParseQuery(query, kind, url, out);
  }
  if (!status.ok()) {
    WipeUrlSecrets(out);
    return status;
  }
  return out;
}

absl::StatusOr<ParsedUrl> ParseFileUrl(absl::string_view rest, absl::string_view url) {
  if (rest.empty() || rest.front() != '/') {
    return UrlError("file URL needs an absolute path (file:///abs/path)", url);
  }
  ParsedUrl out;
  out.scheme = ParsedUrl::Scheme::kFile;
  if (!PercentDecode(rest, out.path)) {
    return UrlError("file URL has an invalid %-escape in the path", url);
  }
  if (out.path.find_first_not_of('/') == std::string::npos) {
    return UrlError("file URL has no file name", url);
  }
  return out;
}

constexpr struct {
  char suffix;
  int shift;
} kSizeSuffixes[] = {{'T', 40}, {'G', 30}, {'M', 20}, {'K', 10}};

}  // namespace

absl::StatusOr<uint64_t> ParseMemSize(absl::string_view text) {
  if (text.empty()) {
    return absl::InvalidArgumentError("mem size is empty (e.g. 64M or 1G)");
  }
  absl::string_view digits = text;
  int shift = 0;
  const char last = absl::ascii_toupper(static_cast<unsigned char>(text.back()));
  for (const auto& s : kSizeSuffixes) {
    if (last == s.suffix) {
      shift = s.shift;
      digits.remove_suffix(1);
    }
  }
  uint64_t value = 0;
  if (digits.empty() ||
      !std::all_of(digits.begin(), digits.end(),
                   [](char c) { return absl::ascii_isdigit(static_cast<unsigned char>(c)); }) ||
      !absl::SimpleAtoi(digits, &value)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "mem size \"", text, "\" is not a number with an optional K, M, G or T suffix"));
  }
  if (value > (std::numeric_limits<uint64_t>::max() >> shift)) {
    return absl::InvalidArgumentError(absl::StrCat("mem size \"", text, "\" is too large"));
  }
  value <<= shift;
  if (value == 0) {
    return absl::InvalidArgumentError("mem size must be greater than 0");
  }
  if (value % kMemSizeAlignment != 0) {
    return absl::InvalidArgumentError(absl::StrCat("mem size \"", text, "\" (", value,
                                                   " bytes) is not a multiple of ",
                                                   kMemSizeAlignment, " bytes"));
  }
  return value;
}

absl::StatusOr<ParsedUrl> ParseUrl(absl::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == absl::string_view::npos) {
    return UrlError("not a URL (expected iscsi://, iser://, file:// or mem://)", url);
  }
  const std::string scheme = absl::AsciiStrToLower(url.substr(0, scheme_end));
  const absl::string_view rest = url.substr(scheme_end + 3);
  if (scheme == "iscsi") {
    return ParseIscsiUrl(ParsedUrl::Scheme::kIscsi, "iscsi URL", rest, url);
  }
  if (scheme == "iser") {
    return ParseIscsiUrl(ParsedUrl::Scheme::kIser, "iser URL", rest, url);
  }
  if (scheme == "file") {
    return ParseFileUrl(rest, url);
  }
  if (scheme == "mem") {
    if (rest.empty()) {
      return UrlError("mem URL is missing the size (mem://SIZE, e.g. mem://1G)", url);
    }
    absl::StatusOr<uint64_t> size = ParseMemSize(rest);
    if (!size.ok()) {
      return UrlError(absl::StrCat("mem URL: ", size.status().message()), url);
    }
    ParsedUrl out;
    out.scheme = ParsedUrl::Scheme::kMem;
    out.mem_size = *size;
    return out;
  }
  return UrlError(
      absl::StrCat("unknown URL scheme \"", scheme, "\" (expected iscsi, iser, file or mem)"), url);
}

absl::StatusOr<Portal> ParsePortal(absl::string_view address) {
  Portal portal;
  // A bare IPv6 literal ("::1", "fe80::1%eth0") has no port.
  if (address.find(':') != address.rfind(':') && address.find('[') == absl::string_view::npos) {
    const absl::string_view without_zone = address.substr(0, address.find('%'));
    in6_addr unused;
    if (inet_pton(AF_INET6, std::string(without_zone).c_str(), &unused) == 1) {
      portal.host = std::string(address);
      return portal;
    }
  }
  if (address.find('/') != absl::string_view::npos ||
      address.find('@') != absl::string_view::npos) {
    return UrlError("discovery address must be HOST[:PORT]", address);
  }
  if (absl::Status s = ParseHostPort(address, "discovery address", address, portal); !s.ok()) {
    return s;
  }
  return portal;
}

std::string FormatPortal(absl::string_view host, uint16_t port) {
  if (host.find(':') != absl::string_view::npos) {
    return absl::StrCat("[", host, "]:", port);
  }
  return absl::StrCat(host, ":", port);
}

std::string RedactedUrl(const ParsedUrl& url) {
  switch (url.scheme) {
    case ParsedUrl::Scheme::kFile:
      return absl::StrCat("file://", url.path);
    case ParsedUrl::Scheme::kMem: {
      for (const auto& s : kSizeSuffixes) {
        const uint64_t unit = uint64_t{1} << s.shift;
        if (url.mem_size >= unit && url.mem_size % unit == 0) {
          return absl::StrCat("mem://", url.mem_size / unit, std::string(1, s.suffix));
        }
      }
      return absl::StrCat("mem://", url.mem_size);
    }
    case ParsedUrl::Scheme::kIscsi:
    case ParsedUrl::Scheme::kIser:
      break;
  }
  std::string out = url.scheme == ParsedUrl::Scheme::kIser ? "iser://" : "iscsi://";
  if (!url.user.empty()) {
    absl::StrAppend(&out, PercentEncode(url.user), url.password.has_value() ? "%***" : "", "@");
  }
  std::string host = url.host;
  if (const size_t pct = host.find('%'); pct != std::string::npos) {
    host.insert(pct + 1, "25");
  }
  absl::StrAppend(&out, FormatPortal(host, url.port), "/", PercentEncode(url.target_iqn, ":"), "/",
                  url.lun);
  std::vector<std::string> args;
  if (url.target_user.has_value()) {
    args.push_back(absl::StrCat("target_user=", PercentEncode(*url.target_user)));
  }
  if (url.target_password.has_value()) {
    args.push_back("target_password=***");
  }
  if (url.header_digest_crc32c.has_value()) {
    args.push_back(absl::StrCat("header_digest=", *url.header_digest_crc32c ? "crc32c" : "none"));
  }
  if (!args.empty()) {
    absl::StrAppend(&out, "?", absl::StrJoin(args, "&"));
  }
  return out;
}

void WipeUrlSecrets(ParsedUrl& url) {
  WipeString(url.password);
  WipeString(url.target_password);
}

}  // namespace isergw::iscsi
