/*
 * crc32c.h - CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of every WAL
 * record and snapshot block (docs/storage.md).
 *
 * vs_crc32c(crc, p, n) extends a finished CRC: vs_crc32c(vs_crc32c(0, a, na), b, nb) equals the
 * CRC of a followed by b, and vs_crc32c(0, "123456789", 9) == 0xE3069283. The SSE4.2 crc32
 * instruction is used when the CPU has it (checked once at run time), three streams interleaved
 * to hide its 3-cycle latency; otherwise a slicing-by-8 table. Thread-safe, no allocation.
 */
#ifndef VS_UTIL_CRC32C_H
#define VS_UTIL_CRC32C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

uint32_t vs_crc32c(uint32_t crc, const void *p, size_t n);

/* For tests and benchmarks: the two implementations behind vs_crc32c. vs_crc32c_hw may only be
 * called when vs_crc32c_hw_available() is true. */
uint32_t vs_crc32c_sw(uint32_t crc, const void *p, size_t n);
uint32_t vs_crc32c_hw(uint32_t crc, const void *p, size_t n);
bool vs_crc32c_hw_available(void);

#endif
