/*
 * log.h - one line per event to stderr: `2026-11-24T10:00:00.123Z INFO message key=value`.
 *
 * The level is set once at start-up (server/config from RUST_LOG / VECSTORE_LOG / --debug) and
 * read with a relaxed atomic load, so vs_log is cheap when a level is off. Never log vectors,
 * documents or API keys (SPEC 9). Thread-safe: each line is written with one write(2).
 */
#ifndef VS_UTIL_LOG_H
#define VS_UTIL_LOG_H

#include <stdbool.h>

typedef enum {
    VS_LOG_ERROR = 0,
    VS_LOG_WARN = 1,
    VS_LOG_INFO = 2,
    VS_LOG_DEBUG = 3,
    VS_LOG_TRACE = 4,
} vs_log_level;

void vs_log_set_level(vs_log_level level);
vs_log_level vs_log_get_level(void);
bool vs_log_enabled(vs_log_level level);
/* Parses "info", "DEBUG", "vecstore=trace", "warn,vecstore=debug" (the most verbose level named
 * counts). false if nothing recognisable. */
bool vs_log_parse_level(const char *s, vs_log_level *out);
const char *vs_log_level_name(vs_log_level level);

void vs_log(vs_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define vs_log_error(...) vs_log(VS_LOG_ERROR, __VA_ARGS__)
#define vs_log_warn(...)  vs_log(VS_LOG_WARN, __VA_ARGS__)
#define vs_log_info(...)  vs_log(VS_LOG_INFO, __VA_ARGS__)
#define vs_log_debug(...) vs_log(VS_LOG_DEBUG, __VA_ARGS__)

#endif
