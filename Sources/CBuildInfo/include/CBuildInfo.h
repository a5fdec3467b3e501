#ifndef NSAUDIT_CBUILDINFO_H
#define NSAUDIT_CBUILDINFO_H

/// The git commit nsaudit was built from ("" when the build was not given one). Set at build
/// time from the NSAUDIT_GIT_COMMIT environment variable (see Package.swift).
const char *nsaudit_build_commit(void);

#endif
