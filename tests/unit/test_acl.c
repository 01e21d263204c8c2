/* test_acl.c: unit tests of src/acl.c's protected-mode decision, the one
 * piece of ACL logic that depends on the peer's address. Redis 7.0 refuses
 * a TCP peer whose printed address does not start with "127." and is not
 * "::1" while protected-mode is yes and the default user has nopass; the
 * integration test protected_mode_* checks the same over a real
 * non-loopback address when the machine has one. */
#include "unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "acl.h"

static bool denies4(bool pm, bool nopass, const char *ip) {
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(1234)};
    inet_pton(AF_INET, ip, &sa.sin_addr);
    return acl_protected_decision(pm, nopass, (struct sockaddr *)&sa);
}

static bool denies6(bool pm, bool nopass, const char *ip) {
    struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_port = htons(1234)};
    inet_pton(AF_INET6, ip, &sa.sin6_addr);
    return acl_protected_decision(pm, nopass, (struct sockaddr *)&sa);
}

TEST(acl_protected_loopback_allowed) {
    CHECK(!denies4(true, true, "127.0.0.1"));
    CHECK(!denies4(true, true, "127.255.1.2"));
    CHECK(!denies6(true, true, "::1"));
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    CHECK(!acl_protected_decision(true, true, (struct sockaddr *)&un));
}

TEST(acl_protected_remote_denied) {
    CHECK(denies4(true, true, "192.0.2.2"));
    CHECK(denies4(true, true, "10.0.0.1"));
    CHECK(denies4(true, true, "128.0.0.1"));
    CHECK(denies4(true, true, "0.0.0.0"));
    CHECK(denies6(true, true, "fd00::2"));
    /* Redis compares the printed address: a v4-mapped loopback is remote. */
    CHECK(denies6(true, true, "::ffff:127.0.0.1"));
}

TEST(acl_protected_off_or_password) {
    CHECK(!denies4(false, true, "192.0.2.2"));
    CHECK(!denies4(true, false, "192.0.2.2"));
    CHECK(!denies6(false, true, "fd00::2"));
    CHECK(!denies6(true, false, "fd00::2"));
}

TEST(acl_protected_message) {
    CHECK(strncmp(ACL_DENIED_PROTECTED_MSG, "-DENIED Redis is running in protected mode", 42) == 0);
    size_t n = strlen(ACL_DENIED_PROTECTED_MSG);
    CHECK(n > 2 && ACL_DENIED_PROTECTED_MSG[n - 2] == '\r' && ACL_DENIED_PROTECTED_MSG[n - 1] == '\n');
}
