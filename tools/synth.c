/*
 * synth.c - mijlpaal-synth: synthetic spells exports for every organisation of a region.
 *
 * What it generates. For a region definition (data/regions/<id>.json) it writes one spells
 * export per organisation (docs/input-format.md): DIR/<org>.csv. Persons are drawn one at a
 * time from a regional population and all their spells are written at once, so a person who is
 * served by two organisations (WW at UWV, then bijstand at the gemeente; bijstand in one
 * gemeente, then after moving in another) appears in both files with the same BSN, date of
 * birth and sex. Nothing but the set of BSNs already used is kept in memory: rows stream out.
 *
 *   gemeente / samenwerking  bijstand, ioaw, traject, doelgroepenregister, banenafspraak and
 *                            baan spells of its own residents (with focus-group flags)
 *   uwv                      ww (claims that ran in the last half year), wajong, wia, and
 *                            doelgroepenregister with banenafspraak/baan spells of Wajongers
 *                            (from the polisadministratie); no flags column
 *   sw-bedrijf               a header only (a werkvoorzieningsschap holds no spells here)
 *
 * Who is drawn: the bijstand stock on the period end (CBS age and duration mix), leavers
 * during the six years before it (some come back: herinstroom; some move within the region),
 * long-running IOAW, WW claims (some ending in IOAW or bijstand at the gemeente), Wajongers and
 * WIA. Gemeente persons may have a traject, a job after leaving for work, and a registration in
 * the doelgroepenregister (7%) with a job on the period end at the region's working share.
 *
 * One organisation per region (fermwerk, hbel or huizen by default; --excel-org) writes a
 * "Dutch Excel" export instead: Windows-1252, ';', CRLF, DD-MM-YYYY dates, Dutch column names
 * and codes, BSNs and gemeentecodes without leading zeros, and an extra column; its
 * DIR/<org>.mapping.json maps it back. The other gemeenten vary BOM, gemeentecode spelling and
 * column order; UWV writes ',' with LF and quotes every field.
 *
 * Figures and their sources (see also docs/metrics.md):
 *   - bijstand duration mix by age band and the age distribution of the bijstand population:
 *     CBS table in seed 2022-programma-werk-participatie-gooi-vechtstreek.txt (<25: 20%/1% two
 *     to five / five years or longer, 25-35: 32/18, 35-45: 28/41, 45-55: 24/54, 55-AOW: 20/64;
 *     28,710 / 73,610 / 92,290 / 109,400 / 126,200 persons; 57% women);
 *   - herinstroom 14% within 6 months, 20% within a year, 35% after 5 years, higher after a
 *     long benefit (same seed, citing Divosa);
 *   - doelgroepenregister working 48% in Gooi en Vechtstreek, 43% nationally (same seed);
 *   - Utrecht below 10,000 households in bijstand (seed 2019-actieagenda-werkbeweging-utrecht);
 *   - statushouder about 8% and alleenstaande ouder about 12% of the bijstand population, a few
 *     percent of the stock leaving for work per half year, WW (about 0.8% of inhabitants, at
 *     most 24 months), Wajong (0.5%) and WIA (0.25%) densities, and the population and
 *     bijstand density per gemeente (inhabitants about 2024, CBS StatLine, rounded): our own
 *     approximations, stated here so that they can be checked and changed.
 *
 * Output is a pure function of the arguments (on one platform: durations use double arithmetic
 * and log()): the seeded ChaCha20 generator of protocol/core/rng.h is keyed with
 * BLAKE2b("mijlpaal-synth-v1" || seed as 8 bytes little-endian || region id).
 *
 * Dirty rows (--dirty): that fraction of rows is replaced by a row with exactly one defect,
 * spread evenly over: BSN failing the elfproef, 7-digit BSN, impossible date (30 February),
 * end before start, unknown spell code, gemeente outside the region (Amsterdam, GM0363), unknown
 * end reason. No BSN is ever printed; progress goes to stderr.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bsn.h"
#include "codes.h"
#include "date.h"
#include "version.h"
#include "error.h"
#include "rng.h"

#define PROG "mijlpaal-synth"
#define MAX_GEM 64
#define MAX_ORG 32
#define MAX_PERSONS 20000000.0
#define DAYS_PER_MONTH 30.436875
#define WINDOW_MONTHS 72 /* flows over six years up to the period end */

/* ---------------------------------------------------------------------------------------- */
/* Errors                                                                                   */

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

static void die(const char *fmt, ...)
{
    va_list ap;
    fputs(PROG ": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(2);
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (p == NULL)
        die("out of memory");
    return p;
}

/* ---------------------------------------------------------------------------------------- */
/* Figures                                                                                  */

/* Approximate inhabitants (about 2024) and persons in bijstand per 10,000 inhabitants. */
typedef struct gemeente_size {
    const char *code;
    int population;
    int bijstand_per_10k;
} gemeente_size;

static const gemeente_size SIZES[] = {
    /* Midden-Utrecht */
    {"GM0344", 374000, 245}, /* Utrecht: about 9,200 (< 10,000 households, seed 2019) */
    {"GM1904", 66000, 150},  /* Stichtse Vecht */
    {"GM0321", 51000, 120},  /* Houten */
    {"GM0353", 34500, 165},  /* IJsselstein */
    {"GM0331", 14700, 80},   /* Lopik */
    {"GM0356", 65500, 215},  /* Nieuwegein */
    {"GM0335", 14000, 85},   /* Montfoort */
    {"GM0589", 10300, 85},   /* Oudewater */
    {"GM0632", 53000, 115},  /* Woerden */
    {"GM0312", 15500, 85},   /* Bunnik */
    {"GM0310", 43500, 120},  /* De Bilt */
    {"GM1581", 50500, 115},  /* Utrechtse Heuvelrug */
    {"GM0352", 24000, 140},  /* Wijk bij Duurstede */
    {"GM0355", 66000, 175},  /* Zeist */
    {"GM1961", 58000, 130},  /* Vijfheerenlanden (Vianen's gemeente since 2019) */
    /* Gooi en Vechtstreek */
    {"GM0402", 93000, 215}, /* Hilversum */
    {"GM1942", 59000, 125}, /* Gooise Meren */
    {"GM0406", 41500, 140}, /* Huizen */
    {"GM0376", 12000, 75},  /* Blaricum */
    {"GM0317", 9700, 70},   /* Eemnes */
    {"GM0417", 11500, 90},  /* Laren */
    {"GM1696", 24500, 95},  /* Wijdemeren */
};
#define DEFAULT_POPULATION 30000
#define DEFAULT_BIJSTAND_PER_10K 130

/* Share of the doelgroepenregister that works (seed 2022: 48% in Gooi en Vechtstreek, 43% in
 * the Netherlands; the national figure for any other region). */
static double dgr_work_share(const char *region_id)
{
    return strcmp(region_id, "gooi-en-vechtstreek") == 0 ? 0.48 : 0.43;
}

/* Age bands of the CBS table (seed 2022), made non-overlapping; the last ends before AOW. */
#define NBANDS 5
static const int BAND_LO[NBANDS] = {18, 25, 35, 45, 55};
static const int BAND_HI[NBANDS] = {24, 34, 44, 54, 66};
/* The bijstand stock by age (CBS, seed 2022). */
static const double STOCK_AGE_W[NBANDS] = {28710, 73610, 92290, 109400, 126200};
/* Within each age band: share with two to five years and with five years or longer. */
static const double STOCK_DUR_2_5[NBANDS] = {0.20, 0.32, 0.28, 0.24, 0.20};
static const double STOCK_DUR_5P[NBANDS] = {0.01, 0.18, 0.41, 0.54, 0.64};
/* Leavers are younger and shorter in the benefit than the stock (own approximation). */
static const double EXIT_AGE_W[NBANDS] = {0.17, 0.28, 0.23, 0.18, 0.14};
static const double EXIT_DUR_W[4] = {0.45, 0.20, 0.22, 0.13}; /* <1, 1-2, 2-5, 5+ years */
static const double WW_AGE_W[NBANDS] = {0.10, 0.22, 0.20, 0.22, 0.26};
static const double WAJONG_AGE_W[NBANDS] = {0.18, 0.30, 0.22, 0.17, 0.13};
static const double WIA_AGE_W[NBANDS] = {0.0, 0.12, 0.22, 0.30, 0.36};

/* What the flows (leavers who come back, WW ending in bijstand, moves within the region)
 * leave running on the period end, per person of the target bijstand stock, by age band and
 * duration band (<1, 1-2, 2-5, 5+ years). Measured with this program at its defaults and
 * STOCK_DIRECT 0 (Midden-Utrecht, scale 8). The stock drawn directly is the CBS mix minus
 * this, so that the whole stock has the CBS mix and the gemeente's size. */
#define STOCK_DIRECT 1
static const double FLOW_AT_END[NBANDS][4] = {{0.0075, 0.0036, 0.0027, 0.0001},
                                              {0.0178, 0.0099, 0.0125, 0.0019},
                                              {0.0170, 0.0096, 0.0127, 0.0020},
                                              {0.0151, 0.0085, 0.0115, 0.0015},
                                              {0.0110, 0.0068, 0.0109, 0.0020}};

/* Persons of each kind per gemeente at scale 1. */
#define EXIT_RATE_PER_YEAR                                                                         \
    0.155                      /* leavers drawn directly per year per person in the stock;         \
                                * with re-entrants and WW inflow about 22% leave per year */
#define IOAW_PER_BIJSTAND 0.03 /* long-running IOAW whose WW predates UWV's export */
#define WW_STOCK_PER_POP 0.008
#define WW_MEAN_MONTHS 7.0
#define WW_EXPORT_MONTHS 6    /* UWV exports the WW claims that ran in the last half year */
#define P_WW_TO_BIJSTAND 0.10 /* after the right ends, under 60: about 12% of bijstand inflow */
#define P_WW_TO_IOAW 0.45     /* after the right ends, 60 to AOW */
#define WAJONG_PER_POP 0.005
#define WIA_PER_POP 0.0025

#define P_STATUSHOUDER 0.08
#define P_PARTNER 0.10
#define P_DGR_BIJSTAND 0.07 /* bijstand persons in the doelgroepenregister */
#define P_TRAJECT 0.25      /* a traject during bijstand in the last two years */
/* Herinstroom (Divosa via seed 2022), cumulative: 14% within 6 months, 20% within a year,
 * 35% within five years. */
#define P_REENTRY_6M 0.14
#define P_REENTRY_12M 0.06
#define P_REENTRY_5Y 0.15

/* ---------------------------------------------------------------------------------------- */
/* Region                                                                                   */

enum org_kind { K_GEMEENTE, K_SAMENWERKING, K_UWV, K_SW };
enum org_style { S_UWV, S_BOM, S_DIGITS, S_REORDER, S_EXCEL };

typedef struct gem {
    char code[7];
    double population, bijstand; /* at scale 1 */
    int org;                     /* serving gemeente/samenwerking, -1 if none */
} gem;

typedef struct org {
    char id[41];
    int kind, style;
    int write; /* this run writes its file */
    FILE *f;
    char path[4096];
    unsigned long rows, dirty, dossier;
} org;

typedef struct region {
    char id[41];
    gem g[MAX_GEM];
    size_t ngem;
    org o[MAX_ORG];
    size_t norg;
    int uwv; /* index of the UWV organisation, -1 if none */
} region;

static int id_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 40)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return 0;
    return 1;
}

static const char *json_string(const cJSON *obj, const char *key, const char *where)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsString(it))
        die("%s: \"%s\" must be a string", where, key);
    return it->valuestring;
}

static const cJSON *json_array(const cJSON *obj, const char *key, const char *where)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsArray(it))
        die("%s: \"%s\" must be an array", where, key);
    return it;
}

static int find_gem(const region *r, const char *code)
{
    for (size_t i = 0; i < r->ngem; i++)
        if (strcmp(r->g[i].code, code) == 0)
            return (int)i;
    return -1;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t cap = 1024 * 1024;
    if (f == NULL)
        die("cannot open region file %s: %s", path, strerror(errno));
    buf = xcalloc(1, cap + 1);
    *len = fread(buf, 1, cap + 1, f);
    if (ferror(f))
        die("cannot read %s: %s", path, strerror(errno));
    fclose(f);
    if (*len > cap)
        die("%s: larger than 1 MiB, not a region file", path);
    return buf;
}

static void load_region(region *r, const char *path)
{
    size_t len;
    char *text = read_file(path, &len);
    cJSON *j = cJSON_ParseWithLength(text, len);
    const cJSON *it, *ver;
    if (j == NULL || !cJSON_IsObject(j))
        die("%s: not valid JSON", path);
    ver = cJSON_GetObjectItemCaseSensitive(j, "mijlpaal_region");
    if (!cJSON_IsNumber(ver) || ver->valuedouble != 1)
        die("%s: \"mijlpaal_region\" must be 1 (docs/catalogue-format.md)", path);
    snprintf(r->id, sizeof r->id, "%s", json_string(j, "id", path));
    if (!id_ok(r->id))
        die("%s: region id \"%.40s\" is not lower case [a-z0-9-], at most 40", path, r->id);
    r->uwv = -1;

    cJSON_ArrayForEach (it, json_array(j, "gemeenten", path)) {
        gem *g;
        char code[7];
        if (r->ngem == MAX_GEM)
            die("%s: more than %d gemeenten", path, MAX_GEM);
        if (!mp_gemeente_normalise(code, json_string(it, "code", path)))
            die("%s: \"%.20s\" is not a CBS gemeentecode", path, json_string(it, "code", path));
        if (find_gem(r, code) >= 0)
            die("%s: gemeente %s listed twice", path, code);
        g = &r->g[r->ngem++];
        memcpy(g->code, code, sizeof code);
        g->org = -1;
        g->population = DEFAULT_POPULATION;
        g->bijstand = DEFAULT_POPULATION * DEFAULT_BIJSTAND_PER_10K / 10000.0;
        size_t k;
        for (k = 0; k < sizeof SIZES / sizeof SIZES[0]; k++)
            if (strcmp(SIZES[k].code, code) == 0) {
                g->population = SIZES[k].population;
                g->bijstand = SIZES[k].population * SIZES[k].bijstand_per_10k / 10000.0;
                break;
            }
        if (k == sizeof SIZES / sizeof SIZES[0])
            fprintf(stderr, PROG ": note: no size known for %s, assuming %d inhabitants\n", code,
                    DEFAULT_POPULATION);
    }
    if (r->ngem == 0)
        die("%s: no gemeenten", path);

    cJSON_ArrayForEach (it, json_array(j, "organisations", path)) {
        org *o;
        const char *kind;
        const cJSON *gc;
        if (r->norg == MAX_ORG)
            die("%s: more than %d organisations", path, MAX_ORG);
        o = &r->o[r->norg];
        snprintf(o->id, sizeof o->id, "%s", json_string(it, "id", path));
        if (!id_ok(o->id) || strlen(json_string(it, "id", path)) > 40)
            die("%s: organisation id \"%.40s\" is not lower case [a-z0-9-], at most 40", path,
                json_string(it, "id", path));
        for (size_t k = 0; k < r->norg; k++)
            if (strcmp(r->o[k].id, o->id) == 0)
                die("%s: organisation %s listed twice", path, o->id);
        kind = json_string(it, "kind", path);
        if (strcmp(kind, "gemeente") == 0)
            o->kind = K_GEMEENTE;
        else if (strcmp(kind, "samenwerking") == 0)
            o->kind = K_SAMENWERKING;
        else if (strcmp(kind, "uwv") == 0)
            o->kind = K_UWV;
        else if (strcmp(kind, "sw-bedrijf") == 0)
            o->kind = K_SW;
        else
            die("%s: organisation %s: unknown kind \"%.20s\"", path, o->id, kind);
        cJSON_ArrayForEach (gc, json_array(it, "gemeenten", path)) {
            char code[7];
            int gi;
            if (!cJSON_IsString(gc) || !mp_gemeente_normalise(code, gc->valuestring) ||
                (gi = find_gem(r, code)) < 0)
                die("%s: organisation %s serves a gemeente that is not in the region's list", path,
                    o->id);
            if ((o->kind == K_GEMEENTE || o->kind == K_SAMENWERKING) && r->g[gi].org < 0)
                r->g[gi].org = (int)r->norg;
        }
        if (o->kind == K_UWV && r->uwv < 0)
            r->uwv = (int)r->norg;
        r->norg++;
    }
    if (r->norg == 0)
        die("%s: no organisations", path);
    for (size_t i = 0; i < r->ngem; i++)
        if (r->g[i].org < 0)
            fprintf(stderr,
                    PROG ": note: no gemeente or samenwerking serves %s; its bijstand "
                         "is not generated\n",
                    r->g[i].code);
    if (r->uwv < 0)
        fprintf(stderr, PROG ": note: the region has no UWV organisation; WW, Wajong and WIA "
                             "are not generated\n");
    cJSON_Delete(j);
    free(text);
}

/* ---------------------------------------------------------------------------------------- */
/* Randomness                                                                               */

typedef struct bsnset {
    uint32_t *slot; /* value + 1; 0 = empty */
    size_t cap, n;
    int shift;
} bsnset;

typedef struct gen {
    mp_rng *rng;
    region *r;
    int32_t E, W;     /* period end; start of the six-year window */
    int32_t dgr_from; /* the doelgroepenregister exists since 2015 */
    double dirty, dgr_work;
    double stock_mix[NBANDS * 4], stock_share; /* direct_stock_mix() */
    int target;     /* the only organisation whose rows count, -1 = all */
    int count_only; /* dry run: count rows, write nothing */
    bsnset used;
    unsigned long dirty_by_reason[7];
} gen;

static double unif(gen *g)
{
    return (double)(mp_rng_u64(g->rng) >> 11) * 0x1.0p-53;
}

static int chance(gen *g, double p)
{
    return unif(g) < p;
}

/* Uniform integer in [lo, hi]; lo when hi < lo. */
static int64_t irange(gen *g, int64_t lo, int64_t hi)
{
    if (hi <= lo)
        return lo;
    return lo + (int64_t)mp_rng_uniform64(g->rng, (uint64_t)(hi - lo) + 1);
}

static int pick(gen *g, const double *w, int n)
{
    double total = 0, u;
    for (int i = 0; i < n; i++)
        total += w[i];
    u = unif(g) * total;
    for (int i = 0; i < n; i++) {
        if (u < w[i])
            return i;
        u -= w[i];
    }
    return n - 1;
}

static double expo(gen *g, double mean)
{
    return -mean * log(1.0 - unif(g));
}

static int32_t months_to_days(double months)
{
    return (int32_t)(months * DAYS_PER_MONTH);
}

/* Number of persons for an expected count: floor plus a Bernoulli for the fraction. */
static long long draw_count(gen *g, double expected)
{
    long long n = (long long)expected;
    return n + (chance(g, expected - (double)n) ? 1 : 0);
}

/* ---------------------------------------------------------------------------------------- */
/* BSNs: random, passing the elfproef, unique in the run                                    */

static void bsnset_init(bsnset *s)
{
    s->shift = 16;
    s->cap = (size_t)1 << s->shift;
    s->n = 0;
    s->slot = xcalloc(s->cap, sizeof *s->slot);
}

static size_t bsnset_home(const bsnset *s, uint32_t v)
{
    return (size_t)(((uint64_t)v * UINT64_C(0x9E3779B97F4A7C15)) >> (64 - s->shift));
}

static int bsnset_add(bsnset *s, uint32_t v);

static void bsnset_grow(bsnset *s)
{
    uint32_t *old = s->slot;
    size_t oldcap = s->cap;
    s->shift++;
    s->cap = (size_t)1 << s->shift;
    s->n = 0;
    s->slot = xcalloc(s->cap, sizeof *s->slot);
    for (size_t i = 0; i < oldcap; i++)
        if (old[i] != 0)
            (void)bsnset_add(s, old[i] - 1);
    free(old);
}

/* 1 when added, 0 when already present. */
static int bsnset_add(bsnset *s, uint32_t v)
{
    size_t i;
    if (2 * (s->n + 1) > s->cap)
        bsnset_grow(s);
    for (i = bsnset_home(s, v);; i = (i + 1) & (s->cap - 1)) {
        if (s->slot[i] == 0) {
            s->slot[i] = v + 1;
            s->n++;
            return 1;
        }
        if (s->slot[i] == v + 1)
            return 0;
    }
}

static void bsnset_free(bsnset *s)
{
    free(s->slot);
    s->slot = NULL;
}

/* Eight random digits (never two leading zeros, so that Excel's dropped zero leaves 8 digits)
 * and the check digit that makes the elfproef pass; a draw whose check digit would be 10 is
 * skipped, and so is one already used. */
static void new_bsn(gen *g, char out[10])
{
    for (;;) {
        uint32_t prefix = 1000000 + (uint32_t)mp_rng_uniform64(g->rng, 79000000);
        uint32_t x = prefix, sum = 0, check;
        char d[10];
        for (int i = 7; i >= 0; i--) {
            d[i] = (char)('0' + x % 10);
            x /= 10;
        }
        for (int i = 0; i < 8; i++)
            sum += (uint32_t)(9 - i) * (uint32_t)(d[i] - '0');
        check = sum % 11;
        if (check == 10)
            continue;
        d[8] = (char)('0' + check);
        d[9] = '\0';
        if (!mp_bsn_elfproef(d))
            die("internal error: generated BSN fails the elfproef");
        if (!bsnset_add(&g->used, prefix * 10 + check))
            continue;
        memcpy(out, d, 10);
        sodium_memzero(d, sizeof d);
        return;
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Persons                                                                                  */

typedef struct person {
    char bsn[10];
    int32_t birth;
    int sex;   /* enum mp_sex */
    int flags; /* enum mp_flag bits */
    int dgr;   /* in the doelgroepenregister via the gemeente */
    int job_at_end;
} person;

static int draw_sex(gen *g, double p_woman)
{
    if (chance(g, 0.002))
        return MP_SEX_X;
    return chance(g, p_woman) ? MP_SEX_V : MP_SEX_M;
}

/* A date of birth that makes the person `age` on `ref`. */
static int32_t birth_for_age(gen *g, int age, int32_t ref)
{
    return mp_date_add_months(ref, -12 * age) - (int32_t)irange(g, 0, 364);
}

static int age_in_band(gen *g, int band)
{
    return (int)irange(g, BAND_LO[band], BAND_HI[band]);
}

static void new_person(gen *g, person *p, int32_t birth, int sex)
{
    memset(p, 0, sizeof *p);
    new_bsn(g, p->bsn);
    p->birth = birth;
    p->sex = sex;
}

/* Focus-group flags of a person in bijstand: statushouder about 8%, alleenstaande ouder about
 * 12% (mostly women aged 22 to 52), partner in a couple's benefit 10%. */
static void bijstand_flags(gen *g, person *p)
{
    int age = mp_date_age(p->birth, g->E);
    double ao = age >= 22 && age <= 52 ? (p->sex == MP_SEX_V ? 0.28 : 0.04) : 0.01;
    p->flags = 0;
    if (chance(g, P_STATUSHOUDER))
        p->flags |= MP_FLAG_STATUSHOUDER;
    if (chance(g, ao))
        p->flags |= MP_FLAG_ALLEENSTAANDE_OUDER;
    else if (chance(g, P_PARTNER))
        p->flags |= MP_FLAG_PARTNER;
}

/* ---------------------------------------------------------------------------------------- */
/* Writing rows                                                                             */

enum dirt {
    D_ELFPROEF,
    D_BSN_LENGTH,
    D_IMPOSSIBLE_DATE,
    D_END_BEFORE_START,
    D_SPELL_UNKNOWN,
    D_OUTSIDE_REGION,
    D_REASON_UNKNOWN,
    D_COUNT
};
static const char *const DIRT_NAMES[D_COUNT] = {"bsn_elfproef",       "bsn_format",
                                                "date_format",        "date_order",
                                                "spell_type_unknown", "municipality_outside_region",
                                                "end_reason_unknown"};

/* The Dutch Excel export's own codes (Windows-1252: 0xEB is e-diaeresis). */
static const char *const XL_SPELL[MP_SPELL_COUNT] = {"PW",
                                                     "IOAW",
                                                     "WW",
                                                     "WAJONG",
                                                     "WIA",
                                                     "DGR",
                                                     "Regulier werk",
                                                     "Banenafspraak",
                                                     "Re-integratietraject"};
static const char *const XL_REASON[MP_REASON_COUNT] = {"",
                                                       "Werk aanvaard",
                                                       "Scholing",
                                                       "Verhuisd",
                                                       "AOW-leeftijd",
                                                       "Overleden",
                                                       "Detentie",
                                                       "Overige be\xEB"
                                                       "indiging"};
static const char *const XL_SEX[MP_SEX_COUNT] = {"Onbekend", "Man", "Vrouw"};
static const char *const XL_FLAG[3] = {"SH", "AO", "PA"};
static const char *const XL_HEADER =
    "Dossiernummer;BSN;Geboortedatum;Geslacht;Gemeentecode;Regeling;Ingangsdatum;Einddatum;"
    "Reden be\xEB"
    "indiging;Kenmerken\r\n";
/* The same names in UTF-8, for the mapping file. */
static const char *const MAP_REASON_OVERIG = "Overige be\xC3\xAB"
                                             "indiging";
static const char *const MAP_END_REASON_COLUMN = "Reden be\xC3\xAB"
                                                 "indiging";

enum field { F_BSN, F_BIRTH, F_SEX, F_MUN, F_TYPE, F_START, F_END, F_REASON, F_FLAGS, F_N };
static const char *const CANON_NAMES[F_N] = {"bsn",          "birth_date", "sex",
                                             "municipality", "spell_type", "start_date",
                                             "end_date",     "end_reason", "flags"};
static const int ORDER_CANON[F_N] = {F_BSN,   F_BIRTH, F_SEX,    F_MUN,  F_TYPE,
                                     F_START, F_END,   F_REASON, F_FLAGS};
static const int ORDER_REORDER[F_N] = {F_TYPE, F_START, F_END, F_REASON, F_MUN,
                                       F_BSN,  F_BIRTH, F_SEX, F_FLAGS};

static void put_date(char *out, size_t cap, int32_t day, int excel)
{
    int y, m, d;
    if (!excel) {
        char iso[11];
        mp_date_format(iso, day);
        snprintf(out, cap, "%s", iso);
        return;
    }
    mp_date_to_civil(day, &y, &m, &d);
    snprintf(out, cap, "%02d-%02d-%04d", d, m, y);
}

static void wfail(const org *o)
{
    die("cannot write %s: %s", o->path, strerror(errno));
}

static void write_header(const org *o)
{
    const int *order = o->style == S_REORDER ? ORDER_REORDER : ORDER_CANON;
    int nf = o->style == S_UWV ? F_N - 1 : F_N;
    char sep = o->style == S_UWV ? ',' : ';';
    const char *eol = o->style == S_UWV ? "\n" : "\r\n";
    if (o->style == S_EXCEL) {
        if (fputs(XL_HEADER, o->f) == EOF)
            wfail(o);
        return;
    }
    if (o->style == S_BOM && fputs("\xEF\xBB\xBF", o->f) == EOF)
        wfail(o);
    for (int i = 0; i < nf; i++) {
        const char *name = CANON_NAMES[order[i]];
        if (i > 0 && fputc(sep, o->f) == EOF)
            wfail(o);
        if (fprintf(o->f, o->style == S_UWV ? "\"%s\"" : "%s", name) < 0)
            wfail(o);
    }
    if (fputs(eol, o->f) == EOF)
        wfail(o);
}

typedef struct spell {
    int gem, type, reason;
    int32_t start, end; /* end = MP_DATE_OPEN while running */
} spell;

/* Replace one field of the row with a defect; the row then fails for that reason only. */
static void make_dirty(gen *g, const org *o, const person *p, spell *s, char f[F_N][48], int kind)
{
    int excel = o->style == S_EXCEL;
    switch (kind) {
    case D_ELFPROEF: { /* a different last digit always breaks the 11-test */
        char *b = f[F_BSN] + strlen(f[F_BSN]) - 1;
        *b = (char)('0' + (*b - '0' + (int)irange(g, 1, 9)) % 10);
        break;
    }
    case D_BSN_LENGTH:
        memcpy(f[F_BSN], p->bsn, 7);
        f[F_BSN][7] = '\0';
        break;
    case D_IMPOSSIBLE_DATE:
        snprintf(f[F_START], sizeof f[F_START], "%s", excel ? "30-02-2023" : "2023-02-30");
        break;
    case D_END_BEFORE_START:
        s->end = s->start - (int32_t)irange(g, 1, 400);
        put_date(f[F_END], sizeof f[F_END], s->end, excel);
        if (s->reason == MP_REASON_NONE)
            snprintf(f[F_REASON], sizeof f[F_REASON], "%s",
                     excel ? XL_REASON[MP_REASON_OVERIG] : "overig");
        break;
    case D_SPELL_UNKNOWN:
        snprintf(f[F_TYPE], sizeof f[F_TYPE], "%s",
                 o->kind == K_UWV ? (excel ? "ZW" : "zw") : (excel ? "BBZ" : "bbz"));
        break;
    case D_OUTSIDE_REGION:
        snprintf(f[F_MUN], sizeof f[F_MUN], "%s",
                 excel                  ? "363"
                 : o->style == S_DIGITS ? "0363"
                                        : "GM0363");
        break;
    case D_REASON_UNKNOWN:
        if (s->end == MP_DATE_OPEN) {
            int32_t e = s->start + (int32_t)irange(g, 30, 300);
            put_date(f[F_END], sizeof f[F_END], e > g->E ? g->E : e, excel);
        }
        snprintf(f[F_REASON], sizeof f[F_REASON], "%s", excel ? "Buitenland" : "buitenland");
        break;
    default: break;
    }
}

static void write_row(gen *g, org *o, const person *p, spell *s)
{
    char f[F_N][48];
    char line[1024];
    size_t n = 0;
    int excel = o->style == S_EXCEL;
    const int *order = o->style == S_REORDER ? ORDER_REORDER : ORDER_CANON;
    int nf = o->style == S_UWV ? F_N - 1 : F_N;
    char sep = o->style == S_UWV ? ',' : ';';
    const char *code = g->r->g[s->gem].code;

    /* Excel reads the BSN as a number and drops a leading zero. */
    snprintf(f[F_BSN], sizeof f[F_BSN], "%s", excel && p->bsn[0] == '0' ? p->bsn + 1 : p->bsn);
    put_date(f[F_BIRTH], sizeof f[F_BIRTH], p->birth, excel);
    snprintf(f[F_SEX], sizeof f[F_SEX], "%s",
             excel                ? XL_SEX[p->sex]
             : p->sex == MP_SEX_M ? "M"
             : p->sex == MP_SEX_V ? "V"
                                  : "X");
    if (excel) /* a number too: "0632" becomes 632 */
        snprintf(f[F_MUN], sizeof f[F_MUN], "%d", atoi(code + 2));
    else
        snprintf(f[F_MUN], sizeof f[F_MUN], "%s", o->style == S_DIGITS ? code + 2 : code);
    snprintf(f[F_TYPE], sizeof f[F_TYPE], "%s",
             excel ? XL_SPELL[s->type] : mp_spell_type_name(s->type));
    put_date(f[F_START], sizeof f[F_START], s->start, excel);
    f[F_END][0] = '\0';
    if (s->end != MP_DATE_OPEN)
        put_date(f[F_END], sizeof f[F_END], s->end, excel);
    snprintf(f[F_REASON], sizeof f[F_REASON], "%s",
             s->reason == MP_REASON_NONE ? ""
             : excel                     ? XL_REASON[s->reason]
                                         : mp_end_reason_name(s->reason));
    f[F_FLAGS][0] = '\0';
    if (o->kind != K_UWV)
        for (int b = 0; b < 3; b++)
            if (p->flags & (1 << b)) {
                static const char *const canon[3] = {"statushouder", "alleenstaande_ouder",
                                                     "partner"};
                size_t k = strlen(f[F_FLAGS]);
                snprintf(f[F_FLAGS] + k, sizeof f[F_FLAGS] - k, "%s%s",
                         k ? (excel ? "," : "|") : "", excel ? XL_FLAG[b] : canon[b]);
            }

    if (g->dirty > 0 && chance(g, g->dirty)) {
        int kind = (int)irange(g, 0, D_COUNT - 1);
        make_dirty(g, o, p, s, f, kind);
        g->dirty_by_reason[kind]++;
        o->dirty++;
    }

    if (excel)
        n += (size_t)snprintf(line, sizeof line, "%lu;", 100000 + o->dossier++);
    for (int i = 0; i < nf; i++) {
        const char *v = f[order[i]];
        size_t len = strlen(v);
        if (i > 0)
            line[n++] = sep;
        if (o->style == S_UWV)
            line[n++] = '"';
        memcpy(line + n, v, len);
        n += len;
        if (o->style == S_UWV)
            line[n++] = '"';
    }
    if (sep == ';')
        line[n++] = '\r';
    line[n++] = '\n';
    if (fwrite(line, 1, n, o->f) != n)
        wfail(o);
    sodium_memzero(f[F_BSN], sizeof f[F_BSN]);
    sodium_memzero(line, n);
}

/* One spell of person p at organisation `oi` (-1: nobody holds it). Ends after the period end
 * are not known yet at export time: such a spell is written as running. */
static void emit(gen *g, const person *p, int oi, int type, int gi, int32_t start, int32_t end,
                 int reason)
{
    spell s;
    org *o;
    if (oi < 0 || (g->target >= 0 && oi != g->target) || start > g->E)
        return;
    if (end == MP_DATE_OPEN || end > g->E) {
        end = MP_DATE_OPEN;
        reason = MP_REASON_NONE;
    }
    o = &g->r->o[oi];
    o->rows++;
    if (g->count_only || !o->write)
        return;
    s.gem = gi;
    s.type = type;
    s.start = start;
    s.end = end;
    s.reason = reason;
    write_row(g, o, p, &s);
}

/* ---------------------------------------------------------------------------------------- */
/* Life courses                                                                             */

static int gem_org(const gen *g, int gi)
{
    return g->r->g[gi].org;
}

/* Months a bijstand spell of a leaver lasted. */
static double exit_duration(gen *g)
{
    switch (pick(g, EXIT_DUR_W, 4)) {
    case 0: return unif(g) * 12;
    case 1: return 12 + unif(g) * 12;
    case 2: return 24 + unif(g) * 36;
    default: return 60 + expo(g, 48);
    }
}

/* Why a bijstand spell ended, by age at the end and months it lasted: the longer, the fewer
 * leave for work (seed 2022: "hoe langer iemand in de bijstand zit, hoe moeilijker"). */
static int bijstand_exit_reason(gen *g, int age, double months)
{
    double w[MP_REASON_COUNT] = {0};
    if (age >= 66 && chance(g, 0.8))
        return MP_REASON_PENSIOEN;
    w[MP_REASON_WERK] = (age < 27 ? 0.36 : 0.44) * (months >= 60 ? 0.45 : months >= 24 ? 0.75 : 1);
    w[MP_REASON_OPLEIDING] = age < 27 ? 0.18 : 0.03;
    w[MP_REASON_VERHUIZING] = 0.12;
    w[MP_REASON_OVERLIJDEN] = age >= 55 ? 0.04 : 0.008;
    w[MP_REASON_DETENTIE] = 0.012;
    w[MP_REASON_OVERIG] = 0.30;
    return pick(g, w, MP_REASON_COUNT);
}

/* The latest start a spell can have given the person's 18th birthday. */
static int32_t adult_from(const person *p)
{
    return mp_date_add_months(p->birth, 18 * 12);
}

static void bijstand_from(gen *g, person *p, int gi, int32_t start, int depth);

/* A traject during a bijstand spell [s, e] in the last two years (Werkbeweging: werkfit,
 * leerwerkplek, scholing). */
static void maybe_traject(gen *g, const person *p, int gi, int32_t s, int32_t e, int exit_reason)
{
    int32_t from = mp_date_add_months(g->E, -24), lo, hi, ts, te;
    int reason;
    double w[MP_REASON_COUNT] = {0};
    lo = s > from ? s : from;
    hi = e < g->E ? e : g->E;
    if (hi < lo || !chance(g, P_TRAJECT))
        return;
    ts = (int32_t)irange(g, lo, hi);
    te = ts + (int32_t)irange(g, 60, 365);
    w[MP_REASON_WERK] = 0.15;
    w[MP_REASON_OPLEIDING] = 0.05;
    w[MP_REASON_OVERIG] = 0.80;
    reason = pick(g, w, MP_REASON_COUNT);
    if (e != MP_DATE_OPEN && te > e) {
        te = e;
        reason = exit_reason == MP_REASON_WERK ? MP_REASON_WERK : MP_REASON_OVERIG;
    }
    emit(g, p, gem_org(g, gi), MP_SPELL_TRAJECT, gi, ts, te, reason);
}

/* A job from `start` (after leaving a benefit for work): banenafspraak for someone in the
 * doelgroepenregister, regular otherwise; it ends the day before `stop` (re-entry), or now and
 * then on its own. */
static void job_from(gen *g, person *p, int gi, int32_t start, int32_t stop)
{
    int type = p->dgr ? MP_SPELL_BANENAFSPRAAK : MP_SPELL_BAAN;
    int32_t end = MP_DATE_OPEN;
    if (stop != MP_DATE_OPEN)
        end = stop - 1 > start ? stop - 1 : start;
    else if (chance(g, 0.2))
        end = start + (int32_t)irange(g, 30, 700);
    if (end == MP_DATE_OPEN || end > g->E)
        p->job_at_end = 1;
    emit(g, p, gem_org(g, gi), type, gi, start, end, end == MP_DATE_OPEN ? 0 : MP_REASON_OVERIG);
}

/* After a bijstand spell ended on `end`: a job (for exits to work in the last year, the jobs
 * the gemeente follows in nazorg), re-entry (herinstroom), or bijstand elsewhere after a
 * move within the region. */
static void after_exit(gen *g, person *p, int gi, int32_t end, int reason, double months, int depth)
{
    int32_t next = MP_DATE_OPEN;
    int next_gem = gi;
    if (depth < 3 &&
        (reason == MP_REASON_WERK || reason == MP_REASON_OPLEIDING || reason == MP_REASON_OVERIG)) {
        double m = months < 12 ? 0.8 : months < 24 ? 1.0 : 1.25, u = unif(g);
        if (u < P_REENTRY_6M * m)
            next = end + (int32_t)irange(g, 7, 175);
        else if (u < (P_REENTRY_6M + P_REENTRY_12M) * m)
            next = end + (int32_t)irange(g, 190, 365);
        else if (u < (P_REENTRY_6M + P_REENTRY_12M + P_REENTRY_5Y) * m)
            next = end + (int32_t)irange(g, 366, 1826);
    } else if (depth < 3 && reason == MP_REASON_VERHUIZING && g->r->ngem > 1 && chance(g, 0.3)) {
        double w[MAX_GEM];
        for (size_t k = 0; k < g->r->ngem; k++)
            w[k] = (int)k == gi ? 0 : g->r->g[k].bijstand;
        next_gem = pick(g, w, (int)g->r->ngem);
        next = end + (int32_t)irange(g, 1, 30);
    } else if (depth < 3 && reason == MP_REASON_DETENTIE && chance(g, 0.3)) {
        next = end + (int32_t)irange(g, 60, 730);
    }
    if (reason == MP_REASON_WERK && end >= mp_date_add_months(g->E, -12))
        job_from(g, p, gi, end + 1, next);
    if (next != MP_DATE_OPEN && next <= g->E)
        bijstand_from(g, p, next_gem, next, depth + 1);
}

/* One bijstand spell, written with its traject and what follows it. */
static void bijstand_spell(gen *g, person *p, int gi, int32_t start, int32_t end, int depth)
{
    int reason = MP_REASON_NONE;
    double months;
    if (start < adult_from(p))
        start = adult_from(p);
    months = (double)(end - start) / DAYS_PER_MONTH;
    if (end != MP_DATE_OPEN && end < g->E)
        reason = bijstand_exit_reason(g, mp_date_age(p->birth, end), months);
    else
        end = MP_DATE_OPEN;
    emit(g, p, gem_org(g, gi), MP_SPELL_BIJSTAND, gi, start, end, reason);
    maybe_traject(g, p, gi, start, end, reason);
    if (reason != MP_REASON_NONE)
        after_exit(g, p, gi, end, reason, months, depth);
}

/* A new bijstand spell from `start` whose length is drawn like a leaver's. */
static void bijstand_from(gen *g, person *p, int gi, int32_t start, int depth)
{
    int32_t end = start + months_to_days(exit_duration(g));
    bijstand_spell(g, p, gi, start, end >= g->E ? MP_DATE_OPEN : end, depth);
}

/* The doelgroepenregister registration of a person and, with the region's share, a job on the
 * period end (a person already in a job counts as working). */
static void dgr_registration(gen *g, person *p, int oi, int gi, int32_t earliest)
{
    int32_t lo = earliest > g->dgr_from ? earliest : g->dgr_from;
    int32_t from, js;
    if (lo >= g->E)
        lo = g->E - 30;
    from = (int32_t)irange(g, lo, g->E - 1);
    emit(g, p, oi, MP_SPELL_DGR, gi, from, MP_DATE_OPEN, 0);
    if (p->job_at_end)
        return;
    if (chance(g, g->dgr_work)) {
        int32_t jlo = mp_date_add_months(g->E, -60);
        js = (int32_t)irange(g, from > jlo ? from : jlo, g->E);
        emit(g, p, oi, chance(g, 0.8) ? MP_SPELL_BANENAFSPRAAK : MP_SPELL_BAAN, gi, js,
             MP_DATE_OPEN, 0);
        p->job_at_end = 1;
    } else if (chance(g, 0.3)) { /* uitval: a banenafspraak job that ended before now */
        int32_t jlo = mp_date_add_months(g->E, -48), je;
        if (from > jlo)
            jlo = from;
        if (jlo > g->E - 60)
            return;
        js = (int32_t)irange(g, jlo, g->E - 60);
        je = js + (int32_t)irange(g, 30, 540);
        emit(g, p, oi, MP_SPELL_BANENAFSPRAAK, gi, js, je < g->E ? je : g->E - 1, MP_REASON_OVERIG);
    }
}

/* The part of the bijstand stock drawn directly, per person of the target stock, by age band
 * and duration band: the CBS mix minus what the flows leave running. Returns its total. */
static double direct_stock_mix(double mix[NBANDS * 4])
{
    double total_age = 0, sum = 0;
    for (int b = 0; b < NBANDS; b++)
        total_age += STOCK_AGE_W[b];
    for (int b = 0; b < NBANDS; b++) {
        double a = STOCK_DUR_2_5[b], l = STOCK_DUR_5P[b], rest = 1.0 - a - l;
        double target[4] = {0.55 * rest, 0.45 * rest, a, l};
        for (int d = 0; d < 4; d++) {
            double x = STOCK_AGE_W[b] / total_age * target[d] - FLOW_AT_END[b][d];
            mix[b * 4 + d] = STOCK_DIRECT * (x > 0 ? x : 0);
            sum += mix[b * 4 + d];
        }
    }
    return sum;
}

/* Months in a duration band (<1, 1-2, 2-5, 5+ years). */
static double duration_in_band(gen *g, int d)
{
    switch (d) {
    case 0: return unif(g) * 12;
    case 1: return 12 + unif(g) * 12;
    case 2: return 24 + unif(g) * 36;
    default: return 60 + expo(g, 66);
    }
}

/* A person in the bijstand stock on the period end (with the flows: the CBS age and duration
 * mix). */
static void life_stock(gen *g, int gi)
{
    person p;
    int cell = pick(g, g->stock_mix, NBANDS * 4), band = cell / 4;
    int32_t birth = birth_for_age(g, age_in_band(g, band), g->E);
    int32_t start, adult;
    new_person(g, &p, birth, draw_sex(g, 0.57));
    bijstand_flags(g, &p);
    p.dgr = chance(g, P_DGR_BIJSTAND);
    start = g->E - months_to_days(duration_in_band(g, cell % 4));
    adult = adult_from(&p);
    if (start < adult) /* younger than the drawn duration allows */
        start = (int32_t)irange(g, adult, g->E);
    bijstand_spell(g, &p, gi, start, MP_DATE_OPEN, 0);
    if (p.dgr)
        dgr_registration(g, &p, gem_org(g, gi), gi, adult);
    sodium_memzero(&p, sizeof p);
}

/* A person who left bijstand at some moment of the six-year window (and may have come back). */
static void life_exit(gen *g, int gi)
{
    person p;
    int32_t exit_day = (int32_t)irange(g, g->W, g->E - 1);
    int band = pick(g, EXIT_AGE_W, NBANDS);
    int32_t birth = birth_for_age(g, age_in_band(g, band), exit_day);
    int32_t start;
    new_person(g, &p, birth, draw_sex(g, 0.57));
    bijstand_flags(g, &p);
    p.dgr = chance(g, P_DGR_BIJSTAND);
    start = exit_day - months_to_days(exit_duration(g));
    if (start < adult_from(&p))
        start = adult_from(&p);
    bijstand_spell(g, &p, gi, start, exit_day, 0);
    if (p.dgr)
        dgr_registration(g, &p, gem_org(g, gi), gi, adult_from(&p));
    sodium_memzero(&p, sizeof p);
}

/* IOAW from `start` until AOW at 67, or work. */
static void ioaw_from(gen *g, const person *p, int gi, int32_t start)
{
    int32_t aow = mp_date_add_months(p->birth, 67 * 12);
    int32_t end = aow;
    int reason = MP_REASON_PENSIOEN;
    if (chance(g, 0.12)) {
        int32_t w = start + (int32_t)irange(g, 120, 900);
        if (w < aow) {
            end = w;
            reason = MP_REASON_WERK;
        }
    }
    emit(g, p, gem_org(g, gi), MP_SPELL_IOAW, gi, start, end, reason);
}

/* A long-running IOAW whose WW lies before UWV's export window. */
static void life_ioaw(gen *g, int gi)
{
    person p;
    int age = (int)irange(g, 60, 66);
    new_person(g, &p, birth_for_age(g, age, g->E), draw_sex(g, 0.45));
    ioaw_from(g, &p, gi, g->E - (int32_t)irange(g, 30, 6 * 365));
    sodium_memzero(&p, sizeof p);
}

/* A WW claim (at most 24 months). UWV's export holds the claims that ran during its export
 * window; when the right ends without work the claim may be followed by IOAW or bijstand at
 * the gemeente (the same person in two organisations' files), also for claims older than
 * UWV's window. A claim that leaves no row anywhere makes no person. */
static void life_ww(gen *g, int gi)
{
    person p;
    int32_t window = mp_date_add_months(g->E, -WW_EXPORT_MONTHS);
    int32_t start = (int32_t)irange(g, mp_date_add_months(g->W, -24), g->E);
    int32_t end, birth;
    int age, reason = MP_REASON_NONE, follow = 0;
    double u = unif(g), months;
    months = u < 0.60 ? 1 + unif(g) * 5 : u < 0.85 ? 6 + unif(g) * 6 : 12 + unif(g) * 12;
    end = start + months_to_days(months);
    age = age_in_band(g, pick(g, WW_AGE_W, NBANDS));
    birth = birth_for_age(g, age, start);
    if (end < g->E) {
        double w[MP_REASON_COUNT] = {0};
        int age_end = mp_date_age(birth, end);
        w[MP_REASON_WERK] = 0.58;
        w[MP_REASON_OVERIG] = 0.33;
        w[MP_REASON_OPLEIDING] = age < 27 ? 0.06 : 0.02;
        w[MP_REASON_VERHUIZING] = 0.03;
        w[MP_REASON_OVERLIJDEN] = 0.005;
        w[MP_REASON_DETENTIE] = 0.005;
        reason = age_end >= 67 ? MP_REASON_PENSIOEN : pick(g, w, MP_REASON_COUNT);
        if (reason == MP_REASON_OVERIG && age_end >= 60 && age_end < 67)
            follow = chance(g, P_WW_TO_IOAW) ? 1 : 0;
        else if (reason == MP_REASON_OVERIG && age_end < 60)
            follow = chance(g, P_WW_TO_BIJSTAND) ? 2 : 0;
    } else {
        end = MP_DATE_OPEN;
    }
    if (end < window && !follow)
        return;
    new_person(g, &p, birth, draw_sex(g, 0.48));
    if (end >= window)
        emit(g, &p, g->r->uwv, MP_SPELL_WW, gi, start, end, reason);
    if (follow == 1) {
        ioaw_from(g, &p, gi, end + 1);
    } else if (follow == 2) {
        bijstand_flags(g, &p);
        bijstand_from(g, &p, gi, end + (int32_t)irange(g, 1, 60), 1);
    }
    sodium_memzero(&p, sizeof p);
}

/* A Wajonger: Wajong since young adulthood, in the doelgroepenregister at UWV. */
static void life_wajong(gen *g, int gi)
{
    person p;
    int band = pick(g, WAJONG_AGE_W, NBANDS);
    int32_t start;
    new_person(g, &p, birth_for_age(g, age_in_band(g, band), g->E), draw_sex(g, 0.40));
    start = adult_from(&p) + (int32_t)irange(g, 0, 6 * 365);
    if (start > g->E - 30)
        start = g->E - (int32_t)irange(g, 30, 365);
    if (start < adult_from(&p))
        start = adult_from(&p);
    emit(g, &p, g->r->uwv, MP_SPELL_WAJONG, gi, start, MP_DATE_OPEN, 0);
    dgr_registration(g, &p, g->r->uwv, gi, start);
    sodium_memzero(&p, sizeof p);
}

/* A WIA benefit at UWV (no metric reads it; it makes UWV's export look like one). */
static void life_wia(gen *g, int gi)
{
    person p;
    int band = pick(g, WIA_AGE_W, NBANDS);
    int age = band == 1 ? (int)irange(g, 30, 34) : age_in_band(g, band);
    int32_t start, end = MP_DATE_OPEN, lo;
    int reason = MP_REASON_NONE;
    new_person(g, &p, birth_for_age(g, age, g->E), draw_sex(g, 0.50));
    lo = mp_date_add_months(p.birth, 25 * 12);
    start = g->E - (int32_t)irange(g, 30, 12 * 365);
    if (start < lo)
        start = (int32_t)irange(g, lo, g->E);
    if (chance(g, 0.2)) {
        end = start + (int32_t)irange(g, 180, 1800);
        reason = chance(g, 0.3) ? MP_REASON_WERK : MP_REASON_OVERIG;
        if (mp_date_age(p.birth, end) >= 67)
            reason = MP_REASON_PENSIOEN;
    }
    emit(g, &p, g->r->uwv, MP_SPELL_WIA, gi, start, end, reason);
    sodium_memzero(&p, sizeof p);
}

/* ---------------------------------------------------------------------------------------- */
/* The population                                                                           */

enum life_kind { L_STOCK, L_EXIT, L_IOAW, L_WW, L_WAJONG, L_WIA, L_COUNT };

/* Expected persons of a kind in gemeente gi at scale 1. */
static double expected(const gen *gn, int kind, int gi)
{
    const region *r = gn->r;
    const gem *g = &r->g[gi];
    int has_gem = g->org >= 0, has_uwv = r->uwv >= 0;
    double ww_starts_per_month = g->population * WW_STOCK_PER_POP / WW_MEAN_MONTHS;
    switch (kind) {
    case L_STOCK: return has_gem ? gn->stock_share * g->bijstand : 0;
    case L_EXIT: return has_gem ? EXIT_RATE_PER_YEAR * WINDOW_MONTHS / 12.0 * g->bijstand : 0;
    case L_IOAW: return has_gem ? IOAW_PER_BIJSTAND * g->bijstand : 0;
    case L_WW: /* claims starting in the window or up to 24 months before it */
        return has_uwv ? ww_starts_per_month * (24 + WINDOW_MONTHS) : 0;
    case L_WAJONG: return has_uwv ? WAJONG_PER_POP * g->population : 0;
    case L_WIA: return has_uwv ? WIA_PER_POP * g->population : 0;
    default: return 0;
    }
}

/* Can a person of this kind in gemeente gi have rows at organisation `target`? */
static int relevant(const region *r, int kind, int gi, int target)
{
    if (target < 0)
        return 1;
    if (target == r->uwv)
        return kind == L_WW || kind == L_WAJONG || kind == L_WIA;
    return r->g[gi].org == target && kind != L_WAJONG && kind != L_WIA;
}

/* Draw every person of the region (at `scale`) in random order and write their spells. */
static void generate(gen *g, double scale)
{
    region *r = g->r;
    size_t ncells = r->ngem * L_COUNT;
    double *w = xcalloc(ncells, sizeof *w), total = 0;
    long long n;
    for (size_t gi = 0; gi < r->ngem; gi++)
        for (int k = 0; k < L_COUNT; k++)
            if (relevant(r, k, (int)gi, g->target))
                total += w[gi * L_COUNT + (size_t)k] = expected(g, k, (int)gi) * scale;
    if (total > MAX_PERSONS)
        die("--scale/--rows too large: %.0f persons (at most %.0f)", total, MAX_PERSONS);
    n = draw_count(g, total);
    for (long long i = 0; i < n; i++) {
        /* pick a cell in proportion to its expected persons */
        double u = unif(g) * total;
        size_t c;
        for (c = 0; c + 1 < ncells && u >= w[c]; c++)
            u -= w[c];
        while (w[c] == 0 && c > 0) /* rounding at the very end: the last non-empty cell */
            c--;
        int gi = (int)(c / L_COUNT);
        switch ((int)(c % L_COUNT)) {
        case L_STOCK: life_stock(g, gi); break;
        case L_EXIT: life_exit(g, gi); break;
        case L_IOAW: life_ioaw(g, gi); break;
        case L_WW: life_ww(g, gi); break;
        case L_WAJONG: life_wajong(g, gi); break;
        case L_WIA: life_wia(g, gi); break;
        default: break;
        }
    }
    free(w);
}

/* ---------------------------------------------------------------------------------------- */
/* Mapping file of the Dutch Excel export                                                   */

static void write_mapping(const org *o, const char *dir)
{
    char path[4096];
    cJSON *m = cJSON_CreateObject(), *cols, *vals, *t;
    char *text;
    FILE *f;
    static const char *const spell_names[MP_SPELL_COUNT] = {
        "bijstand", "ioaw",          "ww",     "wajong", "wia", "doelgroepenregister",
        "baan",     "banenafspraak", "traject"};
    if (m == NULL)
        die("out of memory");
    cJSON_AddNumberToObject(m, "mijlpaal_mapping", 1);
    cols = cJSON_AddObjectToObject(m, "columns");
    cJSON_AddStringToObject(cols, "bsn", "BSN");
    cJSON_AddStringToObject(cols, "birth_date", "Geboortedatum");
    cJSON_AddStringToObject(cols, "sex", "Geslacht");
    cJSON_AddStringToObject(cols, "municipality", "Gemeentecode");
    cJSON_AddStringToObject(cols, "spell_type", "Regeling");
    cJSON_AddStringToObject(cols, "start_date", "Ingangsdatum");
    cJSON_AddStringToObject(cols, "end_date", "Einddatum");
    cJSON_AddStringToObject(cols, "end_reason", MAP_END_REASON_COLUMN);
    cJSON_AddStringToObject(cols, "flags", "Kenmerken");
    cJSON_AddStringToObject(m, "date_format", "DD-MM-YYYY");
    vals = cJSON_AddObjectToObject(m, "values");
    t = cJSON_AddObjectToObject(vals, "spell_type");
    for (int i = 0; i < MP_SPELL_COUNT; i++)
        cJSON_AddStringToObject(t, XL_SPELL[i], spell_names[i]);
    t = cJSON_AddObjectToObject(vals, "end_reason");
    for (int i = 1; i < MP_REASON_COUNT; i++)
        cJSON_AddStringToObject(t, i == MP_REASON_OVERIG ? MAP_REASON_OVERIG : XL_REASON[i],
                                mp_end_reason_name(i));
    t = cJSON_AddObjectToObject(vals, "sex");
    cJSON_AddStringToObject(t, "Man", "M");
    cJSON_AddStringToObject(t, "Vrouw", "V");
    cJSON_AddStringToObject(t, "Onbekend", "X");
    t = cJSON_AddObjectToObject(vals, "flags");
    cJSON_AddStringToObject(t, "SH", "statushouder");
    cJSON_AddStringToObject(t, "AO", "alleenstaande_ouder");
    cJSON_AddStringToObject(t, "PA", "partner");
    cJSON_AddStringToObject(m, "flags_separator", ",");
    if ((text = cJSON_Print(m)) == NULL)
        die("out of memory");
    snprintf(path, sizeof path, "%s/%s.mapping.json", dir, o->id);
    if ((f = fopen(path, "wb")) == NULL || fputs(text, f) == EOF || fputc('\n', f) == EOF ||
        fclose(f) != 0)
        die("cannot write %s: %s", path, strerror(errno));
    fprintf(stderr, "wrote %s\n", path);
    cJSON_free(text);
    cJSON_Delete(m);
}

/* ---------------------------------------------------------------------------------------- */
/* Command line                                                                             */

static void usage(FILE *out)
{
    fputs("usage: " PROG " --region FILE --out-dir DIR [options]\n"
          "\n"
          "Writes a synthetic spells export (docs/input-format.md) for every organisation of a\n"
          "region: DIR/<org-id>.csv. The data are invented but shaped like the real thing:\n"
          "persons with valid BSNs (elfproef), bijstand by the CBS age and duration mix of the\n"
          "seed documents, herinstroom 14% within 6 months, a doelgroepenregister of which 43%\n"
          "(Gooi en Vechtstreek: 48%) works, WW ending in bijstand or IOAW at the gemeente.\n"
          "Spells cover the six years up to the period end; spells ending later are written as\n"
          "still running. The same arguments give byte-identical files (on one platform).\n"
          "\n"
          "  --region FILE         region definition (data/regions/<id>.json)\n"
          "  --out-dir DIR         output directory, created when missing\n"
          "  --seed N              seed of the deterministic generator (default 1)\n"
          "  --period-end DATE     YYYY-MM-DD, the export's date (default 2026-06-30); not\n"
          "                        after today, or the contributor refuses the rows that\n"
          "                        start in the future (date_range)\n"
          "  --scale X             persons relative to the real region (default 1.0; Midden-\n"
          "                        Utrecht is then about 75,000 rows)\n"
          "  --dirty FRACTION      share of rows with one defect (default 0.01; 0 to 0.5),\n"
          "                        spread evenly over: BSN failing the elfproef, 7-digit BSN,\n"
          "                        impossible date (30 February), end before start, unknown\n"
          "                        spell code, gemeente outside the region (Amsterdam), unknown\n"
          "                        end reason\n"
          "  --org ID              write only this organisation's file\n"
          "  --rows N              with --org: about N rows in it (scale chosen to fit; for\n"
          "                        benchmarks with 100,000 or 1,000,000 rows)\n"
          "  --excel-org ID|none   the organisation whose export is a Dutch Excel file (default:\n"
          "                        fermwerk, hbel or huizen, whichever the region has)\n"
          "  -h, --help            this text\n"
          "\n"
          "File formats. UWV: ',' separator, LF, every field quoted, no flags column.\n"
          "Gemeenten and samenwerkingen: ';' and CRLF, in turn with a UTF-8 BOM, with\n"
          "gemeentecodes as 4 digits (\"0344\"), or with the columns in another order.\n"
          "The Dutch Excel organisation: Windows-1252, ';', CRLF, DD-MM-YYYY, Dutch column\n"
          "names (\"Reden be\xC3\xAB"
          "indiging\") and codes (PW, IOAW, DGR, \"Werk aanvaard\", Man/Vrouw,\n"
          "flags SH,AO,PA), BSNs and gemeentecodes as Excel writes numbers (leading zero\n"
          "dropped), an extra column Dossiernummer; DIR/<org-id>.mapping.json maps it onto\n"
          "the canonical format.\n"
          "\n"
          "Who holds what: gemeenten and samenwerkingen hold bijstand, ioaw, traject,\n"
          "doelgroepenregister, banenafspraak and baan of their residents, with the flags\n"
          "statushouder, alleenstaande_ouder and partner; UWV holds ww (claims that ran in the\n"
          "last half year), wajong, wia, and doelgroepenregister with banenafspraak/baan for\n"
          "Wajongers; an sw-bedrijf gets a header only. The figures and their sources are\n"
          "listed at the top of tools/synth.c and in docs/metrics.md.\n"
          "\n"
          "No BSN is ever printed. Progress goes to stderr.\n"
          "Exit status: 0 success, 2 usage or system error.\n",
          out);
}

static void usage_error(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

static void usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs(PROG ": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n(" PROG " --help for usage)\n", stderr);
    exit(2);
}

static double parse_double(const char *opt, const char *v, double lo, double hi)
{
    char *end;
    double x;
    errno = 0;
    x = strtod(v, &end);
    if (errno != 0 || end == v || *end != '\0' || !(x >= lo && x <= hi))
        usage_error("%s: \"%.40s\" is not a number from %g to %g", opt, v, lo, hi);
    return x;
}

static unsigned long long parse_ull(const char *opt, const char *v, unsigned long long lo,
                                    unsigned long long hi)
{
    char *end;
    unsigned long long x;
    errno = 0;
    if (*v < '0' || *v > '9')
        usage_error("%s: \"%.40s\" is not a whole number", opt, v);
    x = strtoull(v, &end, 10);
    if (errno != 0 || *end != '\0' || x < lo || x > hi)
        usage_error("%s: \"%.40s\" is not a whole number from %llu to %llu", opt, v, lo, hi);
    return x;
}

static void make_dir(const char *dir)
{
    char buf[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof buf - 64)
        die("--out-dir: path too long or empty");
    memcpy(buf, dir, n + 1);
    for (size_t i = 1; i <= n; i++)
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                die("cannot create directory %s: %s", buf, strerror(errno));
            buf[i] = c;
        }
}

typedef struct options {
    const char *region, *out_dir, *org, *excel_org;
    unsigned long long seed, rows;
    int32_t period_end;
    double scale, dirty;
} options;

static void parse_args(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof *o);
    o->seed = 1;
    o->scale = 1.0;
    o->dirty = 0.01;
    o->period_end = mp_date_from_civil(2026, 6, 30);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL, *eq;
        char name[32];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            exit(0);
        }
        if (strncmp(a, "--", 2) != 0)
            usage_error("unexpected argument \"%.40s\"", a);
        eq = strchr(a, '=');
        if (eq != NULL) {
            snprintf(name, sizeof name, "%.*s", (int)(eq - a < 31 ? eq - a : 31), a);
            v = eq + 1;
        } else {
            snprintf(name, sizeof name, "%s", a);
            if (i + 1 >= argc)
                usage_error("%s needs a value", name);
            v = argv[++i];
        }
        if (strcmp(name, "--region") == 0)
            o->region = v;
        else if (strcmp(name, "--out-dir") == 0)
            o->out_dir = v;
        else if (strcmp(name, "--seed") == 0)
            o->seed = parse_ull(name, v, 0, UINT64_MAX);
        else if (strcmp(name, "--period-end") == 0) {
            int y, m, d;
            if (mp_date_parse_iso(v, &o->period_end) != 0)
                usage_error("--period-end: \"%.40s\" is not a date YYYY-MM-DD", v);
            mp_date_to_civil(o->period_end, &y, &m, &d);
            if (y < 1990 || y > 2100)
                usage_error("--period-end: year %d is outside 1990..2100", y);
        } else if (strcmp(name, "--scale") == 0)
            o->scale = parse_double(name, v, 1e-6, 1000);
        else if (strcmp(name, "--dirty") == 0)
            o->dirty = parse_double(name, v, 0, 0.5);
        else if (strcmp(name, "--org") == 0)
            o->org = v;
        else if (strcmp(name, "--rows") == 0)
            o->rows = parse_ull(name, v, 1, 100000000);
        else if (strcmp(name, "--excel-org") == 0)
            o->excel_org = v;
        else
            usage_error("unknown option %s", name);
    }
    if (o->region == NULL)
        usage_error("--region FILE is required");
    if (o->out_dir == NULL)
        usage_error("--out-dir DIR is required");
    if (o->rows != 0 && o->org == NULL)
        usage_error("--rows needs --org ID");
}

static int find_org(const region *r, const char *id)
{
    for (size_t i = 0; i < r->norg; i++)
        if (strcmp(r->o[i].id, id) == 0)
            return (int)i;
    return -1;
}

/* Which organisation writes the Dutch Excel export, and the style of every file. */
static void assign_styles(region *r, const char *excel_org)
{
    int excel = -1, turn = 0;
    static const char *const defaults[] = {"fermwerk", "hbel", "huizen"};
    if (excel_org != NULL && strcmp(excel_org, "none") != 0) {
        if ((excel = find_org(r, excel_org)) < 0)
            usage_error("--excel-org: the region has no organisation \"%.40s\"", excel_org);
    } else if (excel_org == NULL) {
        for (size_t k = 0; k < 3 && excel < 0; k++)
            excel = find_org(r, defaults[k]);
    }
    for (size_t i = 0; i < r->norg; i++) {
        org *o = &r->o[i];
        if ((int)i == excel)
            o->style = S_EXCEL;
        else if (o->kind == K_UWV)
            o->style = S_UWV;
        else {
            int t = turn++ % 3;
            o->style = t == 0 ? S_BOM : t == 1 ? S_DIGITS : S_REORDER;
        }
    }
}

static mp_rng *seeded_rng(unsigned long long seed, const char *region_id)
{
    unsigned char key[MP_RNG_SEEDBYTES], le[8];
    crypto_generichash_state st;
    mp_rng *rng;
    static const char domain[] = "mijlpaal-synth-v1";
    for (int i = 0; i < 8; i++)
        le[i] = (unsigned char)(seed >> (8 * i));
    if (sodium_init() < 0 || crypto_generichash_init(&st, NULL, 0, sizeof key) != 0)
        die("libsodium failed to initialise");
    crypto_generichash_update(&st, (const unsigned char *)domain, sizeof domain - 1);
    crypto_generichash_update(&st, le, sizeof le);
    crypto_generichash_update(&st, (const unsigned char *)region_id, strlen(region_id));
    crypto_generichash_final(&st, key, sizeof key);
    if (mp_rng_new_seeded(&rng, key) != 0)
        die("%s", mp_error_get());
    sodium_memzero(key, sizeof key);
    return rng;
}

/* One pass over the population: count only (dry) or write. */
static void run(gen *g, region *r, const options *opt, double scale, int count_only)
{
    g->rng = seeded_rng(opt->seed, r->id);
    g->count_only = count_only;
    bsnset_init(&g->used);
    memset(g->dirty_by_reason, 0, sizeof g->dirty_by_reason);
    for (size_t i = 0; i < r->norg; i++)
        r->o[i].rows = r->o[i].dirty = r->o[i].dossier = 0;
    generate(g, scale);
    bsnset_free(&g->used);
    mp_rng_free(g->rng);
    g->rng = NULL;
}

int main(int argc, char **argv)
{
    options opt;
    static region r;
    gen g;
    double scale;
    unsigned long total = 0, dirty = 0;
    char day[11];

    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        mp_version_print("mijlpaal-synth");
        return 0;
    }
    parse_args(argc, argv, &opt);
    load_region(&r, opt.region);
    assign_styles(&r, opt.excel_org);

    memset(&g, 0, sizeof g);
    g.r = &r;
    g.E = opt.period_end;
    g.W = mp_date_add_months(g.E, -WINDOW_MONTHS);
    g.dgr_from = mp_date_from_civil(2015, 1, 1);
    g.dirty = opt.dirty;
    g.dgr_work = dgr_work_share(r.id);
    g.stock_share = direct_stock_mix(g.stock_mix);
    g.target = -1;
    if (opt.org != NULL && (g.target = find_org(&r, opt.org)) < 0)
        usage_error("--org: the region has no organisation \"%.40s\"", opt.org);

    scale = opt.scale;
    if (opt.rows != 0) {
        /* Dry runs tell how many rows a unit of scale gives: a first guess at scale 1, then a
         * closer one from a sample of about min(rows, 100,000) rows. */
        double probe = 1.0;
        for (int pass = 0; pass < 2; pass++) {
            unsigned long got;
            run(&g, &r, &opt, probe, 1);
            if ((got = r.o[g.target].rows) == 0)
                die("--org %s: this organisation holds no synthetic spells", opt.org);
            scale = probe * (double)opt.rows / (double)got;
            probe = scale * (opt.rows > 100000 ? 100000.0 / (double)opt.rows : 1.0);
        }
    }

    make_dir(opt.out_dir);
    for (size_t i = 0; i < r.norg; i++) {
        org *o = &r.o[i];
        o->write = g.target < 0 || (int)i == g.target;
        if (!o->write)
            continue;
        snprintf(o->path, sizeof o->path, "%s/%s.csv", opt.out_dir, o->id);
        if ((o->f = fopen(o->path, "wb")) == NULL)
            die("cannot create %s: %s", o->path, strerror(errno));
        setvbuf(o->f, NULL, _IOFBF, 1 << 20);
        write_header(o);
        if (o->style == S_EXCEL)
            write_mapping(o, opt.out_dir);
        if (o->kind == K_SW)
            fprintf(stderr, PROG ": note: %s is an sw-bedrijf: header only\n", o->id);
    }

    run(&g, &r, &opt, scale, 0);

    for (size_t i = 0; i < r.norg; i++) {
        org *o = &r.o[i];
        if (!o->write)
            continue;
        if (fclose(o->f) != 0)
            wfail(o);
        o->f = NULL;
        fprintf(stderr, "wrote %s: %lu rows (%lu dirty)%s\n", o->path, o->rows, o->dirty,
                o->style == S_EXCEL ? ", Dutch Excel" : "");
        total += o->rows;
        dirty += o->dirty;
    }
    mp_date_format(day, g.E);
    fprintf(stderr, "%s: %lu rows (%lu dirty), seed %llu, period end %s, scale %.4g\n", r.id, total,
            dirty, opt.seed, day, scale);
    if (dirty > 0) {
        fputs("dirty rows by the reason the contributor should report:", stderr);
        for (int k = 0; k < D_COUNT; k++)
            fprintf(stderr, " %s %lu%s", DIRT_NAMES[k], g.dirty_by_reason[k],
                    k + 1 < D_COUNT ? "," : "\n");
    }
    return 0;
}
