/*
 * config.h - the server's command line and environment (SPEC section 1).
 *
 * srv_config_parse() turns argv + the environment into one srv_config: every long flag
 * `--foo-bar` may also come from `VECSTORE_FOO_BAR`; `DB_PATH` is --db-path, `VECSTORE_API_KEY`
 * is --api-key, `VECSTORE_LOG` / `RUST_LOG` give the log level. Precedence: flag > environment >
 * default. Every value is validated here (ranges, enums, TLS files readable, db path not a regular
 * file), so a bad value stops start-up before anything is opened, with one line naming the flag
 * (or variable) and the value: `invalid value '0' for '--http-port <PORT>': port must be 1-65535`.
 *
 * Ownership: string fields point into argv / envp (which live as long as the process); nothing
 * is allocated, so there is nothing to free.
 * Thread-safety: call once from main before any thread exists.
 */
#ifndef VS_SERVER_CONFIG_H
#define VS_SERVER_CONFIG_H

#include "service/service.h"
#include "util/log.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifndef VS_VERSION
#define VS_VERSION "0.1.0"
#endif

#define SRV_DEFAULT_DB_PATH         "vecstore.db"
#define SRV_DEFAULT_HOST            "0.0.0.0"
#define SRV_DEFAULT_HTTP_PORT       8080
#define SRV_DEFAULT_GRPC_PORT       50051
#define SRV_DEFAULT_MAX_BODY        67108864u /* 64 MiB (SPEC 12) */
#define SRV_DEFAULT_MAX_WS_FRAME    16777216u /* 16 MiB */
#define SRV_DEFAULT_MAX_CONNECTIONS 10000u
#define SRV_DEFAULT_IDLE_TIMEOUT_S  30u
#define SRV_MAX_THREADS             1024u
#define SRV_MAX_DIMENSION           65536u

typedef struct srv_config {
    const char *db_path;
    const char *host;
    uint16_t http_port, grpc_port;
    bool http_enabled, grpc_enabled;
    uint32_t dimension; /* 0 = unset (fixed by the first vector) */
    vs_svc_metric metric;
    vs_svc_fsync fsync;
    unsigned threads; /* resolved: never 0 */
    size_t max_body_bytes;
    size_t max_ws_frame_bytes;
    unsigned max_connections;
    unsigned idle_timeout_s;
    const char *api_key; /* NULL = open server */
    bool metrics_require_key;
    const char *tls_cert, *tls_key, *tls_client_ca; /* NULL = plain TCP */
    vs_log_level log_level;
    /* A log-level variable that could not be read (RUST_LOG is shared with other programs, so
     * it only warns): the variable's name and value, else NULL. */
    const char *log_env_ignored_name, *log_env_ignored_value;
} srv_config;

typedef enum {
    SRV_CFG_RUN = 0, /* start the server with *out */
    SRV_CFG_HELP,    /* -h / --help: print srv_config_help to stdout, exit 0 */
    SRV_CFG_VERSION, /* -V / --version: print `vecstore-server <version>`, exit 0 */
    SRV_CFG_ERROR,   /* err holds one line (no "error: " prefix, no newline); exit 2 */
} srv_cfg_result;

/* envp: a NULL-terminated "NAME=value" array (environ). An empty variable counts as unset. */
srv_cfg_result srv_config_parse(int argc, char *const argv[], char *const envp[], srv_config *out,
                                char *err, size_t err_len);
/* The option list in the deployment guide's layout, every option with its default. */
void srv_config_help(FILE *f);
const char *srv_metric_name(vs_svc_metric m);
const char *srv_fsync_name(vs_svc_fsync f);

#endif
