/*
 * catalog.c - the namespace manager (engine.h): the db directory, one sub-directory per namespace,
 * the `default` namespace, creation and durable deletion.
 *
 * Creation: the directory is made as `.<id>.creating`, namespace.json written and fsynced, then
 * renamed to `<id>` and the db directory fsynced: a crash leaves either nothing or a whole
 * namespace. Deletion: `<id>` is renamed to `.<id>.deleting` (fsync of the db directory: the
 * namespace is gone from that instant), then its files are removed. Start-up removes leftovers of
 * both. (The issue text puts the catalog in src/core; it lives in src/engine because it owns
 * directories, which core may not touch: docs/decisions.md.)
 *
 * Concurrency: `mu` guards the sorted array of namespaces; a namespace handed out carries a
 * reference (ns_acquire), so deletion never frees one in use.
 */
#include "engine/ns_int.h"

#include "core/collection.h"
#include "util/alloc.h"
#include "util/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct vs_catalog {
    vs_catalog_config cfg;
    char path[PATH_MAX];
    pthread_mutex_t mu; /* guards ns, n, cap */
    vs_ns_t **ns;       /* sorted by id */
    size_t n, cap;
};

static void fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char p[PATH_MAX + 300];
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

/* mkdir -p: the db path and any missing parents (SPEC 1: "created if missing"). */
static int mkdir_parents(const char *path)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s", path);
    for (char *q = p + 1; *q; q++) {
        if (*q != '/') continue;
        *q = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) return -1;
        *q = '/';
    }
    return mkdir(p, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

vs_err cat_open(const vs_catalog_config *cfg, vs_catalog_t **out, vs_status *st)
{
    struct stat sb;
    if (stat(cfg->db_path, &sb) == 0) {
        if (!S_ISDIR(sb.st_mode))
            return vs_status_set(st, VS_ERR_INVALID_ARGUMENT,
                                 "database path '%s' is not a directory", cfg->db_path);
    } else if (mkdir_parents(cfg->db_path) != 0) {
        return vs_status_set(st, VS_ERR_IO, "cannot create database directory '%s': %s",
                             cfg->db_path, strerror(errno));
    }
    if (access(cfg->db_path, R_OK | W_OK | X_OK) != 0)
        return vs_status_set(st, VS_ERR_IO,
                             "database directory '%s' is not readable and writable: %s",
                             cfg->db_path, strerror(errno));
    vs_catalog_t *c = vs_calloc(1, sizeof *c);
    if (!c) return vs_status_set(st, VS_ERR_NOMEM, "out of memory");
    c->cfg = *cfg;
    snprintf(c->path, sizeof c->path, "%s", cfg->db_path);
    c->cfg.db_path = c->path;
    pthread_mutex_init(&c->mu, NULL);
    *out = c;
    return VS_OK;
}

static size_t find_pos(vs_catalog_t *c, const char *id, bool *found)
{
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int d = strcmp(c->ns[mid]->meta.id, id);
        if (d == 0) {
            *found = true;
            return mid;
        }
        if (d < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

static vs_err insert(vs_catalog_t *c, vs_ns_t *ns, vs_status *st)
{
    bool found;
    size_t pos = find_pos(c, ns->meta.id, &found);
    if (found)
        return vs_status_set(st, VS_ERR_ALREADY_EXISTS, "Namespace '%s' already exists",
                             ns->meta.id);
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        vs_ns_t **a = vs_realloc(c->ns, cap * sizeof *a);
        if (!a) return vs_status_set(st, VS_ERR_NOMEM, "out of memory");
        c->ns = a;
        c->cap = cap;
    }
    memmove(c->ns + pos + 1, c->ns + pos, (c->n - pos) * sizeof *c->ns);
    c->ns[pos] = ns;
    c->n++;
    return VS_OK;
}

static vs_err load_one(vs_catalog_t *c, const char *name, vs_status *st)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/%s", c->path, name);
    vs_ns_meta m;
    vs_err rc = ns_meta_read(dir, &m, st);
    if (rc != VS_OK) return rc;
    if (strcmp(m.id, name) != 0)
        return vs_status_set(st, VS_ERR_CORRUPT,
                             "%s/namespace.json: id '%s' does not match its directory", dir, m.id);
    vs_ns_t *ns;
    rc = ns_open(dir, &m, c->cfg.fsync, &ns, st);
    if (rc != VS_OK) return rc;
    pthread_mutex_lock(&c->mu);
    rc = insert(c, ns, st);
    pthread_mutex_unlock(&c->mu);
    if (rc != VS_OK)
        ns_close(ns, false);
    else {
        coll_stats cs;
        coll_get_stats(ns_coll(ns), &cs);
        vs_log_info("namespace=%s loaded records=%llu", name,
                    (unsigned long long)(cs.live + cs.soft));
    }
    return rc;
}

vs_err cat_load_all(vs_catalog_t *c, vs_status *st)
{
    DIR *d = opendir(c->path);
    if (!d)
        return vs_status_set(st, VS_ERR_IO, "cannot read database directory '%s': %s", c->path,
                             strerror(errno));
    struct dirent *e;
    vs_err rc = VS_OK;
    char p[PATH_MAX + 300];
    while (rc == VS_OK && (e = readdir(d))) {
        if (e->d_name[0] == '.') {
            size_t l = strlen(e->d_name);
            if (l > 9 && (strstr(e->d_name, ".creating") || strstr(e->d_name, ".deleting"))) {
                snprintf(p, sizeof p, "%s/%s", c->path, e->d_name);
                vs_log_info("removing the leftover '%s' of an interrupted namespace change", p);
                remove_tree(p);
            }
            continue;
        }
        snprintf(p, sizeof p, "%s/%s", c->path, e->d_name);
        struct stat sb;
        if (stat(p, &sb) != 0 || !S_ISDIR(sb.st_mode) || !vs_ns_id_valid(e->d_name)) continue;
        rc = load_one(c, e->d_name, st);
    }
    closedir(d);
    if (rc != VS_OK) return rc;
    vs_ns_t *def = cat_get(c, "default");
    if (def) {
        ns_release(def);
        return VS_OK;
    }
    vs_ns_meta m;
    memset(&m, 0, sizeof m);
    snprintf(m.id, sizeof m.id, "default");
    snprintf(m.name, sizeof m.name, "default");
    m.created_at = (int64_t)time(NULL);
    m.dim = c->cfg.default_dim;
    m.metric = c->cfg.default_metric;
    rc = cat_create(c, &m, NULL, st);
    return rc == VS_ERR_ALREADY_EXISTS ? VS_OK : rc;
}

vs_ns_t *cat_get(vs_catalog_t *c, const char *id)
{
    if (!id || !*id) id = "default";
    pthread_mutex_lock(&c->mu);
    bool found;
    size_t pos = find_pos(c, id, &found);
    vs_ns_t *ns = found ? c->ns[pos] : NULL;
    if (ns) ns_acquire(ns);
    pthread_mutex_unlock(&c->mu);
    return ns;
}

vs_err cat_create(vs_catalog_t *c, const vs_ns_meta *meta, vs_ns_t **out, vs_status *st)
{
    if (!vs_ns_id_valid(meta->id))
        return vs_status_set(st, VS_ERR_INVALID_ARGUMENT,
                             "Invalid namespace id '%.80s': use 1-64 letters, digits, '_' or '-', "
                             "starting with a letter or digit",
                             meta->id);
    pthread_mutex_lock(&c->mu);
    bool found;
    find_pos(c, meta->id, &found);
    vs_err rc = VS_OK;
    if (found) {
        pthread_mutex_unlock(&c->mu);
        return vs_status_set(st, VS_ERR_ALREADY_EXISTS, "Namespace '%s' already exists", meta->id);
    }
    char tmp[PATH_MAX], dir[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s/.%s.creating", c->path, meta->id);
    snprintf(dir, sizeof dir, "%s/%s", c->path, meta->id);
    remove_tree(tmp);
    if (mkdir(tmp, 0755) != 0) {
        rc = vs_status_set(st, errno == ENOSPC ? VS_ERR_NOSPACE : VS_ERR_IO,
                           "cannot create '%s': %s", tmp, strerror(errno));
    }
    if (rc == VS_OK) rc = ns_meta_write(tmp, meta, st);
    if (rc == VS_OK && rename(tmp, dir) != 0)
        rc = vs_status_set(st, VS_ERR_IO, "rename to '%s' failed: %s", dir, strerror(errno));
    if (rc != VS_OK) {
        remove_tree(tmp);
        pthread_mutex_unlock(&c->mu);
        return rc;
    }
    fsync_dir(c->path);
    vs_ns_t *ns;
    rc = ns_open(dir, meta, c->cfg.fsync, &ns, st);
    if (rc == VS_OK) rc = insert(c, ns, st);
    if (rc == VS_OK && out) {
        ns_acquire(ns);
        *out = ns;
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

vs_err cat_delete(vs_catalog_t *c, const char *id, vs_status *st)
{
    pthread_mutex_lock(&c->mu);
    bool found;
    size_t pos = find_pos(c, id, &found);
    if (!found) {
        pthread_mutex_unlock(&c->mu);
        return vs_status_set(st, VS_ERR_NOT_FOUND, "Namespace '%s' not found", id);
    }
    vs_ns_t *ns = c->ns[pos];
    char dir[PATH_MAX], tomb[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/%s", c->path, id);
    snprintf(tomb, sizeof tomb, "%s/.%s.deleting", c->path, id);
    remove_tree(tomb);
    if (rename(dir, tomb) != 0) {
        pthread_mutex_unlock(&c->mu);
        return vs_status_set(st, VS_ERR_IO, "cannot remove namespace directory '%s': %s", dir,
                             strerror(errno));
    }
    fsync_dir(c->path);
    memmove(c->ns + pos, c->ns + pos + 1, (c->n - pos - 1) * sizeof *c->ns);
    c->n--;
    pthread_mutex_unlock(&c->mu);
    /* the namespace keeps serving requests already holding it; its files are gone */
    snprintf(ns->dir, sizeof ns->dir, "%s", tomb);
    ns_release(ns);
    remove_tree(tomb);
    fsync_dir(c->path);
    return VS_OK;
}

size_t cat_list(vs_catalog_t *c, vs_ns_t ***out)
{
    pthread_mutex_lock(&c->mu);
    size_t n = c->n;
    vs_ns_t **a = vs_malloc((n ? n : 1) * sizeof *a);
    if (!a) n = 0;
    for (size_t i = 0; i < n; i++) {
        a[i] = c->ns[i];
        ns_acquire(a[i]);
    }
    pthread_mutex_unlock(&c->mu);
    *out = a;
    return n;
}

void cat_close(vs_catalog_t *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->n; i++) ns_close(c->ns[i], true);
    vs_free(c->ns);
    pthread_mutex_destroy(&c->mu);
    vs_free(c);
}
