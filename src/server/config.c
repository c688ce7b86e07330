/*
 * config.c - command line + environment -> srv_config (SPEC section 1), and --help.
 *
 * How it works: one table (opts[] below, nginx's directive-table style) lists every option with
 * its short name, value placeholder, kind, range, default and help line; --help is printed from
 * it and the environment variable of each option is derived from its long name
 * (`max-body-bytes` -> VECSTORE_MAX_BODY_BYTES). Parsing runs in three passes:
 *   1. argv, left to right: `--name value`, `--name=value`, `-d value`, `-dvalue`, `-d=value`.
 *      -h/--help and -V/--version answer at once. An unknown option or a stray argument is an
 *      error. A repeated option: the last one wins.
 *   2. For every option the command line did not set: VECSTORE_<NAME>, then the option's alias
 *      variable (DB_PATH for --db-path). Empty variables count as unset.
 *   3. Each collected value is converted and validated in table order; then the cross-option
 *      rules (one protocol at least, TLS cert and key together, client CA needs a cert); then
 *      the log level (--debug / VECSTORE_DEBUG raise it to at least debug; VECSTORE_LOG, else
 *      RUST_LOG, else info).
 *
 * Invariants:
 *   1. An error leaves exactly one line in err, naming the flag (with its placeholder) or the
 *      variable, and the offending value, never an API key.
 *   2. A value that a flag overrides is never looked at: a bad VECSTORE_HTTP_PORT with a good
 *      --http-port starts the server.
 *   3. RUST_LOG that names no level we know is not an error (other programs share the variable);
 *      it is reported back for main to warn about once logging is up.
 *
 * Concurrency: none; main calls it once before any thread starts.
 * Callers: src/server/main.c.
 */
#include "server/config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

typedef enum {
    K_DB_PATH, /* a directory path that must not be a regular file */
    K_STRING,  /* any non-empty string */
    K_SECRET,  /* like K_STRING, never echoed */
    K_FILE,    /* a readable regular file */
    K_PORT,    /* 1..65535 */
    K_UINT,    /* decimal integer in [min, max] */
    K_SIZE,    /* bytes, optional K/M/G (binary) suffix, in [min, max] */
    K_SWITCH,  /* no value on the command line; true/false in the environment */
    K_METRIC,
    K_FSYNC,
    K_HELP,
    K_VERSION,
} opt_kind;

typedef enum {
    OPT_DB_PATH,
    OPT_GRPC_PORT,
    OPT_HTTP_PORT,
    OPT_HOST,
    OPT_DIMENSION,
    OPT_METRIC,
    OPT_DEBUG,
    OPT_NO_GRPC,
    OPT_NO_HTTP,
    OPT_THREADS,
    OPT_FSYNC,
    OPT_MAX_BODY,
    OPT_MAX_WS_FRAME,
    OPT_MAX_CONNECTIONS,
    OPT_IDLE_TIMEOUT,
    OPT_API_KEY,
    OPT_METRICS_REQUIRE_KEY,
    OPT_TLS_CERT,
    OPT_TLS_KEY,
    OPT_TLS_CLIENT_CA,
    OPT_HELP,
    OPT_VERSION,
    OPT__COUNT
} opt_id;

typedef struct opt_def {
    char short_name;        /* 0 = none */
    const char *name;       /* long name without the dashes */
    const char *value_name; /* "<PATH>"; NULL for switches */
    opt_kind kind;
    uint64_t min, max;     /* K_UINT / K_SIZE */
    const char *help;      /* the help line, defaults included */
    const char *alias_env; /* a second variable meaning the same, or NULL */
} opt_def;

/* Indexed by opt_id; the order is the --help order (the guide's first, then the SPEC's). */
static const opt_def opts[OPT__COUNT] = {
    [OPT_DB_PATH] = {'d', "db-path", "<PATH>", K_DB_PATH, 0, 0,
                     "Path to vector database (a directory) [default: vecstore.db]", "DB_PATH"},
    [OPT_GRPC_PORT] = {0, "grpc-port", "<PORT>", K_PORT, 1, 65535,
                       "gRPC server port [default: 50051]", NULL},
    [OPT_HTTP_PORT] = {0, "http-port", "<PORT>", K_PORT, 1, 65535,
                       "HTTP server port [default: 8080]", NULL},
    [OPT_HOST] = {0, "host", "<ADDR>", K_STRING, 0, 0,
                  "Address to bind both servers to [default: 0.0.0.0]", NULL},
    [OPT_DIMENSION] = {0, "dimension", "<DIM>", K_UINT, 1, SRV_MAX_DIMENSION,
                       "Vector dimension (for new databases)", NULL},
    [OPT_METRIC] = {0, "metric", "<M>", K_METRIC, 0, 0,
                    "Metric (for new databases): cosine | l2 | dot [default: cosine]", NULL},
    [OPT_DEBUG] = {0, "debug", NULL, K_SWITCH, 0, 0, "Enable debug logging", NULL},
    [OPT_NO_GRPC] = {0, "no-grpc", NULL, K_SWITCH, 0, 0, "Disable gRPC server", NULL},
    [OPT_NO_HTTP] = {0, "no-http", NULL, K_SWITCH, 0, 0, "Disable HTTP server", NULL},
    [OPT_THREADS] = {0, "threads", "<N>", K_UINT, 1, SRV_MAX_THREADS,
                     "Query worker threads [default: number of cores]", NULL},
    [OPT_FSYNC] = {0, "fsync", "<POLICY>", K_FSYNC, 0, 0,
                   "Write durability: always | everysec | never [default: always]", NULL},
    [OPT_MAX_BODY] = {0, "max-body-bytes", "<N>", K_SIZE, 1, (uint64_t)1 << 40,
                      "Largest HTTP body / gRPC message in bytes [default: 67108864]", NULL},
    [OPT_MAX_WS_FRAME] = {0, "max-ws-frame-bytes", "<N>", K_SIZE, 1, (uint64_t)1 << 40,
                          "Largest WebSocket message in bytes [default: 16777216]", NULL},
    [OPT_MAX_CONNECTIONS] = {0, "max-connections", "<N>", K_UINT, 1, 1000000,
                             "Most simultaneous client connections [default: 10000]", NULL},
    [OPT_IDLE_TIMEOUT] = {0, "idle-timeout", "<SECS>", K_UINT, 1, 86400,
                          "Drop a client idle this long mid-request [default: 30]", NULL},
    [OPT_API_KEY] = {0, "api-key", "<KEY>", K_SECRET, 0, 0,
                     "Admin API key [default: none = open server]", "VECSTORE_API_KEY"},
    [OPT_METRICS_REQUIRE_KEY] = {0, "metrics-require-key", NULL, K_SWITCH, 0, 0,
                                 "Require an API key for /metrics too [default: open]", NULL},
    [OPT_TLS_CERT] = {0, "tls-cert", "<PEM>", K_FILE, 0, 0,
                      "TLS certificate chain (PEM), both ports [default: no TLS]", NULL},
    [OPT_TLS_KEY] = {0, "tls-key", "<PEM>", K_FILE, 0, 0, "TLS private key (PEM), with --tls-cert",
                     NULL},
    [OPT_TLS_CLIENT_CA] = {0, "tls-client-ca", "<PEM>", K_FILE, 0, 0,
                           "Require client certificates signed by this CA (PEM)", NULL},
    [OPT_HELP] = {'h', "help", NULL, K_HELP, 0, 0, "Print help", NULL},
    [OPT_VERSION] = {'V', "version", NULL, K_VERSION, 0, 0, "Print version", NULL},
};

/* One collected value and where it came from ("--http-port <PORT>" or "VECSTORE_HTTP_PORT"). */
typedef struct opt_val {
    const char *value;
    char source[160];
    bool from_flag;
} opt_val;

static void set_err(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t err_len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
    for (char *p = err; *p; p++)
        if ((unsigned char)*p < 0x20) *p = '?'; /* one line, whatever the value held */
}

static void flag_label(const opt_def *o, char *buf, size_t n)
{
    if (o->value_name)
        snprintf(buf, n, "--%s %s", o->name, o->value_name);
    else
        snprintf(buf, n, "--%s", o->name);
}

static void env_name(const opt_def *o, char *buf, size_t n)
{
    size_t j = (size_t)snprintf(buf, n, "VECSTORE_");
    for (const char *p = o->name; *p && j + 1 < n; p++)
        buf[j++] = *p == '-' ? '_' : (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
    buf[j] = '\0';
}

static const char *env_get(char *const envp[], const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; envp && envp[i]; i++)
        if (strncmp(envp[i], name, n) == 0 && envp[i][n] == '=') return envp[i] + n + 1;
    return NULL;
}

static const opt_def *find_long(const char *name, size_t len, opt_id *id)
{
    for (int i = 0; i < OPT__COUNT; i++)
        if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0) {
            *id = (opt_id)i;
            return &opts[i];
        }
    return NULL;
}

static const opt_def *find_short(char c, opt_id *id)
{
    for (int i = 0; i < OPT__COUNT; i++)
        if (opts[i].short_name && opts[i].short_name == c) {
            *id = (opt_id)i;
            return &opts[i];
        }
    return NULL;
}

/* Strict unsigned decimal: digits only, no sign, no spaces, no overflow. */
static bool parse_u64(const char *s, uint64_t *out)
{
    if (!*s) return false;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return false;
        if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10) return false;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return true;
}

/* Bytes with an optional binary suffix: 1048576, 1024K, 64M, 64MiB, 1G. */
static bool parse_size(const char *s, uint64_t *out)
{
    size_t n = strlen(s), digits = 0;
    while (digits < n && s[digits] >= '0' && s[digits] <= '9') digits++;
    if (digits == 0 || digits > 20) return false;
    char num[24];
    memcpy(num, s, digits);
    num[digits] = '\0';
    uint64_t v;
    if (!parse_u64(num, &v)) return false;
    const char *u = s + digits;
    unsigned shift;
    if (!*u)
        shift = 0;
    else if (strchr("kK", *u))
        shift = 10;
    else if (strchr("mM", *u))
        shift = 20;
    else if (strchr("gG", *u))
        shift = 30;
    else
        return false;
    if (*u) {
        u++;
        if (*u && strcmp(u, "iB") != 0 && strcmp(u, "B") != 0) return false;
    }
    if (shift && v > (UINT64_MAX >> shift)) return false;
    *out = v << shift;
    return true;
}

static bool parse_bool(const char *s, bool *out)
{
    static const char *yes[] = {"1", "true", "yes", "on"}, *no[] = {"0", "false", "no", "off"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) return (*out = true), true;
        if (strcasecmp(s, no[i]) == 0) return (*out = false), true;
    }
    return false;
}

const char *srv_metric_name(vs_svc_metric m)
{
    return m == VS_MET_L2 ? "l2" : m == VS_MET_DOT ? "dot" : "cosine";
}

const char *srv_fsync_name(vs_svc_fsync f)
{
    return f == VS_SYNC_EVERYSEC ? "everysec" : f == VS_SYNC_NEVER ? "never" : "always";
}

/* Converts and validates one value into cfg. false + err on a bad value. */
static bool apply(opt_id id, const opt_val *v, srv_config *cfg, char *err, size_t err_len)
{
    const opt_def *o = &opts[id];
    const char *s = v->value;
    const char *src = v->source;
    uint64_t n = 0;
    bool b = false;
#define BAD(...)                                                                                   \
    do {                                                                                           \
        char why_[256];                                                                            \
        snprintf(why_, sizeof why_, __VA_ARGS__);                                                  \
        set_err(err, err_len, "invalid value '%s' for %s: %s", o->kind == K_SECRET ? "***" : s,    \
                src, why_);                                                                        \
    } while (0)

    switch (o->kind) {
    case K_SWITCH:
        if (v->from_flag) {
            b = true;
        } else if (!parse_bool(s, &b)) {
            BAD("expected true or false (1/0, yes/no, on/off)");
            return false;
        }
        if (id == OPT_DEBUG && b && cfg->log_level < VS_LOG_DEBUG) cfg->log_level = VS_LOG_DEBUG;
        if (id == OPT_NO_GRPC) cfg->grpc_enabled = !b;
        if (id == OPT_NO_HTTP) cfg->http_enabled = !b;
        if (id == OPT_METRICS_REQUIRE_KEY) cfg->metrics_require_key = b;
        return true;
    case K_PORT:
        if (!parse_u64(s, &n)) {
            BAD("not a number; a port is 1-65535");
            return false;
        }
        if (n < 1 || n > 65535) {
            BAD("port must be 1-65535");
            return false;
        }
        if (id == OPT_HTTP_PORT)
            cfg->http_port = (uint16_t)n;
        else
            cfg->grpc_port = (uint16_t)n;
        return true;
    case K_UINT:
    case K_SIZE:
        if (!(o->kind == K_SIZE ? parse_size(s, &n) : parse_u64(s, &n))) {
            BAD("not a number; expected %llu-%llu", (unsigned long long)o->min,
                (unsigned long long)o->max);
            return false;
        }
        if (n < o->min || n > o->max) {
            BAD("must be %llu-%llu", (unsigned long long)o->min, (unsigned long long)o->max);
            return false;
        }
        switch (id) {
        case OPT_DIMENSION:
            cfg->dimension = (uint32_t)n;
            break;
        case OPT_THREADS:
            cfg->threads = (unsigned)n;
            break;
        case OPT_MAX_BODY:
            cfg->max_body_bytes = (size_t)n;
            break;
        case OPT_MAX_WS_FRAME:
            cfg->max_ws_frame_bytes = (size_t)n;
            break;
        case OPT_MAX_CONNECTIONS:
            cfg->max_connections = (unsigned)n;
            break;
        case OPT_IDLE_TIMEOUT:
            cfg->idle_timeout_s = (unsigned)n;
            break;
        default:
            break;
        }
        return true;
    case K_METRIC:
        if (strcmp(s, "cosine") == 0)
            cfg->metric = VS_MET_COSINE;
        else if (strcmp(s, "l2") == 0)
            cfg->metric = VS_MET_L2;
        else if (strcmp(s, "dot") == 0)
            cfg->metric = VS_MET_DOT;
        else {
            BAD("expected one of cosine, l2, dot");
            return false;
        }
        return true;
    case K_FSYNC:
        if (strcmp(s, "always") == 0)
            cfg->fsync = VS_SYNC_ALWAYS;
        else if (strcmp(s, "everysec") == 0)
            cfg->fsync = VS_SYNC_EVERYSEC;
        else if (strcmp(s, "never") == 0)
            cfg->fsync = VS_SYNC_NEVER;
        else {
            BAD("expected one of always, everysec, never");
            return false;
        }
        return true;
    case K_STRING:
    case K_SECRET:
        if (!*s) {
            BAD("must not be empty");
            return false;
        }
        if (id == OPT_HOST) {
            for (const char *p = s; *p; p++)
                if (*p == ' ' || *p == '\t' || *p == '/') {
                    BAD("not an address");
                    return false;
                }
            cfg->host = s;
        } else if (id == OPT_API_KEY) {
            cfg->api_key = s;
        }
        return true;
    case K_DB_PATH: {
        if (!*s) {
            BAD("must not be empty");
            return false;
        }
        struct stat sb;
        if (stat(s, &sb) == 0) {
            if (!S_ISDIR(sb.st_mode)) {
                BAD("not a directory (the database path must be a directory)");
                return false;
            }
        } else if (errno == ENOTDIR) {
            BAD("a parent of the path is not a directory");
            return false;
        }
        cfg->db_path = s; /* missing: svc_open creates it; unreadable: svc_open fails, exit 1 */
        return true;
    }
    case K_FILE: {
        if (!*s) {
            BAD("must not be empty");
            return false;
        }
        int fd = open(s, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            BAD("cannot read the file: %s", strerror(errno));
            return false;
        }
        struct stat sb;
        bool is_reg = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode);
        close(fd);
        if (!is_reg) {
            BAD("not a regular file");
            return false;
        }
        if (id == OPT_TLS_CERT) cfg->tls_cert = s;
        if (id == OPT_TLS_KEY) cfg->tls_key = s;
        if (id == OPT_TLS_CLIENT_CA) cfg->tls_client_ca = s;
        return true;
    }
    case K_HELP:
    case K_VERSION:
        return true;
    }
#undef BAD
    return true;
}

static void defaults(srv_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->db_path = SRV_DEFAULT_DB_PATH;
    cfg->host = SRV_DEFAULT_HOST;
    cfg->http_port = SRV_DEFAULT_HTTP_PORT;
    cfg->grpc_port = SRV_DEFAULT_GRPC_PORT;
    cfg->http_enabled = cfg->grpc_enabled = true;
    cfg->metric = VS_MET_COSINE;
    cfg->fsync = VS_SYNC_ALWAYS;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    cfg->threads = cores < 1                       ? 1
                   : cores > (long)SRV_MAX_THREADS ? SRV_MAX_THREADS
                                                   : (unsigned)cores;
    cfg->max_body_bytes = SRV_DEFAULT_MAX_BODY;
    cfg->max_ws_frame_bytes = SRV_DEFAULT_MAX_WS_FRAME;
    cfg->max_connections = SRV_DEFAULT_MAX_CONNECTIONS;
    cfg->idle_timeout_s = SRV_DEFAULT_IDLE_TIMEOUT_S;
    cfg->log_level = VS_LOG_INFO;
}

/* Pass 1: argv. Returns SRV_CFG_RUN to continue. */
static srv_cfg_result scan_argv(int argc, char *const argv[], opt_val *vals, char *err,
                                size_t err_len)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        opt_id id;
        const opt_def *o = NULL;
        const char *inline_val = NULL;
        char shown[80];
        if (a[0] == '-' && a[1] == '-' && a[2]) {
            const char *eq = strchr(a + 2, '=');
            size_t len = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
            o = find_long(a + 2, len, &id);
            if (!o) {
                set_err(err, err_len, "unknown option '%.*s' (see 'vecstore-server --help')",
                        (int)(len + 2), a);
                return SRV_CFG_ERROR;
            }
            if (eq) inline_val = eq + 1;
            snprintf(shown, sizeof shown, "--%s", o->name);
        } else if (a[0] == '-' && a[1] && a[1] != '-') {
            o = find_short(a[1], &id);
            if (!o) {
                set_err(err, err_len, "unknown option '-%c' (see 'vecstore-server --help')", a[1]);
                return SRV_CFG_ERROR;
            }
            if (a[2]) inline_val = a[2] == '=' ? a + 3 : a + 2;
            snprintf(shown, sizeof shown, "-%c", a[1]);
        } else {
            set_err(err, err_len, "unexpected argument '%s' (see 'vecstore-server --help')", a);
            return SRV_CFG_ERROR;
        }
        if (o->kind == K_HELP) return SRV_CFG_HELP;
        if (o->kind == K_VERSION) return SRV_CFG_VERSION;
        opt_val *v = &vals[id];
        v->from_flag = true;
        flag_label(o, v->source, sizeof v->source);
        if (!o->value_name) {
            if (inline_val) {
                set_err(err, err_len, "option '%s' takes no value (got '%s')", shown, inline_val);
                return SRV_CFG_ERROR;
            }
            v->value = "true";
            continue;
        }
        if (!inline_val) {
            if (i + 1 >= argc) {
                set_err(err, err_len, "a value is required for '%s %s' but none was supplied",
                        shown, o->value_name);
                return SRV_CFG_ERROR;
            }
            inline_val = argv[++i];
        }
        v->value = inline_val;
        /* keep the spelling the user typed in the message: "-d <PATH>" or "--db-path <PATH>" */
        snprintf(v->source, sizeof v->source, "'%s %s'", shown, o->value_name);
    }
    return SRV_CFG_RUN;
}

srv_cfg_result srv_config_parse(int argc, char *const argv[], char *const envp[], srv_config *out,
                                char *err, size_t err_len)
{
    opt_val vals[OPT__COUNT];
    memset(vals, 0, sizeof vals);
    srv_config cfg;
    defaults(&cfg);
    if (err_len) err[0] = '\0';

    srv_cfg_result r = scan_argv(argc, argv, vals, err, err_len);
    if (r != SRV_CFG_RUN) return r;

    for (int i = 0; i < OPT__COUNT; i++) {
        if (vals[i].from_flag || opts[i].kind == K_HELP || opts[i].kind == K_VERSION) continue;
        char name[64], flag[64];
        env_name(&opts[i], name, sizeof name);
        const char *e = env_get(envp, name);
        if (!(e && *e) && opts[i].alias_env) {
            e = env_get(envp, opts[i].alias_env);
            snprintf(name, sizeof name, "%s", opts[i].alias_env);
        }
        if (!(e && *e)) continue;
        flag_label(&opts[i], flag, sizeof flag);
        vals[i].value = e;
        snprintf(vals[i].source, sizeof vals[i].source, "%s (%s)", name, flag);
    }

    for (int i = 0; i < OPT__COUNT; i++)
        if (vals[i].value && !apply((opt_id)i, &vals[i], &cfg, err, err_len)) return SRV_CFG_ERROR;

    if (!cfg.http_enabled && !cfg.grpc_enabled) {
        set_err(err, err_len,
                "'--no-grpc' and '--no-http' cannot be used together: at least one protocol must "
                "stay enabled");
        return SRV_CFG_ERROR;
    }
    if (!cfg.tls_cert != !cfg.tls_key) {
        set_err(err, err_len, "'%s' requires '%s' (TLS needs both a certificate and its key)",
                cfg.tls_cert ? "--tls-cert <PEM>" : "--tls-key <PEM>",
                cfg.tls_cert ? "--tls-key <PEM>" : "--tls-cert <PEM>");
        return SRV_CFG_ERROR;
    }
    if (cfg.tls_client_ca && !cfg.tls_cert) {
        set_err(err, err_len,
                "'--tls-client-ca <PEM>' requires '--tls-cert <PEM>' and "
                "'--tls-key <PEM>'");
        return SRV_CFG_ERROR;
    }

    /* Log level: the variables first, then --debug raises it to at least debug. */
    bool debug = cfg.log_level >= VS_LOG_DEBUG; /* --debug / VECSTORE_DEBUG raised it */
    cfg.log_level = VS_LOG_INFO;
    const char *lv = env_get(envp, "VECSTORE_LOG");
    if (lv && *lv) {
        if (!vs_log_parse_level(lv, &cfg.log_level)) {
            set_err(err, err_len,
                    "invalid value '%s' for VECSTORE_LOG: expected error, warn, info, debug or "
                    "trace",
                    lv);
            return SRV_CFG_ERROR;
        }
    } else if ((lv = env_get(envp, "RUST_LOG")) && *lv) {
        if (!vs_log_parse_level(lv, &cfg.log_level)) {
            cfg.log_env_ignored_name = "RUST_LOG";
            cfg.log_env_ignored_value = lv;
        }
    }
    if (debug && cfg.log_level < VS_LOG_DEBUG) cfg.log_level = VS_LOG_DEBUG;

    *out = cfg;
    return SRV_CFG_RUN;
}

void srv_config_help(FILE *f)
{
    fprintf(f, "VecStore vector database server: HTTP/REST + WebSocket and gRPC.\n\n"
               "Usage: vecstore-server [OPTIONS]\n\nOptions:\n");
    for (int i = 0; i < OPT__COUNT; i++) {
        const opt_def *o = &opts[i];
        char left[64];
        int n;
        if (o->short_name)
            n = snprintf(left, sizeof left, "  -%c, --%s%s%s", o->short_name, o->name,
                         o->value_name ? " " : "", o->value_name ? o->value_name : "");
        else
            n = snprintf(left, sizeof left, "      --%s%s%s", o->name, o->value_name ? " " : "",
                         o->value_name ? o->value_name : "");
        fprintf(f, "%s%*s%s\n", left, n < 30 ? 30 - n : 1, "", o->help);
    }
    fprintf(f,
            "\nEnvironment Variables:\n"
            "  VECSTORE_<FLAG>             every long option, e.g. VECSTORE_HTTP_PORT=9090,\n"
            "                              VECSTORE_NO_GRPC=1 (switches take true/false)\n"
            "  DB_PATH                     Database path, as --db-path\n"
            "  VECSTORE_API_KEY            Admin API key, as --api-key\n"
            "  RUST_LOG, VECSTORE_LOG      Log level: error | warn | info | debug | trace;\n"
            "                              `vecstore=trace` style accepted [default: info]\n"
            "Precedence: flag > environment > default.\n"
            "\nSignals and exit status:\n"
            "  SIGTERM / SIGINT stop accepting, let in-flight requests finish (up to 10 s), write\n"
            "  snapshots and exit 0; a second signal during that exits at once with status 1.\n"
            "  Status 1: start-up failure (port in use, data unreadable or corrupt);\n"
            "  status 2: invalid option or value.\n");
}
