#define _GNU_SOURCE
#include <sched.h>
#include <string.h>
#include "CNetlink.h"

const char *cnl_errno_name(int e) { return strerrorname_np(e); }

int cnl_setns(int fd, int nstype) { return setns(fd, nstype); }
int cnl_clone_newnet(void) { return CLONE_NEWNET; }
