/*
 * Loads the bundled Online Retail sample, trains, and prints one customer's profile, top 5
 * recommendations with reasons, greetings for the web and by SMS, and retention per quarter.
 *
 *   cargo build -p rapport-c --release
 *   cc -std=c11 -Wall -Ibindings/c/include bindings/c/examples/retail.c \
 *      target/release/librapport.a -lpthread -ldl -lm -o retail
 *   ./retail data/online_retail_sample.csv [customer-id]
 */
#define _POSIX_C_SOURCE 200809L /* gmtime_r */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "rapport.h"

/* Prints the failing call, its status and the thread's last error message; exits. */
static void check(rapport_status status, const char *what) {
    if (status == RAPPORT_STATUS_OK) return;
    char message[512];
    size_t len = 0;
    rapport_last_error_message(message, sizeof message, &len); /* truncated if longer: fine */
    fprintf(stderr, "%s failed: %s: %s\n", what, rapport_status_name(status), message);
    exit(1);
}

static void print_date(const char *label, bool known, int64_t unix_seconds) {
    if (!known) {
        printf("  %-26s -\n", label);
        return;
    }
    time_t t = (time_t)unix_seconds;
    struct tm tm;
    char buf[32];
    gmtime_r(&t, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
    printf("  %-26s %s\n", label, buf);
}

static void print_greeting(const rapport_engine *engine, const char *customer,
                           rapport_channel channel, const char *label, int64_t at) {
    rapport_greeting *g = NULL;
    check(rapport_engine_greet(engine, customer, channel, at, &g), "rapport_engine_greet");
    rapport_greeting_kind kind;
    check(rapport_greeting_get_kind(g, &kind), "rapport_greeting_get_kind");
    printf("  %-6s %s\n", label, rapport_greeting_text(g));
    printf("         %s (%s, score %.3f)\n", rapport_greeting_variant_id(g),
           rapport_greeting_kind_name(kind), rapport_greeting_score(g));
    printf("         why: %s\n", rapport_greeting_reason(g));
    for (size_t i = 0; i < rapport_greeting_featured_products_len(g); i++)
        printf("         %s %s\n", i == 0 ? "featuring" : "         ",
               rapport_greeting_featured_product_id(g, i));
    if (rapport_greeting_runners_up_len(g) > 0)
        printf("         runner-up: %s (%s, score %.3f)\n", rapport_greeting_runner_up_text(g, 0),
               rapport_greeting_runner_up_variant_id(g, 0), rapport_greeting_runner_up_score(g, 0));
    rapport_greeting_free(g);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s data/online_retail_sample.csv [customer-id]\n", argv[0]);
        return 2;
    }
    const char *customer = argc > 2 ? argv[2] : "14056";
    const int64_t as_of = 1323475200; /* 2011-12-10 00:00 UTC, the day after the last invoice */

    rapport_config config;
    check(rapport_config_default(&config), "rapport_config_default");
    config.factors = 64;

    rapport_engine *engine = NULL;
    check(rapport_engine_new(&config, &engine), "rapport_engine_new");

    rapport_ingest_report ingest;
    check(rapport_engine_read_csv_path(engine, argv[1], &ingest), "rapport_engine_read_csv_path");
    printf("read %" PRIu64 " rows: kept %" PRIu64 ", dropped %" PRIu64 " (%" PRIu64
           " cancelled, %" PRIu64 " without customer)\n",
           ingest.rows_read, ingest.kept, ingest.dropped, ingest.cancelled,
           ingest.missing_customer);

    rapport_train_report train;
    check(rapport_engine_train(engine, NULL, NULL, &train), "rapport_engine_train");
    printf("trained on %zu customers x %zu products (%zu pairs), loss %.4f\n\n", train.customers,
           train.products, train.interactions, train.final_loss);

    /* Profile as of a date. */
    rapport_profile *profile = NULL;
    check(rapport_engine_profile(engine, customer, as_of, &profile), "rapport_engine_profile");
    rapport_profile_fields f;
    check(rapport_profile_get_fields(profile, &f), "rapport_profile_get_fields");
    printf("customer %s\n", rapport_profile_customer_id(profile));
    printf("  %-26s %s\n", "segment", rapport_segment_name(f.segment));
    printf("  %-26s %u\n", "orders", f.orders);
    printf("  %-26s %.2f\n", "total spend", f.total_spend);
    printf("  %-26s %.2f\n", "average order value", f.average_order_value);
    print_date("first purchase", f.has_purchases, f.first_purchase);
    print_date("last purchase", f.has_purchases, f.last_purchase);
    print_date("expected next purchase", f.has_expected_next_purchase, f.expected_next_purchase);
    if (f.has_median_days_between_orders)
        printf("  %-26s %.0f days\n", "median gap", f.median_days_between_orders);
    printf("  %-26s %u/%u/%u\n", "RFM", f.rfm_recency, f.rfm_frequency, f.rfm_monetary);
    printf("  %-26s %.3f\n", "churn risk", f.churn_risk);
    printf("  %-26s %.3f\n", "P(no purchase in 12 m)", f.prob_no_purchase_12m);
    printf("  %-26s %.1f orders, %.2f\n", "expected next 12 m", f.expected_orders_12m,
           f.expected_value_12m);
    for (size_t i = 0; i < rapport_profile_favourite_products_len(profile); i++)
        printf("  %-26s %s (%.2f)\n", i == 0 ? "favourite products" : "",
               rapport_profile_favourite_product_name(profile, i),
               rapport_profile_favourite_product_weight(profile, i));
    rapport_profile_free(profile);

    /* Top 5 with reasons. */
    rapport_recommend_options options;
    check(rapport_recommend_options_default(&options), "rapport_recommend_options_default");
    options.k = 5;
    rapport_recommendations *recs = NULL;
    check(rapport_engine_recommend(engine, customer, &options, &recs), "rapport_engine_recommend");
    printf("\ntop %zu for %s%s\n", rapport_recommendations_len(recs), customer,
           rapport_recommendations_fallback(recs) ? " (popular products: no history)" : "");
    for (size_t i = 0; i < rapport_recommendations_len(recs); i++)
        printf("  %zu. %-8s %-36s %6.3f  %s\n", i + 1, rapport_recommendations_product_id(recs, i),
               rapport_recommendations_name(recs, i), rapport_recommendations_score(recs, i),
               rapport_recommendations_reason(recs, i));
    rapport_recommendations_free(recs);

    /* Greetings: the shipped English variants, scored for this customer. The sample has no
     * names, so give the customer one to fill the {first_name} slot. */
    size_t variants = 0;
    check(rapport_engine_load_default_greetings(engine, &variants),
          "rapport_engine_load_default_greetings");
    check(rapport_engine_upsert_customer(engine, customer, "Amelia", "en-GB",
                                         RAPPORT_CHANNEL_UNSPECIFIED),
          "rapport_engine_upsert_customer");
    check(rapport_engine_refresh_greetings(engine, as_of), "rapport_engine_refresh_greetings");
    const int64_t at = as_of + 9 * 3600 + 30 * 60; /* 09:30 UTC */
    printf("\ngreetings (%zu variants)\n", variants);
    print_greeting(engine, customer, RAPPORT_CHANNEL_WEB, "web", at);
    print_greeting(engine, customer, RAPPORT_CHANNEL_SMS, "sms", at);

    /* Retention per quarter over the whole history. The sample has no survey answers, so NPS
     * (like CSAT and CES) has a value only once rapport_engine_record_feedback was called. */
    rapport_feedback_report *report = NULL;
    check(rapport_engine_feedback_report(engine, RAPPORT_PERIOD_QUARTER, false, 0, 0, &report),
          "rapport_engine_feedback_report");
    double nps = 0.0;
    if (rapport_feedback_report_nps(report, &nps)) printf("\nNPS %.1f\n", nps);
    printf("\nretention per quarter\n");
    for (size_t i = 0; i < rapport_feedback_report_retention_len(report); i++)
        printf("  %-8s %5zu active, %5zu bought again next quarter (%.1f %%)\n",
               rapport_feedback_report_retention_period(report, i),
               rapport_feedback_report_retention_active(report, i),
               rapport_feedback_report_retention_retained(report, i),
               100.0 * rapport_feedback_report_retention_rate(report, i));
    rapport_feedback_report_free(report);

    rapport_engine_free(engine);
    return 0;
}
