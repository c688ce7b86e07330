/*
 * fmt.h - shortest round-trip decimal forms of floats and doubles, for JSON output, metrics and
 * user-facing messages (SPEC sections 2, 8 and 9: "a vector read back equals the vector written",
 * "the rate prints in its shortest form (10, 2.5)").
 *
 * Output: the fewest significant digits that read back (strtof / strtod) to exactly the same
 * value, laid out the way ECMAScript's Number.prototype.toString does. With value = d.ddd x 10^e:
 * plain notation when -7 < e < 21 ("10", "0.1", "123456.79", "0.000001",
 * "100000000000000000000"), exponent notation otherwise ("1e-7", "1.5e+300", "1e+21": mantissa
 * digits, 'e', the exponent's sign, the exponent without leading zeros).
 * Every output is valid JSON number syntax: no leading '+', no "inf"/"nan".
 *   - Zero: "0"; negative zero: "-0" (valid JSON, and strtof/strtod read back -0.0 exactly).
 *   - NaN and +-Inf have no JSON number form: they write "null" (callers that must not emit a
 *     null check isfinite first, as the JSON codec and the metrics exposition do).
 * Thread-safety: reentrant; needs no locale other than the "C" numeric one printf uses by default.
 */
#ifndef VS_UTIL_FMT_H
#define VS_UTIL_FMT_H

#define VS_FMT_BUF 32 /* bytes a buffer needs (the longest output is 25 characters + NUL) */

/* Writes the shortest decimal that strtof reads back to exactly f; NUL-terminated. Returns the
 * length (without the NUL). buf needs VS_FMT_BUF bytes. */
int vs_fmt_float(char *buf, float f);
/* Same for a double with strtod (0.3 -> "0.3", 2.5 -> "2.5", 10 -> "10", 1e300 -> "1e+300"). */
int vs_fmt_double(char *buf, double d);

#endif
