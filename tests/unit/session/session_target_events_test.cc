#include "tests/unit/session/fake_target.h"
