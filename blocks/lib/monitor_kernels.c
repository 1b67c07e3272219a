/*
 * The per-sample loop of the scos radio_monitor block (gnuradio.scos.monitor), loaded with
 * ctypes by kernels.py.
 *
 * The monitor passes every sample from the radio through and checks it against the radio's full
 * scale. numpy needs three passes for that (the copy, then the maximum and the minimum of the
 * interleaved I/Q values), which made the monitor cost more CPU per sample than the FFT. This
 * loop copies the samples and finds the largest |I| or |Q| in the same pass.
 *
 * The magnitude is compared as the float's bits with the sign cleared: for floats that are not
 * NaN the order of those bits (as unsigned integers) is the order of the magnitudes, so the
 * loop is an integer maximum that vectorises. A NaN has bits above infinity's; the monitor then
 * takes its exact (numpy) path, which counts no NaN as an overload.
 */
#include <stddef.h>
#include <stdint.h>

#include "vector_clones.h"

/* Copies `n` float32 values (I and Q interleaved: 2 per complex sample) from `in` to `out` and
 * returns the largest of their magnitudes' bits (see above). */
SCOS_VECTOR_CLONES
uint32_t scos_copy_peak_bits(const uint32_t *restrict in, uint32_t *restrict out, size_t n)
{
    uint32_t peak = 0;
    for (size_t i = 0; i < n; i++) {
        const uint32_t bits = in[i];
        const uint32_t magnitude = bits & 0x7FFFFFFFu;
        out[i] = bits;
        peak = magnitude > peak ? magnitude : peak;
    }
    return peak;
}
