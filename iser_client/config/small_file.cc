#include "iser_client/config/small_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace isergw::iscsi {

absl::StatusOr<std::string> ReadSmallFile(int fd, absl::string_view path) {
  std::string data;
  // One spare byte tells "exactly the limit" from "too big".
  data.resize(kMaxConfigFileSize + 1);
  size_t used = 0;
  while (used < data.size()) {
    const ssize_t n = read(fd, data.data() + used, data.size() - used);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return absl::FailedPreconditionError(
          absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
    }
    if (n == 0) {
      break;
    }
    used += static_cast<size_t>(n);
  }
  if (used > kMaxConfigFileSize) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " is larger than ", kMaxConfigFileSize, " bytes; wrong file?"));
  }
  data.resize(used);  // shrinking keeps the buffer, nothing is copied
  return data;
}

bool SplitConfigLine(absl::string_view line, bool strip_comments, absl::string_view& key,
                     absl::string_view& value, bool& has_equals) {
  if (strip_comments) {
    if (const size_t hash = line.find('#'); hash != absl::string_view::npos) {
      line = line.substr(0, hash);
    }
  }
  line = absl::StripAsciiWhitespace(line);
  if (line.empty() || line.front() == '#') {
    return false;
  }
  const size_t eq = line.find('=');
  has_equals = eq != absl::string_view::npos;
  key = absl::StripAsciiWhitespace(line.substr(0, eq));
  value = has_equals ? absl::StripAsciiWhitespace(line.substr(eq + 1)) : absl::string_view();
  return true;
}

}  // namespace isergw::iscsi
