/*
 * service_auth.c - API keys (SPEC 11): the admin key from --api-key, and per-namespace keys
 * created through the admin API, shown once, stored as SHA-256(salt || key) with a random 16-byte
 * salt in the namespace's directory (keys.json, written atomically), compared in constant time.
 *
 * Checks: no admin key configured = an open server (every request allowed). Otherwise a data
 * request needs the admin key or a key of its own namespace (401 without a valid key, 403 for a
 * key of another namespace); admin routes need the admin key (403 for a namespace key).
 * Concurrency: keys_mu guards the key table; hashing happens outside it.
 */
#include "service/svc_int.h"

#include "util/alloc.h"
#include "util/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void sha256(const unsigned char *salt, size_t salt_len, const char *key,
                   unsigned char out[32])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned int n = 32;
    EVP_DigestInit_ex(c, EVP_sha256(), NULL);
    if (salt_len) EVP_DigestUpdate(c, salt, salt_len);
    EVP_DigestUpdate(c, key, strlen(key));
    EVP_DigestFinal_ex(c, out, &n);
    EVP_MD_CTX_free(c);
}

static bool is_admin(vs_service_t *s, const char *key)
{
    unsigned char a[32], b[32];
    sha256(NULL, 0, key, a);
    sha256(NULL, 0, s->admin_key, b);
    return CRYPTO_memcmp(a, b, 32) == 0;
}

/* The namespace a key belongs to, or false. */
static bool key_namespace(vs_service_t *s, const char *key, char ns_out[72])
{
    bool found = false;
    pthread_mutex_lock(&s->keys_mu);
    for (size_t i = 0; i < s->n_keys && !found; i++) {
        unsigned char h[32];
        sha256(s->keys[i].salt, sizeof s->keys[i].salt, key, h);
        if (CRYPTO_memcmp(h, s->keys[i].hash, 32) == 0) {
            memcpy(ns_out, s->keys[i].namespace_id, 72);
            found = true;
        }
    }
    pthread_mutex_unlock(&s->keys_mu);
    return found;
}

static vs_err missing(vs_status *st)
{
    return vs_status_set(
        st, VS_ERR_UNAUTHENTICATED,
        "Missing API key: send 'Authorization: Bearer <key>' or 'x-api-key: <key>'");
}

vs_err svc_auth_data(vs_service_t *s, const char *key, const char *ns_id, vs_status *st)
{
    if (!s->admin_key[0]) return VS_OK;
    if (!key || !*key) return missing(st);
    if (is_admin(s, key)) return VS_OK;
    char ns[72];
    if (!key_namespace(s, key, ns))
        return vs_status_set(st, VS_ERR_UNAUTHENTICATED, "Invalid API key");
    if (strcmp(ns, ns_id) != 0)
        return vs_status_set(st, VS_ERR_PERMISSION_DENIED,
                             "API key is not allowed to access namespace '%.80s'", ns_id);
    return VS_OK;
}

vs_err svc_auth_admin(vs_service_t *s, const char *key, vs_status *st)
{
    if (!s->admin_key[0]) return VS_OK;
    if (!key || !*key) return missing(st);
    if (is_admin(s, key)) return VS_OK;
    char ns[72];
    if (key_namespace(s, key, ns))
        return vs_status_set(st, VS_ERR_PERMISSION_DENIED,
                             "A namespace API key cannot use the admin API");
    return vs_status_set(st, VS_ERR_UNAUTHENTICATED, "Invalid API key");
}

vs_err svc_check_metrics_access(vs_service_t *s, const char *key, vs_status *st)
{
    if (!s->cfg.metrics_require_key || !s->admin_key[0]) return VS_OK;
    if (!key || !*key) return missing(st);
    char ns[72];
    if (is_admin(s, key) || key_namespace(s, key, ns)) return VS_OK;
    return vs_status_set(st, VS_ERR_UNAUTHENTICATED, "Invalid API key");
}

/* ---- persistence: <db>/<namespace>/keys.json ---- */

static void hex(const unsigned char *p, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) out[2 * i] = d[p[i] >> 4], out[2 * i + 1] = d[p[i] & 15];
    out[2 * n] = '\0';
}

static bool unhex(const char *s, unsigned char *out, size_t n)
{
    if (!s || strlen(s) != 2 * n) return false;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1) return false;
        out[i] = (unsigned char)v;
    }
    return true;
}

/* keys_mu held. */
static vs_err save_ns_keys(vs_service_t *s, const char *ns_id, vs_status *st)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < s->n_keys; i++) {
        if (strcmp(s->keys[i].namespace_id, ns_id) != 0) continue;
        char salt[33], hash[65];
        hex(s->keys[i].salt, 16, salt);
        hex(s->keys[i].hash, 32, hash);
        json_array_append_new(arr, json_pack("{s:s, s:I, s:s, s:s}", "key_id", s->keys[i].key_id,
                                             "created_at", (json_int_t)s->keys[i].created_at,
                                             "salt", salt, "sha256", hash));
    }
    json_t *doc =
        json_pack("{s:s, s:i, s:o}", "format", "vecstore-keys", "version", 1, "keys", arr);
    char path[PATH_MAX + 100], tmp[PATH_MAX + 100];
    snprintf(path, sizeof path, "%s/%s/keys.json", s->db_path, ns_id);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    vs_err rc = VS_OK;
    if (json_dump_file(doc, tmp, JSON_INDENT(2)) != 0) {
        rc = vs_status_set(st, VS_ERR_IO, "writing %s failed: %s", tmp, strerror(errno));
    } else {
        int fd = open(tmp, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            fsync(fd);
            close(fd);
        }
        if (rename(tmp, path) != 0)
            rc = vs_status_set(st, VS_ERR_IO, "rename(%s) failed: %s", path, strerror(errno));
    }
    json_decref(doc);
    return rc;
}

vs_err svc_keys_load(vs_service_t *s, vs_status *st)
{
    (void)st;
    vs_ns_t **all;
    size_t n = cat_list(s->cat, &all);
    pthread_mutex_lock(&s->keys_mu);
    for (size_t i = 0; i < n; i++) {
        char path[PATH_MAX + 100];
        snprintf(path, sizeof path, "%s/%s/keys.json", s->db_path, ns_id(all[i]));
        json_t *doc = json_load_file(path, 0, NULL);
        json_t *arr = json_object_get(doc, "keys"), *k;
        size_t j;
        json_array_foreach(arr, j, k)
        {
            svc_key key;
            memset(&key, 0, sizeof key);
            snprintf(key.key_id, sizeof key.key_id, "%s",
                     json_string_value(json_object_get(k, "key_id")) ?: "");
            snprintf(key.namespace_id, sizeof key.namespace_id, "%s", ns_id(all[i]));
            key.created_at = json_integer_value(json_object_get(k, "created_at"));
            if (!unhex(json_string_value(json_object_get(k, "salt")), key.salt, 16) ||
                !unhex(json_string_value(json_object_get(k, "sha256")), key.hash, 32)) {
                vs_log_warn("%s: skipping a malformed key entry", path);
                continue;
            }
            svc_key *nk = vs_realloc(s->keys, (s->n_keys + 1) * sizeof *nk);
            if (!nk) break;
            s->keys = nk;
            s->keys[s->n_keys++] = key;
        }
        json_decref(doc);
        ns_release(all[i]);
    }
    pthread_mutex_unlock(&s->keys_mu);
    vs_free(all);
    return VS_OK;
}

void svc_keys_free(vs_service_t *s)
{
    vs_free(s->keys);
    s->keys = NULL;
    s->n_keys = 0;
}

vs_err svc_key_create(vs_service_t *s, const vs_req *req, const char *ns_id, vs_key_info *out,
                      vs_status *st)
{
    vs_err rc = svc_auth_admin(s, req->api_key, st);
    if (rc != VS_OK) return rc;
    vs_ns_t *ns = cat_get(s->cat, ns_id);
    if (!ns) return vs_status_set(st, VS_ERR_NOT_FOUND, "Namespace '%.80s' not found", ns_id);
    ns_release(ns);
    unsigned char secret[32], idb[8];
    svc_key k;
    memset(&k, 0, sizeof k);
    if (RAND_bytes(secret, sizeof secret) != 1 || RAND_bytes(idb, sizeof idb) != 1 ||
        RAND_bytes(k.salt, sizeof k.salt) != 1)
        return vs_status_set(st, VS_ERR_INTERNAL, "random number generator failure");
    memset(out, 0, sizeof *out);
    char sh[65], ih[17];
    hex(secret, sizeof secret, sh);
    hex(idb, sizeof idb, ih);
    snprintf(out->key, sizeof out->key, "vsk_%s", sh);
    snprintf(out->key_id, sizeof out->key_id, "key_%s", ih);
    snprintf(out->namespace_id, sizeof out->namespace_id, "%s", ns_id);
    out->created_at = (int64_t)time(NULL);
    memcpy(k.key_id, out->key_id, sizeof k.key_id);
    memcpy(k.namespace_id, out->namespace_id, sizeof k.namespace_id);
    k.created_at = out->created_at;
    sha256(k.salt, sizeof k.salt, out->key, k.hash);
    pthread_mutex_lock(&s->keys_mu);
    svc_key *nk = vs_realloc(s->keys, (s->n_keys + 1) * sizeof *nk);
    if (!nk) {
        rc = vs_status_set(st, VS_ERR_NOMEM, "out of memory");
    } else {
        s->keys = nk;
        s->keys[s->n_keys++] = k;
        rc = save_ns_keys(s, ns_id, st);
        if (rc != VS_OK) s->n_keys--;
    }
    pthread_mutex_unlock(&s->keys_mu);
    OPENSSL_cleanse(secret, sizeof secret);
    return rc;
}

vs_err svc_key_list(vs_service_t *s, const vs_req *req, const char *ns_id, vs_key_info **out,
                    size_t *n_out, vs_status *st)
{
    *out = NULL;
    *n_out = 0;
    vs_err rc = svc_auth_admin(s, req->api_key, st);
    if (rc != VS_OK) return rc;
    vs_ns_t *ns = cat_get(s->cat, ns_id);
    if (!ns) return vs_status_set(st, VS_ERR_NOT_FOUND, "Namespace '%.80s' not found", ns_id);
    ns_release(ns);
    pthread_mutex_lock(&s->keys_mu);
    vs_key_info *arr = vs_calloc(s->n_keys ? s->n_keys : 1, sizeof *arr);
    size_t n = 0;
    for (size_t i = 0; arr && i < s->n_keys; i++) {
        if (strcmp(s->keys[i].namespace_id, ns_id) != 0) continue;
        memcpy(arr[n].key_id, s->keys[i].key_id, sizeof arr[n].key_id);
        memcpy(arr[n].namespace_id, s->keys[i].namespace_id, sizeof arr[n].namespace_id);
        arr[n].created_at = s->keys[i].created_at;
        n++;
    }
    pthread_mutex_unlock(&s->keys_mu);
    if (!arr) return vs_status_set(st, VS_ERR_NOMEM, "out of memory");
    *out = arr;
    *n_out = n;
    return VS_OK;
}

vs_err svc_key_revoke(vs_service_t *s, const vs_req *req, const char *ns_id, const char *key_id,
                      vs_status *st)
{
    vs_err rc = svc_auth_admin(s, req->api_key, st);
    if (rc != VS_OK) return rc;
    pthread_mutex_lock(&s->keys_mu);
    rc = vs_status_set(st, VS_ERR_NOT_FOUND, "API key '%.60s' not found in namespace '%.80s'",
                       key_id, ns_id);
    for (size_t i = 0; i < s->n_keys; i++) {
        if (strcmp(s->keys[i].namespace_id, ns_id) != 0 || strcmp(s->keys[i].key_id, key_id) != 0)
            continue;
        svc_key removed = s->keys[i];
        memmove(s->keys + i, s->keys + i + 1, (s->n_keys - i - 1) * sizeof *s->keys);
        s->n_keys--;
        vs_status_clear(st);
        rc = save_ns_keys(s, ns_id, st);
        if (rc != VS_OK) { /* keep the table in step with the file */
            memmove(s->keys + i + 1, s->keys + i, (s->n_keys - i) * sizeof *s->keys);
            s->keys[i] = removed;
            s->n_keys++;
        }
        break;
    }
    pthread_mutex_unlock(&s->keys_mu);
    return rc;
}
