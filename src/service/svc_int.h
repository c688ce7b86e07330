/*
 * svc_int.h - the service object and ticket shared by service.c, service_query.c,
 * service_admin.c and service_auth.c (private to src/service).
 */
#ifndef VS_SERVICE_SVC_INT_H
#define VS_SERVICE_SVC_INT_H

#include "service/service.h"

#include "vecstore/engine.h"

#include "service/metrics.h"
#include "service/qcache.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>

typedef struct svc_key {
    char key_id[40];
    char namespace_id[72];
    int64_t created_at;
    unsigned char salt[16];
    unsigned char hash[32]; /* SHA-256(salt || key) */
} svc_key;

struct vs_service {
    vs_service_config cfg; /* strings copied into the buffers below */
    char db_path[PATH_MAX];
    char admin_key[256];
    _Atomic int state;      /* vs_svc_state */
    _Atomic long in_flight; /* tickets not yet released */
    vs_catalog_t *cat;
    vs_metrics_t *metrics;
    vs_qcache_t *cache;
    pthread_mutex_t keys_mu; /* guards keys, n_keys */
    svc_key *keys;
    size_t n_keys;
};

struct vs_ticket {
    vs_service_t *s;
    vs_ns_t *ns; /* one reference */
    vs_op op;
    bool holds_query_slot;
    int64_t start_us;
    int64_t deadline_us;
    vs_ns_meta meta; /* the namespace's settings and limits at admission */
};

int64_t svc_now_us(void);
const char *svc_metric_name(int m);

/* service_auth.c */
vs_err svc_auth_data(vs_service_t *s, const char *key, const char *ns_id, vs_status *st);
vs_err svc_auth_admin(vs_service_t *s, const char *key, vs_status *st);
vs_err svc_keys_load(vs_service_t *s, vs_status *st);
void svc_keys_free(vs_service_t *s);

#endif
