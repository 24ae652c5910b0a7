/*
 * test_synth_data.c - the shipped region and catalogue files (data/) against the library's own
 * parser and against each other: every catalogue loads, its metrics are the ones docs/metrics.md
 * describes, every gemeente is served by exactly one gemeente or samenwerking, and UWV covers
 * the whole region.
 *
 * Runs from tests/unit (the Makefile's unit target), so data/ is ../../data.
 */
#include "testutil.h"

#include <cjson/cJSON.h>

#include "catalogue.h"
#include "codes.h"
#include "fileio.h"

static const char *const REGIONS[] = {"midden-utrecht", "gooi-en-vechtstreek"};

static cJSON *load_json(const char *path)
{
    unsigned char *text = NULL;
    size_t len = 0;
    cJSON *j;
    assert_int_equal(mp_file_read(path, 1024 * 1024, &text, &len), 0);
    j = cJSON_ParseWithLength((const char *)text, len);
    free(text);
    assert_non_null(j);
    return j;
}

static mp_catalogue *load_catalogue(const char *region)
{
    char path[256];
    mp_catalogue *c = NULL;
    snprintf(path, sizeof path, "../../data/catalogues/%s.json", region);
    if (mp_catalogue_load(&c, path) != 0)
        fail_msg("%s: %s", path, mp_error_get());
    assert_string_equal(c->id, region);
    return c;
}

static const mp_metric *metric(const mp_catalogue *c, const char *id)
{
    for (size_t i = 0; i < c->nmetrics; i++)
        if (strcmp(c->metrics[i].id, id) == 0)
            return &c->metrics[i];
    fail_msg("catalogue %s has no metric %s", c->id, id);
    return NULL;
}

/* Both catalogues parse, and the metrics shared by both regions mean the same thing. */
static void test_catalogues_load(void **state)
{
    (void)state;
    for (size_t r = 0; r < 2; r++) {
        mp_catalogue *c = load_catalogue(REGIONS[r]);
        const mp_metric *m;
        assert_true(c->nmetrics >= 7 && c->nmetrics <= 10);

        m = metric(c, "uitstroom_werk");
        assert_int_equal(m->kind, MP_METRIC_EXIT);
        assert_int_equal(m->reasons, 1u << MP_REASON_WERK);
        assert_true(m->spells & (1u << MP_SPELL_BIJSTAND));
        assert_true(m->spells & (1u << MP_SPELL_WW));

        m = metric(c, "herinstroom_6m");
        assert_int_equal(m->lag_months, 6);
        assert_int_equal(m->reentry_months, 6);
        assert_int_equal(m->reentry_spells, 1u << MP_SPELL_BIJSTAND);
        /* same exit definition as its denominator */
        assert_int_equal(metric(c, "uitstroom_werk_lag6")->lag_months, 6);
        assert_int_equal(metric(c, "uitstroom_werk_lag6")->spells, m->spells);
        assert_int_equal(metric(c, "uitstroom_werk_lag6")->reasons, m->reasons);

        m = metric(c, "dgr_werkend");
        assert_int_equal(m->kind, MP_METRIC_STOCK);
        assert_int_equal(m->also_active, (1u << MP_SPELL_BAAN) | (1u << MP_SPELL_BANENAFSPRAAK));
        assert_int_equal(metric(c, "dgr_stand")->spells, m->spells);

        assert_int_equal(metric(c, "banenafspraak_plaatsingen")->kind, MP_METRIC_START);
        assert_true(metric(c, "jongeren_uitstroom")->age_max <= 27);

        /* bands as docs/metrics.md states them */
        assert_int_equal(c->dims[MP_DIM_AGE].nbands, 5);
        assert_int_equal(c->dims[MP_DIM_AGE].bands[0].min, 15);
        assert_int_equal(c->dims[MP_DIM_AGE].bands[1].min, 25);
        assert_int_equal(c->dims[MP_DIM_DURATION].nbands, 4);
        assert_int_equal(c->dims[MP_DIM_DURATION].bands[2].min, 24);
        assert_int_equal(c->dims[MP_DIM_DURATION].bands[3].min, 60);

        /* every metric cites a seed document */
        for (size_t i = 0; i < c->nmetrics; i++)
            assert_non_null(strstr(c->metrics[i].source, ".txt: \""));

        /* duurzame uitstroom is the complement of herinstroom over the lagged exits */
        int found = 0;
        for (size_t i = 0; i < c->nrates; i++)
            if (strcmp(c->rates[i].id, "duurzame_uitstroom") == 0) {
                found = 1;
                assert_true(c->rates[i].complement);
                assert_string_equal(c->metrics[c->rates[i].numerator].id, "herinstroom_6m");
                assert_string_equal(c->metrics[c->rates[i].denominator].id, "uitstroom_werk_lag6");
            }
        assert_true(found);
        mp_catalogue_free(c);
    }
}

/* Every gemeente of a region is served by exactly one gemeente/samenwerking, UWV serves all,
 * and the catalogue has the region's id. */
static void test_regions_consistent(void **state)
{
    (void)state;
    for (size_t r = 0; r < 2; r++) {
        char path[256];
        cJSON *j, *gems, *orgs, *g, *o;
        snprintf(path, sizeof path, "../../data/regions/%s.json", REGIONS[r]);
        j = load_json(path);
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(j, "id")->valuestring, REGIONS[r]);
        gems = cJSON_GetObjectItemCaseSensitive(j, "gemeenten");
        orgs = cJSON_GetObjectItemCaseSensitive(j, "organisations");
        assert_true(cJSON_IsArray(gems) && cJSON_IsArray(orgs));
        assert_true(cJSON_GetArraySize(orgs) >= 3); /* k_min */
        cJSON_ArrayForEach (g, gems) {
            const char *code = cJSON_GetObjectItemCaseSensitive(g, "code")->valuestring;
            char norm[7];
            int served = 0, uwv = 0;
            assert_true(mp_gemeente_normalise(norm, code));
            assert_string_equal(norm, code);
            cJSON_ArrayForEach (o, orgs) {
                const char *kind = cJSON_GetObjectItemCaseSensitive(o, "kind")->valuestring;
                cJSON *c;
                cJSON_ArrayForEach (c, cJSON_GetObjectItemCaseSensitive(o, "gemeenten")) {
                    if (strcmp(c->valuestring, code) != 0)
                        continue;
                    if (strcmp(kind, "uwv") == 0)
                        uwv++;
                    else if (strcmp(kind, "gemeente") == 0 || strcmp(kind, "samenwerking") == 0)
                        served++;
                }
            }
            if (served != 1 || uwv != 1)
                fail_msg("%s: %s served by %d gemeente/samenwerking and %d UWV", REGIONS[r], code,
                         served, uwv);
        }
        cJSON_Delete(j);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_catalogues_load),
        cmocka_unit_test(test_regions_consistent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
