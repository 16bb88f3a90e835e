#include "iser_client/config/url.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace isergw::iscsi {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kIqn[] = "iqn.2003-01.org.linux-iscsi.target:sn.1234";

ParsedUrl MustParse(const std::string& url) {
  absl::StatusOr<ParsedUrl> parsed = ParseUrl(url);
  EXPECT_TRUE(parsed.ok()) << url << ": " << parsed.status();
  return parsed.ok() ? *parsed : ParsedUrl{};
}

std::string ErrorOf(const std::string& url) {
  absl::StatusOr<ParsedUrl> parsed = ParseUrl(url);
  EXPECT_FALSE(parsed.ok()) << url << " parsed unexpectedly";
  if (parsed.ok()) return "";
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << parsed.status();
  EXPECT_EQ(std::string(parsed.status().message()).find('\n'), std::string::npos)
      << "error must be one line: " << parsed.status();
  return std::string(parsed.status().message());
}

TEST(ParseUrlTest, MinimalIscsiUrl) {
  const ParsedUrl url = MustParse(std::string("iscsi://192.0.2.7/") + kIqn + "/0");
  EXPECT_EQ(url.scheme, ParsedUrl::Scheme::kIscsi);
  EXPECT_TRUE(url.IsIscsi());
  EXPECT_EQ(url.host, "192.0.2.7");
  EXPECT_EQ(url.port, 3260);
  EXPECT_EQ(url.target_iqn, kIqn);
  EXPECT_EQ(url.lun, 0u);
  EXPECT_EQ(url.user, "");
  EXPECT_FALSE(url.password.has_value());
  EXPECT_FALSE(url.header_digest_crc32c.has_value());
}

TEST(ParseUrlTest, IserSchemeWithPortAndLun) {
  const ParsedUrl url = MustParse(std::string("iser://storage.example.com:3261/") + kIqn + "/17");
  EXPECT_EQ(url.scheme, ParsedUrl::Scheme::kIser);
  EXPECT_EQ(url.host, "storage.example.com");
  EXPECT_EQ(url.port, 3261);
  EXPECT_EQ(url.lun, 17u);
}

TEST(ParseUrlTest, SchemeIsCaseInsensitive) {
  EXPECT_EQ(MustParse(std::string("ISER://h/") + kIqn + "/1").scheme, ParsedUrl::Scheme::kIser);
}

TEST(ParseUrlTest, UserAndPassword) {
  const ParsedUrl url = MustParse(std::string("iscsi://alice%s3cr3t@h:3260/") + kIqn + "/2");
  EXPECT_EQ(url.user, "alice");
  ASSERT_TRUE(url.password.has_value());
  EXPECT_EQ(*url.password, "s3cr3t");
  EXPECT_EQ(url.host, "h");
  EXPECT_EQ(url.lun, 2u);
}

TEST(ParseUrlTest, UserWithoutPassword) {
  const ParsedUrl url = MustParse(std::string("iscsi://alice@h/") + kIqn + "/0");
  EXPECT_EQ(url.user, "alice");
  EXPECT_FALSE(url.password.has_value());
}

TEST(ParseUrlTest, ColonSeparatesPasswordWhenNoPercent) {
  const ParsedUrl url = MustParse(std::string("iscsi://bob:pa/ss@h/") + kIqn + "/0");
  EXPECT_EQ(url.user, "bob");
  EXPECT_EQ(url.password.value_or(""), "pa/ss");
}

TEST(ParseUrlTest, PercentBeatsColonSoIqnCanBeTheUser) {
  // libiscsi's rule: with a '%' present, the user may contain ':' (CHAP
  // names are often the initiator's IQN).
  const ParsedUrl url =
      MustParse(std::string("iscsi://iqn.1991-05.com.microsoft:host%pw@h/") + kIqn + "/0");
  EXPECT_EQ(url.user, "iqn.1991-05.com.microsoft:host");
  EXPECT_EQ(url.password.value_or(""), "pw");
}

TEST(ParseUrlTest, PasswordPercentEscapesDecoded) {
  // The user ends at the first '%'; the password's escapes are decoded.
  const ParsedUrl url = MustParse(std::string("iscsi://u%p%40ss%25w%3Ard@h/") + kIqn + "/0");
  EXPECT_EQ(url.user, "u");
  EXPECT_EQ(url.password.value_or(""), "p@ss%w:rd");
}

TEST(ParseUrlTest, UnescapedAtAndSlashInPassword) {
  // Host and target names never contain '@', so the last '@' ends the user info.
  const ParsedUrl url = MustParse(std::string("iscsi://u%a@b/c@h/") + kIqn + "/0");
  EXPECT_EQ(url.user, "u");
  EXPECT_EQ(url.password.value_or(""), "a@b/c");
  EXPECT_EQ(url.host, "h");
}

TEST(ParseUrlTest, Ipv6Literal) {
  ParsedUrl url = MustParse(std::string("iscsi://[::1]/") + kIqn + "/0");
  EXPECT_EQ(url.host, "::1");
  EXPECT_EQ(url.port, 3260);
  url = MustParse(std::string("iser://u%p@[2001:db8::5]:3262/") + kIqn + "/3");
  EXPECT_EQ(url.host, "2001:db8::5");
  EXPECT_EQ(url.port, 3262);
  EXPECT_EQ(url.lun, 3u);
}

TEST(ParseUrlTest, Ipv6WithZone) {
  const ParsedUrl url = MustParse(std::string("iscsi://[fe80::1%25eth0]:3260/") + kIqn + "/0");
  EXPECT_EQ(url.host, "fe80::1%eth0");
}

TEST(ParseUrlTest, TargetNameEscapesDecoded) {
  const ParsedUrl url = MustParse("iscsi://h/iqn.2001-04.com.example%3Adisk1/0");
  EXPECT_EQ(url.target_iqn, "iqn.2001-04.com.example:disk1");
}

TEST(ParseUrlTest, EuiAndNaaTargets) {
  EXPECT_EQ(MustParse("iscsi://h/eui.02004567A425678D/0").target_iqn, "eui.02004567A425678D");
  EXPECT_EQ(MustParse("iscsi://h/naa.52004567BA64678D/1").lun, 1u);
}

TEST(ParseUrlTest, LibiscsiQueryArguments) {
  const ParsedUrl url = MustParse(std::string("iscsi://u%p@h/") + kIqn +
                                  "/0?target_user=tgt&target_password=t%26pw&header_digest=crc32c");
  EXPECT_EQ(url.target_user.value_or(""), "tgt");
  EXPECT_EQ(url.target_password.value_or(""), "t&pw");
  EXPECT_EQ(url.header_digest_crc32c, std::optional<bool>(true));
  EXPECT_EQ(url.scheme, ParsedUrl::Scheme::kIscsi);

  const ParsedUrl iser = MustParse(std::string("iscsi://h/") + kIqn + "/0?iser&header_digest=none");
  EXPECT_EQ(iser.scheme, ParsedUrl::Scheme::kIser);
  EXPECT_EQ(iser.header_digest_crc32c, std::optional<bool>(false));
}

TEST(ParseUrlTest, LargestLun) {
  EXPECT_EQ(MustParse(std::string("iscsi://h/") + kIqn + "/16383").lun, 16383u);
}

struct BadUrl {
  std::string url;
  std::string expected;  // substring of the error
};

class BadUrlTest : public ::testing::TestWithParam<BadUrl> {};

TEST_P(BadUrlTest, NamesTheProblem) {
  EXPECT_THAT(ErrorOf(GetParam().url), HasSubstr(GetParam().expected));
}

const std::string kI = kIqn;
INSTANTIATE_TEST_SUITE_P(
    Malformed, BadUrlTest,
    ::testing::Values(
        BadUrl{"", "not a URL"}, BadUrl{"192.0.2.1/" + kI + "/0", "not a URL"},
        BadUrl{"http://h/" + kI + "/0", "unknown URL scheme \"http\""},
        BadUrl{"iscsi://h/" + kI, "iscsi URL is missing the LUN"},
        BadUrl{"iscsi://h/" + kI + "/", "iscsi URL is missing the LUN"},
        BadUrl{"iscsi://h", "missing the target name and LUN"},
        BadUrl{"iscsi://h/", "missing the target name and LUN"},
        BadUrl{"iscsi://h//0", "missing the target name"},
        BadUrl{"iser:///" + kI + "/0", "iser URL is missing the host"},
        BadUrl{"iscsi://:3260/" + kI + "/0", "missing the host"},
        BadUrl{"iscsi://h:/" + kI + "/0", "bad port \"\""},
        BadUrl{"iscsi://h:0/" + kI + "/0", "bad port \"0\""},
        BadUrl{"iscsi://h:65536/" + kI + "/0", "bad port \"65536\""},
        BadUrl{"iscsi://h:32a/" + kI + "/0", "bad port \"32a\""},
        BadUrl{"iscsi://h:-1/" + kI + "/0", "bad port"},
        BadUrl{"iscsi://h:99999999999999999999/" + kI + "/0", "bad port"},
        BadUrl{"iscsi://h/" + kI + "/x", "LUN \"x\" which is not a decimal number"},
        BadUrl{"iscsi://h/" + kI + "/-1", "not a decimal number"},
        BadUrl{"iscsi://h/" + kI + "/0x1", "not a decimal number"},
        BadUrl{"iscsi://h/" + kI + "/16384", "out of range"},
        BadUrl{"iscsi://h/" + kI + "/99999999999", "out of range"},
        BadUrl{"iscsi://h/" + kI + "/0/1", "extra path after the LUN"},
        BadUrl{"iscsi://::1/" + kI + "/0", "IPv6 address without brackets"},
        BadUrl{"iscsi://[::1/" + kI + "/0", "without its closing ']'"},
        BadUrl{"iscsi://[::1]x/" + kI + "/0", "unexpected text after ']'"},
        BadUrl{"iscsi://[not-v6]/" + kI + "/0", "not an IPv6 address"},
        BadUrl{"iscsi://[]/" + kI + "/0", "not an IPv6 address"},
        BadUrl{"iscsi://[::1]:x/" + kI + "/0", "bad port"},
        BadUrl{"iscsi://h o/" + kI + "/0", "invalid character in the host"},
        BadUrl{"iscsi://h/not-an-iqn/0", "invalid target name \"not-an-iqn\""},
        BadUrl{"iscsi://h/iqn.20x3-01.org.x/0", "YYYY-MM"},
        BadUrl{"iscsi://h/%zz/0", "invalid %-escape in the target name"},
        BadUrl{"iscsi://%p@h/" + kI + "/0", "empty user name"},
        BadUrl{"iscsi://u%@h/" + kI + "/0", "empty password"},
        BadUrl{"iscsi://h/" + kI + "/0?foo=1", "unknown argument \"foo\""},
        BadUrl{"iscsi://h/" + kI + "/0?header_digest=md5", "header_digest=\"md5\""},
        BadUrl{"iscsi://h/" + kI + "/0?target_user=t", "needs both target_user and"},
        BadUrl{"file://relative/path", "absolute path"}, BadUrl{"file://", "absolute path"},
        BadUrl{"file:///", "no file name"}, BadUrl{"file:///a%2", "invalid %-escape"},
        BadUrl{"file:///a%00b", "invalid %-escape"}, BadUrl{"mem://", "missing the size"},
        BadUrl{"mem://0", "greater than 0"}, BadUrl{"mem://1000", "not a multiple of 4096"},
        BadUrl{"mem://1K", "not a multiple of 4096"}, BadUrl{"mem://1X", "not a number"},
        BadUrl{"mem://G", "not a number"}, BadUrl{"mem://-4096", "not a number"},
        BadUrl{"mem://99999999999T", "too large"}));

// Inputs that carry the secret "Sup3rS3cret" in every place a password
// can hide, each malformed some other way. No message may contain it.
TEST(ParseUrlTest, PasswordNeverInErrorText) {
  const std::string kSecret = "Sup3rS3cret";
  const std::string cases[] = {
      "iscsi://u%" + kSecret + "@h/" + kI,
      "iscsi://u%" + kSecret + "@h:99999/" + kI + "/0",
      "iscsi://u%" + kSecret + "@[::1/" + kI + "/0",
      "iscsi://u%" + kSecret + "@h/bad/0",
      "iscsi://u%" + kSecret + "%zz@h/" + kI + "/0",
      "iscsi://u%" + kSecret + "%2@h/" + kI + "/0",
      "iscsi://u:" + kSecret + "@h/" + kI + "/x",
      "iscsi://u%" + kSecret + "?x@h/" + kI + "/0",
      "iscsi://u%" + kSecret + "/x@h o/" + kI + "/0",
      "iscsi://u%" + kSecret + "@h@/" + kI + "/0",
      "iser://u%" + kSecret + "@h/" + kI + "/0?bogus",
      "iscsi://h/" + kI + "/0?target_user=t&target_password=" + kSecret + "&bogus=1",
      "iscsi://h/" + kI + "/0?target_password=" + kSecret,
      "iscsi://h/" + kI + "/0?target_password=" + kSecret + "%zz&target_user=t",
      "u%" + kSecret + "@h/" + kI + "/0",
      "ftp://u%" + kSecret + "@h/",
  };
  for (const std::string& url : cases) {
    const std::string error = ErrorOf(url);
    EXPECT_FALSE(error.empty()) << url;
    EXPECT_THAT(error, Not(HasSubstr(kSecret))) << url;
    EXPECT_THAT(error, Not(HasSubstr("Sup3r"))) << url;
  }
}

TEST(ParseUrlTest, ErrorShowsRedactedUrl) {
  const std::string error = ErrorOf("iscsi://alice%hunter2@h/" + kI);
  EXPECT_THAT(error, HasSubstr("iscsi://alice%***@h/" + kI));
}

TEST(ParseUrlTest, FileUrl) {
  const ParsedUrl url = MustParse("file:///var/lib/images/disk%201.img");
  EXPECT_EQ(url.scheme, ParsedUrl::Scheme::kFile);
  EXPECT_EQ(url.path, "/var/lib/images/disk 1.img");
  EXPECT_FALSE(url.IsIscsi());
}

TEST(ParseUrlTest, MemUrl) {
  EXPECT_EQ(MustParse("mem://1G").mem_size, uint64_t{1} << 30);
  EXPECT_EQ(MustParse("mem://64m").mem_size, uint64_t{64} << 20);
  EXPECT_EQ(MustParse("mem://4K").mem_size, 4096u);
  EXPECT_EQ(MustParse("mem://8192").mem_size, 8192u);
  EXPECT_EQ(MustParse("mem://2T").mem_size, uint64_t{2} << 40);
  EXPECT_EQ(MustParse("mem://1G").scheme, ParsedUrl::Scheme::kMem);
}

TEST(ParseMemSizeTest, OverflowAtTheEdge) {
  // 2^24 T = 2^64 bytes: one past uint64_t.
  EXPECT_FALSE(ParseMemSize("16777216T").ok());
  absl::StatusOr<uint64_t> largest = ParseMemSize("16777215T");
  ASSERT_TRUE(largest.ok()) << largest.status();
  EXPECT_EQ(*largest, uint64_t{16777215} << 40);
}

TEST(RedactedUrlTest, HidesPasswords) {
  const ParsedUrl url = MustParse("iscsi://alice%hunter2@h:3261/" + kI +
                                  "/5?target_user=tgt&target_password=tgtpw&header_digest=crc32c");
  const std::string redacted = RedactedUrl(url);
  EXPECT_EQ(redacted, "iscsi://alice%***@h:3261/" + kI +
                          "/5?target_user=tgt&target_password=***&header_digest=crc32c");
  EXPECT_THAT(redacted, Not(HasSubstr("hunter2")));
  EXPECT_THAT(redacted, Not(HasSubstr("tgtpw")));
}

TEST(RedactedUrlTest, CanonicalFormsRoundTrip) {
  for (const std::string& url :
       {"iscsi://h:3260/" + kI + "/0", "iser://[::1]:3260/" + kI + "/3",
        "iscsi://[fe80::1%25eth0]:3260/" + kI + "/0", "iscsi://bob@h:3260/" + kI + "/1",
        std::string("mem://1G"), std::string("mem://12K"), std::string("mem://3G"),
        std::string("file:///dev/shm/x")}) {
    const ParsedUrl parsed = MustParse(url);
    EXPECT_EQ(RedactedUrl(parsed), url);
    const ParsedUrl again = MustParse(RedactedUrl(parsed));
    EXPECT_EQ(again.host, parsed.host);
    EXPECT_EQ(again.mem_size, parsed.mem_size);
  }
  EXPECT_EQ(RedactedUrl(MustParse("iscsi://h/" + kI + "/0")), "iscsi://h:3260/" + kI + "/0");
  EXPECT_EQ(RedactedUrl(MustParse("mem://4096")), "mem://4K");
}

TEST(WipeUrlSecretsTest, ClearsPasswords) {
  ParsedUrl url = MustParse("iscsi://u%pw@h/" + kI + "/0?target_user=t&target_password=tp");
  WipeUrlSecrets(url);
  EXPECT_FALSE(url.password.has_value());
  EXPECT_FALSE(url.target_password.has_value());
  EXPECT_EQ(url.user, "u");
}

TEST(ParsePortalTest, Forms) {
  absl::StatusOr<Portal> p = ParsePortal("192.0.2.1");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->host, "192.0.2.1");
  EXPECT_EQ(p->port, 3260);

  p = ParsePortal("san.example:3261");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->host, "san.example");
  EXPECT_EQ(p->port, 3261);

  p = ParsePortal("[2001:db8::1]:3262");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->host, "2001:db8::1");
  EXPECT_EQ(p->port, 3262);

  p = ParsePortal("::1");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->host, "::1");
  EXPECT_EQ(p->port, 3260);
}

TEST(ParsePortalTest, Errors) {
  for (const auto& [text, expected] : std::vector<std::pair<std::string, std::string>>{
           {"", "missing the host"},
           {":3260", "missing the host"},
           {"h:0", "bad port"},
           {"h:70000", "bad port"},
           {"[::1", "closing ']'"},
           {"1:2:3:zz", "without brackets"},
           {"iscsi://h/x/0", "HOST[:PORT]"},
           {"u%pw@h", "HOST[:PORT]"},
       }) {
    absl::StatusOr<Portal> p = ParsePortal(text);
    ASSERT_FALSE(p.ok()) << text;
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(p.status().message()), HasSubstr(expected)) << text;
    EXPECT_THAT(std::string(p.status().message()), Not(HasSubstr("pw"))) << text;
  }
}

TEST(FormatPortalTest, BracketsIpv6) {
  EXPECT_EQ(FormatPortal("h", 3260), "h:3260");
  EXPECT_EQ(FormatPortal("::1", 3261), "[::1]:3261");
}

}  // namespace
}  // namespace isergw::iscsi
