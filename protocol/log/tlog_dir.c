/*
 * tlog_dir.c - the transparency log as static files (layout and crash safety in tlog_dir.h).
 */
/* syncfs(2): one flush of the file system for all the files of an append. */
#define _GNU_SOURCE
#include "tlog_dir.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "encoding.h"
#include "fileio.h"

#define NAME_FMT "%08" PRIu64

static int type_valid(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > MP_TLOG_TYPE_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= '0' && t[i] <= '9') || t[i] == '-'))
            return 0;
    return 1;
}

int mp_tlog_entry_encode(unsigned char **out, size_t *len, const char *type, const void *doc,
                         size_t doc_len)
{
    char head[128], hex[MP_HASH_HEX_BYTES];
    int hl;
    if (!type_valid(type))
        return mp_error_set("log entry type \"%.40s\": want [a-z0-9-], 1 to %d characters", type,
                            MP_TLOG_TYPE_MAX);
    if (doc_len > MP_TLOG_ENTRY_MAX)
        return mp_error_set("a document of %zu bytes is too large for the log", doc_len);
    mp_hash_hex(hex, doc, doc_len);
    hl = snprintf(head, sizeof head, MP_TLOG_MAGIC " %s %s %zu\n", type, hex, doc_len);
    if ((*out = malloc((size_t)hl + doc_len + 1)) == NULL)
        return mp_error_system("out of memory");
    memcpy(*out, head, (size_t)hl);
    if (doc_len)
        memcpy(*out + hl, doc, doc_len);
    (*out)[hl + doc_len] = 0;
    *len = (size_t)hl + doc_len;
    return 0;
}

int mp_tlog_entry_decode(const unsigned char *buf, size_t len, mp_tlog_meta *meta,
                         const unsigned char **doc, size_t *doc_len)
{
    const unsigned char *nl = memchr(buf, '\n', len < 200 ? len : 200);
    char head[201], *type, *hex, *num, *end, *save = NULL;
    unsigned char h[32];
    unsigned long long n;
    size_t hl;
    if (nl == NULL)
        return mp_error_set("not a log entry (no header line)");
    hl = (size_t)(nl - buf);
    memcpy(head, buf, hl);
    head[hl] = '\0';
    if (strtok_r(head, " ", &save) == NULL || strcmp(head, MP_TLOG_MAGIC) != 0)
        return mp_error_set("not a log entry (the header must start with " MP_TLOG_MAGIC ")");
    type = strtok_r(NULL, " ", &save);
    hex = strtok_r(NULL, " ", &save);
    num = strtok_r(NULL, " ", &save);
    if (type == NULL || hex == NULL || num == NULL || strtok_r(NULL, " ", &save) != NULL ||
        !type_valid(type) || mp_hex_decode(meta->sha256, 32, hex) != 0 || num[0] < '0' ||
        num[0] > '9' || (num[0] == '0' && num[1] != '\0'))
        return mp_error_set("malformed log entry header (want: " MP_TLOG_MAGIC
                            " TYPE SHA256 LENGTH)");
    errno = 0;
    n = strtoull(num, &end, 10);
    if (errno != 0 || *end != '\0' || n != len - hl - 1)
        return mp_error_set("the log entry's header says %s bytes, the document has %zu (cut or "
                            "extended)",
                            num, len - hl - 1);
    snprintf(meta->type, sizeof meta->type, "%s", type);
    *doc = nl + 1;
    *doc_len = len - hl - 1;
    mp_hash(h, *doc, *doc_len);
    if (sodium_memcmp(h, meta->sha256, 32) != 0)
        return mp_error_set("the document is not the one its header names (sha256 differs: it "
                            "was edited)");
    return 0;
}

static int path_of(char *out, const char *dir, const char *sub, uint64_t n)
{
    int l = sub ? snprintf(out, PATH_MAX, "%s/%s/" NAME_FMT, dir, sub, n)
                : snprintf(out, PATH_MAX, "%s/checkpoint", dir);
    return l >= PATH_MAX ? mp_error_set("%s: path too long", dir) : 0;
}

int mp_checkpoint_load(const char *path, mp_note **note, mp_checkpoint *cp)
{
    unsigned char *buf;
    size_t len;
    if (mp_file_read(path, MP_NOTE_MAX, &buf, &len) != 0)
        return -1;
    if (mp_note_parse(note, (const char *)buf, len) != 0) {
        free(buf);
        return mp_error_prefix("%s: ", path);
    }
    free(buf);
    if (mp_checkpoint_parse(cp, (*note)->text, (*note)->text_len) != 0) {
        mp_note_free(*note);
        *note = NULL;
        return mp_error_prefix("%s: ", path);
    }
    return 0;
}

void mp_tlogdir_free(mp_tlogdir *d)
{
    if (d == NULL)
        return;
    mp_tlog_free(d->tree);
    free(d->meta);
    mp_note_free(d->note);
    mp_checkpoint_clear(&d->cp);
    free(d->history);
    free(d);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The sizes of the history files (only names of digits, up to the latest size). */
static int read_history(mp_tlogdir *d)
{
    char path[PATH_MAX];
    DIR *dh;
    struct dirent *e;
    size_t cap = 0;
    if (snprintf(path, sizeof path, "%s/checkpoints", d->path) >= (int)sizeof path)
        return mp_error_set("%s: path too long", d->path);
    if ((dh = opendir(path)) == NULL)
        return errno == ENOENT ? 0 : mp_error_set("%s: %s", path, strerror(errno));
    while ((e = readdir(dh)) != NULL) {
        char *end;
        uint64_t n;
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        n = strtoull(e->d_name, &end, 10);
        if (*end != '\0' || n == 0)
            continue;
        if (n > d->cp.size) { /* a crash leftover, or a rollback: mp_tlogdir_verify decides */
            if (n > d->newer)
                d->newer = n;
            continue;
        }
        if (d->nhistory == cap) {
            uint64_t *p = realloc(d->history, (cap = cap ? 2 * cap : 16) * sizeof *p);
            if (p == NULL) {
                closedir(dh);
                return mp_error_system("out of memory");
            }
            d->history = p;
        }
        d->history[d->nhistory++] = n;
    }
    closedir(dh);
    if (d->nhistory)
        qsort(d->history, d->nhistory, sizeof *d->history, cmp_u64);
    return 0;
}

/* The entries do not give the latest root: name the first checkpoint they stop matching. */
static int root_mismatch(const mp_tlogdir *d)
{
    unsigned char r[32];
    for (size_t i = 0; i < d->nhistory; i++) {
        mp_note *n;
        mp_checkpoint c;
        char path[PATH_MAX];
        int bad;
        if (path_of(path, d->path, "checkpoints", d->history[i]) != 0 ||
            mp_checkpoint_load(path, &n, &c) != 0)
            continue;
        bad = c.size != d->history[i] || mp_tlog_root(d->tree, c.size, r) != 0 ||
              sodium_memcmp(r, c.root, 32) != 0;
        mp_note_free(n);
        mp_checkpoint_clear(&c);
        if (bad)
            return mp_error_set("%s/entries: the first %" PRIu64 " entries do not hash to the "
                                "root of checkpoints/" NAME_FMT ": an entry below %" PRIu64
                                " was edited, removed or reordered",
                                d->path, d->history[i], d->history[i], d->history[i]);
    }
    return mp_error_set("%s/entries: the %" PRIu64 " entries do not hash to the root of the "
                        "checkpoint: an entry was edited, removed or reordered",
                        d->path, d->cp.size);
}

int mp_tlogdir_load(mp_tlogdir **out, const char *dir, int allow_missing)
{
    mp_tlogdir *d = calloc(1, sizeof *d);
    char path[PATH_MAX];
    unsigned char root[32], *buf = NULL;
    struct stat st;
    if (d == NULL)
        return mp_error_system("out of memory");
    if (snprintf(d->path, sizeof d->path, "%s", dir) >= (int)sizeof d->path ||
        mp_tlog_new(&d->tree) != 0)
        goto fail;
    if (stat(dir, &st) != 0) {
        if (errno == ENOENT && allow_missing)
            goto done;
        mp_error_set("%s: %s", dir, strerror(errno));
        goto fail;
    }
    if (path_of(path, dir, NULL, 0) != 0)
        goto fail;
    if (!mp_file_exists(path)) {
        if (allow_missing)
            goto done;
        mp_error_set("%s: no checkpoint (not a log directory, or an empty log)", path);
        goto fail;
    }
    if (mp_checkpoint_load(path, &d->note, &d->cp) != 0)
        goto fail;
    if (d->cp.size > ((uint64_t)1 << 40)) {
        mp_error_set("%s: a tree of %" PRIu64 " entries is beyond this reader", path, d->cp.size);
        goto fail;
    }
    /* The last entry first: a truncated log is named before anything is allocated for it. */
    if (d->cp.size > 0 &&
        (path_of(path, dir, "entries", d->cp.size - 1) != 0 || !mp_file_exists(path))) {
        mp_error_set("%s is missing: the checkpoint covers %" PRIu64 " entries (the log was "
                     "truncated)",
                     path, d->cp.size);
        goto fail;
    }
    if (d->cp.size > 0 && (d->meta = calloc((size_t)d->cp.size, sizeof *d->meta)) == NULL) {
        mp_error_system("out of memory");
        goto fail;
    }
    for (uint64_t i = 0; i < d->cp.size; i++) {
        const unsigned char *doc;
        size_t len, doc_len;
        if (path_of(path, dir, "entries", i) != 0)
            goto fail;
        if (!mp_file_exists(path)) {
            mp_error_set("%s is missing: the checkpoint covers %" PRIu64 " entries (an entry was "
                         "removed)",
                         path, d->cp.size);
            goto fail;
        }
        if (mp_file_read(path, MP_TLOG_ENTRY_MAX + 256, &buf, &len) != 0)
            goto fail;
        if (mp_tlog_entry_decode(buf, len, &d->meta[i], &doc, &doc_len) != 0) {
            mp_error_prefix("%s: ", path);
            goto fail;
        }
        if (mp_tlog_append(d->tree, buf, len) != 0)
            goto fail;
        free(buf);
        buf = NULL;
    }
    if (read_history(d) != 0 || mp_tlog_root(d->tree, d->cp.size, root) != 0)
        goto fail;
    if (sodium_memcmp(root, d->cp.root, 32) != 0) {
        root_mismatch(d);
        goto fail;
    }
done:
    *out = d;
    return 0;
fail:
    free(buf);
    mp_tlogdir_free(d);
    return -1;
}

int mp_tlogdir_find(const mp_tlogdir *d, const char *type, const unsigned char sha256[32],
                    uint64_t *index)
{
    for (uint64_t i = 0; i < d->cp.size; i++)
        if (strcmp(d->meta[i].type, type) == 0 && memcmp(d->meta[i].sha256, sha256, 32) == 0) {
            *index = i;
            return 0;
        }
    return -1;
}

int mp_tlogdir_entry(const mp_tlogdir *d, uint64_t index, unsigned char **entry, size_t *entry_len,
                     const unsigned char **doc, size_t *doc_len)
{
    char path[PATH_MAX];
    unsigned char leaf[32], want[32];
    mp_tlog_meta m;
    if (path_of(path, d->path, "entries", index) != 0 || mp_tlog_leaf(d->tree, index, want) != 0 ||
        mp_file_read(path, MP_TLOG_ENTRY_MAX + 256, entry, entry_len) != 0)
        return -1;
    mp_tlog_leaf_hash(leaf, *entry, *entry_len);
    if (sodium_memcmp(leaf, want, 32) != 0 ||
        mp_tlog_entry_decode(*entry, *entry_len, &m, doc, doc_len) != 0) {
        free(*entry);
        return mp_error_set("%s changed while it was read", path);
    }
    return 0;
}

int mp_tlogdir_prove_inclusion(const mp_tlogdir *d, uint64_t index, mp_tlog_proof *proof)
{
    unsigned char leaf[32];
    if (mp_tlog_leaf(d->tree, index, leaf) != 0 ||
        mp_tlog_inclusion_proof(d->tree, index, d->cp.size, proof) != 0 ||
        mp_tlog_inclusion_verify(index, d->cp.size, leaf, proof, d->cp.root) != 0)
        return mp_error_prefix("entry " NAME_FMT ": ", index);
    return 0;
}

void mp_tlogdir_report_free(mp_tlogdir_report *rep)
{
    free(rep->witness_signed);
    free(rep->witness_time);
    rep->witness_signed = NULL;
    rep->witness_time = NULL;
}

/* Verify one checkpoint note against [log key, witnesses...]; the log key must have signed. */
static int check_note(const mp_tlogdir *d, const char *path, const mp_note *n,
                      const mp_checkpoint *c, const mp_note_key *keys, size_t nkeys,
                      mp_note_signer *who)
{
    unsigned char r[32];
    if (mp_note_verify(n, keys, nkeys, 1, who) != 0)
        return mp_error_prefix("%s: ", path);
    if (!who[0].signed_it)
        return mp_error_set("%s: not signed by the coordinator's log key %s", path, keys[0].name);
    if (strcmp(c->origin, d->cp.origin) != 0)
        return mp_error_set("%s: a checkpoint of log \"%s\", not of \"%s\"", path, c->origin,
                            d->cp.origin);
    if (mp_tlog_root(d->tree, c->size, r) != 0 || sodium_memcmp(r, c->root, 32) != 0)
        return mp_error_set("%s: its root is not the root of the first %" PRIu64 " entries", path,
                            c->size);
    return 0;
}

/* The consistency of the tree at `first` with the one at `second`, as a witness checks it. */
static int check_consistency(const mp_tlogdir *d, uint64_t first, uint64_t second,
                             const unsigned char first_root[32],
                             const unsigned char second_root[32])
{
    mp_tlog_proof p;
    if (mp_tlog_consistency_proof(d->tree, first, second, &p) != 0 ||
        mp_tlog_consistency_verify(first, second, first_root, second_root, &p) != 0)
        return -1;
    return 0;
}

int mp_tlogdir_verify(const mp_tlogdir *d, const mp_note_key *log_key, const mp_note_key *witnesses,
                      size_t nwitnesses, size_t min_cosigners, mp_tlogdir_report *rep)
{
    mp_note_key *keys = calloc(nwitnesses + 1, sizeof *keys);
    mp_note_signer *who = calloc(nwitnesses + 1, sizeof *who);
    uint64_t prev = 0;
    unsigned char prev_root[32];
    int rc = -1;
    memset(rep, 0, sizeof *rep);
    if (keys == NULL || who == NULL)
        goto oom;
    if (d->note == NULL) {
        mp_error_set("%s: the log is empty (no checkpoint)", d->path);
        goto out;
    }
    keys[0] = *log_key;
    for (size_t i = 0; i < nwitnesses; i++)
        keys[i + 1] = witnesses[i];
    if (d->newer > 0) {
        char path[PATH_MAX];
        mp_note *n;
        mp_checkpoint c;
        int signed_newer = 0;
        if (path_of(path, d->path, "checkpoints", d->newer) == 0 &&
            mp_checkpoint_load(path, &n, &c) == 0) {
            signed_newer = mp_note_verify(n, log_key, 1, 0, who) == 0;
            mp_note_free(n);
            mp_checkpoint_clear(&c);
        }
        if (signed_newer) {
            mp_error_set("%s is a signed checkpoint of more entries than %s/checkpoint: the "
                         "log was rolled back (or an append crashed before its last step; "
                         "appending again repairs that)",
                         path, d->path);
            goto out;
        }
    }
    for (size_t i = 0; i < d->nhistory; i++) {
        char path[PATH_MAX];
        mp_note *n;
        mp_checkpoint c;
        int bad;
        if (path_of(path, d->path, "checkpoints", d->history[i]) != 0 ||
            mp_checkpoint_load(path, &n, &c) != 0)
            goto out;
        bad = c.size != d->history[i]
                  ? mp_error_set("%s holds a checkpoint of %" PRIu64 " entries", path, c.size)
                  : check_note(d, path, n, &c, keys, nwitnesses + 1, who);
        if (!bad && prev > 0 && check_consistency(d, prev, c.size, prev_root, c.root) != 0)
            bad = mp_error_prefix("checkpoints/" NAME_FMT " to checkpoints/" NAME_FMT ": ", prev,
                                  c.size);
        if (!bad) {
            if (prev > 0)
                rep->consistency++;
            prev = c.size;
            memcpy(prev_root, c.root, 32);
            rep->checkpoints++;
        }
        mp_note_free(n);
        mp_checkpoint_clear(&c);
        if (bad)
            goto out;
    }
    {
        char path[PATH_MAX];
        path_of(path, d->path, NULL, 0);
        if (check_note(d, path, d->note, &d->cp, keys, nwitnesses + 1, who) != 0)
            goto out;
        if (prev > 0 && prev < d->cp.size) {
            if (check_consistency(d, prev, d->cp.size, prev_root, d->cp.root) != 0) {
                mp_error_prefix("checkpoints/" NAME_FMT " to checkpoint: ", prev);
                goto out;
            }
            rep->consistency++;
        }
        if (prev != d->cp.size) /* not already counted as the last of the history */
            rep->checkpoints++;
    }
    if ((rep->witness_signed = calloc(nwitnesses + 1, sizeof *rep->witness_signed)) == NULL ||
        (rep->witness_time = calloc(nwitnesses + 1, sizeof *rep->witness_time)) == NULL)
        goto oom;
    for (size_t i = 0; i < nwitnesses; i++) {
        rep->witness_signed[i] = who[i + 1].signed_it;
        rep->witness_time[i] = who[i + 1].timestamp;
        rep->cosigned += (size_t)who[i + 1].signed_it;
    }
    if (rep->cosigned < min_cosigners) {
        mp_error_set("%s/checkpoint: cosigned by %zu witness(es), %zu required", d->path,
                     rep->cosigned, min_cosigners);
        goto out;
    }
    for (uint64_t i = 0; i < d->cp.size; i++) {
        mp_tlog_proof p;
        if (mp_tlogdir_prove_inclusion(d, i, &p) != 0)
            goto out;
        rep->inclusion++;
    }
    rc = 0;
    goto out;
oom:
    mp_error_system("out of memory");
out:
    if (rc != 0)
        mp_tlogdir_report_free(rep);
    free(keys);
    free(who);
    return rc;
}

/* The coordinator, the one writer, knows history files above its latest checkpoint are
 * leftovers of a crashed append: remove them before they could pass for history. */
static int remove_newer(const mp_tlogdir *d)
{
    char path[PATH_MAX];
    DIR *dh;
    struct dirent *e;
    int rc = 0;
    if (snprintf(path, sizeof path, "%s/checkpoints", d->path) >= (int)sizeof path)
        return mp_error_set("%s: path too long", d->path);
    if ((dh = opendir(path)) == NULL)
        return 0;
    while (rc == 0 && (e = readdir(dh)) != NULL) {
        char *end, file[PATH_MAX];
        uint64_t n = strtoull(e->d_name, &end, 10);
        if (e->d_name[0] < '0' || e->d_name[0] > '9' || *end != '\0' || n <= d->cp.size)
            continue;
        if (snprintf(file, sizeof file, "%s/%s", path, e->d_name) >= (int)sizeof file ||
            unlink(file) != 0)
            rc = mp_error_set("%s/%s: cannot remove a crash leftover: %s", path, e->d_name,
                              strerror(errno));
    }
    closedir(dh);
    return rc;
}

/*
 * A file past the latest checkpoint (a new entry, the new history file): written in place, no
 * rename needed, since until the checkpoint covers it nobody relies on it and a leftover is
 * overwritten or removed by the next append. All of them are made durable at once by
 * flush_all before the checkpoint is replaced: one syncfs on Linux (an fsync per file costs
 * a disk flush each: 14 of them made the log 3% of a demo round), else an fsync of each
 * file here and of the directories there.
 */
#ifdef __linux__
#define SYNC_EACH 0
#else
#define SYNC_EACH 1
#endif

static int write_unsynced(const char *path, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return mp_error_set("%s: cannot write: %s", path, strerror(errno));
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            close(fd);
            return mp_error_set("%s: cannot write: %s", path, strerror(errno));
        }
        p += n;
        len -= (size_t)n;
    }
    if ((SYNC_EACH && fsync(fd) != 0) || close(fd) != 0)
        return mp_error_set("%s: cannot sync: %s", path, strerror(errno));
    return 0;
}

static int sync_dir(const char *dir, const char *sub)
{
    char path[PATH_MAX];
    int fd, rc;
    if (snprintf(path, sizeof path, "%s/%s", dir, sub) >= (int)sizeof path)
        return mp_error_set("%s: path too long", dir);
    if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        return mp_error_set("%s: %s", path, strerror(errno));
    rc = fsync(fd);
    close(fd);
    return rc == 0 ? 0 : mp_error_set("%s: cannot sync: %s", path, strerror(errno));
}

static int flush_all(const char *dir)
{
#ifdef __linux__
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;
    if (fd < 0)
        return mp_error_set("%s: %s", dir, strerror(errno));
    rc = syncfs(fd);
    close(fd);
    return rc == 0 ? 0 : mp_error_set("%s: cannot sync: %s", dir, strerror(errno));
#else
    return sync_dir(dir, "entries") || sync_dir(dir, "checkpoints") || sync_dir(dir, ".") ? -1 : 0;
#endif
}

static int mkdir_one(const char *path)
{
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return mp_error_set("%s: cannot create: %s", path, strerror(errno));
    return 0;
}

/* Sign and write a new checkpoint of the tree: history file first, then the latest. */
static int write_checkpoint(mp_tlogdir *d, const char *origin,
                            const unsigned char sign_sk[MP_SIGN_SK_BYTES])
{
    mp_checkpoint c = {0};
    mp_note *n = NULL;
    char *body = NULL, *text = NULL, path[PATH_MAX], tmp[PATH_MAX];
    size_t blen, tlen;
    int rc = -1;
    snprintf(c.origin, sizeof c.origin, "%s", origin);
    c.size = mp_tlog_size(d->tree);
    if (mp_tlog_root(d->tree, c.size, c.root) != 0 || mp_checkpoint_format(&body, &blen, &c) != 0 ||
        mp_note_new(&n, body, blen) != 0 || mp_note_sign(n, origin, sign_sk) != 0 ||
        mp_note_format(&text, &tlen, n) != 0)
        goto out;
    /* The history file and the next checkpoint's temporary join the entries in one flush;
     * then the rename publishes it and the directory's sync makes the rename durable. */
    if (path_of(path, d->path, "checkpoints", c.size) != 0 || write_unsynced(path, text, tlen) != 0)
        goto out;
    if (snprintf(tmp, sizeof tmp, "%s/.checkpoint.tmp", d->path) >= (int)sizeof tmp ||
        path_of(path, d->path, NULL, 0) != 0 || write_unsynced(tmp, text, tlen) != 0 ||
        flush_all(d->path) != 0)
        goto out;
    if (rename(tmp, path) != 0) {
        mp_error_set("%s: cannot replace: %s", path, strerror(errno));
        goto out;
    }
    if (sync_dir(d->path, ".") != 0)
        goto out;
    rc = 0;
out:
    free(body);
    free(text);
    mp_note_free(n);
    return rc;
}

int mp_tlogdir_append(const char *dir, const char *origin,
                      const unsigned char sign_sk[MP_SIGN_SK_BYTES], const mp_tlog_doc *docs,
                      size_t ndocs, uint64_t *added, uint64_t *size)
{
    mp_tlogdir *d = NULL;
    mp_note_key me;
    mp_note_signer who;
    unsigned char *entry = NULL;
    char path[PATH_MAX];
    int rc = -1;
    *added = 0;
    if (mp_note_key_make(&me, origin, MP_NOTE_TYPE_ED25519, sign_sk + 32) != 0)
        return mp_error_prefix("log origin: ");
    if (mp_tlogdir_load(&d, dir, 1) != 0)
        return mp_error_prefix("cannot append to the log: ");
    if (d->note != NULL) {
        if (strcmp(d->cp.origin, origin) != 0) {
            mp_error_set("%s is the log \"%s\", not \"%s\"", dir, d->cp.origin, origin);
            goto out;
        }
        if (mp_note_verify(d->note, &me, 1, 0, &who) != 0) {
            mp_error_prefix("%s/checkpoint is not signed by this coordinator key: ", dir);
            goto out;
        }
    }
    if (mkdir_one(dir) != 0 || (d->newer > 0 && remove_newer(d) != 0))
        goto out;
    if (snprintf(path, sizeof path, "%s/entries", dir) >= (int)sizeof path ||
        mkdir_one(path) != 0 ||
        snprintf(path, sizeof path, "%s/checkpoints", dir) >= (int)sizeof path ||
        mkdir_one(path) != 0)
        goto out;
    for (size_t i = 0; i < ndocs; i++) {
        unsigned char h[32];
        uint64_t at, n = mp_tlog_size(d->tree);
        size_t len;
        int dup = 0;
        mp_hash(h, docs[i].data, docs[i].len);
        if (mp_tlogdir_find(d, docs[i].type, h, &at) == 0)
            continue;
        for (size_t j = 0; j < i && !dup; j++)
            dup = strcmp(docs[j].type, docs[i].type) == 0 && docs[j].len == docs[i].len &&
                  memcmp(docs[j].data, docs[i].data, docs[i].len) == 0;
        if (dup)
            continue;
        if (mp_tlog_entry_encode(&entry, &len, docs[i].type, docs[i].data, docs[i].len) != 0 ||
            path_of(path, dir, "entries", n) != 0 || write_unsynced(path, entry, len) != 0 ||
            mp_tlog_append(d->tree, entry, len) != 0)
            goto out;
        free(entry);
        entry = NULL;
        /* Keep the index in step, so that a later duplicate in this batch is found too. */
        mp_tlog_meta *m = realloc(d->meta, (size_t)(n + 1) * sizeof *m);
        if (m == NULL) {
            mp_error_system("out of memory");
            goto out;
        }
        d->meta = m;
        snprintf(m[n].type, sizeof m[n].type, "%s", docs[i].type);
        memcpy(m[n].sha256, h, 32);
        d->cp.size = n + 1; /* mp_tlogdir_find looks up to cp.size */
        (*added)++;
    }
    if (*added > 0 && write_checkpoint(d, origin, sign_sk) != 0)
        goto out;
    *size = mp_tlog_size(d->tree);
    rc = 0;
out:
    if (rc != 0)
        mp_error_prefix("log %s: ", dir);
    free(entry);
    mp_tlogdir_free(d);
    return rc;
}

int mp_tlogdir_extends(const mp_tlogdir *d, const mp_checkpoint *old)
{
    unsigned char r[32];
    if (d->note == NULL)
        return mp_error_set("%s: the log is empty", d->path);
    if (strcmp(old->origin, d->cp.origin) != 0)
        return mp_error_set("the checkpoint is of log \"%s\", this is \"%s\"", old->origin,
                            d->cp.origin);
    if (old->size > d->cp.size)
        return mp_error_set("the log has %" PRIu64 " entries, fewer than the %" PRIu64
                            " of a checkpoint seen before (it was truncated or forked)",
                            d->cp.size, old->size);
    if (old->size == 0)
        return 0;
    if (old->size == d->cp.size) {
        if (sodium_memcmp(old->root, d->cp.root, 32) != 0)
            return mp_error_set("two checkpoints of %" PRIu64 " entries with different roots "
                                "(a fork)",
                                old->size);
        return 0;
    }
    if (check_consistency(d, old->size, d->cp.size, old->root, d->cp.root) != 0) {
        /* Say whether this directory itself disagrees with the old root (a fork). */
        if (mp_tlog_root(d->tree, old->size, r) == 0 && sodium_memcmp(r, old->root, 32) != 0)
            return mp_error_set("the log's first %" PRIu64 " entries have another root than the "
                                "checkpoint seen before: two different histories (a fork)",
                                old->size);
        return -1;
    }
    return 0;
}

int mp_tlogdir_cosign(const mp_tlogdir *d, const char *name,
                      const unsigned char sign_sk[MP_SIGN_SK_BYTES], uint64_t timestamp,
                      char **line)
{
    mp_note *n;
    if (d->note == NULL)
        return mp_error_set("%s: the log is empty", d->path);
    if (mp_note_new(&n, d->note->text, d->note->text_len) != 0 ||
        mp_note_cosign(n, name, sign_sk, timestamp) != 0) {
        mp_note_free(n);
        return -1;
    }
    *line = strdup(n->sigs[0].line);
    mp_note_free(n);
    return *line ? 0 : mp_error_system("out of memory");
}

/* Add a checked cosignature line to one checkpoint file of `size` entries. */
static int add_line_to(const char *path, uint64_t size, const char *line,
                       const mp_note_key *witness)
{
    mp_note *n = NULL;
    mp_checkpoint c;
    mp_note_signer who;
    char *text = NULL;
    size_t len;
    int rc = -1;
    if (mp_checkpoint_load(path, &n, &c) != 0)
        return -1;
    if (c.size != size) {
        mp_error_set("%s is a checkpoint of %" PRIu64 " entries, not %" PRIu64, path, c.size, size);
        goto out;
    }
    if (mp_note_add_line(n, line, strlen(line)) != 0 ||
        mp_note_verify(n, witness, 1, 0, &who) != 0 || !who.signed_it) {
        mp_error_prefix("%s: cosignature refused: ", path);
        goto out;
    }
    if (mp_note_format(&text, &len, n) != 0 || mp_file_write_atomic(path, text, len, 0644) != 0)
        goto out;
    rc = 0;
out:
    free(text);
    mp_note_free(n);
    mp_checkpoint_clear(&c);
    return rc;
}

int mp_tlogdir_add_cosignature(const char *dir, uint64_t size, const char *line,
                               const mp_note_key *witness)
{
    char path[PATH_MAX];
    mp_note *n;
    mp_checkpoint c;
    int latest;
    if (path_of(path, dir, "checkpoints", size) != 0 || add_line_to(path, size, line, witness))
        return -1;
    if (path_of(path, dir, NULL, 0) != 0 || mp_checkpoint_load(path, &n, &c) != 0)
        return -1;
    latest = c.size == size;
    mp_note_free(n);
    mp_checkpoint_clear(&c);
    return latest ? add_line_to(path, size, line, witness) : 0;
}
