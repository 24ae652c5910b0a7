/*
 * noise_bench.c - samples per second of mp_noise_dgauss with the system generator.
 *
 * Not part of `make`; build the library first, then from the repository root:
 *
 *   make build/libmijlpaal.a
 *   cc -std=c17 -O2 -D_POSIX_C_SOURCE=200809L -Iprotocol bench/noise_bench.c \
 *      build/libmijlpaal.a $(pkg-config --cflags --libs libsodium) -o build/noise_bench
 *   ./build/noise_bench [seconds-per-case]
 *
 * Prints one line per sigma: samples, elapsed time, samples per second, and the sample variance
 * as a sanity check (it should be close to sigma^2).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "noise.h"
#include "rng.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    const struct {
        const char *label;
        uint64_t num, den;
    } cases[] = {
        {"sigma=1", 1, 1},
        {"sigma=10", 100, 1},
        {"sigma=1000", 1000000, 1},
        {"sigma^2=73890560989/10^7 (share of n=1000)", UINT64_C(73890560989), 10000000},
    };
    double budget = argc > 1 ? atof(argv[1]) : 1.0;
    mp_rng *r;

    if (mp_rng_new_system(&r) != 0) {
        fprintf(stderr, "noise_bench: %s\n", mp_error_get());
        return 2;
    }
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        long n = 0;
        double sum = 0, sumsq = 0, start = now(), elapsed;
        do {
            for (int i = 0; i < 1000; i++, n++) {
                int64_t x;
                if (mp_noise_dgauss(r, cases[c].num, cases[c].den, &x) != 0) {
                    fprintf(stderr, "noise_bench: %s\n", mp_error_get());
                    return 1;
                }
                sum += (double)x;
                sumsq += (double)x * (double)x;
            }
            elapsed = now() - start;
        } while (elapsed < budget);
        double mean = sum / (double)n;
        printf("%-44s %9ld samples in %.2f s: %10.0f samples/s (variance %.4g)\n", cases[c].label,
               n, elapsed, (double)n / elapsed, sumsq / (double)n - mean * mean);
    }
    mp_rng_free(r);
    return 0;
}
