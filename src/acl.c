/* acl.c: Redis 7.0 ACLs. Owns the user table, the rule language of ACL
 * SETUSER (and so requirepass, which is the default user's password), the
 * permission checks every command passes, authentication, the ACL LOG, the
 * ACL command itself, and the protected-mode decision. docs/acl.md
 * describes what is served and the cost on the hot path.
 *
 * Invariants:
 *  1. A published acl_perm is never modified; ACL SETUSER applies its rules
 *     to a private copy and swaps the user's pointer under acl_lock.
 *  2. acl_epoch changes (under acl_lock) after every change that can alter
 *     what some client may do: a user's rules, a deletion, requirepass.
 *     A client's acl_pass_epoch is either 0 or an epoch at which the client
 *     was authenticated (or needed no auth) and its user was unrestricted.
 *  3. Command permissions are a bitmap over the command table's indexes
 *     plus one "future commands" bit (index ncmds), set only by +@all, as
 *     Redis's reserved bit; ACL LIST describes a bitmap with Redis's
 *     best-fit algorithm over the categories, so its text is what Redis
 *     would print for the same table.
 *  4. Category membership comes only from the table's acl_categories field;
 *     the list of category names below exists for ACL CAT's order and to
 *     accept categories none of our commands belongs to (+@geo), as Redis
 *     does. */
#include "acl.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include "commands.h"
#include "config.h"
#include "log.h"
#include "networking.h"
#include "pubsub.h"
#include "server.h"
#include "util.h"

/* ---- categories ---------------------------------------------------------- */

static const char *const cat_names[] = {
    "keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap", "hyperloglog",
    "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking", "dangerous", "connection",
    "transaction", "scripting",
};
#define NCATS ((int)(sizeof(cat_names) / sizeof(cat_names[0])))

static int ncmds;            /* rows in the command table */
static int nwords;           /* bitmap words: ncmds + 1 bits */
static uint32_t *cmd_cats;   /* category bits per command index */

static int cat_index(const char *name) {
    for (int i = 0; i < NCATS; i++)
        if (!strcasecmp(name, cat_names[i])) return i;
    return -1;
}

/* The commands whose arguments are channels, as Redis's
 * ACLDoesCommandHaveChannels: found by name, so they are checked as soon as
 * the pub/sub family is in the table. */
static const struct {
    const char *name;
    bool all_args;           /* every argument is a channel, else only argv[1] */
    bool literal;            /* PSUBSCRIBE: a pattern must equal an allowed one */
} chan_cmds[] = {
    {"publish", false, false}, {"spublish", false, false}, {"subscribe", true, false},
    {"ssubscribe", true, false}, {"psubscribe", true, true},
};
#define NCHANCMDS ((int)(sizeof(chan_cmds) / sizeof(chan_cmds[0])))
static const command *chan_cmd_ptr[NCHANCMDS];

/* ---- data model ------------------------------------------------------------ */

#define SEL_ROOT        0x1
#define SEL_ALLKEYS     0x2
#define SEL_ALLCHANNELS 0x4
#define SEL_ALLCOMMANDS 0x8

#define KP_R 0x1
#define KP_W 0x2
#define KP_ALL (KP_R | KP_W)

#define U_ENABLED       0x1
#define U_DISABLED      0x2
#define U_NOPASS        0x4
#define U_SKIP_SANITIZE 0x8
#define U_SANITIZE      0x10

static const struct { const char *name; unsigned bit; } user_flag_names[] = {
    {"on", U_ENABLED}, {"off", U_DISABLED}, {"nopass", U_NOPASS},
    {"skip-sanitize-payload", U_SKIP_SANITIZE}, {"sanitize-payload", U_SANITIZE},
};

typedef struct acl_pat {
    unsigned flags;          /* keys: KP_*; channels: unused */
    size_t len;
    char *s;
} acl_pat;

typedef struct acl_sel {
    unsigned flags;          /* SEL_* */
    uint64_t *bits;          /* nwords */
    char ***firstargs;       /* NULL, or per command index a NULL-terminated list */
    acl_pat *keys;
    int nkeys;
    acl_pat *chans;
    int nchans;
} acl_sel;

typedef struct acl_perm {
    _Atomic int refs;
    unsigned flags;          /* U_* */
    char (*pass)[65];        /* SHA-256 hex, NUL-terminated */
    int npass;
    acl_sel *sel;            /* sel[0] is the root selector */
    int nsel;
    bool open;               /* root: all commands, keys and channels */
} acl_perm;

typedef struct acl_user {
    _Atomic int refs;        /* the table's, and one per client */
    char *name;
    size_t len;
    acl_perm *perm;          /* under acl_lock */
    bool deleted;            /* under acl_lock */
} acl_user;

_Atomic uint64_t acl_epoch = 1;

static pthread_mutex_t acl_lock = PTHREAD_MUTEX_INITIALIZER;
static acl_user **users;     /* sorted by name bytes, as Redis's rax */
static int nusers;
static acl_user *default_user;
/* Copies of the default user's state for lock-free readers (accept thread,
 * the multibulk limit): written under acl_lock. */
static _Atomic bool def_nopass, def_auth_needed;

/* ---- small helpers ---------------------------------------------------------- */

static bool has_spaces(const char *s, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (isspace((unsigned char)s[i]) || s[i] == 0) return true;
    return false;
}

static void sha256_hex(const char *p, size_t n, char out[65]) {
    unsigned char h[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)p, n, h);
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++) {
        out[2 * i] = hex[h[i] >> 4];
        out[2 * i + 1] = hex[h[i] & 15];
    }
    out[64] = '\0';
}

static bool valid_hash(const char *p, size_t n) {
    if (n != 64) return false;
    for (size_t i = 0; i < n; i++)
        if (!((p[i] >= 'a' && p[i] <= 'f') || (p[i] >= '0' && p[i] <= '9'))) return false;
    return true;
}

/* Constant time over the 64 hex digits: the time does not depend on where
 * the first difference is. */
static bool hash_eq(const char *a, const char *b) {
    unsigned char diff = 0;
    for (int i = 0; i < 64; i++) diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2 + 64;
        b->p = xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}
static void sb_str(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

/* ---- selectors -------------------------------------------------------------- */

static bool bit_get(const acl_sel *s, int id) { return (s->bits[id / 64] >> (id % 64)) & 1; }

static void bit_set(acl_sel *s, int id, bool v) {
    if (v) {
        s->bits[id / 64] |= 1ULL << (id % 64);
    } else {
        s->bits[id / 64] &= ~(1ULL << (id % 64));
        s->flags &= ~SEL_ALLCOMMANDS;
    }
}

static void firstargs_free_one(acl_sel *s, int id) {
    if (!s->firstargs || !s->firstargs[id]) return;
    for (int i = 0; s->firstargs[id][i]; i++) free(s->firstargs[id][i]);
    free(s->firstargs[id]);
    s->firstargs[id] = NULL;
}

static void firstargs_reset(acl_sel *s) {
    if (!s->firstargs) return;
    for (int i = 0; i < ncmds; i++) firstargs_free_one(s, i);
    free(s->firstargs);
    s->firstargs = NULL;
}

static void firstargs_add(acl_sel *s, int id, const char *arg) {
    if (!s->firstargs) s->firstargs = xcalloc((size_t)ncmds, sizeof(char **));
    int n = 0;
    if (s->firstargs[id])
        for (; s->firstargs[id][n]; n++)
            if (!strcasecmp(s->firstargs[id][n], arg)) return;
    s->firstargs[id] = xrealloc(s->firstargs[id], sizeof(char *) * (size_t)(n + 2));
    s->firstargs[id][n] = xstrdup(arg);
    s->firstargs[id][n + 1] = NULL;
}

static void pats_free(acl_pat *p, int n) {
    for (int i = 0; i < n; i++) free(p[i].s);
    free(p);
}

static void sel_init(acl_sel *s, unsigned flags) {
    memset(s, 0, sizeof(*s));
    s->flags = flags;
    if (cfg.acl_pubsub_default) s->flags |= SEL_ALLCHANNELS;
    s->bits = xcalloc((size_t)nwords, sizeof(uint64_t));
}

static void sel_free(acl_sel *s) {
    firstargs_reset(s);
    pats_free(s->keys, s->nkeys);
    pats_free(s->chans, s->nchans);
    free(s->bits);
}

static acl_pat *pats_copy(const acl_pat *p, int n) {
    if (!n) return NULL;
    acl_pat *c = xmalloc(sizeof(acl_pat) * (size_t)n);
    for (int i = 0; i < n; i++) {
        c[i] = p[i];
        c[i].s = xmalloc(p[i].len + 1);
        memcpy(c[i].s, p[i].s, p[i].len + 1);
    }
    return c;
}

static void sel_copy(acl_sel *d, const acl_sel *s) {
    *d = *s;
    d->bits = xmalloc(sizeof(uint64_t) * (size_t)nwords);
    memcpy(d->bits, s->bits, sizeof(uint64_t) * (size_t)nwords);
    d->firstargs = NULL;
    if (s->firstargs)
        for (int i = 0; i < ncmds; i++)
            for (int j = 0; s->firstargs[i] && s->firstargs[i][j]; j++) firstargs_add(d, i, s->firstargs[i][j]);
    d->keys = pats_copy(s->keys, s->nkeys);
    d->chans = pats_copy(s->chans, s->nchans);
}

/* Allow or deny a command; a container takes its subcommands along. */
static void change_perm(acl_sel *s, const command *cmd, bool allow) {
    bit_set(s, cmd->index, allow);
    firstargs_free_one(s, cmd->index);
    for (int i = 0; i < cmd->nsubs; i++) bit_set(s, cmd->subs[i]->index, allow);
}

/* Every command of the category, containers first then their subcommands,
 * in table order (Redis walks its command dict the same way). */
static void set_category(acl_sel *s, int cat, bool allow) {
    for (int i = 0; i < command_count(); i++) {
        const command *top = command_at(i);
        if (cmd_cats[top->index] & (1u << cat)) change_perm(s, top, allow);
        for (int j = 0; j < top->nsubs; j++)
            if (cmd_cats[top->subs[j]->index] & (1u << cat)) change_perm(s, top->subs[j], allow);
    }
}

static void count_category(const acl_sel *s, int cat, unsigned long *on, unsigned long *off) {
    *on = *off = 0;
    for (int i = 0; i < command_count(); i++) {
        const command *top = command_at(i);
        for (int j = -1; j < top->nsubs; j++) {
            const command *c = j < 0 ? top : top->subs[j];
            if (!(cmd_cats[c->index] & (1u << cat))) continue;
            if (bit_get(s, c->index)) (*on)++;
            else (*off)++;
        }
    }
}

static bool sel_add_pat(acl_pat **arr, int *n, unsigned flags, const char *p, size_t len) {
    for (int i = 0; i < *n; i++)
        if ((*arr)[i].len == len && !memcmp((*arr)[i].s, p, len)) {
            (*arr)[i].flags |= flags;
            return false;
        }
    *arr = xrealloc(*arr, sizeof(acl_pat) * (size_t)(*n + 1));
    acl_pat *np = &(*arr)[(*n)++];
    np->flags = flags;
    np->len = len;
    np->s = xmalloc(len + 1);
    memcpy(np->s, p, len);
    np->s[len] = '\0';
    return true;
}

/* Errors of the rule language, with Redis's texts. */
enum { E_OK, E_SYNTAX, E_NOENT, E_KEYS_AFTER_ALL, E_CHANS_AFTER_ALL, E_NOPASS_TO_REMOVE, E_BADHASH, E_CHILD };
static const char *const rule_errors[] = {
    "", "Syntax error", "Unknown command or category name in ACL",
    "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any "
    "effect. Try 'resetkeys' to start with an empty list of patterns",
    "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any "
    "effect. Try 'resetchannels' to start with an empty list of channels",
    "The password you are trying to remove from the user does not exist",
    "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters",
    "Allowing first-arg of a subcommand is not supported",
};

static int sel_set(acl_sel *s, const char *op, size_t oplen) {
    if (!strcasecmp(op, "allkeys") || !strcasecmp(op, "~*")) {
        s->flags |= SEL_ALLKEYS;
        pats_free(s->keys, s->nkeys);
        s->keys = NULL;
        s->nkeys = 0;
    } else if (!strcasecmp(op, "resetkeys")) {
        s->flags &= ~SEL_ALLKEYS;
        pats_free(s->keys, s->nkeys);
        s->keys = NULL;
        s->nkeys = 0;
    } else if (!strcasecmp(op, "allchannels") || !strcasecmp(op, "&*")) {
        s->flags |= SEL_ALLCHANNELS;
        pats_free(s->chans, s->nchans);
        s->chans = NULL;
        s->nchans = 0;
    } else if (!strcasecmp(op, "resetchannels")) {
        s->flags &= ~SEL_ALLCHANNELS;
        pats_free(s->chans, s->nchans);
        s->chans = NULL;
        s->nchans = 0;
    } else if (!strcasecmp(op, "allcommands") || !strcasecmp(op, "+@all")) {
        memset(s->bits, 0xff, sizeof(uint64_t) * (size_t)nwords);
        s->flags |= SEL_ALLCOMMANDS;
        firstargs_reset(s);
    } else if (!strcasecmp(op, "nocommands") || !strcasecmp(op, "-@all")) {
        memset(s->bits, 0, sizeof(uint64_t) * (size_t)nwords);
        s->flags &= ~SEL_ALLCOMMANDS;
        firstargs_reset(s);
    } else if (op[0] == '~' || op[0] == '%') {
        if (s->flags & SEL_ALLKEYS) return E_KEYS_AFTER_ALL;
        unsigned flags = 0;
        size_t off = 1;
        if (op[0] == '%') {
            for (; off < oplen; off++) {
                char ch = (char)toupper((unsigned char)op[off]);
                if (ch == 'R' && !(flags & KP_R)) flags |= KP_R;
                else if (ch == 'W' && !(flags & KP_W)) flags |= KP_W;
                else if (op[off] == '~' && flags) {
                    off++;
                    break;
                } else return E_SYNTAX;
            }
            if (!flags) return E_SYNTAX;
        } else {
            flags = KP_ALL;
        }
        if (has_spaces(op + off, oplen - off)) return E_SYNTAX;
        sel_add_pat(&s->keys, &s->nkeys, flags, op + off, oplen - off);
        s->flags &= ~SEL_ALLKEYS;
    } else if (op[0] == '&') {
        if (s->flags & SEL_ALLCHANNELS) return E_CHANS_AFTER_ALL;
        if (has_spaces(op + 1, oplen - 1)) return E_SYNTAX;
        sel_add_pat(&s->chans, &s->nchans, 0, op + 1, oplen - 1);
        s->flags &= ~SEL_ALLCHANNELS;
    } else if (op[0] == '+' && op[1] != '@') {
        const char *bar = strrchr(op, '|');
        if (!bar) {
            const command *cmd = command_lookup_fullname(op + 1, strlen(op + 1));
            if (!cmd) return E_NOENT;
            change_perm(s, cmd, true);
        } else {
            /* "+config|get" allows a subcommand; "+select|0" allows one
             * first argument of a command that has no subcommands. */
            const command *cmd = command_lookup_fullname(op + 1, (size_t)(bar - op - 1));
            if (!cmd) return E_NOENT;
            if (cmd->parent) return E_CHILD;
            if (!bar[1]) return E_SYNTAX;
            if (cmd->nsubs) {
                cmd = command_lookup_fullname(op + 1, strlen(op + 1));
                if (!cmd) return E_NOENT;
                change_perm(s, cmd, true);
            } else {
                log_warning("Deprecation warning: Allowing a first arg of an otherwise blocked command is a "
                            "misuse of ACL and may get disabled in the future (offender: +%s)", op + 1);
                firstargs_add(s, cmd->index, bar + 1);
            }
        }
    } else if (op[0] == '-' && op[1] != '@') {
        const command *cmd = command_lookup_fullname(op + 1, strlen(op + 1));
        if (!cmd) return E_NOENT;
        change_perm(s, cmd, false);
    } else if ((op[0] == '+' || op[0] == '-') && op[1] == '@') {
        int cat = cat_index(op + 2);
        if (cat < 0) return E_NOENT;
        set_category(s, cat, op[0] == '+');
    } else {
        return E_SYNTAX;
    }
    return E_OK;
}

/* ---- users' rules (a draft acl_perm until published) ------------------------ */

static acl_perm *perm_new(void) {
    acl_perm *p = xcalloc(1, sizeof(acl_perm));
    p->flags = U_DISABLED;
    p->sel = xmalloc(sizeof(acl_sel));
    p->nsel = 1;
    sel_init(&p->sel[0], SEL_ROOT);
    return p;
}

static acl_perm *perm_copy(const acl_perm *s) {
    acl_perm *p = xcalloc(1, sizeof(acl_perm));
    p->flags = s->flags;
    p->npass = s->npass;
    if (s->npass) {
        p->pass = xmalloc(sizeof(*p->pass) * (size_t)s->npass);
        memcpy(p->pass, s->pass, sizeof(*p->pass) * (size_t)s->npass);
    }
    p->nsel = s->nsel;
    p->sel = xmalloc(sizeof(acl_sel) * (size_t)s->nsel);
    for (int i = 0; i < s->nsel; i++) sel_copy(&p->sel[i], &s->sel[i]);
    return p;
}

static void perm_free(acl_perm *p) {
    for (int i = 0; i < p->nsel; i++) sel_free(&p->sel[i]);
    free(p->sel);
    free(p->pass);
    free(p);
}

static void perm_ref(acl_perm *p) { atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed); }
static void perm_unref(acl_perm *p) {
    if (p && atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) == 1) perm_free(p);
}

static void user_ref(acl_user *u) { atomic_fetch_add_explicit(&u->refs, 1, memory_order_relaxed); }
static void user_unref(acl_user *u) {
    if (!u || atomic_fetch_sub_explicit(&u->refs, 1, memory_order_acq_rel) != 1) return;
    perm_unref(u->perm);
    free(u->name);
    free(u);
}

/* Publish: compute the derived fields; the draft becomes immutable. */
static void perm_seal(acl_perm *p) {
    const acl_sel *r = &p->sel[0];
    unsigned all = SEL_ALLCOMMANDS | SEL_ALLKEYS | SEL_ALLCHANNELS;
    p->open = (r->flags & all) == all;
    atomic_store(&p->refs, 1);
}

/* One rule of ACL SETUSER on a draft (reset applies several). */
static int perm_set(acl_perm *p, const char *op, size_t oplen) {
    if (oplen == 0) return E_OK;
    if (!strcasecmp(op, "on")) {
        p->flags = (p->flags | U_ENABLED) & ~U_DISABLED;
    } else if (!strcasecmp(op, "off")) {
        p->flags = (p->flags | U_DISABLED) & ~U_ENABLED;
    } else if (!strcasecmp(op, "skip-sanitize-payload")) {
        p->flags = (p->flags | U_SKIP_SANITIZE) & ~U_SANITIZE;
    } else if (!strcasecmp(op, "sanitize-payload")) {
        p->flags = (p->flags | U_SANITIZE) & ~U_SKIP_SANITIZE;
    } else if (!strcasecmp(op, "nopass")) {
        p->flags |= U_NOPASS;
        p->npass = 0;
    } else if (!strcasecmp(op, "resetpass")) {
        p->flags &= ~U_NOPASS;
        p->npass = 0;
    } else if (op[0] == '>' || op[0] == '#') {
        char h[65];
        if (op[0] == '>') {
            sha256_hex(op + 1, oplen - 1, h);
        } else {
            if (!valid_hash(op + 1, oplen - 1)) return E_BADHASH;
            memcpy(h, op + 1, 64);
            h[64] = '\0';
        }
        bool dup = false;
        for (int i = 0; i < p->npass; i++)
            if (!memcmp(p->pass[i], h, 64)) dup = true;
        if (!dup) {
            p->pass = xrealloc(p->pass, sizeof(*p->pass) * (size_t)(p->npass + 1));
            memcpy(p->pass[p->npass++], h, 65);
        }
        p->flags &= ~U_NOPASS;
    } else if (op[0] == '<' || op[0] == '!') {
        char h[65];
        if (op[0] == '<') {
            sha256_hex(op + 1, oplen - 1, h);
        } else {
            if (!valid_hash(op + 1, oplen - 1)) return E_BADHASH;
            memcpy(h, op + 1, 64);
        }
        int i = 0;
        while (i < p->npass && memcmp(p->pass[i], h, 64)) i++;
        if (i == p->npass) return E_NOPASS_TO_REMOVE;
        memmove(&p->pass[i], &p->pass[i + 1], sizeof(*p->pass) * (size_t)(p->npass - i - 1));
        p->npass--;
    } else if (op[0] == '(' && op[oplen - 1] == ')') {
        /* A selector: the rules between the parentheses, space separated. */
        acl_sel s;
        sel_init(&s, 0);
        char *inner = xstrndup(op + 1, oplen - 2);
        int err = E_OK;
        for (char *save, *w = strtok_r(inner, " \t\r\n", &save); w && !err; w = strtok_r(NULL, " \t\r\n", &save))
            err = sel_set(&s, w, strlen(w));
        free(inner);
        if (err) {
            sel_free(&s);
            return err;
        }
        p->sel = xrealloc(p->sel, sizeof(acl_sel) * (size_t)(p->nsel + 1));
        p->sel[p->nsel++] = s;
    } else if (!strcasecmp(op, "clearselectors")) {
        for (int i = 1; i < p->nsel; i++) sel_free(&p->sel[i]);
        p->nsel = 1;
    } else if (!strcasecmp(op, "reset")) {
        perm_set(p, "resetpass", 9);
        perm_set(p, "resetkeys", 9);
        perm_set(p, "resetchannels", 13);
        if (cfg.acl_pubsub_default) perm_set(p, "allchannels", 11);
        perm_set(p, "off", 3);
        perm_set(p, "sanitize-payload", 16);
        perm_set(p, "clearselectors", 14);
        perm_set(p, "-@all", 5);
    } else {
        return sel_set(&p->sel[0], op, oplen);
    }
    return E_OK;
}

/* ---- describing rules (ACL LIST, GETUSER) ----------------------------------- */

static void describe_single(const acl_sel *s, acl_sel *fake, const command *cmd, sbuf *out) {
    bool ub = bit_get(s, cmd->index), fb = bit_get(fake, cmd->index);
    if (ub != fb) {
        sb_str(out, ub ? "+" : "-");
        sb_str(out, cmd->name);
        sb_str(out, " ");
        change_perm(fake, cmd, ub);
    }
    for (int i = 0; i < cmd->nsubs; i++) describe_single(s, fake, cmd->subs[i], out);
    if (!ub && s->firstargs && s->firstargs[cmd->index])
        for (int j = 0; s->firstargs[cmd->index][j]; j++) {
            sb_str(out, "+");
            sb_str(out, cmd->name);
            sb_str(out, "|");
            sb_str(out, s->firstargs[cmd->index][j]);
            sb_str(out, " ");
        }
}

/* Redis's ACLDescribeSelectorCommandRules: start from +@all or -@all (the
 * future-commands bit decides), add the best-fitting categories one at a
 * time, then the single commands that still differ. */
static void describe_commands(const acl_sel *s, sbuf *out) {
    acl_sel fake, temp;
    sel_init(&fake, 0);
    sel_init(&temp, 0);
    bool additive = !bit_get(s, ncmds);
    sb_str(out, additive ? "-@all " : "+@all ");
    sel_set(&fake, additive ? "-@all" : "+@all", 5);
    memcpy(temp.bits, s->bits, sizeof(uint64_t) * (size_t)nwords);
    bool applied[NCATS] = {0};
    for (;;) {
        int best = -1;
        unsigned long mindiff = (unsigned long)-1 >> 1, maxsame = 0;
        for (int j = 0; j < NCATS; j++) {
            if (applied[j]) continue;
            unsigned long on, off;
            count_category(&temp, j, &on, &off);
            unsigned long diff = additive ? off : on, same = additive ? on : off;
            if (same > diff && (diff < mindiff || (diff == mindiff && same > maxsame))) {
                best = j;
                mindiff = diff;
                maxsame = same;
            }
        }
        if (best < 0) break;
        set_category(&fake, best, additive);
        set_category(&temp, best, !additive);
        sb_str(out, additive ? "+@" : "-@");
        sb_str(out, cat_names[best]);
        sb_str(out, " ");
        applied[best] = true;
    }
    for (int i = 0; i < command_count(); i++) describe_single(s, &fake, command_at(i), out);
    out->p[--out->len] = '\0';   /* the last space */
    /* The rules must rebuild exactly this bitmap: a mismatch would print
     * rules that grant something else, so fail loudly as Redis does. */
    if (memcmp(fake.bits, s->bits, sizeof(uint64_t) * (size_t)nwords) != 0) {
        log_warning("CRITICAL ERROR: User ACLs don't match final bitmap: '%s'", out->p);
        abort();
    }
    sel_free(&fake);
    sel_free(&temp);
}

static void describe_key_pat(const acl_pat *p, sbuf *out) {
    sb_str(out, p->flags == KP_ALL ? "~" : p->flags == KP_R ? "%R~" : "%W~");
    sb_add(out, p->s, p->len);
}

static void describe_selector(const acl_sel *s, sbuf *out) {
    if (s->flags & SEL_ALLKEYS) {
        sb_str(out, "~* ");
    } else {
        for (int i = 0; i < s->nkeys; i++) {
            describe_key_pat(&s->keys[i], out);
            sb_str(out, " ");
        }
    }
    if (s->flags & SEL_ALLCHANNELS) {
        sb_str(out, "&* ");
    } else {
        sb_str(out, "resetchannels ");
        for (int i = 0; i < s->nchans; i++) {
            sb_str(out, "&");
            sb_add(out, s->chans[i].s, s->chans[i].len);
            sb_str(out, " ");
        }
    }
    describe_commands(s, out);
}

static void describe_user(const acl_perm *p, sbuf *out) {
    for (size_t j = 0; j < sizeof(user_flag_names) / sizeof(user_flag_names[0]); j++)
        if (p->flags & user_flag_names[j].bit) {
            sb_str(out, user_flag_names[j].name);
            sb_str(out, " ");
        }
    for (int i = 0; i < p->npass; i++) {
        sb_str(out, "#");
        sb_str(out, p->pass[i]);
        sb_str(out, " ");
    }
    for (int i = 0; i < p->nsel; i++) {
        if (i) sb_str(out, " (");
        describe_selector(&p->sel[i], out);
        if (i) sb_str(out, ")");
    }
}

/* ---- checks ------------------------------------------------------------------- */

static bool sel_key_ok(const acl_sel *s, const char *key, size_t len, unsigned spec_flags) {
    if (s->flags & SEL_ALLKEYS) return true;
    unsigned need = 0;
    if (spec_flags & KEY_ACCESS) need |= KP_R;
    if (spec_flags & (KEY_INSERT | KEY_DELETE | KEY_UPDATE)) need |= KP_W;
    for (int i = 0; i < s->nkeys; i++) {
        const acl_pat *p = &s->keys[i];
        if ((p->flags & need) != need) continue;
        if (util_glob_match(p->s, p->len, key, len, false)) return true;
    }
    return false;
}

static bool chan_ok(const acl_sel *s, const char *ch, size_t len, bool literal) {
    if (s->flags & SEL_ALLCHANNELS) return true;
    for (int i = 0; i < s->nchans; i++) {
        const acl_pat *p = &s->chans[i];
        if (literal ? (p->len == len && !memcmp(p->s, ch, len)) : util_glob_match(p->s, p->len, ch, len, false))
            return true;
    }
    return false;
}

static int sel_check(const acl_sel *s, const command *cmd, int argc, const resp_arg *argv, int *errpos,
                     key_ref *keys, int *nkeys) {
    if (!(s->flags & SEL_ALLCOMMANDS) && !(cmd->flags & CMD_NO_AUTH) && !bit_get(s, cmd->index)) {
        char **fa = s->firstargs ? s->firstargs[cmd->index] : NULL;
        int idx = cmd->parent ? 2 : 1;
        if (argc <= idx || !fa) return ACL_DENIED_CMD;
        int i = 0;
        while (fa[i] && !util_eq_nocase(argv[idx].ptr, argv[idx].len, fa[i])) i++;
        if (!fa[i]) return ACL_DENIED_CMD;
    }
    if (!(s->flags & SEL_ALLKEYS) && cmd->nspecs) {
        if (*nkeys < 0) *nkeys = command_keys_with_flags(cmd, argc, argv, keys, argc);
        for (int i = 0; i < *nkeys; i++) {
            const resp_arg *k = &argv[keys[i].pos];
            if (!sel_key_ok(s, k->ptr, k->len, keys[i].flags)) {
                *errpos = keys[i].pos;
                return ACL_DENIED_KEY;
            }
        }
    }
    if (!(s->flags & SEL_ALLCHANNELS)) {
        for (int j = 0; j < NCHANCMDS; j++) {
            if (chan_cmd_ptr[j] != cmd) continue;
            int last = chan_cmds[j].all_args ? argc - 1 : 1;
            for (int i = 1; i <= last && i < argc; i++)
                if (!chan_ok(s, argv[i].ptr, argv[i].len, chan_cmds[j].literal)) {
                    *errpos = i;
                    return ACL_DENIED_CHANNEL;
                }
        }
    }
    return ACL_OK;
}

/* Redis's ACLCheckAllUserCommandPerm: allowed if any selector allows it;
 * otherwise the most specific reason, and the last argument involved. */
static int perm_check(const acl_perm *p, const command *cmd, int argc, const resp_arg *argv, int *errpos) {
    /* A command has at most argc keys; small ones need no allocation. */
    key_ref stack[32];
    key_ref *keys = argc <= 32 ? stack : xmalloc(sizeof(key_ref) * (size_t)argc);
    int nkeys = -1, relevant = ACL_DENIED_CMD, last = 0;
    for (int i = 0; i < p->nsel; i++) {
        int pos = 0;
        int r = sel_check(&p->sel[i], cmd, argc, argv, &pos, keys, &nkeys);
        if (r == ACL_OK) {
            if (keys != stack) free(keys);
            return ACL_OK;
        }
        if (r > relevant || (r == relevant && pos > last)) {
            relevant = r;
            last = pos;
        }
    }
    if (keys != stack) free(keys);
    *errpos = last;
    return relevant;
}

/* ---- the user table ----------------------------------------------------------- */

static int name_cmp(const char *a, size_t al, const char *b, size_t bl) {
    int r = memcmp(a, b, al < bl ? al : bl);
    if (r) return r;
    return al < bl ? -1 : al > bl;
}

/* Index of name, or -(insertion point) - 1. Caller holds acl_lock. */
static int do_find(const char *name, size_t len) {
    int lo = 0, hi = nusers - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        int r = name_cmp(users[mid]->name, users[mid]->len, name, len);
        if (r == 0) return mid;
        if (r < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    return -lo - 1;
}

static acl_user *do_lookup(const char *name, size_t len) {
    int i = do_find(name, len);
    return i >= 0 ? users[i] : NULL;
}

static void do_update_defaults(void) {
    unsigned f = default_user->perm->flags;
    atomic_store(&def_nopass, (f & U_NOPASS) != 0);
    atomic_store(&def_auth_needed, !(f & U_NOPASS) || (f & U_DISABLED));
}

/* Install perm as name's rules (creating the user); takes perm's ref. */
static void do_install(const char *name, size_t len, acl_perm *perm) {
    int i = do_find(name, len);
    if (i >= 0) {
        acl_perm *old = users[i]->perm;
        users[i]->perm = perm;
        perm_unref(old);
    } else {
        i = -i - 1;
        acl_user *u = xcalloc(1, sizeof(acl_user));
        atomic_store(&u->refs, 1);
        u->name = xstrndup(name, len);
        u->len = len;
        u->perm = perm;
        users = xrealloc(users, sizeof(acl_user *) * (size_t)(nusers + 1));
        memmove(&users[i + 1], &users[i], sizeof(acl_user *) * (size_t)(nusers - i));
        users[i] = u;
        nusers++;
    }
    if (default_user) do_update_defaults();
    atomic_fetch_add_explicit(&acl_epoch, 1, memory_order_release);
}

void acl_set_requirepass(const char *pass) {
    if (!default_user) return;   /* before acl_setup (config unit tests) */
    pthread_mutex_lock(&acl_lock);
    acl_perm *p = perm_copy(default_user->perm);
    perm_set(p, "resetpass", 9);
    if (pass && pass[0]) {
        size_t n = strlen(pass);
        char *op = xmalloc(n + 2);
        op[0] = '>';
        memcpy(op + 1, pass, n + 1);
        perm_set(p, op, n + 1);
        free(op);
    } else {
        perm_set(p, "nopass", 6);
    }
    perm_seal(p);
    do_install("default", 7, p);
    pthread_mutex_unlock(&acl_lock);
}

void acl_setup(void) {
    ncmds = command_table_size();
    nwords = (ncmds + 1 + 63) / 64;
    cmd_cats = xcalloc((size_t)ncmds, sizeof(uint32_t));
    for (int i = 0; i < ncmds; i++) {
        const command *c = command_by_index(i);
        char buf[256];
        snprintf(buf, sizeof(buf), "%s", c->acl_categories);
        for (char *save, *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
            int cat = w[0] == '@' ? cat_index(w + 1) : -1;
            if (cat >= 0) cmd_cats[i] |= 1u << cat;
        }
    }
    for (int j = 0; j < NCHANCMDS; j++) chan_cmd_ptr[j] = command_lookup(chan_cmds[j].name, strlen(chan_cmds[j].name));
    /* The default user: all commands, keys and channels, on, nopass. */
    acl_perm *p = perm_new();
    perm_set(p, "+@all", 5);
    perm_set(p, "~*", 2);
    perm_set(p, "&*", 2);
    perm_set(p, "on", 2);
    perm_set(p, "nopass", 6);
    perm_seal(p);
    pthread_mutex_lock(&acl_lock);
    do_install("default", 7, p);
    default_user = do_lookup("default", 7);
    do_update_defaults();
    pthread_mutex_unlock(&acl_lock);
    if (cfg.requirepass && cfg.requirepass[0]) acl_set_requirepass(cfg.requirepass);
}

static void log_reset(void);
static void log_add(client *c, int reason, int ctx, const char *obj, size_t olen, const char *user,
                    size_t ulen);

void acl_teardown(void) {
    for (int i = 0; i < nusers; i++) user_unref(users[i]);
    free(users);
    users = NULL;
    nusers = 0;
    default_user = NULL;
    free(cmd_cats);
    cmd_cats = NULL;
    log_reset();
}

/* ---- clients ---------------------------------------------------------------- */

/* Point c at user u (taking a ref on it); swapped under the registry lock
 * because CLIENT LIST on other threads prints the name. */
static void client_set_user(client *c, acl_user *u) {
    acl_user *old = c->user;
    net_swap_client_user(c, (void **)&c->user, u);
    user_unref(old);
    perm_unref(c->perm);
    c->perm = NULL;
    c->acl_epoch = 0;
    c->acl_pass_epoch = 0;
}

void acl_client_init(client *c) {
    pthread_mutex_lock(&acl_lock);
    acl_user *u = default_user;
    user_ref(u);
    unsigned f = u->perm->flags;
    pthread_mutex_unlock(&acl_lock);
    c->user = u;    /* not yet in the registry: no lock needed */
    c->authenticated = (f & U_NOPASS) && !(f & U_DISABLED);
    c->acl_epoch = c->acl_pass_epoch = 0;
}

void acl_client_free(client *c) {
    user_unref(c->user);
    perm_unref(c->perm);
    c->user = NULL;
    c->perm = NULL;
}

void acl_client_reset(client *c) {
    pthread_mutex_lock(&acl_lock);
    acl_user *u = default_user;
    user_ref(u);
    unsigned f = u->perm->flags;
    pthread_mutex_unlock(&acl_lock);
    client_set_user(c, u);
    c->authenticated = (f & U_NOPASS) && !(f & U_DISABLED);
}

/* Bring c's snapshot up to date. False if its user was deleted (the client
 * is being closed). */
static bool refresh(client *c) {
    uint64_t e = acl_epoch_now();
    if (c->acl_epoch == e && c->perm) return true;
    pthread_mutex_lock(&acl_lock);
    if (c->user->deleted) {
        pthread_mutex_unlock(&acl_lock);
        return false;
    }
    acl_perm *p = c->user->perm;
    perm_ref(p);
    e = atomic_load_explicit(&acl_epoch, memory_order_relaxed);
    pthread_mutex_unlock(&acl_lock);
    perm_unref(c->perm);
    c->perm = p;
    c->acl_epoch = e;
    return true;
}

bool acl_auth_required(const client *c) { return !c->authenticated && atomic_load(&def_auth_needed); }
bool acl_default_nopass(void) { return atomic_load(&def_nopass); }
const char *acl_client_username(const client *c) { return c->user ? c->user->name : "default"; }

bool acl_user_exists(const char *name, size_t len) {
    pthread_mutex_lock(&acl_lock);
    bool r = do_lookup(name, len) != NULL;
    pthread_mutex_unlock(&acl_lock);
    return r;
}

int acl_check_command(client *c, const command *cmd, int argc, resp_arg *argv, int *errpos) {
    *errpos = 0;
    if (!refresh(c)) return ACL_DENIED_CMD;
    if (c->perm->open) return ACL_OK;
    return perm_check(c->perm, cmd, argc, argv, errpos);
}

bool acl_check_channel(client *c, const char *ch, size_t len, bool is_pattern) {
    if (!refresh(c)) return false;
    for (int i = 0; i < c->perm->nsel; i++)
        if (chan_ok(&c->perm->sel[i], ch, len, is_pattern)) return true;
    return false;
}

void acl_denied_text(const command *cmd, int reason, char *buf, size_t len) {
    if (reason == ACL_DENIED_KEY)
        snprintf(buf, len, "NOPERM this user has no permissions to access one of the keys used as arguments");
    else if (reason == ACL_DENIED_CHANNEL)
        snprintf(buf, len, "NOPERM this user has no permissions to access one of the channels used as arguments");
    else
        snprintf(buf, len, "NOPERM this user has no permissions to run the '%s' command", cmd->name);
}

void acl_reply_denied(client *c, const command *cmd, int reason) {
    char msg[160];
    acl_denied_text(cmd, reason, msg, sizeof(msg));
    reply_error(c, msg);
}

bool acl_gate(client *c, const command *cmd) {
    if (!refresh(c)) {
        /* Deleted user: DELUSER asked the owning thread to close us. */
        c->flags |= CLIENT_CLOSE_ASAP;
        return false;
    }
    if (acl_auth_required(c)) {
        if (!(cmd->flags & CMD_NO_AUTH)) {
            command_reject(c, cmd, "NOAUTH Authentication required.");
            return false;
        }
    } else if (c->perm->open) {
        c->acl_pass_epoch = c->acl_epoch;
        return true;
    }
    if (c->perm->open) return true;
    int pos = 0;
    int r = perm_check(c->perm, cmd, c->argc, c->argv, &pos);
    if (r == ACL_OK) return true;
    c->cmd = cmd;   /* the log's client info names the denied command */
    acl_log_denial(c, r, ACL_LOG_CTX_TOPLEVEL, cmd, c->argv, pos);
    char msg[160];
    acl_denied_text(cmd, r, msg, sizeof(msg));
    command_reject(c, cmd, msg);
    return false;
}

bool acl_authenticate(client *c, const char *name, size_t ulen, const char *pass, size_t plen) {
    char h[65];
    sha256_hex(pass, plen, h);
    pthread_mutex_lock(&acl_lock);
    acl_user *u = do_lookup(name, ulen);
    bool ok = false;
    if (u && !(u->perm->flags & U_DISABLED)) {
        if (u->perm->flags & U_NOPASS) ok = true;
        /* No early exit: every stored hash is compared. */
        for (int i = 0; i < u->perm->npass; i++) ok |= hash_eq(h, u->perm->pass[i]);
    }
    if (ok) user_ref(u);
    pthread_mutex_unlock(&acl_lock);
    if (!ok) {
        log_add(c, ACL_DENIED_AUTH, ACL_LOG_CTX_TOPLEVEL, c->argv[0].ptr, c->argv[0].len, name, ulen);
        return false;
    }
    client_set_user(c, u);
    c->authenticated = true;
    return true;
}

/* ---- protected mode ---------------------------------------------------------- */

const char ACL_DENIED_PROTECTED_MSG[] =
    "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set "
    "for the default user. In this mode connections are only accepted from the loopback interface. If you "
    "want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just "
    "disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface "
    "by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not "
    "publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) "
    "Alternatively you can just disable the protected mode by editing the Redis configuration file, and "
    "setting the protected mode option to 'no', and then restarting the server. 3) If you started the "
    "server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an "
    "authentication password for the default user. NOTE: You only need to do one of the above things in "
    "order for the server to start accepting connections from the outside.\r\n";

/* Redis's connIsLocal: the peer's address printed starts with "127." or is
 * "::1". Unix sockets are local. */
bool acl_protected_decision(bool protected_mode, bool default_nopass, const struct sockaddr *peer) {
    if (!protected_mode || !default_nopass || !peer) return false;
    if (peer->sa_family == AF_UNIX) return false;
    if (peer->sa_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)peer;
        return (ntohl(s->sin_addr.s_addr) >> 24) != 127;
    }
    if (peer->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)peer;
        return !IN6_IS_ADDR_LOOPBACK(&s->sin6_addr);
    }
    return true;
}

bool acl_protected_mode_denies(const struct sockaddr *peer) {
    return acl_protected_decision(CFG_LOAD(protected_mode), atomic_load(&def_nopass), peer);
}

/* ---- the ACL log ----------------------------------------------------------------- */

typedef struct log_entry {
    uint64_t count;
    int reason, context;
    char *object, *username;
    size_t olen, ulen;
    int64_t ctime;
    char *cinfo;
    struct log_entry *next;
} log_entry;

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;   /* leaf */
static log_entry *log_head;
static long log_len;

static void entry_free(log_entry *e) {
    free(e->object);
    free(e->username);
    free(e->cinfo);
    free(e);
}

static void log_reset(void) {
    pthread_mutex_lock(&log_lock);
    while (log_head) {
        log_entry *e = log_head;
        log_head = e->next;
        entry_free(e);
    }
    log_len = 0;
    pthread_mutex_unlock(&log_lock);
}

static void log_add(client *c, int reason, int ctx, const char *obj, size_t olen, const char *user,
                    size_t ulen) {
    log_entry *e = xcalloc(1, sizeof(log_entry));
    e->count = 1;
    e->reason = reason;
    e->context = ctx;
    e->ctime = util_ms();
    e->object = xstrndup(obj, olen);
    e->olen = olen;
    e->username = xstrndup(user, ulen);
    e->ulen = ulen;
    char info[1024];
    net_client_info(c, info, sizeof(info));
    e->cinfo = xstrdup(info);

    pthread_mutex_lock(&log_lock);
    log_entry **pp = &log_head;
    for (int scanned = 0; *pp && scanned < 10; scanned++, pp = &(*pp)->next) {
        log_entry *o = *pp;
        int64_t d = o->ctime - e->ctime;
        if (d < 0) d = -d;
        if (o->reason == e->reason && o->context == e->context && d <= 60000 && o->olen == e->olen &&
            !memcmp(o->object, e->object, e->olen) && o->ulen == e->ulen &&
            !memcmp(o->username, e->username, e->ulen)) {
            *pp = o->next;
            o->next = log_head;
            log_head = o;
            free(o->cinfo);
            o->cinfo = e->cinfo;
            e->cinfo = NULL;
            o->ctime = e->ctime;
            o->count++;
            pthread_mutex_unlock(&log_lock);
            entry_free(e);
            return;
        }
    }
    e->next = log_head;
    log_head = e;
    log_len++;
    while (log_len > cfg.acllog_max_len) {
        log_entry **q = &log_head;
        while ((*q)->next) q = &(*q)->next;
        entry_free(*q);
        *q = NULL;
        log_len--;
    }
    pthread_mutex_unlock(&log_lock);
}

void acl_log_denial(client *c, int reason, int ctx, const command *cmd, const resp_arg *argv, int errpos) {
    const char *user = acl_client_username(c);
    if (reason == ACL_DENIED_CMD) log_add(c, reason, ctx, cmd->name, strlen(cmd->name), user, strlen(user));
    else log_add(c, reason, ctx, argv[errpos].ptr, argv[errpos].len, user, strlen(user));
}


/* ---- the ACL command ------------------------------------------------------------- */

static void reply_syntax_sub(client *c) {
    reply_errorf(c, "ERR unknown subcommand or wrong number of arguments for '%.128s'. Try ACL HELP.",
                 c->argv[1].ptr);
}

void cmd_acl_cat(client *c) {
    if (c->argc > 3) {
        reply_syntax_sub(c);
        return;
    }
    if (c->argc == 2) {
        reply_array(c, NCATS);
        for (int i = 0; i < NCATS; i++) reply_bulk_cstr(c, cat_names[i]);
        return;
    }
    int cat = cat_index(c->argv[2].ptr);
    if (cat < 0) {
        reply_errorf(c, "ERR Unknown category '%.128s'", c->argv[2].ptr);
        return;
    }
    size_t h = reply_defer_len(c);
    long n = 0;
    for (int i = 0; i < command_count(); i++) {
        const command *top = command_at(i);
        for (int j = -1; j < top->nsubs; j++) {
            const command *cmd = j < 0 ? top : top->subs[j];
            if (cmd_cats[cmd->index] & (1u << cat)) {
                reply_bulk_cstr(c, cmd->name);
                n++;
            }
        }
    }
    reply_set_deferred_array(c, h, n);
}

/* Redis's ACLMergeSelectorArguments: a selector may arrive split over
 * several arguments, "(+get" "~x)". Rules keep their length: a password
 * may hold any byte. */
typedef struct rule {
    char *p;
    size_t len;
} rule;

static rule *merge_selectors(client *c, int *nout, const char **bad) {
    rule *out = xmalloc(sizeof(rule) * (size_t)c->argc);
    int n = 0, open = -1;
    sbuf sel = {0};
    for (int j = 3; j < c->argc; j++) {
        const resp_arg *a = &c->argv[j];
        if (a->len && a->ptr[0] == '(' && a->ptr[a->len - 1] != ')') {
            free(sel.p);
            sel = (sbuf){0};
            sb_add(&sel, a->ptr, a->len);
            open = j;
            continue;
        }
        if (open >= 0) {
            sb_str(&sel, " ");
            sb_add(&sel, a->ptr, a->len);
            if (a->len && a->ptr[a->len - 1] == ')') {
                open = -1;
                out[n++] = (rule){sel.p, sel.len};
                sel = (sbuf){0};
            }
            continue;
        }
        out[n].p = xmalloc(a->len + 1);
        memcpy(out[n].p, a->ptr, a->len + 1);
        out[n++].len = a->len;
    }
    if (open >= 0) {
        for (int i = 0; i < n; i++) free(out[i].p);
        free(out);
        free(sel.p);
        *bad = c->argv[open].ptr;
        return NULL;
    }
    *nout = n;
    return out;
}

/* Clients of user u get closed: the current one after this reply, others
 * by their own thread. Caller holds no lock. */
typedef struct kill_ctx {
    client *self;
    acl_user *u;
} kill_ctx;

static void kill_user_client(void *priv, client *other) {
    kill_ctx *k = priv;
    if (other->user != k->u) return;
    if (other == k->self) other->flags |= CLIENT_CLOSE_AFTER_REPLY;
    else net_kill_client(other);
}

/* Redis 7.0 closes the clients of a user whose new rules no longer allow
 * a channel or pattern they are subscribed to (ACLKillPubsubClientsIfNeeded). */
static bool perm_allows_channel(void *priv, const char *name, size_t len, bool is_pattern) {
    const acl_perm *p = priv;
    for (int i = 0; i < p->nsel; i++)
        if (chan_ok(&p->sel[i], name, len, is_pattern)) return true;
    return false;
}

typedef struct kill_subs_ctx {
    client *self;
    acl_user *u;
    const uint64_t *ids;
    size_t n;
} kill_subs_ctx;

static void kill_denied_subscriber(void *priv, client *other) {
    kill_subs_ctx *k = priv;
    if (other->user != k->u) return;
    for (size_t i = 0; i < k->n; i++)
        if (k->ids[i] == other->id) {
            if (other == k->self) other->flags |= CLIENT_CLOSE_AFTER_REPLY;
            else net_kill_client(other);
            return;
        }
}

static void kill_denied_subscribers(client *self, const char *name, size_t len) {
    pthread_mutex_lock(&acl_lock);
    acl_user *u = do_lookup(name, len);
    acl_perm *p = u ? u->perm : NULL;
    if (p) perm_ref(p);
    pthread_mutex_unlock(&acl_lock);
    if (!p) return;
    uint64_t *ids;
    size_t n = pubsub_subscribers_denied(perm_allows_channel, p, &ids);
    if (n) {
        kill_subs_ctx k = {self, u, ids, n};
        net_foreach_client(kill_denied_subscriber, &k);
    }
    free(ids);
    perm_unref(p);
}

void cmd_acl_setuser(client *c) {
    const resp_arg *name = &c->argv[2];
    if (has_spaces(name->ptr, name->len)) {
        reply_error(c, "ERR Usernames can't contain spaces or null characters");
        return;
    }
    int n = 0;
    const char *bad = NULL;
    rule *ops = merge_selectors(c, &n, &bad);
    if (!ops) {
        reply_errorf(c, "ERR Unmatched parenthesis in acl selector starting at '%s'.", bad);
        return;
    }
    /* Stage every rule on a copy; apply all or nothing. */
    pthread_mutex_lock(&acl_lock);
    acl_user *u = do_lookup(name->ptr, name->len);
    acl_perm *p = u ? perm_copy(u->perm) : perm_new();
    pthread_mutex_unlock(&acl_lock);
    for (int j = 0; j < n; j++) {
        int err = perm_set(p, ops[j].p, ops[j].len);
        if (err) {
            reply_errorf(c, "ERR Error in ACL SETUSER modifier '%s': %s", ops[j].p, rule_errors[err]);
            perm_free(p);
            for (int i = 0; i < n; i++) free(ops[i].p);
            free(ops);
            return;
        }
    }
    for (int i = 0; i < n; i++) free(ops[i].p);
    free(ops);
    perm_seal(p);
    pthread_mutex_lock(&acl_lock);
    do_install(name->ptr, name->len, p);
    pthread_mutex_unlock(&acl_lock);
    kill_denied_subscribers(c, name->ptr, name->len);
    reply_ok(c);
}

void cmd_acl_deluser(client *c) {
    for (int j = 2; j < c->argc; j++)
        if (!strcmp(c->argv[j].ptr, "default")) {
            reply_error(c, "ERR The 'default' user cannot be removed");
            return;
        }
    long deleted = 0;
    for (int j = 2; j < c->argc; j++) {
        pthread_mutex_lock(&acl_lock);
        int i = do_find(c->argv[j].ptr, c->argv[j].len);
        acl_user *u = NULL;
        if (i >= 0) {
            u = users[i];
            memmove(&users[i], &users[i + 1], sizeof(acl_user *) * (size_t)(nusers - i - 1));
            nusers--;
            u->deleted = true;
            atomic_fetch_add_explicit(&acl_epoch, 1, memory_order_release);
        }
        pthread_mutex_unlock(&acl_lock);
        if (!u) continue;
        kill_ctx k = {c, u};
        net_foreach_client(kill_user_client, &k);
        user_unref(u);   /* the table's reference */
        deleted++;
    }
    reply_int(c, deleted);
}

static void reply_selector(client *c, const acl_sel *s) {
    sbuf b = {0};
    reply_bulk_cstr(c, "commands");
    describe_commands(s, &b);
    reply_bulk(c, b.p, b.len);
    b.len = 0;
    reply_bulk_cstr(c, "keys");
    if (s->flags & SEL_ALLKEYS) {
        sb_str(&b, "~*");
    } else {
        for (int i = 0; i < s->nkeys; i++) {
            if (i) sb_str(&b, " ");
            describe_key_pat(&s->keys[i], &b);
        }
    }
    reply_bulk(c, b.p ? b.p : "", b.len);
    b.len = 0;
    reply_bulk_cstr(c, "channels");
    if (s->flags & SEL_ALLCHANNELS) {
        sb_str(&b, "&*");
    } else {
        for (int i = 0; i < s->nchans; i++) {
            if (i) sb_str(&b, " ");
            sb_str(&b, "&");
            sb_add(&b, s->chans[i].s, s->chans[i].len);
        }
    }
    reply_bulk(c, b.p ? b.p : "", b.len);
    free(b.p);
}

static acl_perm *perm_of(const char *name, size_t len) {
    pthread_mutex_lock(&acl_lock);
    acl_user *u = do_lookup(name, len);
    acl_perm *p = u ? u->perm : NULL;
    if (p) perm_ref(p);
    pthread_mutex_unlock(&acl_lock);
    return p;
}

void cmd_acl_getuser(client *c) {
    acl_perm *p = perm_of(c->argv[2].ptr, c->argv[2].len);
    if (!p) {
        reply_null(c);
        return;
    }
    reply_map(c, 6);
    reply_bulk_cstr(c, "flags");
    long nf = 0;
    for (size_t j = 0; j < sizeof(user_flag_names) / sizeof(user_flag_names[0]); j++)
        if (p->flags & user_flag_names[j].bit) nf++;
    reply_set(c, nf);
    for (size_t j = 0; j < sizeof(user_flag_names) / sizeof(user_flag_names[0]); j++)
        if (p->flags & user_flag_names[j].bit) reply_bulk_cstr(c, user_flag_names[j].name);
    reply_bulk_cstr(c, "passwords");
    reply_array(c, p->npass);
    for (int i = 0; i < p->npass; i++) reply_bulk(c, p->pass[i], 64);
    reply_selector(c, &p->sel[0]);
    reply_bulk_cstr(c, "selectors");
    reply_array(c, p->nsel - 1);
    for (int i = 1; i < p->nsel; i++) {
        reply_map(c, 3);
        reply_selector(c, &p->sel[i]);
    }
    perm_unref(p);
}

/* ACL LIST / USERS: a snapshot of the table (names and rule refs), then
 * the replies without the lock. */
static void list_users(client *c, bool names_only) {
    pthread_mutex_lock(&acl_lock);
    int n = nusers;
    acl_user **snap = xmalloc(sizeof(acl_user *) * (size_t)(n ? n : 1));
    acl_perm **perms = xmalloc(sizeof(acl_perm *) * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++) {
        snap[i] = users[i];
        user_ref(snap[i]);
        perms[i] = users[i]->perm;
        perm_ref(perms[i]);
    }
    pthread_mutex_unlock(&acl_lock);
    reply_array(c, n);
    for (int i = 0; i < n; i++) {
        if (names_only) {
            reply_bulk(c, snap[i]->name, snap[i]->len);
        } else {
            sbuf b = {0};
            sb_str(&b, "user ");
            sb_add(&b, snap[i]->name, snap[i]->len);
            sb_str(&b, " ");
            describe_user(perms[i], &b);
            reply_bulk(c, b.p, b.len);
            free(b.p);
        }
        perm_unref(perms[i]);
        user_unref(snap[i]);
    }
    free(snap);
    free(perms);
}

void cmd_acl_list(client *c) { list_users(c, false); }
void cmd_acl_users(client *c) { list_users(c, true); }

void cmd_acl_whoami(client *c) { reply_bulk_cstr(c, acl_client_username(c)); }

static const char no_aclfile[] =
    "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the "
    "ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) "
    "in order to store users in the Redis configuration.";

void cmd_acl_load(client *c) { reply_error(c, no_aclfile); }
void cmd_acl_save(client *c) { reply_error(c, no_aclfile); }

void cmd_acl_genpass(client *c) {
    long long bits = 256;
    if (c->argc > 3) {
        reply_syntax_sub(c);
        return;
    }
    if (c->argc == 3 && !arg_ll(c, 2, &bits, NULL)) return;
    if (bits <= 0 || bits > 4096) {
        reply_error(c, "ERR ACL GENPASS argument must be the number of bits for the output password, a "
                       "positive number up to 4096");
        return;
    }
    long chars = (long)((bits + 3) / 4);
    unsigned char rnd[1024];
    char out[1024];
    size_t got = 0;
    while (got < (size_t)chars) {
        ssize_t r = getrandom(rnd + got, (size_t)chars - got, 0);
        if (r > 0) got += (size_t)r;
    }
    static const char hex[] = "0123456789abcdef";
    for (long i = 0; i < chars; i++) out[i] = hex[rnd[i] & 15];
    reply_bulk(c, out, (size_t)chars);
}

void cmd_acl_log(client *c) {
    long long count = 10;
    if (c->argc > 3) {
        reply_syntax_sub(c);
        return;
    }
    if (c->argc == 3) {
        if (arg_is(c, 2, "RESET")) {
            log_reset();
            reply_ok(c);
            return;
        }
        if (!arg_ll(c, 2, &count, NULL)) return;
        if (count < 0) count = 0;
    }
    int64_t now = util_ms();
    pthread_mutex_lock(&log_lock);
    if (count > log_len) count = log_len;
    reply_array(c, (long)count);
    static const char *const reasons[] = {"unknown", "command", "key", "auth", "channel"};
    static const char *const ctxs[] = {"toplevel", "multi", "lua", "module"};
    for (log_entry *e = log_head; e && count-- > 0; e = e->next) {
        reply_map(c, 7);
        reply_bulk_cstr(c, "count");
        reply_int(c, (long long)e->count);
        reply_bulk_cstr(c, "reason");
        reply_bulk_cstr(c, reasons[e->reason]);
        reply_bulk_cstr(c, "context");
        reply_bulk_cstr(c, ctxs[e->context]);
        reply_bulk_cstr(c, "object");
        reply_bulk(c, e->object, e->olen);
        reply_bulk_cstr(c, "username");
        reply_bulk(c, e->username, e->ulen);
        reply_bulk_cstr(c, "age-seconds");
        reply_double(c, (double)(now - e->ctime) / 1000);
        reply_bulk_cstr(c, "client-info");
        reply_bulk_cstr(c, e->cinfo);
    }
    pthread_mutex_unlock(&log_lock);
}

void cmd_acl_dryrun(client *c) {
    acl_perm *p = perm_of(c->argv[2].ptr, c->argv[2].len);
    if (!p) {
        reply_errorf(c, "ERR User '%s' not found", c->argv[2].ptr);
        return;
    }
    int argc = c->argc - 3;
    resp_arg *argv = c->argv + 3;
    const command *cmd = command_lookup(argv[0].ptr, argv[0].len);
    if (cmd && cmd->nsubs && argc >= 2) {
        const command *sub = NULL;
        for (int i = 0; i < cmd->nsubs; i++)
            if (util_eq_nocase(argv[1].ptr, argv[1].len, strchr(cmd->subs[i]->name, '|') + 1))
                sub = cmd->subs[i];
        cmd = sub;
    }
    if (!cmd) {
        reply_errorf(c, "ERR Command '%s' not found", argv[0].ptr);
        perm_unref(p);
        return;
    }
    if ((cmd->arity > 0 && cmd->arity != argc) || argc < -cmd->arity) {
        reply_errorf(c, "ERR wrong number of arguments for '%s' command", cmd->name);
        perm_unref(p);
        return;
    }
    int pos = 0;
    int r = perm_check(p, cmd, argc, argv, &pos);
    perm_unref(p);
    if (r == ACL_OK) {
        reply_ok(c);
        return;
    }
    char msg[512];
    if (r == ACL_DENIED_CMD)
        snprintf(msg, sizeof(msg), "This user has no permissions to run the '%s' command", cmd->name);
    else
        snprintf(msg, sizeof(msg), "This user has no permissions to access the '%.400s' %s", argv[pos].ptr,
                 r == ACL_DENIED_KEY ? "key" : "channel");
    reply_bulk_cstr(c, msg);
}

void cmd_acl_help(client *c) {
    static const char *const lines[] = {
        "CAT [<category>]",
        "    List all commands that belong to <category>, or all command categories",
        "    when no category is specified.",
        "DELUSER <username> [<username> ...]",
        "    Delete a list of users.",
        "DRYRUN <username> <command> [<arg> ...]",
        "    Returns whether the user can execute the given command without executing the command.",
        "GETUSER <username>",
        "    Get the user's details.",
        "GENPASS [<bits>]",
        "    Generate a secure 256-bit user password. The optional `bits` argument can",
        "    be used to specify a different size.",
        "LIST",
        "    Show users details in config file format.",
        "LOAD",
        "    Reload users from the ACL file.",
        "LOG [<count> | RESET]",
        "    Show the ACL log entries.",
        "SAVE",
        "    Save the current config to the ACL file.",
        "SETUSER <username> <attribute> [<attribute> ...]",
        "    Create or modify a user with the specified attributes.",
        "USERS",
        "    List all the registered usernames.",
        "WHOAMI",
        "    Return the current connection username.",
        NULL};
    int n = 0;
    while (lines[n]) n++;
    reply_array(c, n + 3);
    reply_simple(c, "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
    for (int i = 0; i < n; i++) reply_simple(c, lines[i]);
    reply_simple(c, "HELP");
    reply_simple(c, "    Prints this help.");
}
