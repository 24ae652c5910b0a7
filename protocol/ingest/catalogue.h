/*
 * catalogue.h - the metric catalogue: what is counted, and the layout of the count vector.
 *
 * Format: docs/catalogue-format.md. A catalogue is parsed and validated once; afterwards it is
 * read-only and maps a person's spells to the cells of the vector.
 *
 * Invariants (checked by mp_catalogue_parse, relied on by the privacy accounting):
 *   1. Every counted person adds exactly 1 to its metric's total and exactly 1 to one band of
 *      each of the metric's breakdowns, so a person touches at most
 *      sum over metrics of (1 + number of breakdowns) cells: the L1 sensitivity of the vector,
 *      mp_catalogue_sensitivity().
 *   2. Bands of a dimension do not overlap and cover every value a valid row can produce.
 *   3. Cells are laid out metric by metric in catalogue order: total, then the bands of each
 *      breakdown in order.
 *   4. "within" nesting is one level deep: a metric with a parent is nobody's parent, and a
 *      parent has exactly one child (what postprocess.h's pooling step assumes).
 */
#ifndef MP_CATALOGUE_H
#define MP_CATALOGUE_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "codes.h"
#include "error.h"

enum mp_dim_kind { MP_DIM_AGE, MP_DIM_DURATION, MP_DIM_FOCUS, MP_DIM_SEX, MP_DIM_COUNT };
enum mp_metric_kind { MP_METRIC_EXIT, MP_METRIC_STOCK, MP_METRIC_START };

#define MP_MAX_BANDS 16
/* Overridable at build time only for bench/aggregator_floor.sh, whose catalogue needs d = 10 008
 * cells (decision F1); every program and test is built with 64. */
#ifndef MP_MAX_METRICS
#define MP_MAX_METRICS 64
#endif

typedef struct mp_band {
    const char *label;
    int min, max; /* age in years or duration in months, inclusive */
    int flag;     /* focus: flag bit, 0 = everyone else */
    int sex;      /* sex band */
} mp_band;

typedef struct mp_dim {
    int present;
    const char *title;
    size_t nbands;
    mp_band bands[MP_MAX_BANDS];
} mp_dim;

/* Report structure (optional in the catalogue; docs/catalogue-format.md): the agenda's pijler
 * a milestone belongs to, a plain-language description for raadsleden, and a target with the
 * document it comes from. A metric's target is a count of persons, a rate's a percentage. */
enum mp_target_kind { MP_TARGET_NONE = 0, MP_TARGET_COUNT, MP_TARGET_PERCENT };

typedef struct mp_report_info {
    const char *pijler, *description_nl; /* NULL when absent */
    int target_kind;                     /* enum mp_target_kind */
    long long target_value;
    const char *target_label, *target_source; /* label NULL when absent */
} mp_report_info;

typedef struct mp_metric {
    const char *id, *title, *description, *source;
    mp_report_info report;
    int kind;
    uint32_t spells;  /* bit per mp_spell_type */
    uint32_t reasons; /* bit per mp_end_reason; 0 = any */
    int age_min, age_max;
    int flags_any;        /* 0 = no filter */
    uint32_t also_active; /* 0 = no condition */
    int lag_months;
    int reentry_months; /* 0 = no re-entry condition */
    uint32_t reentry_spells;
    size_t nbreakdowns;
    int breakdowns[MP_DIM_COUNT];
    size_t offset; /* index of the metric's total in the vector */
    size_t ncells;
    int within; /* "within": index of the parent metric whose persons include this one's
                 * (child total <= parent total, enforced by postprocess.h); -1 = none */
} mp_metric;

typedef struct mp_rate {
    const char *id, *title;
    mp_report_info report;
    size_t numerator, denominator; /* metric indexes */
    int complement;
} mp_rate;

typedef struct mp_catalogue {
    const char *id, *title;
    long long version;
    mp_dim dims[MP_DIM_COUNT];
    size_t nmetrics;
    mp_metric metrics[MP_MAX_METRICS];
    size_t nrates;
    mp_rate rates[MP_MAX_METRICS];
    size_t ncells;
    cJSON *json; /* owned; every string above points into it */
} mp_catalogue;

/* One spell as the counting sees it (12 bytes). */
typedef struct mp_spell {
    uint8_t type, reason;
    uint16_t reserved;
    int32_t start, end; /* day numbers; end = MP_DATE_OPEN while running */
} mp_spell;

typedef struct mp_person_view {
    int32_t birth;
    int sex, flags;
    const mp_spell *spells;
    size_t nspells;
} mp_person_view;

/* Parse and validate; takes a private copy of `json`. */
MP_WUR int mp_catalogue_parse(mp_catalogue **out, const cJSON *json);
MP_WUR int mp_catalogue_load(mp_catalogue **out, const char *path);
void mp_catalogue_free(mp_catalogue *c);

/* The cell `i`: its metric, and for a breakdown cell its dimension and band (NULL for the
 * metric's total). */
void mp_catalogue_cell(const mp_catalogue *c, size_t i, const mp_metric **m, const mp_dim **d,
                       const mp_band **b);

/* Stable machine name of cell i, e.g. "uitstroom_werk" or "uitstroom_werk.age.2". */
void mp_catalogue_cell_name(const mp_catalogue *c, size_t i, char *out, size_t cap);

/* L1 sensitivity: the most cells one person can add 1 to (invariant 1). */
size_t mp_catalogue_sensitivity(const mp_catalogue *c);

/* Spell types any metric reads (a bitmask), and the earliest date any metric looks at for a
 * period: spells ending before it cannot change a count and need not be kept. */
uint32_t mp_catalogue_spells_used(const mp_catalogue *c);
int32_t mp_catalogue_horizon(const mp_catalogue *c, int32_t period_start);

/* Add one person to `counts` (ncells entries) for the period [start, end]. */
void mp_catalogue_count(const mp_catalogue *c, int32_t start, int32_t end, const mp_person_view *p,
                        int64_t *counts);

/* Whole months from `from` to `to` (0 when to < from). */
int mp_months_between(int32_t from, int32_t to);

#endif
