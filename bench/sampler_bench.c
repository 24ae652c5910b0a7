/*
 * sampler_bench.c - samples per second of both exact noise samplers, mp_noise_dgauss
 * (discrete Gaussian, at sigma 1, 10, 1000 and one share for n = 1000) and mp_noise_skellam
 * (at the same variances and at the sampler's bound).
 *
 * Not part of `make`; build the library first, then from the repository root:
 *
 *   make build/libmijlpaal.a
 *   cc -std=c17 -O2 -D_POSIX_C_SOURCE=200809L -Iprotocol bench/sampler_bench.c \
 *      build/libmijlpaal.a $(pkg-config --cflags --libs libsodium) -o build/sampler_bench
 *   ./build/sampler_bench [seconds-per-case]
 *
 * Prints one line per case and generator (system CSPRNG, then the seeded ChaCha20 one):
 * samples, elapsed time, samples per second, microseconds per sample and the sample variance
 * as a sanity check (close to the variance asked for). A Skellam sample is two Poisson draws.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "noise.h"
#include "rng.h"
#include "skellam.h"

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
        int dgauss;
        uint64_t num, den;
    } cases[] = {
        {"dgauss  v=1 (sigma 1)", 1, 1, 1},
        {"dgauss  v=100 (sigma 10)", 1, 100, 1},
        {"dgauss  v=10^6 (sigma 1000)", 1, 1000000, 1},
        {"dgauss  v=73890560989/10^7 (n=1000 share)", 1, UINT64_C(73890560989), 10000000},
        {"skellam v=1", 0, 1, 1},
        {"skellam v=100", 0, 100, 1},
        {"skellam v=10^6", 0, 1000000, 1},
        {"skellam v=73890560989/10^7 (n=1000 share)", 0, UINT64_C(73890560989), 10000000},
        {"skellam v=2^40 (the bound)", 0, UINT64_C(1) << 40, 1},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        long n = 0;
        double sum = 0, sumsq = 0, start = now(), elapsed;
        do {
            for (int i = 0; i < 10; i++, n++) {
                int64_t x;
                int rc = cases[c].dgauss ? mp_noise_dgauss(r, cases[c].num, cases[c].den, &x)
                                         : mp_noise_skellam(r, cases[c].num, cases[c].den, &x);
                if (rc != 0) {
                    fprintf(stderr, "sampler_bench: %s\n", mp_error_get());
                    return -1;
                }
                sum += (double)x;
                sumsq += (double)x * (double)x;
            }
            elapsed = now() - start;
        } while (elapsed < budget);
        double mean = sum / (double)n;
        printf("%-6s %-44s %9ld in %.2f s: %10.0f samples/s, %9.2f us/sample (variance %.4g)\n",
               kind, cases[c].label, n, elapsed, (double)n / elapsed, elapsed / (double)n * 1e6,
               sumsq / (double)n - mean * mean);
    }
    return 0;
}

int main(int argc, char **argv)
{
    double budget = argc > 1 ? atof(argv[1]) : 1.0;
    unsigned char seed[MP_RNG_SEEDBYTES] = {1};
    mp_rng *sys, *seeded;

    if (mp_rng_new_system(&sys) != 0 || mp_rng_new_seeded(&seeded, seed) != 0) {
        fprintf(stderr, "sampler_bench: %s\n", mp_error_get());
        return 2;
    }
    int rc = run(sys, "system", budget) == 0 && run(seeded, "seeded", budget) == 0 ? 0 : 1;
    mp_rng_free(sys);
    mp_rng_free(seeded);
    return rc;
}
