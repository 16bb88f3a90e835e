#include "iser_client/config/credentials.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <string>

#include "iser_client/config/secure_wipe.h"
#include "tests/unit/config/temp_dir.h"

namespace isergw::iscsi {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSecret[] = "Fil3S3cret#x=y";
constexpr char kIqn[] = "iqn.2003-01.org.linux-iscsi.target:sn.1234";

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](absl::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::string Message(const absl::Status& status) { return std::string(status.message()); }

class CredentialsFileTest : public ::testing::Test {
 protected:
  std::string WriteFile(const std::string& content, mode_t mode = 0600) {
    return dir_.Write("chap.conf", content, mode);
  }
  TempDir dir_;
};

TEST_F(CredentialsFileTest, ReadsAllFourKeys) {
  const std::string path = WriteFile(std::string("# CHAP for the lab target\n"
                                                 "username = initiator-user\n"
                                                 "password=") +
                                     kSecret +
                                     "\n\n"
                                     "  username_in=target-user\n"
                                     "password_in=  tgt secret  \n");
  absl::StatusOr<std::optional<ChapCredentials>> chap = ReadChapCredentialsFile(path);
  ASSERT_TRUE(chap.ok()) << chap.status();
  ASSERT_TRUE(chap->has_value());
  EXPECT_EQ((*chap)->user, "initiator-user");
  EXPECT_EQ((*chap)->secret, kSecret);  // '#' and '=' inside a value are kept
  EXPECT_EQ((*chap)->target_user, "target-user");
  EXPECT_EQ((*chap)->target_secret, "tgt secret");
  EXPECT_TRUE((*chap)->mutual());
}

TEST_F(CredentialsFileTest, AcceptsOpenIscsiPrefixedNames) {
  const std::string path = WriteFile(
      "node.session.auth.username=u\n"
      "node.session.auth.password=p\n");
  absl::StatusOr<std::optional<ChapCredentials>> chap = ReadChapCredentialsFile(path);
  ASSERT_TRUE(chap.ok()) << chap.status();
  ASSERT_TRUE(chap->has_value());
  EXPECT_EQ((*chap)->user, "u");
  EXPECT_EQ((*chap)->secret, "p");
  EXPECT_FALSE((*chap)->mutual());
}

TEST_F(CredentialsFileTest, Mode0600Accepted) {
  EXPECT_TRUE(ReadChapCredentialsFile(WriteFile("username=u\npassword=p\n", 0600)).ok());
  EXPECT_TRUE(ReadChapCredentialsFile(WriteFile("username=u\npassword=p\n", 0400)).ok());
}

TEST_F(CredentialsFileTest, GroupOrOtherAccessRefused) {
  for (mode_t mode : {0644, 0640, 0604, 0660, 0602, 0620, 0610, 0601}) {
    const std::string path = WriteFile(std::string("username=u\npassword=") + kSecret + "\n", mode);
    absl::StatusOr<std::optional<ChapCredentials>> chap = ReadChapCredentialsFile(path);
    ASSERT_FALSE(chap.ok()) << std::oct << mode;
    EXPECT_EQ(chap.status().code(), absl::StatusCode::kPermissionDenied);
    char mode_text[8];
    snprintf(mode_text, sizeof(mode_text), "%04o", static_cast<unsigned>(mode));
    EXPECT_THAT(Message(chap.status()), HasSubstr(path));
    EXPECT_THAT(Message(chap.status()), HasSubstr(std::string("mode ") + mode_text));
    EXPECT_THAT(Message(chap.status()), Not(HasSubstr(kSecret)));
  }
}

TEST_F(CredentialsFileTest, ForeignOwnerRefused) {
  const std::string path = WriteFile("username=u\npassword=p\n");
  if (geteuid() != 0) GTEST_SKIP() << "needs root to chown";
  ASSERT_EQ(chown(path.c_str(), 12345, 12345), 0);
  absl::StatusOr<std::optional<ChapCredentials>> chap = ReadChapCredentialsFile(path);
  ASSERT_FALSE(chap.ok());
  EXPECT_THAT(Message(chap.status()), HasSubstr("owned by uid 12345"));
}

TEST_F(CredentialsFileTest, SymlinkRefused) {
  const std::string target = WriteFile("username=u\npassword=p\n");
  const std::string link = dir_.File("link.conf");
  ASSERT_EQ(symlink(target.c_str(), link.c_str()), 0);
  absl::StatusOr<std::optional<ChapCredentials>> chap = ReadChapCredentialsFile(link);
  ASSERT_FALSE(chap.ok());
  EXPECT_THAT(Message(chap.status()), HasSubstr("symbolic link"));
}

TEST_F(CredentialsFileTest, DirectoryRefused) {
  ASSERT_EQ(chmod(dir_.path().c_str(), 0700), 0);
  absl::StatusOr<std::optional<ChapCredentials>> chap = ReadChapCredentialsFile(dir_.path());
  ASSERT_FALSE(chap.ok());
  EXPECT_THAT(Message(chap.status()), HasSubstr("not a regular file"));
}

TEST_F(CredentialsFileTest, MissingFileNamed) {
  absl::StatusOr<std::optional<ChapCredentials>> chap =
      ReadChapCredentialsFile(dir_.File("absent.conf"));
  ASSERT_FALSE(chap.ok());
  EXPECT_THAT(Message(chap.status()), HasSubstr("absent.conf"));
}

TEST_F(CredentialsFileTest, SyntaxErrorsNameTheLineNotItsContent) {
  const std::pair<std::string, std::string> cases[] = {
      {"username=u\nFil3S3cretAlone\n", "line 2: expected key=value"},
      {std::string("username=u\n") + kSecret + "\n", "line 2: unknown key"},
      {std::string("username=u\npasword=") + kSecret + "\n", "line 2: unknown key"},
      {std::string("username=u\npassword=") + kSecret + "\npassword=" + kSecret + "\n",
       "line 3: password is set twice"},
      {std::string("password=") + kSecret + "\n", "sets password but not username"},
      {"username=u\n", "sets username but not password"},
      {std::string("username=u\npassword=") + kSecret + "\nusername_in=t\n",
       "sets username_in but not password_in"},
      {std::string("username_in=t\npassword_in=") + kSecret + "\n", "mutual CHAP needs both"},
      {"username=u\npassword=\n", "sets password to an empty value"},
  };
  for (const auto& [content, expected] : cases) {
    absl::StatusOr<std::optional<ChapCredentials>> chap =
        ReadChapCredentialsFile(WriteFile(content));
    ASSERT_FALSE(chap.ok()) << content;
    EXPECT_THAT(Message(chap.status()), HasSubstr(expected)) << content;
    EXPECT_THAT(Message(chap.status()), Not(HasSubstr("Fil3S3cret"))) << content;
  }
}

TEST_F(CredentialsFileTest, EmptyFileSetsNothing) {
  absl::StatusOr<std::optional<ChapCredentials>> chap =
      ReadChapCredentialsFile(WriteFile("# nothing yet\n"));
  ASSERT_TRUE(chap.ok()) << chap.status();
  EXPECT_FALSE(chap->has_value());
}

class ResolveTest : public CredentialsFileTest {
 protected:
  ParsedUrl Url(const std::string& text) {
    absl::StatusOr<ParsedUrl> url = ParseUrl(text);
    EXPECT_TRUE(url.ok()) << url.status();
    return url.ok() ? *url : ParsedUrl{};
  }
};

TEST_F(ResolveTest, FileBeatsEnvironmentBeatsUrl) {
  const ParsedUrl url = Url(std::string("iscsi://urluser%urlpw@h/") + kIqn + "/0");
  CredentialOptions options;
  options.url = &url;
  options.env = FakeEnv({{"ISERGW_CHAP_USER", "envuser"}, {"ISERGW_CHAP_SECRET", "envpw"}});
  options.file = WriteFile("username=fileuser\npassword=filepw\n");

  absl::StatusOr<ResolvedCredentials> resolved = ResolveChapCredentials(options);
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  EXPECT_EQ(resolved->source, CredentialSource::kFile);
  EXPECT_EQ(resolved->chap->user, "fileuser");
  EXPECT_EQ(resolved->chap->secret, "filepw");

  options.file.reset();
  resolved = ResolveChapCredentials(options);
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  EXPECT_EQ(resolved->source, CredentialSource::kEnvironment);
  EXPECT_EQ(resolved->chap->user, "envuser");
  EXPECT_EQ(resolved->chap->secret, "envpw");

  options.env = FakeEnv({});
  resolved = ResolveChapCredentials(options);
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  EXPECT_EQ(resolved->source, CredentialSource::kUrl);
  EXPECT_EQ(resolved->chap->user, "urluser");
  EXPECT_EQ(resolved->chap->secret, "urlpw");
}

TEST_F(ResolveTest, EmptyFileFallsThroughToEnvironment) {
  CredentialOptions options;
  options.file = WriteFile("# empty\n");
  options.env = FakeEnv({{"ISERGW_CHAP_USER", "e"}, {"ISERGW_CHAP_SECRET", "s"}});
  absl::StatusOr<ResolvedCredentials> resolved = ResolveChapCredentials(options);
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  EXPECT_EQ(resolved->source, CredentialSource::kEnvironment);
}

TEST_F(ResolveTest, BadFileIsAnErrorNotAFallback) {
  CredentialOptions options;
  options.file = WriteFile("username=u\npassword=p\n", 0644);
  options.env = FakeEnv({{"ISERGW_CHAP_USER", "e"}, {"ISERGW_CHAP_SECRET", "s"}});
  EXPECT_EQ(ResolveChapCredentials(options).status().code(), absl::StatusCode::kPermissionDenied);
}

TEST_F(ResolveTest, MutualFromEnvironment) {
  CredentialOptions options;
  options.env = FakeEnv({{"ISERGW_CHAP_USER", "u"},
                         {"ISERGW_CHAP_SECRET", "s"},
                         {"ISERGW_CHAP_TARGET_USER", "tu"},
                         {"ISERGW_CHAP_TARGET_SECRET", "ts"}});
  absl::StatusOr<ResolvedCredentials> resolved = ResolveChapCredentials(options);
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  EXPECT_EQ(resolved->chap->target_user, "tu");
  EXPECT_EQ(resolved->chap->target_secret, "ts");
}

TEST_F(ResolveTest, IncompleteEnvironmentIsAnErrorWithoutTheSecret) {
  CredentialOptions options;
  options.env = FakeEnv({{"ISERGW_CHAP_SECRET", "EnvS3cret"}});
  absl::StatusOr<ResolvedCredentials> resolved = ResolveChapCredentials(options);
  ASSERT_FALSE(resolved.ok());
  EXPECT_THAT(Message(resolved.status()),
              HasSubstr("the environment sets ISERGW_CHAP_SECRET but not ISERGW_CHAP_USER"));
  EXPECT_THAT(Message(resolved.status()), Not(HasSubstr("EnvS3cret")));

  options.env = FakeEnv({{"ISERGW_CHAP_USER", "u"},
                         {"ISERGW_CHAP_SECRET", "EnvS3cret"},
                         {"ISERGW_CHAP_TARGET_SECRET", "EnvS3cret"}});
  resolved = ResolveChapCredentials(options);
  ASSERT_FALSE(resolved.ok());
  EXPECT_THAT(Message(resolved.status()), HasSubstr("ISERGW_CHAP_TARGET_USER"));
  EXPECT_THAT(Message(resolved.status()), Not(HasSubstr("EnvS3cret")));
}

TEST_F(ResolveTest, UrlMutualAndUrlUserWithoutPassword) {
  ParsedUrl url = Url(std::string("iscsi://u%p@h/") + kIqn + "/0?target_user=t&target_password=tp");
  CredentialOptions options;
  options.env = FakeEnv({});
  options.url = &url;
  absl::StatusOr<ResolvedCredentials> resolved = ResolveChapCredentials(options);
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  EXPECT_EQ(resolved->source, CredentialSource::kUrl);
  EXPECT_EQ(resolved->chap->target_secret, "tp");

  url = Url(std::string("iscsi://u@h/") + kIqn + "/0");
  resolved = ResolveChapCredentials(options);
  ASSERT_FALSE(resolved.ok());
  EXPECT_THAT(Message(resolved.status()), HasSubstr("the URL sets the user but not the password"));
}

TEST_F(ResolveTest, NothingAnywhereMeansNoChap) {
  ParsedUrl url = Url(std::string("iscsi://h/") + kIqn + "/0");
  CredentialOptions options;
  options.env = FakeEnv({});
  options.url = &url;
  absl::StatusOr<ResolvedCredentials> resolved = ResolveChapCredentials(options);
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  EXPECT_FALSE(resolved->chap.has_value());
  EXPECT_EQ(resolved->source, CredentialSource::kNone);
}

TEST(WipeTest, WipeChapCredentialsClearsEverything) {
  ChapCredentials chap{"u", "a secret longer than the small string buffer", "tu", "ts"};
  WipeChapCredentials(chap);
  EXPECT_TRUE(chap.user.empty());
  EXPECT_TRUE(chap.secret.empty());
  EXPECT_TRUE(chap.target_user.empty());
  EXPECT_TRUE(chap.target_secret.empty());
}

TEST(WipeTest, WipeStringZeroesTheBuffer) {
  std::string s = "a secret longer than the small string buffer";
  const char* buffer = s.data();
  const size_t size = s.size();
  WipeString(s);
  EXPECT_TRUE(s.empty());
  ASSERT_EQ(s.data(), buffer) << "the buffer must not be reallocated";
  // The buffer is still owned by `s`, so reading it is defined.
  for (size_t i = 0; i < size; ++i) EXPECT_EQ(buffer[i], '\0') << i;
}

}  // namespace
}  // namespace isergw::iscsi
