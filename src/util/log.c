/*
 * log.c - the level filter and line writer of log.h. A line is formatted into a stack buffer
 * and written with a single write(2) so lines from different threads never interleave.
 */
#include "util/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static _Atomic int cur_level = VS_LOG_INFO;

static const char *names[] = {"ERROR", "WARN", "INFO", "DEBUG", "TRACE"};

void vs_log_set_level(vs_log_level l)
{
    atomic_store(&cur_level, (int)l);
}
vs_log_level vs_log_get_level(void)
{
    return (vs_log_level)atomic_load(&cur_level);
}
bool vs_log_enabled(vs_log_level l)
{
    return (int)l <= atomic_load_explicit(&cur_level, memory_order_relaxed);
}
const char *vs_log_level_name(vs_log_level l)
{
    return (unsigned)l < 5 ? names[l] : "INFO";
}

static bool one_level(const char *s, size_t n, vs_log_level *out)
{
    static const char *words[] = {"error", "warn", "info", "debug", "trace"};
    for (int i = 0; i < 5; i++)
        if (strlen(words[i]) == n && strncasecmp(s, words[i], n) == 0) {
            *out = (vs_log_level)i;
            return true;
        }
    if (n == 7 && strncasecmp(s, "warning", 7) == 0) {
        *out = VS_LOG_WARN;
        return true;
    }
    return false;
}

bool vs_log_parse_level(const char *s, vs_log_level *out)
{
    bool found = false;
    vs_log_level best = VS_LOG_ERROR;
    while (s && *s) {
        const char *comma = strchr(s, ',');
        size_t n = comma ? (size_t)(comma - s) : strlen(s);
        const char *eq = memchr(s, '=', n);
        const char *lv = eq ? eq + 1 : s;
        size_t ln = n - (size_t)(lv - s);
        while (ln && (*lv == ' ')) lv++, ln--;
        while (ln && lv[ln - 1] == ' ') ln--;
        vs_log_level l;
        if (one_level(lv, ln, &l)) {
            if (!found || l > best) best = l;
            found = true;
        }
        s = comma ? comma + 1 : NULL;
    }
    if (found) *out = best;
    return found;
}

void vs_log(vs_log_level level, const char *fmt, ...)
{
    if (!vs_log_enabled(level)) return;
    char line[2048];
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (int)(tv.tv_usec / 1000), vs_log_level_name(level));
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2) len = sizeof line - 2;
    for (size_t i = (size_t)n; i < len; i++)
        if (line[i] == '\n' || line[i] == '\r') line[i] = ' ';
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}
