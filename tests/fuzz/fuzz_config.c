/* fuzz_config.c: the config file parser (config.c's config_load) and
 * CONFIG REWRITE. The input is written to a file and loaded over fresh
 * defaults. When it loads, the file is rewritten and loaded again, and
 * every directive must read back as it was (CONFIG GET *): what REWRITE
 * writes, the parser must read to the same values. When it does not load,
 * there is nothing to check beyond memory safety (and that the failure
 * path returns). The parser's messages to stderr are sent to /dev/null
 * while it runs. */
#include "fuzz.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "config.h"

typedef struct snap {
    char *text;
    size_t len, cap;
} snap;

static void snap_add(void *priv, const char *name, const char *value) {
    snap *s = priv;
    size_t n = strlen(name) + strlen(value) + 2;
    if (s->len + n + 1 > s->cap) {
        s->cap = (s->len + n + 1) * 2;
        s->text = realloc(s->text, s->cap);
    }
    s->len += (size_t)sprintf(s->text + s->len, "%s=%s\n", name, value);
}

static char path[64];
static int devnull = -1, saved_err = -1;

static void quiet(bool on) {
    if (devnull < 0) {
        devnull = open("/dev/null", O_WRONLY);
        saved_err = dup(2);
    }
    fflush(stderr);
    dup2(on ? devnull : saved_err, 2);
}

static bool load(const uint8_t *data, size_t size) {
    if (data) {
        FILE *f = fopen(path, "wb");
        FUZZ_CHECK(f);
        fwrite(data, 1, size, f);
        fclose(f);
    }
    config_teardown();
    config_setup();
    quiet(true);
    bool ok = config_load(path, 0, NULL);
    quiet(false);
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!path[0]) snprintf(path, sizeof(path), "/tmp/strata-fuzz-config.%d", (int)getpid());
    if (size > 16384) return 0;
    if (load(data, size)) {
        snap before = {0}, after = {0};
        config_get("*", snap_add, &before);
        char err[256];
        FUZZ_CHECK(config_rewrite(err, sizeof(err)));
        if (!load(NULL, 0)) {
            fprintf(stderr, "the rewritten file does not load\n");
            abort();
        }
        config_get("*", snap_add, &after);
        if (before.len != after.len || memcmp(before.text, after.text, before.len) != 0) {
            fprintf(stderr, "rewrite changed values:\n--- before\n%.*s--- after\n%.*s",
                    (int)before.len, before.text, (int)after.len, after.text);
            abort();
        }
        free(before.text);
        free(after.text);
    }
    config_teardown();
    unlink(path);
    return 0;
}
