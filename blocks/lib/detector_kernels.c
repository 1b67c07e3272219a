/*
 * Detector kernels of the scos power_stats block (gnuradio.scos.power_stats).
 *
 * The block is Python and works on batches of |FFT|^2 frames. numpy does the detectors in
 * several passes over each batch (min, max, sum, and for the median: bucket codes, offsets and
 * a bincount into a temporary), which made the detector cost more CPU per sample than the FFT
 * chain in front of it. These two loops do the same work in one pass each over the batch and
 * count straight into the block's histogram; a third function takes a short capture's exact
 * median without sorting (below). power_stats loads this library with ctypes and falls back
 * to its numpy code when it is not built; tests check that both give the same results.
 *
 * Frames are row-major float32: `rows` frames of `bins` values.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "vector_clones.h"

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
 * (zeros, denormals and negative values have the smallest codes; inf and NaN the largest).
 *
 * The counters are 16-bit: the caller adds them into its 32-bit totals before any can pass
 * 65535 (one count per frame at most). Each frame increments one counter in every bin's row,
 * scattered over a table of bins x width counters (about 0.8 MB for 1024 bins of noise), and in
 * a running flowgraph the FFT chain's buffers share the caches with it: half the bytes of
 * 32-bit counters made this loop about 30% cheaper there. */
void scos_histogram_add(const float *frames, size_t rows, size_t bins, int shift,
                        uint16_t *counts, int32_t base, size_t width)
{
    const int32_t top = base + (int32_t)width - 1;
    for (size_t r = 0; r < rows; r++) {
        const float *row = frames + r * bins;
        uint16_t *bin_counts = counts;
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

/* ---- exact median ---------------------------------------------------------------------------
 * The exact per-bin median of a short capture (numpy.median's definition: the mean, in double,
 * of the values at ranks (rows-1)/2 and rows/2), without sorting: a sort of each bin's values
 * (numpy's way) costs 4-5 ms for 300 frames of 1024 bins, all of it on the task's path after the
 * capture's last frame. Here each value becomes an unsigned key in the order of the floats
 * (negative values, zeros, infinities and NaN included, NaN last as numpy sorts it) and the key
 * at the rank is found bit by bit, from the top: keep the bit when fewer than rank+1 keys lie
 * below the prefix with that bit set. Each of the 32 steps only counts, with no branch, over
 * TILE bins at a time held in a dense scratch (so the counting vectorises and stays in cache),
 * and the value just above the lower middle one comes from one more pass. */

#define MEDIAN_TILE 64

static inline uint32_t order_key(float value)
{
    uint32_t bits;
    memcpy(&bits, &value, sizeof bits);
    return bits ^ ((uint32_t)((int32_t)bits >> 31) | 0x80000000u);
}

static inline float key_value(uint32_t key)
{
    uint32_t bits = key ^ ((key >> 31) ? 0x80000000u : 0xFFFFFFFFu);
    float value;
    memcpy(&value, &bits, sizeof value);
    return value;
}

SCOS_VECTOR_CLONES
static void median_tile_keys(const float *frames, size_t rows, size_t bins, size_t first, size_t n,
                             uint32_t *tile)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < n; j++)
            tile[r * MEDIAN_TILE + j] = order_key(frames[r * bins + first + j]);
}

SCOS_VECTOR_CLONES
static void median_count_below(const uint32_t *tile, size_t rows, size_t n, const uint32_t *threshold,
                               uint32_t *below)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < n; j++)
            below[j] += tile[r * MEDIAN_TILE + j] < threshold[j];
}

SCOS_VECTOR_CLONES
static void median_next_above(const uint32_t *tile, size_t rows, size_t n, const uint32_t *key,
                              uint32_t *at_most, uint32_t *above)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < n; j++) {
            const uint32_t v = tile[r * MEDIAN_TILE + j];
            const uint32_t candidate = v > key[j] ? v : 0xFFFFFFFFu;
            at_most[j] += v <= key[j];
            above[j] = candidate < above[j] ? candidate : above[j];
        }
}

/* The tiles are shared between the calling thread and MEDIAN_WORKERS - 1 more: the median is
 * on the task's path right after the capture's last frame, when the flowgraph's other threads
 * have nothing left to do. Each worker has its own scratch of rows * MEDIAN_TILE keys. */
#define MEDIAN_WORKERS 2

/* `scratch`: the uint32 keys the caller provides (scos_median_scratch_size). */
size_t scos_median_scratch_size(size_t rows)
{
    return MEDIAN_WORKERS * rows * MEDIAN_TILE;
}

struct median_job {
    const float *frames;
    size_t rows, bins, first_tile, tile_step;
    uint32_t *scratch;
    double *median;
};

static void median_tile(const float *frames, size_t rows, size_t bins, size_t first, uint32_t *scratch,
                        double *median)
{
    const size_t lower = (rows - 1) / 2, upper = rows / 2;
    const size_t n = bins - first < MEDIAN_TILE ? bins - first : MEDIAN_TILE;
    uint32_t key[MEDIAN_TILE] = {0}, threshold[MEDIAN_TILE], count[MEDIAN_TILE], above[MEDIAN_TILE];
    median_tile_keys(frames, rows, bins, first, n, scratch);
    for (int bit = 31; bit >= 0; bit--) {
        for (size_t j = 0; j < n; j++) {
            threshold[j] = key[j] | (1u << bit);
            count[j] = 0;
        }
        median_count_below(scratch, rows, n, threshold, count);
        for (size_t j = 0; j < n; j++)
            key[j] = count[j] <= lower ? threshold[j] : key[j];
    }
    if (upper != lower) {
        for (size_t j = 0; j < n; j++) {
            count[j] = 0;
            above[j] = 0xFFFFFFFFu;
        }
        median_next_above(scratch, rows, n, key, count, above);
    }
    for (size_t j = 0; j < n; j++) {
        const double low = key_value(key[j]);
        const double high = (upper == lower || count[j] > upper) ? low : (double)key_value(above[j]);
        median[first + j] = (low + high) / 2.0;
    }
}

static void *median_worker(void *arg)
{
    const struct median_job *job = arg;
    for (size_t tile = job->first_tile; tile * MEDIAN_TILE < job->bins; tile += job->tile_step)
        median_tile(job->frames, job->rows, job->bins, tile * MEDIAN_TILE, job->scratch, job->median);
    return NULL;
}

void scos_exact_median(const float *frames, size_t rows, size_t bins, uint32_t *scratch, double *median)
{
    if (rows == 0 || bins == 0)
        return;
    struct median_job jobs[MEDIAN_WORKERS];
    pthread_t helpers[MEDIAN_WORKERS];
    int started[MEDIAN_WORKERS] = {0};
    const size_t tiles = (bins + MEDIAN_TILE - 1) / MEDIAN_TILE;
    const size_t workers = tiles < MEDIAN_WORKERS ? tiles : MEDIAN_WORKERS;
    jobs[0] = (struct median_job){frames, rows, bins, 0, workers, scratch, median};
    for (size_t w = 1; w < workers; w++) {
        jobs[w] = (struct median_job){frames, rows, bins, w, workers, scratch + w * rows * MEDIAN_TILE, median};
        /* a helper that cannot start leaves its tiles to the calling thread, below */
        started[w] = pthread_create(&helpers[w], NULL, median_worker, &jobs[w]) == 0;
    }
    median_worker(&jobs[0]);
    for (size_t w = 1; w < workers; w++) {
        if (started[w])
            pthread_join(helpers[w], NULL);
        else
            median_worker(&jobs[w]);
    }
}

