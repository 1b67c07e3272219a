/*
 * The per-sample loop of the scos APD block (gnuradio.scos.sea: the amplitude probability
 * distribution of NTIA's SEA data products), loaded with ctypes by sea_math.py.
 *
 * Each power value v (|x|^2, float32) is counted once, into a fine logarithmic histogram of its
 * bits >> fine_shift (the exponent and the top mantissa bits: 2^(23 - fine_shift) buckets per
 * octave). That histogram alone gives the median power (interpolated in its bucket) and, for
 * every level threshold t[k], the exact number of values above it: all the values of the buckets
 * above t[k]'s bucket, plus those inside t[k]'s own bucket that exceed it, which this loop counts
 * by comparing with t[k] itself (above[k]). Only values falling into a bucket that holds a
 * threshold are compared (first_level[code] says which: 1 + the index of its first threshold,
 * 0 for none), a few percent of them; so the exact APD costs one increment per value instead of
 * a search among the levels. Negative values, zeros and NaN go into bucket 0 and exceed nothing.
 *
 * The histogram is kept in two interleaved copies (fine + c * buckets), which the caller adds
 * up: successive values of noise often fall into the same bucket, and incrementing one counter
 * over and over waits on the previous increment every time.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

void scos_apd_count(const float *power, size_t n, int fine_shift, uint32_t *fine, size_t buckets,
                    const int32_t *first_level, const uint32_t *level_code, const float *thresholds,
                    size_t levels, uint32_t *above)
{
    for (size_t i = 0; i < n; i++) {
        const float v = power[i];
        uint32_t bits;
        memcpy(&bits, &v, sizeof bits);
        const uint32_t code = v > 0.0f ? bits >> fine_shift : 0u;
        fine[(i & 1) * buckets + code]++;
        const int32_t first = first_level[code];
        if (first) {
            for (size_t k = (size_t)(first - 1); k < levels && level_code[k] == code; k++)
                above[k] += v > thresholds[k];
        }
    }
}
