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
 * as a sanity check (it should be close to sigma^2). The same cases then run on the seeded
 * ChaCha20 generator, for comparison only: the difference is the cost of the system generator
 * (libsodium's randombytes, one call per 64-bit draw).
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

static int run(mp_rng *r, const char *kind, double budget)
{
    const struct {
        const char *label;
        uint64_t num, den;
    } cases[] = {
        {"sigma=1", 1, 1},
        {"sigma=10", 100, 1},
        {"sigma=1000", 1000000, 1},
        {"sigma^2=73890560989/10^7 (n=1000 share)", UINT64_C(73890560989), 10000000},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        long n = 0;
        double sum = 0, sumsq = 0, start = now(), elapsed;
        do {
            for (int i = 0; i < 1000; i++, n++) {
                int64_t x;
                if (mp_noise_dgauss(r, cases[c].num, cases[c].den, &x) != 0) {
                    fprintf(stderr, "noise_bench: %s\n", mp_error_get());
                    return -1;
                }
                sum += (double)x;
                sumsq += (double)x * (double)x;
            }
            elapsed = now() - start;
        } while (elapsed < budget);
        double mean = sum / (double)n;
        printf("%-6s %-40s %9ld in %.2f s: %10.0f samples/s (variance %.4g)\n", kind,
               cases[c].label, n, elapsed, (double)n / elapsed, sumsq / (double)n - mean * mean);
    }
    return 0;
}

int main(int argc, char **argv)
{
    double budget = argc > 1 ? atof(argv[1]) : 1.0;
    unsigned char seed[MP_RNG_SEEDBYTES] = {1};
    mp_rng *sys, *seeded;

    if (mp_rng_new_system(&sys) != 0 || mp_rng_new_seeded(&seeded, seed) != 0) {
        fprintf(stderr, "noise_bench: %s\n", mp_error_get());
        return 2;
    }
    int rc = run(sys, "system", budget) == 0 && run(seeded, "seeded", budget) == 0 ? 0 : 1;
    mp_rng_free(sys);
    mp_rng_free(seeded);
    return rc;
}
