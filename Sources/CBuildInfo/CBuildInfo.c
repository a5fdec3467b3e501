#include "CBuildInfo.h"

// Package.swift defines NSAUDIT_GIT_COMMIT (a quoted string) when the environment variable
// of that name is set, e.g. by `make deb`; a plain `swift build` leaves it out.
#ifndef NSAUDIT_GIT_COMMIT
#define NSAUDIT_GIT_COMMIT ""
#endif

const char *nsaudit_build_commit(void) { return NSAUDIT_GIT_COMMIT; }
