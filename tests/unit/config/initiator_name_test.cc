#include "iser_client/config/initiator_name.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <map>
#include <string>

#include "tests/unit/config/temp_dir.h"

namespace isergw::iscsi {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using Source = InitiatorName::Source;

constexpr char kOpenIscsiName[] = "iqn.1993-08.org.debian:01:abcdef123456";
constexpr char kIsergwName[] = "iqn.2026-11.org.isergw:00112233aabb";

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](absl::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

// Deterministic "random" bytes; counts calls.
struct FakeRandom {
  int calls = 0;
  uint8_t next = 0xa0;
  RandomSource Source() {
    return [this](absl::Span<uint8_t> out) {
      ++calls;
      for (uint8_t& b : out) b = next++;
      return absl::OkStatus();
    };
  }
};

class InitiatorNameTest : public ::testing::Test {
 protected:
  InitiatorNameOptions Options() {
    InitiatorNameOptions options;
    options.open_iscsi_file = dir_.File("iscsi/initiatorname.iscsi");
    options.isergw_file = dir_.File("isergw/initiatorname");
    options.env = FakeEnv({});
    options.random = random_.Source();
    return options;
  }
  void WriteOpenIscsi(const std::string& content) {
    ASSERT_EQ(mkdir(dir_.File("iscsi").c_str(), 0755), 0);
    dir_.Write("iscsi/initiatorname.iscsi", content, 0644);
  }

  TempDir dir_;
  FakeRandom random_;
};

TEST_F(InitiatorNameTest, GeneratesOnceThenStaysStable) {
  absl::StatusOr<InitiatorName> first = LoadOrCreateInitiatorName(Options());
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->source, Source::kGenerated);
  EXPECT_EQ(first->origin, dir_.File("isergw/initiatorname"));
  EXPECT_EQ(first->name, "iqn.2026-11.org.isergw:a0a1a2a3a4a5");
  EXPECT_EQ(random_.calls, 1);

  // Saved where the next run finds it, world-readable, no temp files left.
  struct stat st;
  ASSERT_EQ(stat(dir_.File("isergw/initiatorname").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
  EXPECT_THAT(ReadAll(dir_.File("isergw/initiatorname")),
              HasSubstr("InitiatorName=iqn.2026-11.org.isergw:a0a1a2a3a4a5\n"));
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir_.File("isergw"))) {
    ++entries;
  }
  EXPECT_EQ(entries, 1u);

  absl::StatusOr<InitiatorName> second = LoadOrCreateInitiatorName(Options());
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->name, first->name);
  EXPECT_EQ(second->source, Source::kIsergwFile);
  EXPECT_EQ(random_.calls, 1) << "a second run must not generate again";
}

TEST_F(InitiatorNameTest, GeneratedNameShape) {
  absl::StatusOr<std::string> name = GenerateInitiatorName(SystemRandom);
  ASSERT_TRUE(name.ok()) << name.status();
  EXPECT_THAT(*name, MatchesRegex("iqn\\.2026-11\\.org\\.isergw:[0-9a-f]{12}"));
  absl::StatusOr<std::string> other = GenerateInitiatorName(SystemRandom);
  ASSERT_TRUE(other.ok());
  EXPECT_NE(*name, *other);
}

TEST_F(InitiatorNameTest, RandomFailureIsReported) {
  InitiatorNameOptions options = Options();
  options.random = [](absl::Span<uint8_t>) { return absl::InternalError("no entropy"); };
  absl::StatusOr<InitiatorName> name = LoadOrCreateInitiatorName(options);
  EXPECT_EQ(name.status().code(), absl::StatusCode::kInternal);
  EXPECT_FALSE(std::filesystem::exists(dir_.File("isergw/initiatorname")));
}

TEST_F(InitiatorNameTest, OpenIscsiFileWinsOverIsergwFile) {
  ASSERT_EQ(mkdir(dir_.File("isergw").c_str(), 0755), 0);
  dir_.Write("isergw/initiatorname", std::string("InitiatorName=") + kIsergwName + "\n", 0644);
  WriteOpenIscsi(std::string("## DO NOT EDIT OR REMOVE THIS FILE!\n"
                             "# InitiatorName=iqn.2000-01.com.commented:out\n"
                             "   InitiatorName = ") +
                 kOpenIscsiName + "   # trailing comment\n");
  absl::StatusOr<InitiatorName> name = LoadOrCreateInitiatorName(Options());
  ASSERT_TRUE(name.ok()) << name.status();
  EXPECT_EQ(name->name, kOpenIscsiName);
  EXPECT_EQ(name->source, Source::kOpenIscsiFile);
  EXPECT_EQ(name->origin, dir_.File("iscsi/initiatorname.iscsi"));
  EXPECT_EQ(random_.calls, 0);
}

TEST_F(InitiatorNameTest, OpenIscsiFileWithoutNameIsSkipped) {
  WriteOpenIscsi("GenerateName=yes\n");
  absl::StatusOr<InitiatorName> name = LoadOrCreateInitiatorName(Options());
  ASSERT_TRUE(name.ok()) << name.status();
  EXPECT_EQ(name->source, Source::kGenerated);
}

TEST_F(InitiatorNameTest, MalformedOpenIscsiNameIsAnError) {
  WriteOpenIscsi("InitiatorName=not-an-iqn\n");
  absl::StatusOr<InitiatorName> name = LoadOrCreateInitiatorName(Options());
  ASSERT_FALSE(name.ok());
  EXPECT_EQ(name.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(name.status().message()), HasSubstr("initiatorname.iscsi"));
  EXPECT_THAT(std::string(name.status().message()), HasSubstr("not-an-iqn"));
  EXPECT_EQ(random_.calls, 0);
}

TEST_F(InitiatorNameTest, EnvironmentOverridesFiles) {
  WriteOpenIscsi(std::string("InitiatorName=") + kOpenIscsiName + "\n");
  InitiatorNameOptions options = Options();
  options.env = FakeEnv({{"ISERGW_INITIATOR_NAME", "iqn.2020-02.com.example:override"}});
  absl::StatusOr<InitiatorName> name = LoadOrCreateInitiatorName(options);
  ASSERT_TRUE(name.ok()) << name.status();
  EXPECT_EQ(name->name, "iqn.2020-02.com.example:override");
  EXPECT_EQ(name->source, Source::kEnvironment);
  EXPECT_EQ(name->origin, "ISERGW_INITIATOR_NAME");
}

TEST_F(InitiatorNameTest, InvalidEnvironmentNameIsAnError) {
  InitiatorNameOptions options = Options();
  options.env = FakeEnv({{"ISERGW_INITIATOR_NAME", "bogus"}});
  absl::StatusOr<InitiatorName> name = LoadOrCreateInitiatorName(options);
  ASSERT_FALSE(name.ok());
  EXPECT_THAT(std::string(name.status().message()), HasSubstr("ISERGW_INITIATOR_NAME"));
  EXPECT_EQ(random_.calls, 0);
}

TEST_F(InitiatorNameTest, HandWrittenIsergwFileWithoutNameIsNotOverwritten) {
  ASSERT_EQ(mkdir(dir_.File("isergw").c_str(), 0755), 0);
  const std::string path = dir_.Write("isergw/initiatorname", "# my notes\n", 0644);
  absl::StatusOr<InitiatorName> name = LoadOrCreateInitiatorName(Options());
  ASSERT_FALSE(name.ok());
  EXPECT_THAT(std::string(name.status().message()), HasSubstr("no InitiatorName= line"));
  EXPECT_EQ(ReadAll(path), "# my notes\n");
}

TEST_F(InitiatorNameTest, UnwritableDirectoryIsAnError) {
  InitiatorNameOptions options = Options();
  options.isergw_file = dir_.File("missing/deeper/initiatorname");
  absl::StatusOr<InitiatorName> name = LoadOrCreateInitiatorName(options);
  ASSERT_FALSE(name.ok());
  EXPECT_THAT(std::string(name.status().message()), HasSubstr("missing/deeper"));
}

TEST_F(InitiatorNameTest, ConcurrentWinnerIsKept) {
  // Another run saved its name between our check and our save: simulate by
  // having the random source write the file (it runs just before saving).
  InitiatorNameOptions options = Options();
  const std::string path = options.isergw_file;
  options.random = [&](absl::Span<uint8_t> out) {
    mkdir(dir_.File("isergw").c_str(), 0755);
    dir_.Write("isergw/initiatorname", std::string("InitiatorName=") + kIsergwName + "\n", 0644);
    for (uint8_t& b : out) b = 0x11;
    return absl::OkStatus();
  };
  absl::StatusOr<InitiatorName> name = LoadOrCreateInitiatorName(options);
  ASSERT_TRUE(name.ok()) << name.status();
  EXPECT_EQ(name->name, kIsergwName);
  EXPECT_THAT(ReadAll(path), HasSubstr(kIsergwName));
}

TEST(ReadInitiatorNameFileTest, MissingFileIsNullopt) {
  absl::StatusOr<std::optional<std::string>> name =
      ReadInitiatorNameFile("/nonexistent/isergw/initiatorname");
  ASSERT_TRUE(name.ok()) << name.status();
  EXPECT_FALSE(name->has_value());
}

TEST(ReadInitiatorNameFileTest, FirstNameWins) {
  TempDir dir;
  const std::string path = dir.Write("n",
                                     "InitiatorName=eui.02004567A425678D\n"
                                     "InitiatorName=iqn.2000-01.com.second:x\n",
                                     0644);
  absl::StatusOr<std::optional<std::string>> name = ReadInitiatorNameFile(path);
  ASSERT_TRUE(name.ok()) << name.status();
  EXPECT_EQ(name->value_or(""), "eui.02004567A425678D");
}

}  // namespace
}  // namespace isergw::iscsi
