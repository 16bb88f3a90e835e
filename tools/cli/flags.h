#ifndef TOOLS_CLI_FLAGS_H_
#define TOOLS_CLI_FLAGS_H_

#include <gflags/gflags.h>

// Flags shared by several verbs (defined in flags.cc).
DECLARE_bool(json);
DECLARE_string(chap_file);
DECLARE_string(header_digest);
DECLARE_string(iface);
DECLARE_string(data_digest);
DECLARE_int32(timeout);
DECLARE_bool(verbose);
// bench
DECLARE_string(rw);
DECLARE_string(bs);
DECLARE_int32(qd);
DECLARE_int32(seconds);
DECLARE_int32(rwmixread);
// copy
DECLARE_bool(sparse);
DECLARE_bool(progress);
// attach
DECLARE_bool(foreground);
DECLARE_int32(queues);
DECLARE_int32(depth);
DECLARE_string(recover);
DECLARE_int32(block_size);
DECLARE_string(frontend);
// export
DECLARE_string(socket);
DECLARE_int32(port);
DECLARE_string(bind);
DECLARE_string(name);

#endif  // TOOLS_CLI_FLAGS_H_
