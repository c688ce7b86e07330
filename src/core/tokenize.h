/*
 * tokenize.h - the Unicode-aware lower-casing tokenizer of SPEC section 7 (hybrid search): the same
 * function splits documents (text_index.c) and queries, so both sides agree on every token.
 *
 * A token is a maximal run of letters and digits (Unicode categories as glibc's C.UTF-8 locale
 * classifies them: iswalnum_l), each lower-cased with towlower_l and emitted as UTF-8. Everything
 * else separates tokens: spaces, punctuation, symbols and emoji, combining marks, and every byte
 * that is not part of a well-formed UTF-8 sequence (overlong forms, surrogates, code points above
 * U+10FFFF, truncated sequences). Invalid input never crashes and is never read out of bounds.
 *
 * Ownership: `tok` passed to the callback points into the tokenizer's scratch buffer and is valid
 * only during that call (it is not NUL-terminated).
 * Thread-safety: reentrant; the locale is created once (pthread_once) and only read afterwards.
 */
#ifndef VS_CORE_TOKENIZE_H
#define VS_CORE_TOKENIZE_H

#include <stddef.h>

typedef void (*vs_token_fn)(void *ctx, const char *tok, size_t len);

/* Splits s[0, len) into lower-cased tokens, calling fn for each in order; returns the token count.
 * A token longer than the scratch buffer grows it on the heap; if that allocation fails the token
 * is emitted truncated at a code point boundary (never dropped). */
size_t vs_tokenize(const char *s, size_t len, vs_token_fn fn, void *ctx);

#endif
