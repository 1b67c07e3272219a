/*
 * Detector kernels of the scos power_stats block (gnuradio.scos.power_stats).
 *
 * The block is Python and works on batches of |FFT|^2 frames. numpy does the detectors in
 * several passes over each batch (min, max, sum, and for the median: bucket codes, offsets and
 * a bincount into a temporary), which made the detector cost more CPU per sample than the FFT
 * chain in front of it. These two loops do the same work in one pass each over the batch and
 * count straight into the block's histogram. power_stats loads this library with ctypes and
 * falls back to its numpy code when it is not built; tests check that both give the same
 * results.
 *
 * Frames are row-major float32: `rows` frames of `bins` values.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Per-bin running minimum, maximum and sum (in double) over the frames.
 * A NaN value is not taken by minimum or maximum (the comparisons are false) but makes the
 * sum NaN; power_stats turns the bin's detectors into NaN from that, as numpy would. */
void scos_frame_stats(const float *frames, size_t rows, size_t bins,
                      float *minimum, float *maximum, double *sum)
{
    for (size_t r = 0; r < rows; r++) {
        const float *row = frames + r * bins;
        for (size_t j = 0; j < bins; j++) {
            const float v = row[j];
            minimum[j] = v < minimum[j] ? v : minimum[j];
            maximum[j] = v > maximum[j] ? v : maximum[j];
            sum[j] += (double)v;
        }
    }
}

/* Adds every value to its bin's row of the log-grid histogram power_stats keeps:
 * code = (float bits as int32) >> shift, i.e. the exponent and the top mantissa bits, and
 * counts[j * width + code - base] += 1. Codes are clamped into [base, base + width - 1], so
 * no write ever leaves the array; the caller sizes it to cover every code of the batch
 * (zeros, denormals and negative values have the smallest codes; inf and NaN the largest). */
void scos_histogram_add(const float *frames, size_t rows, size_t bins, int shift,
                        uint32_t *counts, int32_t base, size_t width)
{
    const int32_t top = base + (int32_t)width - 1;
    for (size_t r = 0; r < rows; r++) {
        const float *row = frames + r * bins;
        uint32_t *bin_counts = counts;
        for (size_t j = 0; j < bins; j++, bin_counts += width) {
            int32_t bits;
            memcpy(&bits, &row[j], sizeof bits);
            int32_t code = bits >> shift;
            code = code < base ? base : code;
            code = code > top ? top : code;
            bin_counts[code - base]++;
        }
    }
}
