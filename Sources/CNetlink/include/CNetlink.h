// Minimal shim: exposes the kernel's rtnetlink / sock_diag / nfnetlink definitions to Swift and wraps
// their function-like macros as inline functions. No logic lives here.
#ifndef NSAUDIT_CNETLINK_H
#define NSAUDIT_CNETLINK_H

#include <stddef.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/fib_rules.h>
#include <linux/nexthop.h>
#include <linux/if_link.h>
#include <linux/if_addr.h>
#include <linux/net_namespace.h>
#include <linux/neighbour.h>
#include <linux/sock_diag.h>
#include <linux/inet_diag.h>
#include <linux/veth.h>
#include <linux/lwtunnel.h>
#include <linux/if_arp.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>

/// glibc's strerrorname_np (needs _GNU_SOURCE, which the Glibc module does not set): the
/// errno's symbolic name (ENOENT), or NULL for a number glibc does not know.
const char *cnl_errno_name(int e);

static inline int cnl_nlmsg_ok(const struct nlmsghdr *h, int len) { return NLMSG_OK(h, len); }
static inline struct nlmsghdr *cnl_nlmsg_next(struct nlmsghdr *h, int *len) { return NLMSG_NEXT(h, *len); }
static inline void *cnl_nlmsg_data(const struct nlmsghdr *h) { return NLMSG_DATA(h); }
static inline int cnl_nlmsg_length(int len) { return NLMSG_LENGTH(len); }
static inline int cnl_nlmsg_align(int len) { return NLMSG_ALIGN(len); }
static inline int cnl_rta_align(int len) { return RTA_ALIGN(len); }
static inline int cnl_rta_length(int len) { return RTA_LENGTH(len); }
static inline int cnl_nla_hdrlen(void) { return NLA_HDRLEN; }
static inline unsigned short cnl_nla_type(unsigned short type) { return type & NLA_TYPE_MASK; }

/// setns(2) and unshare(2) need _GNU_SOURCE; wrapped in CNetlink.c.
int cnl_setns(int fd, int nstype);
int cnl_clone_newnet(void);
#endif
