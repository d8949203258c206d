/*
 * Tests of the rapport C API: success paths and every error path. Plain C11 + pthreads.
 * Ends with the line "N passed, M failed"; exits non-zero when anything failed.
 *
 *   gcc -std=c11 -Wall -Ibindings/c/include bindings/c/tests/test_rapport.c \
 *       target/release/librapport.a -lpthread -ldl -lm -o test_rapport
 *   valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
 *       ./test_rapport
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rapport.h"

static int passed = 0;
static int failed = 0;

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (cond) {                                                              \
            passed++;                                                            \
        } else {                                                                 \
            failed++;                                                            \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                        \
    } while (0)

/* A status check that prints the last error message on a mismatch. */
#define CHECK_STATUS(call, expected)                                                    \
    do {                                                                                \
        rapport_status got_ = (call);                                                   \
        if (got_ == (expected)) {                                                       \
            passed++;                                                                   \
        } else {                                                                        \
            char msg_[256];                                                             \
            size_t n_;                                                                  \
            rapport_last_error_message(msg_, sizeof msg_, &n_);                         \
            failed++;                                                                   \
            fprintf(stderr, "%s:%d: %s returned %s, expected %s (last error: %s)\n",    \
                    __FILE__, __LINE__, #call, rapport_status_name(got_),              \
                    rapport_status_name(expected), msg_);                              \
        }                                                                               \
    } while (0)

#define OK(call) CHECK_STATUS(call, RAPPORT_STATUS_OK)

static const int64_t DAY = 86400;

/* The thread's last error message (static buffer). */
static const char *last_error(void) {
    static char buf[512];
    size_t n;
    if (rapport_last_error_message(buf, sizeof buf, &n) != RAPPORT_STATUS_OK) buf[0] = '\0';
    return buf;
}

static bool streq(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }

/* Characters (code points) of a UTF-8 string: the bytes that do not continue a sequence. */
static size_t chars(const char *s) {
    size_t n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static void buy(rapport_engine *e, const char *customer, const char *product, int64_t day) {
    OK(rapport_engine_record_purchase(e, customer, product, day * DAY, 1.0, 2.0, NULL, NULL));
}

/* Tea drinkers t0..t5 and coffee drinkers c6..c11, as in the Rust engine tests. */
static rapport_engine *shop(void) {
    rapport_config config;
    OK(rapport_config_default(&config));
    config.factors = 4;
    config.iterations = 15;
    config.regularization = 0.5f;
    config.alpha = 5.0f;
    config.threads = 1;
    rapport_engine *e = NULL;
    OK(rapport_engine_new(&config, &e));
    const char *tea[] = {"green-tea", "black-tea", "teapot", "tea-cups"};
    const char *coffee[] = {"espresso", "grinder", "mocha-pot", "coffee-mugs"};
    for (int c = 0; c < 12; c++) {
        char name[8];
        snprintf(name, sizeof name, "%c%d", c < 6 ? 't' : 'c', c);
        for (int j = 0; j < 4; j++)
            if ((c + j) % 4 != 0) buy(e, name, c < 6 ? tea[j] : coffee[j], c * 3 + j);
    }
    for (int j = 0; j < 4; j++) OK(rapport_engine_upsert_product(e, tea[j], NULL, "tea", 4.0, true));
    return e;
}

static int progress_calls = 0;
static void on_progress(size_t iteration, size_t iterations, double loss, void *user_data) {
    (void)loss;
    (void)iteration;
    *(size_t *)user_data = iterations;
    progress_calls++;
}

static void test_misc(void) {
    CHECK(streq(rapport_version(), "0.1.0"));
    CHECK(streq(rapport_status_name(RAPPORT_STATUS_NOT_TRAINED), "RAPPORT_STATUS_NOT_TRAINED"));
    CHECK(streq(rapport_status_name(12345), "RAPPORT_STATUS_<invalid>"));
    CHECK(streq(rapport_segment_name(RAPPORT_SEGMENT_AT_RISK), "at-risk"));
    CHECK(rapport_segment_name(99) == NULL);
    CHECK(streq(rapport_status_name(RAPPORT_STATUS_TEMPLATE), "RAPPORT_STATUS_TEMPLATE"));
    CHECK(streq(rapport_status_name(RAPPORT_STATUS_SCORE_OUT_OF_RANGE),
                "RAPPORT_STATUS_SCORE_OUT_OF_RANGE"));
    CHECK(streq(rapport_greeting_kind_name(RAPPORT_GREETING_KIND_SERVICE_RECOVERY),
                "service-recovery"));
    CHECK(streq(rapport_greeting_kind_name(RAPPORT_GREETING_KIND_WIN_BACK), "win-back"));
    CHECK(rapport_greeting_kind_name(5) == NULL && rapport_greeting_kind_name(-1) == NULL);
}

static void test_free_null_is_noop(void) {
    rapport_engine_free(NULL);
    rapport_recommendations_free(NULL);
    rapport_recommendation_batch_free(NULL);
    rapport_similar_free(NULL);
    rapport_profile_free(NULL);
    rapport_bytes_free(NULL);
    CHECK(rapport_recommendations_len(NULL) == 0);
    CHECK(rapport_recommendations_product_id(NULL, 0) == NULL);
    CHECK(isnan(rapport_recommendations_score(NULL, 0)));
    CHECK(rapport_similar_len(NULL) == 0);
    CHECK(rapport_bytes_data(NULL) == NULL && rapport_bytes_len(NULL) == 0);
    CHECK(rapport_recommendation_batch_get(NULL, 0) == NULL);
    CHECK(rapport_profile_customer_id(NULL) == NULL);
    rapport_greeting_free(NULL);
    CHECK(rapport_greeting_customer_id(NULL) == NULL && rapport_greeting_variant_id(NULL) == NULL);
    CHECK(rapport_greeting_text(NULL) == NULL && rapport_greeting_locale(NULL) == NULL);
    CHECK(rapport_greeting_reason(NULL) == NULL && isnan(rapport_greeting_score(NULL)));
    CHECK(!rapport_greeting_generic(NULL));
    CHECK(rapport_greeting_channel(NULL) == RAPPORT_CHANNEL_UNSPECIFIED);
    CHECK(rapport_greeting_featured_products_len(NULL) == 0);
    CHECK(rapport_greeting_featured_product_id(NULL, 0) == NULL);
    CHECK(rapport_greeting_runners_up_len(NULL) == 0);
    CHECK(rapport_greeting_runner_up_variant_id(NULL, 0) == NULL);
    CHECK(rapport_greeting_runner_up_text(NULL, 0) == NULL);
    CHECK(rapport_greeting_runner_up_reason(NULL, 0) == NULL);
    CHECK(isnan(rapport_greeting_runner_up_score(NULL, 0)));
    rapport_greeting_kind kind = RAPPORT_GREETING_KIND_STANDARD;
    CHECK_STATUS(rapport_greeting_get_kind(NULL, &kind), RAPPORT_STATUS_NULL_ARGUMENT);
    rapport_feedback_report_free(NULL);
    double value = 1.0;
    CHECK(!rapport_feedback_report_nps(NULL, &value) && isnan(value));
    value = 1.0;
    CHECK(!rapport_feedback_report_csat(NULL, &value) && isnan(value));
    value = 1.0;
    CHECK(!rapport_feedback_report_ces(NULL, &value) && isnan(value));
    CHECK(!rapport_feedback_report_nps(NULL, NULL));
    CHECK(rapport_feedback_report_promoters(NULL) == 0);
    CHECK(rapport_feedback_report_passives(NULL) == 0);
    CHECK(rapport_feedback_report_detractors(NULL) == 0);
    CHECK(rapport_feedback_report_csat_responses(NULL) == 0);
    CHECK(rapport_feedback_report_ces_responses(NULL) == 0);
    CHECK(rapport_feedback_report_retention_len(NULL) == 0);
    CHECK(rapport_feedback_report_retention_period(NULL, 0) == NULL);
    CHECK(rapport_feedback_report_retention_start(NULL, 0) == INT64_MIN);
    CHECK(rapport_feedback_report_retention_active(NULL, 0) == 0);
    CHECK(rapport_feedback_report_retention_retained(NULL, 0) == 0);
    CHECK(isnan(rapport_feedback_report_retention_rate(NULL, 0)));
    CHECK(isnan(rapport_feedback_report_retention_churn_rate(NULL, 0)));
}

static void test_null_arguments(void) {
    rapport_engine *e = (rapport_engine *)0x1; /* overwritten with NULL by a failed call */
    CHECK_STATUS(rapport_engine_new(NULL, NULL), RAPPORT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(rapport_config_default(NULL), RAPPORT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(rapport_engine_record_purchase(NULL, "a", "b", 0, 1, 1, NULL, NULL),
                 RAPPORT_STATUS_NULL_ARGUMENT);
    CHECK(strstr(last_error(), "engine is NULL") != NULL);
    CHECK_STATUS(rapport_engine_load(NULL, &e), RAPPORT_STATUS_NULL_ARGUMENT);
    CHECK(e == NULL);

    OK(rapport_engine_new(NULL, &e));
    CHECK_STATUS(rapport_engine_record_purchase(e, NULL, "b", 0, 1, 1, NULL, NULL),
                 RAPPORT_STATUS_NULL_ARGUMENT);
    CHECK(strstr(last_error(), "customer is NULL") != NULL);
    CHECK_STATUS(rapport_engine_record_purchase(e, "a", NULL, 0, 1, 1, NULL, NULL),
                 RAPPORT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(rapport_engine_recommend(e, "a", NULL, NULL), RAPPORT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(rapport_engine_recommend(NULL, "a", NULL, NULL), RAPPORT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(rapport_engine_is_trained(e, NULL), RAPPORT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(rapport_engine_read_csv_path(e, NULL, NULL), RAPPORT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(rapport_engine_save(e, NULL), RAPPORT_STATUS_NULL_ARGUMENT);
    rapport_engine *other = (rapport_engine *)0x1;
    CHECK_STATUS(rapport_engine_from_bytes(NULL, 5, &other), RAPPORT_STATUS_NULL_ARGUMENT);
    CHECK(other == NULL);
    rapport_engine_free(e);
}

static void test_null_arguments_no_leak(void) {
    rapport_engine *e = NULL;
    OK(rapport_engine_new(NULL, &e));
    rapport_recommend_options o;
    OK(rapport_recommend_options_default(&o));
    o.exclude_len = 2; /* a length that lies: the array pointer is NULL */
    rapport_recommendations *r = NULL;
    CHECK_STATUS(rapport_engine_recommend(e, "a", &o, &r), RAPPORT_STATUS_NULL_ARGUMENT);
    CHECK(strstr(last_error(), "options.exclude") != NULL);
    const char *ids[] = {"x", NULL};
    o.exclude = ids;
    CHECK_STATUS(rapport_engine_recommend(e, "a", &o, &r), RAPPORT_STATUS_NULL_ARGUMENT);
    CHECK(strstr(last_error(), "options.exclude[1]") != NULL);
    o.exclude = NULL;
    o.exclude_len = 0;
    /* the same for candidates: NULL with a length is not "any product" */
    o.candidates_len = 2;
    CHECK_STATUS(rapport_engine_recommend(e, "a", &o, &r), RAPPORT_STATUS_NULL_ARGUMENT);
    CHECK(strstr(last_error(), "options.candidates") != NULL);
    o.candidates_len = 0;
    CHECK_STATUS(rapport_engine_recommend_batch(e, NULL, 3, NULL, NULL),
                 RAPPORT_STATUS_NULL_ARGUMENT);
    CHECK(r == NULL);
    rapport_engine_free(e);
}

static void test_invalid_input(void) {
    rapport_engine *e = NULL;
    OK(rapport_engine_new(NULL, &e));
    const char bad[] = {'c', (char)0xff, (char)0xfe, 0};
    CHECK_STATUS(rapport_engine_record_purchase(e, bad, "p", 0, 1, 1, NULL, NULL),
                 RAPPORT_STATUS_INVALID_UTF8);
    CHECK(strstr(last_error(), "customer is not valid UTF-8") != NULL);
    CHECK_STATUS(rapport_engine_upsert_product(e, "p", bad, NULL, NAN, true),
                 RAPPORT_STATUS_INVALID_UTF8);
    CHECK_STATUS(rapport_engine_record_purchase(e, "c", "p", 0, NAN, 1, NULL, NULL),
                 RAPPORT_STATUS_INVALID_WEIGHT);
    CHECK_STATUS(rapport_engine_record_purchase(e, "c", "p", 0, 1, -3, NULL, NULL),
                 RAPPORT_STATUS_INVALID_WEIGHT);
    CHECK_STATUS(rapport_engine_upsert_product(e, "", NULL, NULL, NAN, true),
                 RAPPORT_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(rapport_engine_upsert_customer(e, "c", "Ann", "en-GB", 42),
                 RAPPORT_STATUS_INVALID_ARGUMENT);
    OK(rapport_engine_upsert_customer(e, "c", "Ann", "en-GB", RAPPORT_CHANNEL_EMAIL));
    OK(rapport_engine_upsert_customer(e, "d", NULL, NULL, RAPPORT_CHANNEL_UNSPECIFIED));
    CHECK_STATUS(rapport_engine_set_in_stock(e, "nope", false), RAPPORT_STATUS_UNKNOWN_PRODUCT);
    /* nothing to train on */
    CHECK_STATUS(rapport_engine_train(e, NULL, NULL, NULL), RAPPORT_STATUS_EMPTY);
    bool added = false;
    OK(rapport_engine_record_purchase(e, "c", "p", 0, 1, 1, "o-1", &added));
    CHECK(added);
    OK(rapport_engine_record_purchase(e, "c", "p", 0, 1, 1, "o-1", &added));
    CHECK(!added); /* a duplicate line */
    rapport_engine_free(e);

    rapport_config config;
    OK(rapport_config_default(&config));
    config.factors = 0;
    OK(rapport_engine_new(&config, &e));
    buy(e, "a", "b", 1);
    CHECK_STATUS(rapport_engine_train(e, NULL, NULL, NULL), RAPPORT_STATUS_INVALID_CONFIG);
    rapport_engine_free(e);
}

/* The rules of a purchase line: quantity > 0, unit price ≥ 0, a finite amount, non-empty ids. */
static void test_record_purchase_rules(void) {
    rapport_engine *e = NULL;
    OK(rapport_engine_new(NULL, &e));
    CHECK_STATUS(rapport_engine_record_purchase(e, "ghost", "p", 0, 0.0, 1, NULL, NULL),
                 RAPPORT_STATUS_INVALID_WEIGHT);
    CHECK(strstr(last_error(), "invalid quantity: 0") != NULL);
    CHECK_STATUS(rapport_engine_record_purchase(e, "ghost", "p", 0, -0.0, 1, NULL, NULL),
                 RAPPORT_STATUS_INVALID_WEIGHT);
    CHECK_STATUS(rapport_engine_record_purchase(e, "ghost", "p", 0, -1, 1, NULL, NULL),
                 RAPPORT_STATUS_INVALID_WEIGHT);
    CHECK_STATUS(rapport_engine_record_purchase(e, "ghost", "p", 0, INFINITY, 1, NULL, NULL),
                 RAPPORT_STATUS_INVALID_WEIGHT);
    CHECK_STATUS(rapport_engine_record_purchase(e, "ghost", "p", 0, 1, NAN, NULL, NULL),
                 RAPPORT_STATUS_INVALID_WEIGHT);
    CHECK(strstr(last_error(), "unit price") != NULL);
    /* each factor is finite, the amount is not */
    CHECK_STATUS(rapport_engine_record_purchase(e, "ghost", "p", 0, 1e200, 1e200, NULL, NULL),
                 RAPPORT_STATUS_INVALID_WEIGHT);
    CHECK(strstr(last_error(), "amount") != NULL);
    CHECK_STATUS(rapport_engine_record_purchase(e, "", "p", 0, 1, 1, NULL, NULL),
                 RAPPORT_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(last_error(), "empty customer id") != NULL);
    CHECK_STATUS(rapport_engine_record_purchase(e, "ghost", "", 0, 1, 1, NULL, NULL),
                 RAPPORT_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(last_error(), "empty product id") != NULL);
    /* nothing of the refused lines was recorded: the customer is still unknown */
    rapport_profile *p = NULL;
    CHECK_STATUS(rapport_engine_profile(e, "ghost", DAY, &p), RAPPORT_STATUS_UNKNOWN_CUSTOMER);
    /* a zero unit price (a free gift) is a valid line */
    bool added = false;
    OK(rapport_engine_record_purchase(e, "ghost", "gift", 0, 2, 0.0, NULL, &added));
    CHECK(added);
    OK(rapport_engine_profile(e, "ghost", DAY, &p));
    rapport_profile_fields f;
    OK(rapport_profile_get_fields(p, &f));
    CHECK(f.orders == 1 && f.units == 2 && f.total_spend == 0.0);
    rapport_profile_free(p);
    rapport_engine_free(e);
}

/* Lines without an order id (NULL or empty) form one order per customer and timestamp. */
static void test_order_grouping(void) {
    rapport_engine *e = NULL;
    OK(rapport_engine_new(NULL, &e));
    bool added = false;
    OK(rapport_engine_record_purchase(e, "a", "p1", 1000, 1, 1, NULL, &added));
    CHECK(added);
    OK(rapport_engine_record_purchase(e, "a", "p2", 1000, 1, 1, "", &added)); /* same order */
    CHECK(added);
    OK(rapport_engine_record_purchase(e, "a", "p1", 1000, 1, 1, "", &added));
    CHECK(!added); /* NULL and empty name the same order: a repeat of the first line */
    OK(rapport_engine_record_purchase(e, "a", "p3", 1000 + DAY, 1, 1, NULL, &added));
    OK(rapport_engine_record_purchase(e, "a", "p4", 1000, 1, 1, "o-9", &added));
    OK(rapport_engine_record_purchase(e, "a", "p5", 1000, 1, 1, "o-9", &added));
    OK(rapport_engine_record_purchase(e, "b", "p1", 1000, 1, 1, NULL, &added)); /* other customer */
    /* the id of a's first order, given explicitly, is another order that reads the same */
    OK(rapport_engine_record_purchase(e, "a", "p6", 1000, 1, 1, "a@1000", &added));
    CHECK(added);
    OK(rapport_engine_record_purchase(e, "a", "p1", 1000, 1, 1, "a@1000", &added));
    CHECK(added); /* not a repeat of the first line, whose order had no id */
    rapport_profile_fields f;
    rapport_profile *p = NULL;
    OK(rapport_engine_profile(e, "a", 2 * DAY, &p));
    OK(rapport_profile_get_fields(p, &f));
    /* a@1000 without an id (p1, p2), a@87400 (p3), o-9 (p4, p5), "a@1000" given (p6, p1) */
    CHECK(f.orders == 4);
    CHECK(f.units == 7);
    rapport_profile_free(p);
    OK(rapport_engine_profile(e, "b", 2 * DAY, &p));
    OK(rapport_profile_get_fields(p, &f));
    CHECK(f.orders == 1);
    rapport_profile_free(p);
    rapport_engine_free(e);
}

static void test_not_trained(void) {
    rapport_engine *e = shop();
    bool trained = true;
    OK(rapport_engine_is_trained(e, &trained));
    CHECK(!trained);
    rapport_recommendations *r = (rapport_recommendations *)0x1;
    CHECK_STATUS(rapport_engine_recommend(e, "t1", NULL, &r), RAPPORT_STATUS_NOT_TRAINED);
    CHECK(r == NULL);
    CHECK(strstr(last_error(), "not trained") != NULL);
    rapport_similar *s = NULL;
    CHECK_STATUS(rapport_engine_similar(e, "teapot", 3, &s), RAPPORT_STATUS_NOT_TRAINED);
    /* use after a failed call: the engine still works */
    size_t iterations = 0;
    rapport_train_report report;
    OK(rapport_engine_train(e, on_progress, &iterations, &report));
    CHECK(iterations == 15 && progress_calls == 15);
    CHECK(report.customers == 12 && report.products == 8 && report.interactions == 36);
    CHECK(isfinite(report.final_loss));
    OK(rapport_engine_is_trained(e, &trained));
    CHECK(trained);
    OK(rapport_engine_recommend(e, "t1", NULL, &r));
    CHECK(rapport_recommendations_len(r) == 5);
    rapport_recommendations_free(r);
    rapport_engine_free(e);
}

static void test_recommend(rapport_engine *e) {
    rapport_recommend_options o;
    OK(rapport_recommend_options_default(&o));
    CHECK(o.k == 10 && !o.allow_repurchase && o.in_stock_only);
    o.k = 1;
    rapport_recommendations *r = NULL;
    OK(rapport_engine_recommend(e, "t1", &o, &r));
    CHECK(rapport_recommendations_len(r) == 1);
    CHECK(!rapport_recommendations_fallback(r));
    CHECK(streq(rapport_recommendations_customer_id(r), "t1"));
    CHECK(streq(rapport_recommendations_product_id(r, 0), "tea-cups"));
    CHECK(streq(rapport_recommendations_name(r, 0), "tea-cups"));
    CHECK(rapport_recommendations_score(r, 0) > 0.0f);
    rapport_reason_kind kind = RAPPORT_REASON_KIND_POPULAR;
    OK(rapport_recommendations_reason_kind(r, 0, &kind));
    CHECK(kind == RAPPORT_REASON_KIND_BECAUSE_YOU_BOUGHT);
    const char *because = rapport_recommendations_reason_product_id(r, 0);
    CHECK(streq(because, "green-tea") || streq(because, "black-tea") || streq(because, "teapot"));
    CHECK(strncmp(rapport_recommendations_reason(r, 0), "because you bought ", 19) == 0);
    /* out of range */
    CHECK(rapport_recommendations_product_id(r, 1) == NULL);
    CHECK(rapport_recommendations_reason(r, 7) == NULL);
    CHECK(isnan(rapport_recommendations_score(r, 1)));
    CHECK_STATUS(rapport_recommendations_reason_kind(r, 1, &kind),
                 RAPPORT_STATUS_INDEX_OUT_OF_RANGE);
    rapport_recommendations_free(r);

    /* repurchase */
    o.k = 20;
    OK(rapport_engine_recommend(e, "t1", &o, &r));
    CHECK(rapport_recommendations_len(r) == 5);
    rapport_recommendations_free(r);
    o.allow_repurchase = true;
    OK(rapport_engine_recommend(e, "t1", &o, &r));
    CHECK(rapport_recommendations_len(r) == 8);
    rapport_recommendations_free(r);
    o.allow_repurchase = false;

    /* category */
    o.category = "tea";
    OK(rapport_engine_recommend(e, "c7", &o, &r));
    size_t n = rapport_recommendations_len(r);
    CHECK(n > 0);
    for (size_t i = 0; i < n; i++) CHECK(strstr(rapport_recommendations_product_id(r, i), "tea"));
    rapport_recommendations_free(r);
    o.category = "wine";
    OK(rapport_engine_recommend(e, "c7", &o, &r));
    CHECK(rapport_recommendations_len(r) == 0);
    rapport_recommendations_free(r);
    o.category = NULL;

    /* exclude */
    const char *coffee[] = {"espresso", "grinder", "mocha-pot", "coffee-mugs", "unknown-id"};
    o.exclude = coffee;
    o.exclude_len = 5;
    OK(rapport_engine_recommend(e, "c7", &o, &r));
    n = rapport_recommendations_len(r);
    CHECK(n == 4);
    for (size_t i = 0; i < n; i++) CHECK(strstr(rapport_recommendations_product_id(r, i), "tea"));
    rapport_recommendations_free(r);
    o.exclude = NULL;
    o.exclude_len = 0;

    /* candidates and stock */
    const char *candidates[] = {"teapot", "nope"};
    o.candidates = candidates;
    o.candidates_len = 2;
    OK(rapport_engine_recommend(e, "c7", &o, &r));
    CHECK(rapport_recommendations_len(r) == 1);
    rapport_recommendations_free(r);
    OK(rapport_engine_set_in_stock(e, "teapot", false));
    OK(rapport_engine_recommend(e, "c7", &o, &r));
    CHECK(rapport_recommendations_len(r) == 0);
    rapport_recommendations_free(r);
    o.in_stock_only = false;
    OK(rapport_engine_recommend(e, "c7", &o, &r));
    CHECK(rapport_recommendations_len(r) == 1);
    rapport_recommendations_free(r);
    OK(rapport_engine_set_in_stock(e, "teapot", true));
    o.candidates = NULL;
    o.candidates_len = 0;

    /* k larger than the catalog ("all"): every product, no huge allocation */
    o.k = SIZE_MAX;
    o.allow_repurchase = true;
    OK(rapport_engine_recommend(e, "t1", &o, &r));
    CHECK(rapport_recommendations_len(r) == 8);
    rapport_recommendations_free(r);
    o.allow_repurchase = false;
    rapport_similar *s = NULL;
    OK(rapport_engine_similar(e, "teapot", SIZE_MAX, &s));
    CHECK(rapport_similar_len(s) == 7);
    rapport_similar_free(s);

    /* empty customer id: rejected or fallback, never a crash */
    rapport_status st = rapport_engine_recommend(e, "", NULL, &r);
    CHECK(st == RAPPORT_STATUS_OK || st == RAPPORT_STATUS_INVALID_ARGUMENT);
    rapport_recommendations_free(r);
}

static void test_unknown_customer_and_observe(rapport_engine *e) {
    rapport_recommendations *r = NULL;
    OK(rapport_engine_recommend(e, "stranger", NULL, &r));
    CHECK(rapport_recommendations_fallback(r));
    CHECK(rapport_recommendations_len(r) > 0);
    rapport_reason_kind kind = RAPPORT_REASON_KIND_BECAUSE_YOU_BOUGHT;
    OK(rapport_recommendations_reason_kind(r, 0, &kind));
    CHECK(kind == RAPPORT_REASON_KIND_POPULAR);
    CHECK(rapport_recommendations_reason_product_id(r, 0) == NULL);
    CHECK(streq(rapport_recommendations_reason(r, 0), "popular with other customers right now"));
    rapport_recommendations_free(r);

    rapport_profile *p = (rapport_profile *)0x1;
    CHECK_STATUS(rapport_engine_profile(e, "stranger", 100 * DAY, &p),
                 RAPPORT_STATUS_UNKNOWN_CUSTOMER);
    CHECK(p == NULL);
    CHECK(strstr(last_error(), "stranger") != NULL);

    /* a new customer buys coffee gear: recommendations switch to coffee at once */
    OK(rapport_engine_observe(e, "stranger", "espresso", 100 * DAY, 1, 9, "o-1", NULL));
    OK(rapport_engine_observe(e, "stranger", "grinder", 100 * DAY, 1, 9, "o-1", NULL));
    rapport_recommend_options o;
    OK(rapport_recommend_options_default(&o));
    o.k = 2;
    OK(rapport_engine_recommend(e, "stranger", &o, &r));
    CHECK(!rapport_recommendations_fallback(r));
    CHECK(rapport_recommendations_len(r) == 2);
    for (size_t i = 0; i < 2; i++) {
        const char *id = rapport_recommendations_product_id(r, i);
        CHECK(streq(id, "coffee-mugs") || streq(id, "mocha-pot"));
    }
    rapport_recommendations_free(r);

    /* a product first seen after training stays out of the fold-in until the next training */
    bool added = false;
    OK(rapport_engine_observe(e, "newcomer", "kettle", 100 * DAY, 1, 30, NULL, &added));
    CHECK(added); /* recorded all the same */
    OK(rapport_engine_recommend(e, "newcomer", &o, &r));
    CHECK(rapport_recommendations_fallback(r));
    rapport_recommendations_free(r);
    OK(rapport_engine_observe(e, "newcomer", "espresso", 101 * DAY, 1, 9, NULL, &added));
    OK(rapport_engine_recommend(e, "newcomer", &o, &r));
    CHECK(!rapport_recommendations_fallback(r));
    rapport_recommendations_free(r);
    /* purchases recorded in bulk reach the model through a refresh */
    OK(rapport_engine_record_purchase(e, "bulk", "espresso", 102 * DAY, 1, 9, NULL, NULL));
    OK(rapport_engine_recommend(e, "bulk", &o, &r));
    CHECK(rapport_recommendations_fallback(r)); /* not folded in yet */
    rapport_recommendations_free(r);
    OK(rapport_engine_refresh_customer(e, "bulk"));
    OK(rapport_engine_recommend(e, "bulk", &o, &r));
    CHECK(!rapport_recommendations_fallback(r) && rapport_recommendations_len(r) == 2);
    for (size_t i = 0; i < 2; i++) {
        const char *id = rapport_recommendations_product_id(r, i);
        CHECK(streq(id, "grinder") || streq(id, "coffee-mugs") || streq(id, "mocha-pot"));
    }
    rapport_recommendations_free(r);
    CHECK_STATUS(rapport_engine_refresh_customer(e, "nobody-at-all"),
                 RAPPORT_STATUS_UNKNOWN_CUSTOMER);
    CHECK_STATUS(rapport_engine_refresh_customer(e, NULL), RAPPORT_STATUS_NULL_ARGUMENT);
    /* a refused line records nothing: the customer stays unknown */
    CHECK_STATUS(rapport_engine_observe(e, "nobody", "espresso", 100 * DAY, 0, 9, NULL, NULL),
                 RAPPORT_STATUS_INVALID_WEIGHT);
    CHECK_STATUS(rapport_engine_profile(e, "nobody", 200 * DAY, &p),
                 RAPPORT_STATUS_UNKNOWN_CUSTOMER);
    CHECK(p == NULL);
}

static void test_similar(rapport_engine *e) {
    rapport_similar *s = NULL;
    OK(rapport_engine_similar(e, "teapot", 3, &s));
    CHECK(rapport_similar_len(s) == 3);
    for (size_t i = 0; i < 3; i++) {
        const char *id = rapport_similar_product_id(s, i);
        CHECK(id && strstr(id, "tea") && strcmp(id, "teapot") != 0);
        CHECK(rapport_similar_name(s, i) != NULL);
    }
    CHECK(rapport_similar_similarity(s, 0) <= 1.0001f);
    CHECK(rapport_similar_similarity(s, 0) >= rapport_similar_similarity(s, 2));
    CHECK(rapport_similar_product_id(s, 3) == NULL && isnan(rapport_similar_similarity(s, 3)));
    rapport_similar_free(s);
    s = (rapport_similar *)0x1;
    CHECK_STATUS(rapport_engine_similar(e, "nope", 3, &s), RAPPORT_STATUS_UNKNOWN_PRODUCT);
    CHECK(s == NULL);
}

static void test_profile(rapport_engine *e) {
    rapport_profile *p = NULL;
    OK(rapport_engine_profile(e, "t1", 40 * DAY, &p));
    CHECK(streq(rapport_profile_customer_id(p), "t1"));
    rapport_profile_fields f;
    OK(rapport_profile_get_fields(p, &f));
    CHECK(f.orders == 3); /* each line without an order id is its own order */
    CHECK(fabs(f.total_spend - 6.0) < 1e-9 && fabs(f.units - 3.0) < 1e-9);
    CHECK(f.has_purchases && f.first_purchase == 3 * DAY && f.last_purchase == 5 * DAY);
    CHECK(f.has_days_since_last_purchase && fabs(f.days_since_last_purchase - 35.0) < 1e-9);
    CHECK(rapport_segment_name(f.segment) != NULL);
    CHECK(f.churn_risk >= 0.0 && f.churn_risk <= 1.0);
    CHECK(f.rfm_recency >= 1 && f.rfm_recency <= 5);
    size_t n = rapport_profile_favourite_products_len(p);
    CHECK(n == 3);
    for (size_t i = 0; i < n; i++) {
        CHECK(strstr(rapport_profile_favourite_product_id(p, i), "tea") != NULL);
        CHECK(rapport_profile_favourite_product_weight(p, i) > 0.0);
    }
    CHECK(rapport_profile_favourite_product_id(p, n) == NULL);
    CHECK(rapport_profile_favourite_categories_len(p) == 1);
    CHECK(streq(rapport_profile_favourite_category(p, 0), "tea"));
    CHECK_STATUS(rapport_profile_get_fields(p, NULL), RAPPORT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(rapport_profile_get_fields(NULL, &f), RAPPORT_STATUS_NULL_ARGUMENT);
    rapport_profile_free(p);
}

static void test_batch(rapport_engine *e) {
    const char *customers[] = {"t1", "c7", "nobody"};
    rapport_recommendation_batch *b = NULL;
    OK(rapport_engine_recommend_batch(e, customers, 3, NULL, &b));
    CHECK(rapport_recommendation_batch_len(b) == 3);
    for (size_t i = 0; i < 3; i++)
        CHECK(streq(rapport_recommendations_customer_id(rapport_recommendation_batch_get(b, i)),
                    customers[i]));
    CHECK(!rapport_recommendations_fallback(rapport_recommendation_batch_get(b, 0)));
    CHECK(rapport_recommendations_fallback(rapport_recommendation_batch_get(b, 2)));
    CHECK(rapport_recommendation_batch_get(b, 3) == NULL);
    rapport_recommendation_batch_free(b);
    OK(rapport_engine_recommend_batch(e, NULL, 0, NULL, &b));
    CHECK(rapport_recommendation_batch_len(b) == 0);
    rapport_recommendation_batch_free(b);
}

static void test_last_error_buffer(void) {
    rapport_engine *e = NULL;
    OK(rapport_engine_new(NULL, &e));
    CHECK_STATUS(rapport_engine_recommend(e, "x", NULL, &(rapport_recommendations *){NULL}),
                 RAPPORT_STATUS_NOT_TRAINED);
    rapport_engine_free(e);
    const char *expected = "the model is not trained yet";
    size_t len = strlen(expected);

    char big[128];
    size_t written = 0;
    OK(rapport_last_error_message(big, sizeof big, &written));
    CHECK(written == len && streq(big, expected));

    /* size query */
    written = 0;
    CHECK_STATUS(rapport_last_error_message(NULL, 0, &written), RAPPORT_STATUS_BUFFER_TOO_SMALL);
    CHECK(written == len);
    /* too small: truncated, NUL-terminated, needed length reported, message kept */
    char small[5];
    memset(small, 'x', sizeof small);
    CHECK_STATUS(rapport_last_error_message(small, sizeof small, &written),
                 RAPPORT_STATUS_BUFFER_TOO_SMALL);
    CHECK(written == len && streq(small, "the "));
    /* exactly the length without room for the NUL */
    char *exact = malloc(len);
    CHECK_STATUS(rapport_last_error_message(exact, len, &written),
                 RAPPORT_STATUS_BUFFER_TOO_SMALL);
    free(exact);
    char *fits = malloc(len + 1);
    OK(rapport_last_error_message(fits, len + 1, &written));
    CHECK(streq(fits, expected));
    free(fits);
    /* lying arguments */
    CHECK_STATUS(rapport_last_error_message(NULL, 10, &written), RAPPORT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(rapport_last_error_message(big, sizeof big, NULL), RAPPORT_STATUS_NULL_ARGUMENT);
    /* still the same message: querying never overwrites it */
    OK(rapport_last_error_message(big, sizeof big, &written));
    CHECK(streq(big, expected));
}

/* A message with multi-byte characters: a truncated copy never ends inside one. */
static void test_last_error_truncation_utf8(void) {
    rapport_engine *e = NULL;
    OK(rapport_engine_new(NULL, &e));
    CHECK_STATUS(rapport_engine_set_in_stock(e, "\xc3\xa9\xc3\xa9\xc3\xa9", false), /* "ééé" */
                 RAPPORT_STATUS_UNKNOWN_PRODUCT);
    rapport_engine_free(e);
    /* 17 ASCII bytes, three 2-byte characters at bytes 17-22, a closing quote */
    const char *full = "unknown product \"\xc3\xa9\xc3\xa9\xc3\xa9\"";
    const size_t total = strlen(full);
    CHECK(total == 24);
    size_t written = 0;
    char buf[32];
    for (size_t len = 1; len <= total + 2; len++) {
        memset(buf, 'x', sizeof buf);
        rapport_status expected = len > total ? RAPPORT_STATUS_OK : RAPPORT_STATUS_BUFFER_TOO_SMALL;
        CHECK_STATUS(rapport_last_error_message(buf, len, &written), expected);
        CHECK(written == total);
        /* the longest prefix of at most len - 1 bytes that does not end inside a character */
        size_t keep = len - 1 < total ? len - 1 : total;
        while (keep < total && ((unsigned char)full[keep] & 0xC0) == 0x80) keep--;
        if (strlen(buf) != keep || memcmp(buf, full, keep) != 0) {
            fprintf(stderr, "len %zu: got %zu bytes \"%s\", expected %zu\n", len, strlen(buf), buf,
                    keep);
            CHECK(false);
        }
    }
    /* the buffer of the report: 19 bytes used to end in the first byte of an 'é' */
    CHECK_STATUS(rapport_last_error_message(buf, 19, &written), RAPPORT_STATUS_BUFFER_TOO_SMALL);
    CHECK(streq(buf, "unknown product \""));
    CHECK_STATUS(rapport_last_error_message(buf, 20, &written), RAPPORT_STATUS_BUFFER_TOO_SMALL);
    CHECK(streq(buf, "unknown product \"\xc3\xa9"));
    CHECK_STATUS(rapport_last_error_message(buf, 21, &written), RAPPORT_STATUS_BUFFER_TOO_SMALL);
    CHECK(streq(buf, "unknown product \"\xc3\xa9"));
    OK(rapport_last_error_message(buf, sizeof buf, &written));
    CHECK(streq(buf, full));
}

static void *other_thread_error(void *arg) {
    char *out = arg;
    size_t n;
    rapport_last_error_message(out, 128, &n);
    return NULL;
}

static void test_last_error_is_thread_local(void) {
    CHECK_STATUS(rapport_engine_new(NULL, NULL), RAPPORT_STATUS_NULL_ARGUMENT);
    char other[128] = "unset";
    pthread_t t;
    pthread_create(&t, NULL, other_thread_error, other);
    pthread_join(t, NULL);
    CHECK(streq(other, "")); /* a fresh thread has no error */
    CHECK(strstr(last_error(), "out is NULL") != NULL);
}

static void write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    CHECK(fwrite(data, 1, len, f) == len);
    fclose(f);
}

static void test_persistence(rapport_engine *e) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/rapport_c_test_%d.rapport", (int)getpid());
    OK(rapport_engine_save(e, path));
    rapport_engine *back = NULL;
    OK(rapport_engine_load(path, &back));
    rapport_recommendations *a = NULL, *b = NULL;
    OK(rapport_engine_recommend(e, "t2", NULL, &a));
    OK(rapport_engine_recommend(back, "t2", NULL, &b));
    CHECK(rapport_recommendations_len(a) == rapport_recommendations_len(b));
    for (size_t i = 0; i < rapport_recommendations_len(a); i++) {
        CHECK(streq(rapport_recommendations_product_id(a, i), rapport_recommendations_product_id(b, i)));
        CHECK(rapport_recommendations_score(a, i) == rapport_recommendations_score(b, i));
    }
    rapport_recommendations_free(b);
    rapport_engine_free(back);

    /* bytes */
    rapport_bytes *bytes = NULL;
    OK(rapport_engine_to_bytes(e, &bytes));
    CHECK(rapport_bytes_len(bytes) > 16 && rapport_bytes_data(bytes) != NULL);
    OK(rapport_engine_from_bytes(rapport_bytes_data(bytes), rapport_bytes_len(bytes), &back));
    OK(rapport_engine_recommend(back, "t2", NULL, &b));
    CHECK(streq(rapport_recommendations_product_id(a, 0), rapport_recommendations_product_id(b, 0)));
    rapport_recommendations_free(b);
    rapport_engine_free(back);

    /* corrupted: one flipped byte near the end, and a truncated copy */
    size_t len = rapport_bytes_len(bytes);
    unsigned char *copy = malloc(len);
    memcpy(copy, rapport_bytes_data(bytes), len);
    copy[len - 3] ^= 0x5a;
    back = (rapport_engine *)0x1;
    CHECK_STATUS(rapport_engine_from_bytes(copy, len, &back), RAPPORT_STATUS_BAD_FILE);
    CHECK(back == NULL);
    write_file(path, copy, len);
    CHECK_STATUS(rapport_engine_load(path, &back), RAPPORT_STATUS_BAD_FILE);
    write_file(path, rapport_bytes_data(bytes), len / 2);
    CHECK_STATUS(rapport_engine_load(path, &back), RAPPORT_STATUS_BAD_FILE);
    CHECK(back == NULL);
    free(copy);
    rapport_bytes_free(bytes);

    /* not a model at all */
    const char gif[] = "GIF89a not a model";
    write_file(path, gif, sizeof gif - 1);
    CHECK_STATUS(rapport_engine_load(path, &back), RAPPORT_STATUS_BAD_FILE);
    CHECK(strstr(last_error(), "not a rapport model") != NULL);
    CHECK_STATUS(rapport_engine_from_bytes(NULL, 0, &back), RAPPORT_STATUS_BAD_FILE);
    unlink(path);
    CHECK_STATUS(rapport_engine_load(path, &back), RAPPORT_STATUS_IO);
    CHECK_STATUS(rapport_engine_save(e, "/nonexistent-dir/x.rapport"), RAPPORT_STATUS_IO);
    rapport_recommendations_free(a);
}

static void test_csv(void) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/rapport_c_test_%d.csv", (int)getpid());
    const char csv[] =
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
        "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n"
        "536365,71053,WHITE METAL LANTERN,6,2010-12-01 08:26:00,3.39,17850,United Kingdom\n"
        "536366,22633,HAND WARMER UNION JACK,6,2010-12-01 08:28:00,1.85,,United Kingdom\n"
        "C536379,D,Discount,-1,2010-12-01 09:41:00,27.5,14527,United Kingdom\n"
        "536367,84879,ASSORTED COLOUR BIRD ORNAMENT,32,2010-12-01 08:34:00,1.69,13047,United Kingdom\n";
    write_file(path, csv, sizeof csv - 1);
    rapport_engine *e = NULL;
    OK(rapport_engine_new(NULL, &e));
    rapport_ingest_report r;
    OK(rapport_engine_read_csv_path(e, path, &r));
    CHECK(r.rows_read == 5 && r.kept == 3 && r.dropped == 2);
    CHECK(r.missing_customer == 1 && r.cancelled == 1);
    OK(rapport_engine_read_csv_path(e, path, NULL)); /* the report is optional */

    const char bad[] = "Invoice,Code\n1,2\n";
    write_file(path, bad, sizeof bad - 1);
    CHECK_STATUS(rapport_engine_read_csv_path(e, path, &r), RAPPORT_STATUS_MISSING_COLUMN);
    unlink(path);
    CHECK_STATUS(rapport_engine_read_csv_path(e, path, &r), RAPPORT_STATUS_IO);
    rapport_engine_free(e);
}

struct reader {
    rapport_engine *engine;
    int ok;
};

static void *read_many(void *arg) {
    struct reader *r = arg;
    for (int i = 0; i < 20; i++) {
        rapport_recommendations *recs = NULL;
        if (rapport_engine_recommend(r->engine, i % 2 ? "t1" : "c7", NULL, &recs) ==
                RAPPORT_STATUS_OK &&
            rapport_recommendations_len(recs) > 0)
            r->ok++;
        rapport_recommendations_free(recs);
    }
    return NULL;
}

static void test_threads(rapport_engine *e) {
    pthread_t threads[3];
    struct reader readers[3] = {{e, 0}, {e, 0}, {e, 0}};
    for (int i = 0; i < 3; i++) pthread_create(&threads[i], NULL, read_many, &readers[i]);
    /* a writer in the middle of the readers: the engine serialises it */
    for (int i = 0; i < 5; i++)
        OK(rapport_engine_observe(e, "t1", "espresso", (200 + i) * DAY, 1, 9, NULL, NULL));
    for (int i = 0; i < 3; i++) pthread_join(threads[i], NULL);
    for (int i = 0; i < 3; i++) CHECK(readers[i].ok == 20);
}

/* Two shop-specific variants for the tea and coffee shop: one by category, one by products. */
static const char SHOP_VARIANTS[] =
    "[{\"id\": \"tea-time\", \"category\": \"tea\","
    "  \"template\": \"{first_name|Hello}, time for tea: {product}?\"},"
    " {\"id\": \"coffee-corner\","
    "  \"featured_products\": [\"espresso\", \"grinder\", \"mocha-pot\", \"coffee-mugs\"],"
    "  \"template\": \"{first_name|Hello}, fresh from the coffee corner: {product}.\"}]";

/* Greets and checks the status; the caller frees the result. */
static rapport_greeting *greet(rapport_engine *e, const char *customer, int channel, int64_t at) {
    rapport_greeting *g = NULL;
    OK(rapport_engine_greet(e, customer, channel, at, &g));
    return g;
}

static rapport_greeting_kind kind_of(const rapport_greeting *g) {
    rapport_greeting_kind kind = RAPPORT_GREETING_KIND_STANDARD;
    OK(rapport_greeting_get_kind(g, &kind));
    return kind;
}

/* Index of the runner-up with this variant id, or -1. */
static long runner_up(const rapport_greeting *g, const char *variant) {
    for (size_t i = 0; i < rapport_greeting_runners_up_len(g); i++)
        if (streq(rapport_greeting_runner_up_variant_id(g, i), variant)) return (long)i;
    return -1;
}

static void test_greeting_errors(void) {
    const char bad[] = {'c', (char)0xff, (char)0xfe, 0};
    const int64_t at = 40 * DAY + 9 * 3600;
    rapport_engine *e = NULL;
    OK(rapport_engine_new(NULL, &e));
    rapport_greeting *g = (rapport_greeting *)0x1; /* overwritten with NULL by a failed call */

    /* nothing registered yet */
    CHECK_STATUS(rapport_engine_greet(e, "ann", RAPPORT_CHANNEL_WEB, at, &g), RAPPORT_STATUS_EMPTY);
    CHECK(g == NULL);
    CHECK(strstr(last_error(), "no greeting variants") != NULL);

    /* NULL pointers */
    CHECK_STATUS(rapport_engine_load_default_greetings(NULL, NULL), RAPPORT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(rapport_engine_add_greeting_variants_json(NULL, "[]", NULL),
                 RAPPORT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(rapport_engine_add_greeting_variants_json(e, NULL, NULL),
                 RAPPORT_STATUS_NULL_ARGUMENT);
    CHECK(strstr(last_error(), "json is NULL") != NULL);
    CHECK_STATUS(rapport_engine_refresh_greetings(NULL, at), RAPPORT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(rapport_engine_greet(NULL, "ann", RAPPORT_CHANNEL_WEB, at, &g),
                 RAPPORT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(rapport_engine_greet(e, NULL, RAPPORT_CHANNEL_WEB, at, &g),
                 RAPPORT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(rapport_engine_greet(e, "ann", RAPPORT_CHANNEL_WEB, at, NULL),
                 RAPPORT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(rapport_engine_record_engagement(NULL, "ann", "hello-web",
                                                  RAPPORT_ENGAGEMENT_CLICK),
                 RAPPORT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(rapport_engine_record_engagement(e, NULL, "hello-web", RAPPORT_ENGAGEMENT_CLICK),
                 RAPPORT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(rapport_engine_record_engagement(e, "ann", NULL, RAPPORT_ENGAGEMENT_CLICK),
                 RAPPORT_STATUS_NULL_ARGUMENT);
    CHECK(strstr(last_error(), "variant is NULL") != NULL);
    CHECK_STATUS(rapport_engine_record_feedback(NULL, "ann", RAPPORT_FEEDBACK_KIND_NPS, 9, at),
                 RAPPORT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(rapport_engine_record_feedback(e, NULL, RAPPORT_FEEDBACK_KIND_NPS, 9, at),
                 RAPPORT_STATUS_NULL_ARGUMENT);

    size_t added = 0;
    OK(rapport_engine_load_default_greetings(e, &added));
    CHECK(added > 0);
    size_t again = 0;
    OK(rapport_engine_load_default_greetings(e, &again)); /* replaces, never duplicates */
    CHECK(again == added);
    OK(rapport_engine_load_default_greetings(e, NULL)); /* the count is optional */

    /* channels: only rapport_channel values, and a greeting needs a real one */
    const int bad_channels[] = {RAPPORT_CHANNEL_UNSPECIFIED, 6, -1, 1000};
    for (size_t i = 0; i < sizeof bad_channels / sizeof bad_channels[0]; i++) {
        g = (rapport_greeting *)0x1;
        CHECK_STATUS(rapport_engine_greet(e, "ann", bad_channels[i], at, &g),
                     RAPPORT_STATUS_INVALID_ARGUMENT);
        CHECK(g == NULL);
        CHECK(strstr(last_error(), "channel") != NULL);
    }

    /* invalid UTF-8 and empty ids */
    CHECK_STATUS(rapport_engine_greet(e, bad, RAPPORT_CHANNEL_WEB, at, &g),
                 RAPPORT_STATUS_INVALID_UTF8);
    CHECK(strstr(last_error(), "customer is not valid UTF-8") != NULL);
    CHECK_STATUS(rapport_engine_greet(e, "", RAPPORT_CHANNEL_WEB, at, &g),
                 RAPPORT_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(rapport_engine_record_engagement(e, "ann", bad, RAPPORT_ENGAGEMENT_CLICK),
                 RAPPORT_STATUS_INVALID_UTF8);
    CHECK(strstr(last_error(), "variant is not valid UTF-8") != NULL);
    CHECK_STATUS(rapport_engine_record_engagement(e, bad, "hello-web", RAPPORT_ENGAGEMENT_CLICK),
                 RAPPORT_STATUS_INVALID_UTF8);
    CHECK_STATUS(rapport_engine_record_engagement(e, "", "hello-web", RAPPORT_ENGAGEMENT_CLICK),
                 RAPPORT_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(rapport_engine_record_feedback(e, bad, RAPPORT_FEEDBACK_KIND_NPS, 9, at),
                 RAPPORT_STATUS_INVALID_UTF8);
    CHECK_STATUS(rapport_engine_record_feedback(e, "", RAPPORT_FEEDBACK_KIND_NPS, 9, at),
                 RAPPORT_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(rapport_engine_add_greeting_variants_json(e, bad, NULL),
                 RAPPORT_STATUS_INVALID_UTF8);

    /* engagement: unknown variants and events */
    CHECK_STATUS(rapport_engine_record_engagement(e, "ann", "no-such-variant",
                                                  RAPPORT_ENGAGEMENT_IMPRESSION),
                 RAPPORT_STATUS_UNKNOWN_VARIANT);
    CHECK(strstr(last_error(), "no-such-variant") != NULL);
    CHECK_STATUS(rapport_engine_record_engagement(e, "ann", "hello-web", 3),
                 RAPPORT_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(last_error(), "event 3") != NULL);
    CHECK_STATUS(rapport_engine_record_engagement(e, "ann", "hello-web", -1),
                 RAPPORT_STATUS_INVALID_ARGUMENT);
    /* a customer the engine has never seen is counted, not rejected */
    OK(rapport_engine_record_engagement(e, "ann", "hello-web", RAPPORT_ENGAGEMENT_IMPRESSION));
    OK(rapport_engine_record_engagement(e, "ann", "hello-web", RAPPORT_ENGAGEMENT_CONVERSION));

    /* feedback: each scale's range, values beyond a byte, unknown kinds */
    CHECK_STATUS(rapport_engine_record_feedback(e, "ann", RAPPORT_FEEDBACK_KIND_NPS, 11, at),
                 RAPPORT_STATUS_SCORE_OUT_OF_RANGE);
    CHECK(streq(last_error(), "NPS score 11 is out of range 0–10"));
    CHECK_STATUS(rapport_engine_record_feedback(e, "ann", RAPPORT_FEEDBACK_KIND_CSAT, 0, at),
                 RAPPORT_STATUS_SCORE_OUT_OF_RANGE);
    CHECK_STATUS(rapport_engine_record_feedback(e, "ann", RAPPORT_FEEDBACK_KIND_CSAT, 6, at),
                 RAPPORT_STATUS_SCORE_OUT_OF_RANGE);
    CHECK_STATUS(rapport_engine_record_feedback(e, "ann", RAPPORT_FEEDBACK_KIND_CES, 8, at),
                 RAPPORT_STATUS_SCORE_OUT_OF_RANGE);
    CHECK(streq(last_error(), "CES score 8 is out of range 1–7"));
    CHECK_STATUS(rapport_engine_record_feedback(e, "ann", RAPPORT_FEEDBACK_KIND_NPS, 266, at),
                 RAPPORT_STATUS_SCORE_OUT_OF_RANGE); /* 266 would be 10 if cut to a byte */
    CHECK(streq(last_error(), "NPS score 266 is out of range 0–10"));
    CHECK_STATUS(rapport_engine_record_feedback(e, "ann", RAPPORT_FEEDBACK_KIND_NPS, -1, at),
                 RAPPORT_STATUS_SCORE_OUT_OF_RANGE);
    CHECK_STATUS(rapport_engine_record_feedback(e, "ann", 3, 5, at),
                 RAPPORT_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(last_error(), "kind 3") != NULL);
    OK(rapport_engine_record_feedback(e, "zoe", RAPPORT_FEEDBACK_KIND_NPS, 0, at));
    OK(rapport_engine_record_feedback(e, "zoe", RAPPORT_FEEDBACK_KIND_CSAT, 5, at));
    OK(rapport_engine_record_feedback(e, "zoe", RAPPORT_FEEDBACK_KIND_CES, 1, at));

    /* variants: template errors with their position, broken rules, all or none */
    const char unclosed[] = "[{\"id\": \"broken\", \"template\": \"Hi {first_name\"}]";
    added = 99;
    CHECK_STATUS(rapport_engine_add_greeting_variants_json(e, unclosed, &added),
                 RAPPORT_STATUS_TEMPLATE);
    CHECK(added == 99); /* untouched on failure */
    CHECK(strstr(last_error(), "\"broken\"") && strstr(last_error(), "character"));
    CHECK_STATUS(rapport_engine_add_greeting_variants_json(e, "[{\"id\": ", NULL),
                 RAPPORT_STATUS_INVALID_VARIANT);
    CHECK(strstr(last_error(), "malformed variant JSON") != NULL);
    CHECK_STATUS(rapport_engine_add_greeting_variants_json(
                     e, "[{\"id\": \" \", \"template\": \"Hi\"}]", NULL),
                 RAPPORT_STATUS_INVALID_VARIANT);
    CHECK_STATUS(rapport_engine_add_greeting_variants_json(
                     e, "[{\"id\": \"x\", \"template\": \"Hi\", \"colour\": \"red\"}]", NULL),
                 RAPPORT_STATUS_INVALID_VARIANT);
    CHECK_STATUS(rapport_engine_add_greeting_variants_json(
                     e,
                     "[{\"id\": \"x\", \"template\": \"Hi\", \"featured_products\": [\"nope\"]}]",
                     NULL),
                 RAPPORT_STATUS_UNKNOWN_PRODUCT);
    const char one_bad[] = "[{\"id\": \"fine\", \"template\": \"Hello {first_name|there}\"},"
                           " {\"id\": \"fine\", \"template\": \"Hello again\"}]";
    CHECK_STATUS(rapport_engine_add_greeting_variants_json(e, one_bad, NULL),
                 RAPPORT_STATUS_INVALID_VARIANT);
    CHECK(strstr(last_error(), "duplicate id") != NULL);
    /* nothing of the failed list was registered */
    CHECK_STATUS(rapport_engine_record_engagement(e, "ann", "fine", RAPPORT_ENGAGEMENT_CLICK),
                 RAPPORT_STATUS_UNKNOWN_VARIANT);
    OK(rapport_engine_add_greeting_variants_json(e, "[]", &added));
    CHECK(added == 0);

    /* untrained engine: greetings work, with the customer's name */
    OK(rapport_engine_upsert_customer(e, "ann", "Ann", "en-GB", RAPPORT_CHANNEL_SMS));
    g = greet(e, "ann", RAPPORT_CHANNEL_SMS, at);
    CHECK(streq(rapport_greeting_variant_id(g), "hello-sms"));
    CHECK(streq(rapport_greeting_text(g), "Hi Ann, thanks for shopping with us."));
    CHECK(strstr(rapport_greeting_reason(g), "for a new customer") != NULL);
    CHECK(!rapport_greeting_generic(g));
    CHECK(rapport_greeting_channel(g) == RAPPORT_CHANNEL_SMS);
    rapport_greeting_free(g);
    rapport_engine_free(e);
}

static void test_greetings(void) {
    rapport_engine *e = shop();
    OK(rapport_engine_train(e, NULL, NULL, NULL));
    OK(rapport_engine_upsert_customer(e, "t1", "Ann", "en-GB", RAPPORT_CHANNEL_UNSPECIFIED));
    OK(rapport_engine_upsert_customer(e, "c7", "Bob", NULL, RAPPORT_CHANNEL_EMAIL));
    size_t added = 0;
    OK(rapport_engine_load_default_greetings(e, NULL));
    OK(rapport_engine_add_greeting_variants_json(e, SHOP_VARIANTS, &added));
    CHECK(added == 2);
    const int64_t at = 40 * DAY + 9 * 3600 + 1800; /* 09:30 UTC, 35 days after t1's last order */
    OK(rapport_engine_refresh_greetings(e, at));

    /* a tea drinker gets the tea variant, with her name and a tea product she has not bought */
    rapport_greeting *g = greet(e, "t1", RAPPORT_CHANNEL_WEB, at);
    CHECK(streq(rapport_greeting_customer_id(g), "t1"));
    CHECK(rapport_greeting_channel(g) == RAPPORT_CHANNEL_WEB);
    CHECK(streq(rapport_greeting_variant_id(g), "tea-time"));
    CHECK(kind_of(g) == RAPPORT_GREETING_KIND_STANDARD);
    const char *text = rapport_greeting_text(g);
    CHECK(text && strncmp(text, "Ann, time for tea: ", 19) == 0);
    CHECK(!rapport_greeting_generic(g));
    CHECK(streq(rapport_greeting_locale(g), "en"));
    CHECK(strstr(rapport_greeting_reason(g), "affinity") != NULL);
    CHECK(strstr(rapport_greeting_reason(g), "(category)") != NULL);
    float score = rapport_greeting_score(g);
    CHECK(score > 0.3f);
    size_t n = rapport_greeting_featured_products_len(g);
    CHECK(n >= 1);
    for (size_t i = 0; i < n; i++) {
        const char *p = rapport_greeting_featured_product_id(g, i);
        CHECK(p && (streq(p, "green-tea") || streq(p, "tea-cups"))); /* t1 owns the others */
    }
    CHECK(text && n > 0 && strstr(text, rapport_greeting_featured_product_id(g, 0)) != NULL);
    CHECK(rapport_greeting_featured_product_id(g, n) == NULL);
    /* runners-up: ranked below the winner, each with its own text and reason */
    size_t r = rapport_greeting_runners_up_len(g);
    CHECK(r == 3);
    float previous = score;
    for (size_t i = 0; i < r; i++) {
        CHECK(rapport_greeting_runner_up_score(g, i) <= previous);
        previous = rapport_greeting_runner_up_score(g, i);
        CHECK(rapport_greeting_runner_up_text(g, i) && rapport_greeting_runner_up_reason(g, i));
        CHECK(!streq(rapport_greeting_runner_up_variant_id(g, i), "tea-time"));
    }
    CHECK(rapport_greeting_runner_up_variant_id(g, r) == NULL);
    CHECK(isnan(rapport_greeting_runner_up_score(g, r)));
    CHECK(rapport_greeting_runner_up_text(g, r) == NULL);
    /* she is at risk (35 days quiet): the win-back message runs up, HTML-escaped on the web */
    long wb = runner_up(g, "win-back");
    CHECK(wb >= 0);
    if (wb >= 0) {
        CHECK(strstr(rapport_greeting_runner_up_text(g, (size_t)wb), "We&#39;ve missed you, Ann!"));
        CHECK(strstr(rapport_greeting_runner_up_reason(g, (size_t)wb), "35 days"));
    }
    rapport_greeting_free(g);
    /* the app renders plain text */
    g = greet(e, "t1", RAPPORT_CHANNEL_APP, at);
    wb = runner_up(g, "win-back");
    CHECK(wb >= 0 && strstr(rapport_greeting_runner_up_text(g, (size_t)wb), "We've missed you"));
    rapport_greeting_free(g);

    /* a coffee drinker gets the coffee variant with a coffee product; SMS stays short */
    g = greet(e, "c7", RAPPORT_CHANNEL_EMAIL, at);
    CHECK(streq(rapport_greeting_variant_id(g), "coffee-corner"));
    CHECK(strstr(rapport_greeting_text(g), "Bob") != NULL);
    CHECK(strstr(rapport_greeting_reason(g), "featured products") != NULL);
    CHECK(rapport_greeting_featured_products_len(g) >= 1);
    rapport_greeting_free(g);
    g = greet(e, "c7", RAPPORT_CHANNEL_SMS, at);
    CHECK(strlen(rapport_greeting_text(g)) <= 160 && strstr(rapport_greeting_text(g), "Bob"));
    rapport_greeting_free(g);

    /* an unknown visitor: a generic hello for the channel, every slot filled by its fallback */
    g = greet(e, "visitor-1", RAPPORT_CHANNEL_WEB, at);
    CHECK(rapport_greeting_generic(g));
    CHECK(streq(rapport_greeting_variant_id(g), "hello-web"));
    text = rapport_greeting_text(g);
    CHECK(text && strstr(text, "Hello there") && !strchr(text, '{'));
    CHECK(kind_of(g) == RAPPORT_GREETING_KIND_STANDARD);
    rapport_greeting_free(g);
    g = greet(e, "visitor-1", RAPPORT_CHANNEL_IN_STORE, at);
    CHECK(rapport_greeting_generic(g) && streq(rapport_greeting_variant_id(g), "hello-in-store"));
    rapport_greeting_free(g);

    /* a poor NPS switches her to an apology on every channel, never an offer */
    OK(rapport_engine_record_feedback(e, "t1", RAPPORT_FEEDBACK_KIND_NPS, 3, at - DAY));
    g = greet(e, "t1", RAPPORT_CHANNEL_WEB, at);
    CHECK(kind_of(g) == RAPPORT_GREETING_KIND_SERVICE_RECOVERY);
    CHECK(streq(rapport_greeting_variant_id(g), "recovery"));
    CHECK(strstr(rapport_greeting_text(g), "Ann") && strstr(rapport_greeting_text(g), "sorry"));
    CHECK(strstr(rapport_greeting_reason(g), "NPS 3") != NULL);
    CHECK(rapport_greeting_featured_products_len(g) == 0);
    for (size_t i = 0; i < rapport_greeting_runners_up_len(g); i++)
        CHECK(strstr(rapport_greeting_runner_up_reason(g, i), "service-recovery") != NULL);
    rapport_greeting_free(g);
    g = greet(e, "t1", RAPPORT_CHANNEL_SMS, at);
    CHECK(streq(rapport_greeting_variant_id(g), "recovery-sms"));
    CHECK(kind_of(g) == RAPPORT_GREETING_KIND_SERVICE_RECOVERY);
    rapport_greeting_free(g);
    /* a good answer later ends it; a poor one after the greeting time does not count yet */
    OK(rapport_engine_record_feedback(e, "t1", RAPPORT_FEEDBACK_KIND_NPS, 9, at - 3600));
    OK(rapport_engine_record_feedback(e, "t1", RAPPORT_FEEDBACK_KIND_CSAT, 1, at + DAY));
    g = greet(e, "t1", RAPPORT_CHANNEL_WEB, at);
    CHECK(streq(rapport_greeting_variant_id(g), "tea-time"));
    rapport_greeting_free(g);
    g = greet(e, "t1", RAPPORT_CHANNEL_WEB, at + 2 * DAY);
    CHECK(kind_of(g) == RAPPORT_GREETING_KIND_SERVICE_RECOVERY);
    rapport_greeting_free(g);
    /* a poor answer from an id never seen: the registered recovery variant, generic */
    OK(rapport_engine_record_feedback(e, "visitor-2", RAPPORT_FEEDBACK_KIND_CES, 6, at - DAY));
    g = greet(e, "visitor-2", RAPPORT_CHANNEL_WEB, at);
    CHECK(streq(rapport_greeting_variant_id(g), "recovery"));
    CHECK(kind_of(g) == RAPPORT_GREETING_KIND_SERVICE_RECOVERY);
    CHECK(rapport_greeting_generic(g));
    CHECK(strstr(rapport_greeting_text(g), "sorry") != NULL && !strchr(rapport_greeting_text(g), '{'));
    rapport_greeting_free(g);
    /* known without purchases: the registered recovery variant */
    OK(rapport_engine_upsert_customer(e, "kim", "Kim", NULL, RAPPORT_CHANNEL_UNSPECIFIED));
    OK(rapport_engine_record_feedback(e, "kim", RAPPORT_FEEDBACK_KIND_CES, 6, at - DAY));
    g = greet(e, "kim", RAPPORT_CHANNEL_WEB, at);
    CHECK(streq(rapport_greeting_variant_id(g), "recovery"));
    CHECK(!rapport_greeting_generic(g) && strstr(rapport_greeting_text(g), "Kim") != NULL);
    rapport_greeting_free(g);

    /* engagement: tea drinkers keep clicking the coffee greeting, and it becomes hers */
    for (int round = 0; round < 9; round++) {
        for (int c = 0; c < 6; c++) {
            char name[8];
            snprintf(name, sizeof name, "t%d", c);
            OK(rapport_engine_record_engagement(e, name, "coffee-corner",
                                                RAPPORT_ENGAGEMENT_IMPRESSION));
            if (round == 0)
                OK(rapport_engine_record_engagement(e, name, "coffee-corner",
                                                    RAPPORT_ENGAGEMENT_CLICK));
        }
        if (round == 0) {
            /* 6 clicks but 6 of 50 impressions: the variant's vector is still derived */
            g = greet(e, "c7", RAPPORT_CHANNEL_WEB, at);
            CHECK(streq(rapport_greeting_variant_id(g), "coffee-corner"));
            CHECK(strstr(rapport_greeting_reason(g), "(featured products)") != NULL);
            rapport_greeting_free(g);
        }
    }
    g = greet(e, "t1", RAPPORT_CHANNEL_WEB, at);
    CHECK(streq(rapport_greeting_variant_id(g), "coffee-corner"));
    CHECK(strstr(rapport_greeting_reason(g), "learned from 54 impressions, 6 clicks") != NULL);
    CHECK(rapport_greeting_score(g) > score);
    CHECK(runner_up(g, "tea-time") == 0); /* the former winner is now the first alternative */
    rapport_greeting_free(g);

    /* variants, engagement and feedback travel with the model */
    rapport_bytes *bytes = NULL;
    OK(rapport_engine_to_bytes(e, &bytes));
    rapport_engine *back = NULL;
    OK(rapport_engine_from_bytes(rapport_bytes_data(bytes), rapport_bytes_len(bytes), &back));
    rapport_bytes_free(bytes);
    rapport_greeting *a = greet(e, "t1", RAPPORT_CHANNEL_EMAIL, at);
    rapport_greeting *b = greet(back, "t1", RAPPORT_CHANNEL_EMAIL, at);
    CHECK(streq(rapport_greeting_variant_id(a), rapport_greeting_variant_id(b)));
    CHECK(streq(rapport_greeting_text(a), rapport_greeting_text(b)));
    rapport_greeting_free(a);
    rapport_greeting_free(b);
    b = greet(back, "t1", RAPPORT_CHANNEL_EMAIL, at + 2 * DAY);
    CHECK(kind_of(b) == RAPPORT_GREETING_KIND_SERVICE_RECOVERY);
    rapport_greeting_free(b);
    rapport_engine_free(back);
    rapport_engine_free(e);
}

/* Only customers with a factor vector count towards learning a variant's vector. */
static void test_engagement_learning(void) {
    rapport_engine *e = shop();
    OK(rapport_engine_train(e, NULL, NULL, NULL));
    OK(rapport_engine_add_greeting_variants_json(e, SHOP_VARIANTS, NULL));
    rapport_greeting_settings s;
    OK(rapport_engine_greeting_settings(e, &s));
    CHECK(s.learn_min_impressions == 50 && s.learn_min_clicks == 5);
    s.learn_min_impressions = 1;
    s.learn_min_clicks = 1;
    OK(rapport_engine_set_greeting_settings(e, &s));
    const int64_t at = 40 * DAY + 9 * 3600;
    /* a visitor the engine has never seen, and one recorded after training: counted, no more */
    OK(rapport_engine_record_engagement(e, "visitor", "coffee-corner", RAPPORT_ENGAGEMENT_CLICK));
    buy(e, "late", "espresso", 39);
    OK(rapport_engine_record_engagement(e, "late", "coffee-corner", RAPPORT_ENGAGEMENT_CLICK));
    rapport_greeting *g = greet(e, "c7", RAPPORT_CHANNEL_WEB, at);
    CHECK(streq(rapport_greeting_variant_id(g), "coffee-corner"));
    CHECK(strstr(rapport_greeting_reason(g), "(featured products)") != NULL);
    rapport_greeting_free(g);
    /* one click from a customer of the model meets both thresholds */
    OK(rapport_engine_record_engagement(e, "c6", "coffee-corner", RAPPORT_ENGAGEMENT_CLICK));
    g = greet(e, "c7", RAPPORT_CHANNEL_WEB, at);
    CHECK(streq(rapport_greeting_variant_id(g), "coffee-corner"));
    CHECK(strstr(rapport_greeting_reason(g), "(learned from 1 impressions, 1 clicks)") != NULL);
    rapport_greeting_free(g);
    rapport_engine_free(e);
}

/* Calendar dates of the feedback tests (UTC; 2024 is a leap year). */
static const int64_t JAN1 = 1704067200; /* 2024-01-01 00:00 */
#define FEB1 (JAN1 + 31 * DAY)
#define MAR1 (FEB1 + 29 * DAY)
#define APR1 (MAR1 + 31 * DAY)
#define MAY1 (APR1 + 30 * DAY)

static void bought(rapport_engine *e, const char *customer, int64_t at) {
    OK(rapport_engine_record_purchase(e, customer, "p", at, 1.0, 2.0, NULL, NULL));
}

static void answered(rapport_engine *e, const char *customer, int kind, int value, int64_t at) {
    OK(rapport_engine_record_feedback(e, customer, kind, value, at));
}

/* Builds a report and checks the status; the caller frees it. */
static rapport_feedback_report *report_of(const rapport_engine *e, int period, bool has_window,
                                          int64_t from, int64_t to) {
    rapport_feedback_report *r = NULL;
    OK(rapport_engine_feedback_report(e, period, has_window, from, to, &r));
    return r;
}

static bool near(double a, double b) { return fabs(a - b) < 1e-9; }

/* Checks retention row i: label, start, active, retained, retention rate and churn. */
static void check_row(const rapport_feedback_report *r, size_t i, const char *period,
                      int64_t start, size_t active, size_t retained, double rate) {
    CHECK(streq(rapport_feedback_report_retention_period(r, i), period));
    CHECK(rapport_feedback_report_retention_start(r, i) == start);
    CHECK(rapport_feedback_report_retention_active(r, i) == active);
    CHECK(rapport_feedback_report_retention_retained(r, i) == retained);
    CHECK(near(rapport_feedback_report_retention_rate(r, i), rate));
    CHECK(near(rapport_feedback_report_retention_churn_rate(r, i), 1.0 - rate));
}

static void test_greeting_settings(void) {
    rapport_engine *e = shop();
    rapport_greeting_settings s;
    CHECK_STATUS(rapport_engine_greeting_settings(NULL, &s), RAPPORT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(rapport_engine_greeting_settings(e, NULL), RAPPORT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(rapport_engine_set_greeting_settings(NULL, &s), RAPPORT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(rapport_engine_set_greeting_settings(e, NULL), RAPPORT_STATUS_NULL_ARGUMENT);
    CHECK(strstr(last_error(), "settings is NULL") != NULL);
    CHECK_STATUS(rapport_engine_set_greeting_shop_name(NULL, "x"), RAPPORT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(rapport_engine_set_greeting_locale(NULL, "en"), RAPPORT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(rapport_engine_set_greeting_locale(e, NULL), RAPPORT_STATUS_NULL_ARGUMENT);

    /* the library defaults */
    OK(rapport_engine_greeting_settings(e, &s));
    CHECK(s.runners_up == 3 && s.post_purchase_days == 14.0 && s.replenish_min_purchases == 3);
    CHECK(s.learn_min_impressions == 50 && s.learn_min_clicks == 5);
    CHECK(s.click_alpha == 2.0f && s.conversion_weight == 3.0f);
    CHECK(s.engagement_regularization == 1.0f && s.customer_anchor == 1.0f);
    CHECK(s.sms_max_chars == 160 && s.app_max_chars == 178);

    /* out-of-range values: all or nothing, the message names the field */
    const rapport_greeting_settings defaults = s;
    struct {
        const char *field;
        rapport_greeting_settings bad;
    } cases[7];
    for (size_t i = 0; i < 7; i++) cases[i].bad = defaults;
    cases[0].field = "replenish_min_purchases", cases[0].bad.replenish_min_purchases = 1;
    cases[1].field = "post_purchase_days", cases[1].bad.post_purchase_days = -1.0;
    cases[2].field = "post_purchase_days", cases[2].bad.post_purchase_days = NAN;
    cases[3].field = "click_alpha", cases[3].bad.click_alpha = INFINITY;
    cases[4].field = "customer_anchor", cases[4].bad.customer_anchor = 0.0f;
    cases[5].field = "length limits", cases[5].bad.sms_max_chars = 19;
    cases[6].field = "engagement_regularization", cases[6].bad.engagement_regularization = NAN;
    for (size_t i = 0; i < 7; i++) {
        cases[i].bad.runners_up = 1; /* valid, but must not be applied either */
        CHECK_STATUS(rapport_engine_set_greeting_settings(e, &cases[i].bad),
                     RAPPORT_STATUS_INVALID_CONFIG);
        CHECK(strstr(last_error(), cases[i].field) != NULL);
        OK(rapport_engine_greeting_settings(e, &s));
        CHECK(s.runners_up == 3 && s.sms_max_chars == 160);
    }
    CHECK_STATUS(rapport_engine_set_greeting_locale(e, "  "), RAPPORT_STATUS_INVALID_CONFIG);
    CHECK(strstr(last_error(), "default_locale") != NULL);
    const char bad[] = {'s', (char)0xff, 0};
    CHECK_STATUS(rapport_engine_set_greeting_shop_name(e, bad), RAPPORT_STATUS_INVALID_UTF8);
    CHECK_STATUS(rapport_engine_set_greeting_locale(e, bad), RAPPORT_STATUS_INVALID_UTF8);

    /* fewer runners-up and a tighter SMS limit show in the greetings */
    OK(rapport_engine_train(e, NULL, NULL, NULL));
    OK(rapport_engine_upsert_customer(e, "t1", "Ann", NULL, RAPPORT_CHANNEL_UNSPECIFIED));
    OK(rapport_engine_load_default_greetings(e, NULL));
    const int64_t at = 40 * DAY + 9 * 3600;
    OK(rapport_engine_refresh_greetings(e, at));
    rapport_greeting *g = greet(e, "t1", RAPPORT_CHANNEL_WEB, at);
    CHECK(rapport_greeting_runners_up_len(g) == 3);
    rapport_greeting_free(g);
    s = defaults;
    s.runners_up = 1;
    s.sms_max_chars = 24;
    OK(rapport_engine_set_greeting_settings(e, &s));
    rapport_greeting_settings back;
    OK(rapport_engine_greeting_settings(e, &back));
    CHECK(back.runners_up == 1 && back.sms_max_chars == 24 && back.app_max_chars == 178);
    g = greet(e, "t1", RAPPORT_CHANNEL_WEB, at);
    CHECK(rapport_greeting_runners_up_len(g) == 1);
    rapport_greeting_free(g);
    g = greet(e, "t1", RAPPORT_CHANNEL_SMS, at);
    const char *sms = rapport_greeting_text(g);
    /* cut, ending in three full stops (GSM 7-bit), not … */
    CHECK(sms && chars(sms) <= 24 && strlen(sms) > 3 && strcmp(sms + strlen(sms) - 3, "...") == 0);
    CHECK(sms && strstr(sms, "\xe2\x80\xa6") == NULL);
    rapport_greeting_free(g);
    /* the number of runners-up follows the setting, beyond 3 too (with enough variants) */
    OK(rapport_engine_add_greeting_variants_json(
        e,
        "[{\"id\": \"extra-1\", \"template\": \"Hi {first_name|there}!\"},"
        " {\"id\": \"extra-2\", \"template\": \"Hello {first_name|there}!\"},"
        " {\"id\": \"extra-3\", \"template\": \"Welcome back, {first_name|friend}!\"}]",
        NULL));
    s.runners_up = 5;
    s.app_max_chars = 30;
    OK(rapport_engine_set_greeting_settings(e, &s));
    g = greet(e, "t1", RAPPORT_CHANNEL_WEB, at);
    CHECK(rapport_greeting_runners_up_len(g) == 5);
    CHECK(rapport_greeting_runner_up_variant_id(g, 4) != NULL);
    rapport_greeting_free(g);
    g = greet(e, "t1", RAPPORT_CHANNEL_APP, at);
    const char *app = rapport_greeting_text(g);
    CHECK(app && chars(app) <= 30 && strstr(app, "\xe2\x80\xa6") != NULL);
    rapport_greeting_free(g);
    s.runners_up = 0;
    OK(rapport_engine_set_greeting_settings(e, &s));
    g = greet(e, "t1", RAPPORT_CHANNEL_WEB, at);
    CHECK(rapport_greeting_runners_up_len(g) == 0);
    rapport_greeting_free(g);

    /* the shop name fills {shop_name}, escaped for the web; NULL brings the fallback back */
    const char *welcome = "[{\"id\": \"welcome\", \"channels\": [\"web\"],"
                          "  \"template\": \"Welcome to {shop_name|our shop}, {first_name|friend}!\"}]";
    rapport_engine *w = shop();
    OK(rapport_engine_upsert_customer(w, "t1", "Ann", NULL, RAPPORT_CHANNEL_UNSPECIFIED));
    OK(rapport_engine_add_greeting_variants_json(w, welcome, NULL));
    g = greet(w, "t1", RAPPORT_CHANNEL_WEB, at);
    CHECK(streq(rapport_greeting_text(g), "Welcome to our shop, Ann!"));
    rapport_greeting_free(g);
    /* no variant for SMS: the built-in greeting, without runners-up */
    g = greet(w, "t1", RAPPORT_CHANNEL_SMS, at);
    CHECK(streq(rapport_greeting_variant_id(g), "builtin-sms"));
    CHECK(rapport_greeting_runners_up_len(g) == 0);
    rapport_greeting_free(g);
    OK(rapport_engine_set_greeting_shop_name(w, "Tea & Co"));
    g = greet(w, "t1", RAPPORT_CHANNEL_WEB, at);
    CHECK(streq(rapport_greeting_text(g), "Welcome to Tea &amp; Co, Ann!"));
    rapport_greeting_free(g);
    OK(rapport_engine_set_greeting_shop_name(w, NULL));
    g = greet(w, "t1", RAPPORT_CHANNEL_WEB, at);
    CHECK(streq(rapport_greeting_text(g), "Welcome to our shop, Ann!"));
    rapport_greeting_free(g);
    OK(rapport_engine_set_greeting_locale(w, "de"));
    OK(rapport_engine_greeting_settings(w, &s)); /* the numbers are untouched by the strings */
    CHECK(s.runners_up == 3 && s.sms_max_chars == 160);
    rapport_engine_free(w);
    rapport_engine_free(e);
}

static void test_feedback_report(void) {
    rapport_engine *e = NULL;
    OK(rapport_engine_new(NULL, &e));

    /* nothing recorded: a report without values or rows, not an error */
    rapport_feedback_report *r = report_of(e, RAPPORT_PERIOD_MONTH, false, 0, 0);
    CHECK(r != NULL);
    double v = 1.0;
    CHECK(!rapport_feedback_report_nps(r, &v) && isnan(v));
    v = 1.0;
    CHECK(!rapport_feedback_report_csat(r, &v) && isnan(v));
    v = 1.0;
    CHECK(!rapport_feedback_report_ces(r, &v) && isnan(v));
    CHECK(rapport_feedback_report_promoters(r) == 0 && rapport_feedback_report_passives(r) == 0 &&
          rapport_feedback_report_detractors(r) == 0);
    CHECK(rapport_feedback_report_csat_responses(r) == 0);
    CHECK(rapport_feedback_report_ces_responses(r) == 0);
    CHECK(rapport_feedback_report_retention_len(r) == 0);
    CHECK(rapport_feedback_report_retention_period(r, 0) == NULL);
    rapport_feedback_report_free(r);

    /* purchases: January a (twice), b, c, d; February a, b, d; March a, c; none in April;
     * May b */
    bought(e, "a", JAN1 + 2 * DAY);
    bought(e, "a", JAN1 + 19 * DAY); /* the same customer twice in a month counts once */
    bought(e, "b", JAN1 + 2 * DAY);
    bought(e, "c", JAN1 + 2 * DAY);
    bought(e, "d", JAN1 + 2 * DAY);
    bought(e, "a", FEB1 + 9 * DAY);
    bought(e, "b", FEB1 + 9 * DAY);
    bought(e, "d", FEB1 + 9 * DAY);
    bought(e, "a", MAR1 + 4 * DAY);
    bought(e, "c", MAR1 + 4 * DAY);
    bought(e, "b", MAY1 + DAY);

    /* answers on January 15, February 20 and March 10 (e never bought: still counted) */
    const int64_t jan15 = JAN1 + 14 * DAY, feb20 = FEB1 + 19 * DAY, mar10 = MAR1 + 9 * DAY;
    answered(e, "a", RAPPORT_FEEDBACK_KIND_NPS, 10, jan15);
    answered(e, "b", RAPPORT_FEEDBACK_KIND_NPS, 9, jan15);
    answered(e, "c", RAPPORT_FEEDBACK_KIND_NPS, 7, jan15);
    answered(e, "d", RAPPORT_FEEDBACK_KIND_NPS, 3, jan15);
    answered(e, "a", RAPPORT_FEEDBACK_KIND_CSAT, 5, jan15);
    answered(e, "b", RAPPORT_FEEDBACK_KIND_CSAT, 4, jan15);
    answered(e, "c", RAPPORT_FEEDBACK_KIND_CSAT, 2, jan15);
    answered(e, "a", RAPPORT_FEEDBACK_KIND_CES, 2, jan15);
    answered(e, "b", RAPPORT_FEEDBACK_KIND_CES, 4, jan15);
    answered(e, "a", RAPPORT_FEEDBACK_KIND_NPS, 6, feb20);
    answered(e, "b", RAPPORT_FEEDBACK_KIND_NPS, 10, feb20);
    answered(e, "e", RAPPORT_FEEDBACK_KIND_NPS, 9, feb20);
    answered(e, "a", RAPPORT_FEEDBACK_KIND_CSAT, 1, feb20);
    answered(e, "a", RAPPORT_FEEDBACK_KIND_CES, 6, feb20);
    answered(e, "c", RAPPORT_FEEDBACK_KIND_NPS, 9, mar10);
    answered(e, "c", RAPPORT_FEEDBACK_KIND_CSAT, 3, mar10);

    /* every answer and period, by month */
    r = report_of(e, RAPPORT_PERIOD_MONTH, false, 0, 0);
    /* NPS answers 10 9 7 3 | 6 10 9 | 9: promoters (9-10) 10 9 10 9 9 = 5, passives (7-8) 7 = 1,
     * detractors (0-6) 3 6 = 2; NPS = 100 * (5 - 2) / 8 = 37.5 */
    CHECK(rapport_feedback_report_promoters(r) == 5);
    CHECK(rapport_feedback_report_passives(r) == 1);
    CHECK(rapport_feedback_report_detractors(r) == 2);
    v = NAN;
    CHECK(rapport_feedback_report_nps(r, &v) && near(v, 37.5));
    CHECK(rapport_feedback_report_nps(r, NULL)); /* only asks whether there is a value */
    /* CSAT answers 5 4 2 | 1 | 3: two of five are 4 or 5, 40 % */
    CHECK(rapport_feedback_report_csat_responses(r) == 5);
    CHECK(rapport_feedback_report_csat(r, &v) && near(v, 40.0));
    /* CES answers 2 4 | 6: mean 4 */
    CHECK(rapport_feedback_report_ces_responses(r) == 3);
    CHECK(rapport_feedback_report_ces(r, &v) && near(v, 4.0));
    /* January {a b c d}: a b d bought in February, 3 of 4. February {a b d}: a bought in March,
     * 1 of 3. March {a c}: nobody in April, 0 of 2. April has no purchases (no row); May is
     * the last period with purchases, nothing after it (no row). */
    CHECK(rapport_feedback_report_retention_len(r) == 3);
    check_row(r, 0, "2024-01", JAN1, 4, 3, 0.75);
    check_row(r, 1, "2024-02", FEB1, 3, 1, 1.0 / 3.0);
    check_row(r, 2, "2024-03", MAR1, 2, 0, 0.0);
    /* out of range */
    CHECK(rapport_feedback_report_retention_period(r, 3) == NULL);
    CHECK(rapport_feedback_report_retention_start(r, 3) == INT64_MIN);
    CHECK(rapport_feedback_report_retention_active(r, 3) == 0);
    CHECK(rapport_feedback_report_retention_retained(r, 3) == 0);
    CHECK(isnan(rapport_feedback_report_retention_rate(r, 3)));
    CHECK(isnan(rapport_feedback_report_retention_churn_rate(r, SIZE_MAX)));
    CHECK(rapport_feedback_report_retention_period(r, SIZE_MAX) == NULL);
    rapport_feedback_report_free(r);

    /* by quarter: the same answers; 2024-Q1 {a b c d}, of whom b bought in Q2 (May), 1 of 4;
     * Q2 is the last quarter with purchases (no row) */
    r = report_of(e, RAPPORT_PERIOD_QUARTER, false, 0, 0);
    CHECK(rapport_feedback_report_nps(r, &v) && near(v, 37.5));
    CHECK(rapport_feedback_report_retention_len(r) == 1);
    check_row(r, 0, "2024-Q1", JAN1, 4, 1, 0.25);
    rapport_feedback_report_free(r);

    /* window [February 1, April 1): the February and March answers and rows */
    r = report_of(e, RAPPORT_PERIOD_MONTH, true, FEB1, APR1);
    /* NPS 6 10 9 9: 3 promoters, 1 detractor; 100 * (3 - 1) / 4 = 50 */
    CHECK(rapport_feedback_report_promoters(r) == 3);
    CHECK(rapport_feedback_report_passives(r) == 0);
    CHECK(rapport_feedback_report_detractors(r) == 1);
    CHECK(rapport_feedback_report_nps(r, &v) && near(v, 50.0));
    /* CSAT 1 3: none satisfied, 0 % (a value, not "no answers") */
    CHECK(rapport_feedback_report_csat_responses(r) == 2);
    CHECK(rapport_feedback_report_csat(r, &v) && near(v, 0.0));
    /* CES 6 */
    CHECK(rapport_feedback_report_ces_responses(r) == 1);
    CHECK(rapport_feedback_report_ces(r, &v) && near(v, 6.0));
    CHECK(rapport_feedback_report_retention_len(r) == 2);
    check_row(r, 0, "2024-02", FEB1, 3, 1, 1.0 / 3.0);
    check_row(r, 1, "2024-03", MAR1, 2, 0, 0.0);
    rapport_feedback_report_free(r);

    /* the window is [from, to): from = the February answers' time keeps them, to = the March
     * answers' time drops those. NPS 6 10 9: 100 * (2 - 1) / 3; CSAT 1: 0 %; CES 6. Only March
     * starts inside the window. */
    r = report_of(e, RAPPORT_PERIOD_MONTH, true, feb20, mar10);
    CHECK(rapport_feedback_report_nps(r, &v) && near(v, 100.0 / 3.0));
    CHECK(rapport_feedback_report_promoters(r) == 2 && rapport_feedback_report_detractors(r) == 1);
    CHECK(rapport_feedback_report_csat(r, &v) && near(v, 0.0));
    CHECK(rapport_feedback_report_ces(r, &v) && near(v, 6.0));
    CHECK(rapport_feedback_report_retention_len(r) == 1);
    check_row(r, 0, "2024-03", MAR1, 2, 0, 0.0);
    rapport_feedback_report_free(r);
    /* one second later on both ends: only the March answers, NPS 9 and CSAT 3, and no CES */
    r = report_of(e, RAPPORT_PERIOD_MONTH, true, feb20 + 1, mar10 + 1);
    CHECK(rapport_feedback_report_nps(r, &v) && near(v, 100.0));
    CHECK(rapport_feedback_report_csat_responses(r) == 1);
    CHECK(rapport_feedback_report_csat(r, &v) && near(v, 0.0));
    v = 1.0;
    CHECK(!rapport_feedback_report_ces(r, &v) && isnan(v));
    CHECK(rapport_feedback_report_ces_responses(r) == 0);
    rapport_feedback_report_free(r);

    /* INT64_MIN leaves the start open: everything before February 1, i.e. the January answers:
     * NPS 10 9 7 3 = 100 * (2 - 1) / 4 = 25; CSAT 5 4 2 = 2 of 3; CES 2 4 = 3 */
    r = report_of(e, RAPPORT_PERIOD_MONTH, true, INT64_MIN, FEB1);
    CHECK(rapport_feedback_report_nps(r, &v) && near(v, 25.0));
    CHECK(rapport_feedback_report_passives(r) == 1);
    CHECK(rapport_feedback_report_csat(r, &v) && near(v, 200.0 / 3.0));
    CHECK(rapport_feedback_report_ces(r, &v) && near(v, 3.0));
    CHECK(rapport_feedback_report_retention_len(r) == 1);
    check_row(r, 0, "2024-01", JAN1, 4, 3, 0.75);
    /* the report owns its data: it outlives the engine */
    rapport_engine_free(e);
    CHECK(streq(rapport_feedback_report_retention_period(r, 0), "2024-01"));
    CHECK(rapport_feedback_report_promoters(r) == 2);
    rapport_feedback_report_free(r);

    /* errors: NULL arguments, periods that are not rapport_period values, empty windows */
    OK(rapport_engine_new(NULL, &e));
    r = (rapport_feedback_report *)0x1; /* overwritten with NULL by a failed call */
    CHECK_STATUS(rapport_engine_feedback_report(NULL, RAPPORT_PERIOD_MONTH, false, 0, 0, &r),
                 RAPPORT_STATUS_NULL_ARGUMENT);
    CHECK(r == NULL);
    CHECK(strstr(last_error(), "engine is NULL") != NULL);
    CHECK_STATUS(rapport_engine_feedback_report(e, RAPPORT_PERIOD_MONTH, false, 0, 0, NULL),
                 RAPPORT_STATUS_NULL_ARGUMENT);
    CHECK(strstr(last_error(), "out is NULL") != NULL);
    const int bad_periods[] = {2, -1, 1000};
    for (size_t i = 0; i < sizeof bad_periods / sizeof bad_periods[0]; i++) {
        r = (rapport_feedback_report *)0x1;
        CHECK_STATUS(rapport_engine_feedback_report(e, bad_periods[i], false, 0, 0, &r),
                     RAPPORT_STATUS_INVALID_ARGUMENT);
        CHECK(r == NULL);
        CHECK(strstr(last_error(), "is not a rapport_period value") != NULL);
    }
    CHECK(strstr(last_error(), "period 1000") != NULL);
    r = (rapport_feedback_report *)0x1;
    CHECK_STATUS(rapport_engine_feedback_report(e, RAPPORT_PERIOD_QUARTER, true, FEB1, FEB1, &r),
                 RAPPORT_STATUS_INVALID_ARGUMENT);
    CHECK(r == NULL);
    CHECK(strstr(last_error(), "from") && strstr(last_error(), "before"));
    CHECK_STATUS(rapport_engine_feedback_report(e, RAPPORT_PERIOD_MONTH, true, APR1, FEB1, &r),
                 RAPPORT_STATUS_INVALID_ARGUMENT);
    CHECK(r == NULL);
    /* without a window, from and to are ignored */
    OK(rapport_engine_feedback_report(e, RAPPORT_PERIOD_MONTH, false, APR1, FEB1, &r));
    CHECK(r != NULL && rapport_feedback_report_retention_len(r) == 0);
    rapport_feedback_report_free(r);
    rapport_engine_free(e);
}

static void test_blend(rapport_engine *e) {
    rapport_blend b, co;
    OK(rapport_engine_blend(e, &b));
    CHECK(b.weight == 0.0f && b.neighbours == 50 && b.pool == 50);
    OK(rapport_blend_co_purchase(&co));
    CHECK(co.weight == 0.2f && co.neighbours == 50 && co.pool == 50);
    CHECK_STATUS(rapport_blend_co_purchase(NULL), RAPPORT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(rapport_engine_blend(e, NULL), RAPPORT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(rapport_engine_blend(NULL, &b), RAPPORT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(rapport_engine_set_blend(e, NULL), RAPPORT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(rapport_engine_set_blend(NULL, &co), RAPPORT_STATUS_NULL_ARGUMENT);

    rapport_recommend_options o;
    OK(rapport_recommend_options_default(&o));
    rapport_recommendations *off = NULL, *on = NULL;
    OK(rapport_engine_recommend(e, "t2", &o, &off));
    OK(rapport_engine_set_blend(e, &co));
    OK(rapport_engine_blend(e, &b));
    CHECK(b.weight == 0.2f && b.neighbours == 50 && b.pool == 50);
    OK(rapport_engine_recommend(e, "t2", &o, &on));
    /* the same products (the pool holds this small catalog), re-ranked with blended scores */
    size_t n = rapport_recommendations_len(off);
    CHECK(n > 0 && rapport_recommendations_len(on) == n);
    int differs = 0;
    for (size_t i = 0; i < n; i++) {
        int found = 0;
        for (size_t j = 0; j < n; j++)
            found |= streq(rapport_recommendations_product_id(on, i),
                           rapport_recommendations_product_id(off, j));
        CHECK(found);
        differs |= rapport_recommendations_score(on, i) != rapport_recommendations_score(off, i);
    }
    CHECK(differs);
    rapport_recommendations_free(on);

    /* out of range: named, nothing changes */
    rapport_blend bad[] = {{NAN, 50, 50}, {-0.1f, 50, 50}, {1.5f, 50, 50}, {0.2f, 0, 50},
                           {0.2f, 50, 0}};
    const char *field[] = {"weight", "weight", "weight", "neighbours", "pool"};
    for (size_t i = 0; i < 5; i++) {
        CHECK_STATUS(rapport_engine_set_blend(e, &bad[i]), RAPPORT_STATUS_INVALID_CONFIG);
        CHECK(strstr(last_error(), field[i]) != NULL);
        OK(rapport_engine_blend(e, &b));
        CHECK(b.weight == 0.2f && b.neighbours == 50 && b.pool == 50);
    }
    /* back off: the factor scores again */
    b.weight = 0.0f;
    OK(rapport_engine_set_blend(e, &b));
    OK(rapport_engine_recommend(e, "t2", &o, &on));
    for (size_t i = 0; i < n; i++)
        CHECK(rapport_recommendations_score(on, i) == rapport_recommendations_score(off, i));
    rapport_recommendations_free(on);
    rapport_recommendations_free(off);
}

int main(void) {
    test_misc();
    test_free_null_is_noop();
    test_null_arguments();
    test_null_arguments_no_leak();
    test_invalid_input();
    test_record_purchase_rules();
    test_order_grouping();
    test_not_trained();
    test_last_error_buffer();
    test_last_error_truncation_utf8();
    test_last_error_is_thread_local();
    test_csv();
    test_greeting_errors();
    test_greetings();
    test_engagement_learning();
    test_greeting_settings();
    test_feedback_report();

    rapport_engine *e = shop();
    OK(rapport_engine_train(e, NULL, NULL, NULL));
    test_recommend(e);
    test_blend(e);
    test_similar(e);
    test_profile(e);
    test_batch(e);
    test_unknown_customer_and_observe(e);
    test_persistence(e);
    test_threads(e);
    rapport_engine_free(e);

    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
