/*
 * Times rapport_engine_recommend through the C API on a synthetic model of 100,000 products
 * x 64 factors, and saves the model so bench/recommend.rs can time the Rust call on the same one.
 *
 *   cc -O2 -std=c11 -Ibindings/c/include bindings/c/bench/recommend.c \
 *      target/release/librapport.a -lpthread -ldl -lm -o bench_recommend
 *   ./bench_recommend /tmp/rapport_bench.rapport          # builds, trains, saves, times
 *   ./bench_recommend /tmp/rapport_bench.rapport --load   # times the saved model
 *   RAPPORT_BENCH_MODEL=/tmp/rapport_bench.rapport cargo bench -p rapport-c --bench recommend
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rapport.h"

enum { PRODUCTS = 100000, CUSTOMERS = 20000, PER_CUSTOMER = 12, QUERIES = 2000 };

static void check(rapport_status s, const char *what) {
    if (s == RAPPORT_STATUS_OK) return;
    char msg[256];
    size_t n;
    rapport_last_error_message(msg, sizeof msg, &n);
    fprintf(stderr, "%s: %s: %s\n", what, rapport_status_name(s), msg);
    exit(1);
}

static uint64_t state = 0x9e3779b97f4a7c15u;
static uint64_t next(void) { /* xorshift64* */
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 0x2545f4914f6cdd1du;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    const char *model = argc > 1 ? argv[1] : "/tmp/rapport_bench.rapport";
    rapport_engine *e = NULL;
    char c[16], p[16];
    if (argc > 2 && strcmp(argv[2], "--load") == 0) {
        check(rapport_engine_load(model, &e), "load");
        goto timing;
    }
    rapport_config config;
    check(rapport_config_default(&config), "config");
    config.factors = 64;
    config.iterations = 2;
    check(rapport_engine_new(&config, &e), "new");
    for (int i = 0; i < PRODUCTS; i++) { /* every product in the catalog and the model */
        snprintf(p, sizeof p, "p%d", i);
        snprintf(c, sizeof c, "seed%d", i % 500);
        check(rapport_engine_record_purchase(e, c, p, 0, 1, 1, NULL, NULL), "record");
    }
    for (int u = 0; u < CUSTOMERS; u++) {
        snprintf(c, sizeof c, "c%d", u);
        int base = (int)(next() % PRODUCTS);
        for (int j = 0; j < PER_CUSTOMER; j++) {
            int item = (base + (int)(next() % 2000)) % PRODUCTS; /* a neighbourhood of taste */
            snprintf(p, sizeof p, "p%d", item);
            check(rapport_engine_record_purchase(e, c, p, (int64_t)j * 86400, 1, 1, NULL, NULL),
                  "record");
        }
    }
    double t0 = now();
    rapport_train_report r;
    check(rapport_engine_train(e, NULL, NULL, &r), "train");
    printf("model: %zu customers x %zu products x %zu factors (trained in %.1f s)\n",
           r.customers, r.products, config.factors, now() - t0);
    check(rapport_engine_save(e, model), "save");

timing:;
    rapport_recommend_options o;
    check(rapport_recommend_options_default(&o), "options");
    o.k = 10;
    for (int warm = 0; warm < 2; warm++) {
        double start = now();
        for (int q = 0; q < QUERIES; q++) {
            snprintf(c, sizeof c, "c%d", (q * 7919) % CUSTOMERS);
            rapport_recommendations *recs = NULL;
            check(rapport_engine_recommend(e, c, &o, &recs), "recommend");
            rapport_recommendations_free(recs);
        }
        double per = (now() - start) / QUERIES;
        if (warm) printf("C API recommend (k=10): %.1f us per call over %d calls\n", per * 1e6, QUERIES);
    }
    rapport_engine_free(e);
    return 0;
}
