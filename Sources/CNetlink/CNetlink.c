#define _GNU_SOURCE
#include <sched.h>
#include "CNetlink.h"

int cnl_setns(int fd, int nstype) { return setns(fd, nstype); }
int cnl_clone_newnet(void) { return CLONE_NEWNET; }
