/*
 * test_secagg.c - masking scheme bonawitz-v1 (protocol/crypto/secagg.c), run in memory: six
 * Midden-Utrecht organisations with fresh keys, a signed round with threshold 5 (t = 2, resisting
 * c = 2 colluders), every message signed and parsed back as it would travel. Dropouts at each
 * phase, thresholds, an aggregator that lies, and one that plays c colluding participants.
 *
 * Each participant's per-round secrets are drawn with mp_secagg_secrets_new at advertise, as the
 * contributor does, and kept with the round in memory, so a test can show what an aggregator
 * can and cannot rebuild; test_formulas checks the masks against secagg.h's definitions.
 */
#include "testutil.h"
#include "testworld.h"

#include "canon.h"
#include "encoding.h"
#include "envelope.h"
#include "keys.h"
#include "mask.h"
#include "roster.h"
#include "secagg.h"
#include "shamir.h"
#include "spec.h"

#define NCELLS 5
#define THRESHOLD 5 /* the default for n = 6, k_min = 3, t = c = 2: max(3, 8/2 + 1, 6 - 2, 3) */
#define SB MP_SHAMIR_SHARE_BYTES

static const char catalogue_json[] =
    "{\"mijlpaal_catalogue\":1,\"id\":\"t\",\"version\":1,\"title\":\"T\",\"dimensions\":{"
    "\"sex\":{\"title\":\"Geslacht\",\"bands\":[{\"label\":\"man\",\"sex\":\"M\"},{\"label\":"
    "\"vrouw\",\"sex\":\"V\"},{\"label\":\"onbekend\",\"sex\":\"X\"}]}},"
    "\"metrics\":[{\"id\":\"stand\",\"title\":\"Stand\",\"description\":\"d\",\"source\":\"s\","
    "\"kind\":\"stock\",\"spells\":[\"bijstand\"],\"breakdowns\":[\"sex\"]},"
    "{\"id\":\"werkend\",\"title\":\"Werkend\",\"description\":\"d\",\"source\":\"s\","
    "\"kind\":\"stock\",\"spells\":[\"bijstand\"],\"also_active\":[\"baan\"]}]}";

typedef struct world {
    char *dir;
    mp_keypair *coord, *orgs[NORGS];
    mp_keypair *by_pos[NORGS]; /* keys by position among the (sorted) participants */
    mp_pubkey pubs[NORGS];
    mp_roster *roster;
    cJSON *catalogue;
    mp_spec *spec;
    uint64_t plain[NORGS][NCELLS]; /* by position */
} world;

static mp_envelope *sign_parse(const char *type, const cJSON *body, const mp_keypair *kp)
{
    char *text;
    size_t len;
    mp_envelope *env;
    assert_int_equal(mp_envelope_sign(&text, &len, type, body, kp), 0);
    assert_int_equal(mp_envelope_parse(&env, text, len, type), 0);
    free(text);
    return env;
}

/* Sign an edited body and free it. */
static mp_envelope *resign(const char *type, cJSON *body, const mp_keypair *kp)
{
    mp_envelope *env = sign_parse(type, body, kp);
    cJSON_Delete(body);
    return env;
}

static cJSON *dup_body(const mp_envelope *env)
{
    cJSON *b = cJSON_Duplicate(env->body, 1);
    assert_non_null(b);
    return b;
}

static cJSON *field(cJSON *obj, const char *key)
{
    cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    assert_non_null(it);
    return it;
}

static void b64_get(unsigned char *out, size_t n, const cJSON *item)
{
    assert_true(cJSON_IsString(item));
    assert_int_equal(mp_base64_decode_exact(out, n, item->valuestring), 0);
}

static void b64_set(cJSON *item, const unsigned char *in, size_t n)
{
    char *s = mp_base64_encode(in, n);
    assert_non_null(s);
    assert_true(cJSON_IsString(item));
    assert_non_null(cJSON_SetValuestring(item, s));
    free(s);
}

static void str_set(cJSON *item, const char *s)
{
    assert_true(cJSON_IsString(item));
    assert_non_null(cJSON_SetValuestring(item, s));
}

/* Exchange items i and j of an array (by value, so the return values of cJSON's insertion
 * functions, which differ between versions, do not matter). */
static void swap_items(cJSON *arr, int i, int j)
{
    cJSON *a = cJSON_Duplicate(cJSON_GetArrayItem(arr, i), 1);
    cJSON *b = cJSON_Duplicate(cJSON_GetArrayItem(arr, j), 1);
    int n = cJSON_GetArraySize(arr);
    assert_non_null(a);
    assert_non_null(b);
    cJSON_ReplaceItemInArray(arr, i, b);
    cJSON_ReplaceItemInArray(arr, j, a);
    assert_int_equal(cJSON_GetArraySize(arr), n);
    assert_ptr_equal(cJSON_GetArrayItem(arr, i), b);
    assert_ptr_equal(cJSON_GetArrayItem(arr, j), a);
}

/* A refusal: -1 and a reason that mentions `why`. */
#define expect_refused(call, why)                                                                  \
    do {                                                                                           \
        mp_error_clear();                                                                          \
        refused_at((call), (why), __LINE__);                                                       \
    } while (0)

static void refused_at(int rc, const char *why, int line)
{
    if (rc != -1)
        fail_msg("line %d: accepted (rc %d), expected a refusal mentioning \"%s\"", line, rc, why);
    if (strstr(mp_error_get(), why) == NULL)
        fail_msg("line %d: reason \"%s\" does not mention \"%s\"", line, mp_error_get(), why);
}

static void load_spec(world *w, const char *round_id, const char *deadline, const char *name,
                      mp_spec **spec)
{
    mp_spec_params p = tw_round_params(round_id, "1.5");
    p.t = 2;
    p.masking = MP_SCHEME_BONAWITZ;
    if (deadline != NULL)
        p.deadline = deadline;
    free(tw_write_round(w->dir, w->coord, w->roster, w->catalogue, &p, name, spec));
    assert_int_equal((*spec)->masking, MP_MASKING_BONAWITZ);
    assert_int_equal((*spec)->threshold, THRESHOLD);
}

static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    assert_non_null(w);
    assert_int_equal(setenv("MIJLPAAL_NOW", "2026-01-15T09:00:00Z", 1), 0);
    w->dir = tu_mkdtemp();
    tw_keys_generate(&w->coord, w->orgs, w->pubs);
    free(tw_roster(&w->roster, w->dir, w->coord, w->pubs));
    assert_int_equal(mp_canon_parse(&w->catalogue, catalogue_json, sizeof catalogue_json - 1), 0);
    load_spec(w, "mu-2025", NULL, "round.json", &w->spec);
    for (int p2 = 0; p2 < NORGS; p2++)
        for (int i = 0; i < NORGS; i++)
            if (strcmp(w->spec->participants[p2], org_ids[i]) == 0)
                w->by_pos[p2] = w->orgs[i];
    for (int i = 0; i < NORGS; i++)
        for (int c = 0; c < NCELLS; c++)
            w->plain[i][c] = (uint64_t)(100 * (i + 1) + c); /* distinct, known */
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    mp_spec_free(w->spec);
    mp_roster_free(w->roster);
    cJSON_Delete(w->catalogue);
    tw_keys_free(w->coord, w->orgs);
    tu_rmdir(w->dir);
    free(w);
    unsetenv("MIJLPAAL_NOW");
    return 0;
}

/* ---- the protocol's secrets and masks, re-derived from secagg.h ------------------------- */

/* s_ab from a's secret mask key and b's public one. */
static void pair_seed(unsigned char seed[32], const unsigned char sk_a[32],
                      const mp_secagg_member *a, const mp_secagg_member *b, const mp_spec *spec)
{
    static const char dom[] = "mijlpaal-bonawitz-v1-pair";
    const mp_secagg_member *lo = a->pos < b->pos ? a : b, *hi = a->pos < b->pos ? b : a;
    unsigned char dh[32], pos[4];
    crypto_generichash_state st;
    pos[0] = (unsigned char)(lo->pos & 0xff);
    pos[1] = (unsigned char)(lo->pos >> 8);
    pos[2] = (unsigned char)(hi->pos & 0xff);
    pos[3] = (unsigned char)(hi->pos >> 8);
    assert_int_equal(crypto_scalarmult(dh, sk_a, b->mask_pk), 0);
    crypto_generichash_init(&st, NULL, 0, 32);
    crypto_generichash_update(&st, (const unsigned char *)dom, sizeof dom - 1);
    crypto_generichash_update(&st, spec->env->hash, MP_HASH_BYTES);
    crypto_generichash_update(&st, pos, sizeof pos);
    crypto_generichash_update(&st, lo->mask_pk, 32);
    crypto_generichash_update(&st, hi->mask_pk, 32);
    crypto_generichash_update(&st, dh, sizeof dh);
    crypto_generichash_final(&st, seed, 32);
}

/* Add (sign +1) or take away (-1) the pairwise mask `owner` applied for its pair with `peer`:
 * +PRG(s) when the peer comes after the owner, -PRG(s) when before. */
static void apply_pair(uint64_t v[NCELLS], const unsigned char seed[32],
                       const mp_secagg_member *owner, const mp_secagg_member *peer, int sign)
{
    mp_mask_prg_apply(v, NCELLS, seed, peer->pos > owner->pos ? sign : -sign);
}

static int vec_equal(const uint64_t *a, const uint64_t *b)
{
    return memcmp(a, b, NCELLS * sizeof *a) == 0;
}

/* Every cell differs (a masked vector that leaks nothing looks nothing like the plain one). */
static void assert_all_cells_differ(const uint64_t *a, const uint64_t *b)
{
    for (int c = 0; c < NCELLS; c++)
        assert_int_not_equal(a[c], b[c]);
}

/* ---- a round in memory, phase by phase ---------------------------------------------------- */

/* Phase at which each position stops delivering: 0 never advertises, 1 advertises only, 2 also
 * sends its key shares, 3 also submits, 4 also confirms, 5 delivers everything. Arrays below
 * are by member k of r->u1, which is U1 after phase 1 and U2 from phase 2 on (position order),
 * except stop and sec (by position). */
typedef struct rnd {
    world *w;
    const mp_spec *spec;
    int stop[NORGS];
    size_t n1;
    mp_envelope *adv[NORGS];     /* by member of U1 */
    mp_secagg_view adv_u1;       /* the aggregator's U1 (kept after u1 becomes U2) */
    mp_envelope *keysmsg;        /* the keys message */
    mp_envelope *share[NORGS];   /* share messages, by member of U1 */
    mp_secagg_view u1;           /* the aggregator's U1, then U2 (with submitted flags: U3) */
    mp_envelope *keys[NORGS];    /* the shares message of each member of U2 */
    mp_secagg_view views[NORGS]; /* each member's view of U2 after accepting its shares message */
    uint64_t y[NORGS][NCELLS];   /* masked submissions */
    unsigned char subhash[NORGS][MP_HASH_BYTES];
    mp_envelope *surv;
    mp_secagg_view sv; /* the aggregator's parse of surv */
    mp_envelope *conf[NORGS];
    const mp_envelope *confs[NORGS];
    size_t nconf;
    mp_envelope *req;
    mp_envelope *unm[NORGS];
    mp_secagg_reveal rev[NORGS];
    size_t nrev;
    mp_secagg_secrets *sec[NORGS]; /* by position, drawn at advertise */
} rnd;

static void rnd_init(rnd *r, world *w, const mp_spec *spec, const int stop[NORGS])
{
    memset(r, 0, sizeof *r);
    r->w = w;
    r->spec = spec;
    memcpy(r->stop, stop, sizeof r->stop);
    r->u1.m = calloc(NORGS, sizeof *r->u1.m);
    assert_non_null(r->u1.m);
}

static void rnd_free(rnd *r)
{
    for (int i = 0; i < NORGS; i++) {
        mp_envelope_free(r->adv[i]);
        mp_envelope_free(r->share[i]);
        mp_envelope_free(r->keys[i]);
        mp_envelope_free(r->conf[i]);
        mp_envelope_free(r->unm[i]);
        mp_secagg_view_free(&r->views[i]);
        mp_secagg_reveal_free(&r->rev[i]);
        mp_secagg_secrets_free(r->sec[i]);
    }
    mp_envelope_free(r->keysmsg);
    mp_envelope_free(r->surv);
    mp_envelope_free(r->req);
    mp_secagg_view_free(&r->sv);
    mp_secagg_view_free(&r->u1);
    mp_secagg_view_free(&r->adv_u1);
}

static const mp_keypair *kp_of(const rnd *r, size_t k)
{
    return r->w->by_pos[r->u1.m[k].pos];
}

/* Member k's secrets of the round. */
static const mp_secagg_secrets *sec_of(const rnd *r, size_t k)
{
    return r->sec[r->u1.m[k].pos];
}

/* Phase 1: everyone with stop >= 1 advertises; the aggregator checks each advertisement. */
static int rnd_advertise(rnd *r)
{
    cJSON *body;
    for (int p = 0; p < NORGS; p++) {
        if (r->stop[p] < 1)
            continue;
        assert_int_equal(mp_secagg_secrets_new(&r->sec[p]), 0);
        assert_int_equal(
            mp_secagg_advertise(&body, r->spec, r->w->roster, r->w->by_pos[p], r->sec[p]), 0);
        r->adv[r->n1] = resign("advertise", body, r->w->by_pos[p]);
        if (mp_secagg_advertise_check(r->adv[r->n1], r->spec, r->w->roster, &r->u1.m[r->n1]) != 0)
            return -1;
        assert_int_equal(r->u1.m[r->n1].pos, (unsigned)p);
        r->u1.n1 = ++r->n1;
    }
    return 0;
}

/* The keys message of u1, signed by the coordinator. */
static mp_envelope *keys_message(const rnd *r, const mp_secagg_view *u1)
{
    cJSON *body;
    assert_int_equal(mp_secagg_keys_build(&body, r->spec, u1), 0);
    return resign("keys", body, r->w->coord);
}

/* The shares message for member `to` of the list v: from each member of v the box its share
 * message (in r->share, by U1 member) made for `to`. */
static mp_envelope *shares_message(const rnd *r, const mp_secagg_view *v, size_t to)
{
    const char *boxes[NORGS];
    int col = mp_secagg_member_index(&r->adv_u1, v->m[to].org);
    cJSON *body;
    assert_true(col >= 0);
    for (size_t i = 0; i < v->n1; i++) {
        int k = mp_secagg_member_index(&r->adv_u1, v->m[i].org);
        assert_true(k >= 0);
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(r->share[k]->body, "boxes");
        boxes[i] = cJSON_GetArrayItem(arr, col)->valuestring;
    }
    assert_int_equal(mp_secagg_shares_build(&body, r->spec, v, boxes, to), 0);
    /* The aggregator's outbox makes one body and retargets it (mp_secagg_shares_retarget):
     * a body made for another member and retargeted to `to` is the same document. */
    {
        cJSON *other;
        char *a, *b;
        size_t la, lb;
        assert_int_equal(mp_secagg_shares_build(&other, r->spec, v, boxes, (to + 1) % v->n1), 0);
        assert_int_equal(mp_secagg_shares_retarget(other, v, boxes, to), 0);
        assert_int_equal(mp_canon_serialise(&a, &la, body), 0);
        assert_int_equal(mp_canon_serialise(&b, &lb, other), 0);
        assert_int_equal(la, lb);
        assert_memory_equal(a, b, la);
        free(a);
        free(b);
        cJSON_Delete(other);
    }
    return resign("shares", body, r->w->coord);
}

/* Phase 2: the keys message to every advertiser, who accepts it; those with stop >= 2 send
 * their share message, which the aggregator checks. u1 becomes U2. */
static int rnd_keys(rnd *r)
{
    mp_secagg_view u2 = {0};
    cJSON *body;
    r->keysmsg = keys_message(r, &r->u1);
    /* The aggregator's U1 as it reads the keys message back (with the list's hash). */
    mp_secagg_view_free(&r->u1);
    if (mp_secagg_keys_parse(&r->u1, r->keysmsg, r->spec, r->w->roster) != 0)
        return -1;
    u2.m = calloc(NORGS, sizeof *u2.m);
    assert_non_null(u2.m);
    for (size_t k = 0; k < r->n1; k++) {
        mp_secagg_view kv;
        size_t member;
        unsigned p = r->u1.m[k].pos;
        if (mp_secagg_keys_accept(&kv, r->keysmsg, r->spec, r->w->roster, kp_of(r, k),
                                  sec_of(r, k)) != 0) {
            mp_secagg_view_free(&u2);
            return -1;
        }
        assert_memory_equal(kv.advertised_hash, r->u1.advertised_hash, MP_HASH_BYTES);
        if (r->stop[p] >= 2) {
            assert_int_equal(mp_secagg_share(&body, r->spec, &kv, kp_of(r, k), sec_of(r, k)), 0);
            r->share[k] = resign("share", body, kp_of(r, k));
            assert_int_equal(
                mp_secagg_share_check(r->share[k], r->spec, r->w->roster, &r->u1, &member), 0);
            assert_int_equal(member, k);
            u2.m[u2.n1] = r->u1.m[k];
            u2.m[u2.n1].shared = 1;
            memcpy(u2.m[u2.n1++].share_hash, r->share[k]->hash, MP_HASH_BYTES);
        }
        mp_secagg_view_free(&kv);
    }
    r->adv_u1 = r->u1;
    r->u1 = u2;
    r->n1 = u2.n1;
    return 0;
}

/* Phase 3: a shares message to every member of U2, who accepts it; those with stop >= 3 mask
 * and submit (the submission hash is the hash of the masked vector). */
static int rnd_shares(rnd *r)
{
    for (size_t k = 0; k < r->n1; k++) {
        unsigned p = r->u1.m[k].pos;
        int a = mp_secagg_member_index(&r->adv_u1, r->u1.m[k].org);
        r->keys[k] = shares_message(r, &r->u1, k);
        if (mp_secagg_shares_accept(&r->views[k], r->keys[k], r->spec, r->w->roster, kp_of(r, k),
                                    sec_of(r, k), r->share[a]->hash) != 0)
            return -1;
        if (r->stop[p] < 3)
            continue;
        memcpy(r->y[k], r->w->plain[p], sizeof r->y[k]);
        if (mp_secagg_mask(r->y[k], NCELLS, r->spec, &r->views[k], kp_of(r, k), sec_of(r, k)) != 0)
            return -1;
        mp_hash(r->subhash[k], r->y[k], sizeof r->y[k]);
        r->u1.m[k].submitted = 1;
        memcpy(r->u1.m[k].submission_hash, r->subhash[k], MP_HASH_BYTES);
        r->u1.n2++;
    }
    return 0;
}

/* Phase 4, the aggregator's part: the survivors message from u1, parsed back. */
static int rnd_survivors_build(rnd *r)
{
    cJSON *body;
    assert_int_equal(mp_secagg_survivors_build(&body, r->spec, &r->u1), 0);
    r->surv = resign("survivors", body, r->w->coord);
    return mp_secagg_survivors_parse(&r->sv, r->surv, r->spec, r->w->roster);
}

/* Phase 4, member k's part: accept the survivors list and confirm it. */
static int rnd_confirm(rnd *r, size_t k)
{
    mp_secagg_view tmp;
    cJSON *body;
    size_t member;
    if (mp_secagg_survivors_accept(&tmp, r->surv, r->spec, r->w->roster, r->u1.m[k].org,
                                   r->views[k].advertised_hash, r->subhash[k]) != 0)
        return -1;
    mp_secagg_view_free(&tmp);
    assert_int_equal(mp_secagg_consistency(&body, r->spec, r->u1.m[k].org, r->surv->hash), 0);
    r->conf[k] = resign("consistency", body, kp_of(r, k));
    assert_int_equal(mp_secagg_consistency_check(r->conf[k], r->spec, r->w->roster, &r->sv,
                                                 r->surv->hash, &member),
                     0);
    assert_int_equal(member, k);
    r->confs[r->nconf++] = r->conf[k];
    return 0;
}

static int rnd_survivors(rnd *r)
{
    if (rnd_survivors_build(r) != 0)
        return -1;
    for (size_t k = 0; k < r->n1; k++)
        if (r->sv.m[k].submitted && r->stop[r->u1.m[k].pos] >= 4 && rnd_confirm(r, k) != 0)
            return -1;
    return 0;
}

/* Phase 5: the unmask request from the confirmations gathered. */
static int rnd_request(rnd *r)
{
    cJSON *body;
    if (mp_secagg_request_build(&body, r->spec, r->surv->hash, r->confs, r->nconf) != 0)
        return -1;
    r->req = resign("unmask-request", body, r->w->coord);
    return 0;
}

/* Phase 5: member k checks the request against the list it confirmed, and unmasks; the
 * aggregator checks the unmask message. */
static int rnd_unmask_one(rnd *r, size_t k)
{
    mp_secagg_view cv;
    cJSON *body;
    assert_int_equal(mp_secagg_survivors_accept(&cv, r->surv, r->spec, r->w->roster, r->u1.m[k].org,
                                                r->views[k].advertised_hash, r->subhash[k]),
                     0);
    if (mp_secagg_request_accept(r->req, r->spec, r->w->roster, &cv, r->surv->hash) != 0) {
        mp_secagg_view_free(&cv);
        return -1;
    }
    assert_int_equal(
        mp_secagg_unmask(&body, r->spec, &cv, r->keys[k], kp_of(r, k), sec_of(r, k), r->surv->hash),
        0);
    mp_secagg_view_free(&cv);
    r->unm[k] = resign("unmask", body, kp_of(r, k));
    assert_int_equal(mp_secagg_unmask_check(r->unm[k], r->spec, r->w->roster, &r->sv, r->surv->hash,
                                            &r->rev[r->nrev]),
                     0);
    assert_int_equal(r->rev[r->nrev].member, k);
    r->nrev++;
    return 0;
}

static int rnd_unmask(rnd *r)
{
    for (size_t k = 0; k < r->n1; k++)
        if (r->sv.m[k].submitted && r->stop[r->u1.m[k].pos] >= 5 && rnd_unmask_one(r, k) != 0)
            return -1;
    return 0;
}

/* Phase 6: sum the submissions of U2 and open. */
static int rnd_open(rnd *r, uint64_t sum[NCELLS], unsigned nthreads)
{
    memset(sum, 0, NCELLS * sizeof *sum);
    for (size_t k = 0; k < r->n1; k++)
        if (r->sv.m[k].submitted)
            mp_vec_add(sum, r->y[k], NCELLS);
    return mp_secagg_open(sum, NCELLS, r->spec, &r->sv, r->rev, r->nrev, nthreads);
}

/* A whole round: 0 and the opened sum, or the phase (1-6) that refused (reason in
 * mp_error_get()). */
static int run_round(world *w, const int stop[NORGS], uint64_t sum[NCELLS])
{
    rnd r;
    int phase;
    rnd_init(&r, w, w->spec, stop);
    mp_error_clear();
    if (rnd_advertise(&r) != 0)
        phase = 1;
    else if (rnd_keys(&r) != 0)
        phase = 2;
    else if (rnd_shares(&r) != 0)
        phase = 3;
    else if (rnd_survivors(&r) != 0)
        phase = 4;
    else if (rnd_request(&r) != 0)
        phase = 5;
    else if (rnd_unmask(&r) != 0)
        phase = 6;
    else if (rnd_open(&r, sum, 2) != 0)
        phase = 7;
    else
        phase = 0;
    rnd_free(&r);
    return phase;
}

static void expect_sum(world *w, const int stop[NORGS], const uint64_t sum[NCELLS])
{
    for (int c = 0; c < NCELLS; c++) {
        uint64_t want = 0;
        for (int p = 0; p < NORGS; p++)
            if (stop[p] >= 3)
                want += w->plain[p][c];
        assert_int_equal(sum[c], want);
    }
}

/* ---- the header's formulas, and rounds that complete --------------------------------------- */

/* mask_pk, the self mask and the pairwise masks are what secagg.h says they are. */
static void test_formulas(void **state)
{
    world *w = *state;
    int stop[NORGS] = {5, 5, 5, 5, 5, 5};
    unsigned char sk[NORGS][32], b[32], pk[32], seed[32], seed2[32];
    uint64_t want[NCELLS], total[NCELLS] = {0}, plain_total[NCELLS] = {0};
    rnd r;
    rnd_init(&r, w, w->spec, stop);
    assert_int_equal(rnd_advertise(&r), 0);
    assert_int_equal(rnd_keys(&r), 0);
    assert_int_equal(rnd_shares(&r), 0);
    for (size_t k = 0; k < r.n1; k++) {
        memcpy(sk[k], sec_of(&r, k)->s_sk, 32);
        crypto_scalarmult_base(pk, sk[k]);
        assert_memory_equal(pk, r.u1.m[k].mask_pk, 32);
        /* Every member's view lists the same keys in the same order. */
        assert_int_equal(r.views[k].n1, NORGS);
        assert_memory_equal(r.views[k].advertised_hash, r.views[0].advertised_hash, MP_HASH_BYTES);
    }
    for (size_t k = 0; k < r.n1; k++) {
        memcpy(want, w->plain[r.u1.m[k].pos], sizeof want);
        memcpy(b, sec_of(&r, k)->b, 32);
        mp_mask_prg_apply(want, NCELLS, b, +1);
        for (size_t j = 0; j < r.n1; j++) {
            if (j == k)
                continue;
            pair_seed(seed, sk[k], &r.u1.m[k], &r.u1.m[j], r.spec);
            pair_seed(seed2, sk[j], &r.u1.m[j], &r.u1.m[k], r.spec);
            assert_memory_equal(seed, seed2, 32); /* both ends agree */
            apply_pair(want, seed, &r.u1.m[k], &r.u1.m[j], +1);
        }
        assert_true(vec_equal(want, r.y[k]));
        assert_all_cells_differ(r.y[k], w->plain[r.u1.m[k].pos]);
        /* The pairwise masks cancel in the sum over everyone; only the self masks remain. */
        mp_vec_add(total, r.y[k], NCELLS);
        mp_mask_prg_apply(total, NCELLS, b, -1);
        mp_vec_add(plain_total, w->plain[r.u1.m[k].pos], NCELLS);
    }
    assert_true(vec_equal(total, plain_total));
    rnd_free(&r);
}

static void test_everyone_delivers(void **state)
{
    world *w = *state;
    int stop[NORGS] = {5, 5, 5, 5, 5, 5};
    uint64_t sum[NCELLS];
    if (run_round(w, stop, sum) != 0)
        fail_msg("%s", mp_error_get());
    expect_sum(w, stop, sum);
}

/* The demo's case: one drops out after advertising (its pairwise masks come off with its
 * rebuilt mask key). */
static void test_demo_dropout(void **state)
{
    world *w = *state;
    int stop[NORGS] = {5, 2, 5, 5, 5, 5};
    uint64_t sum[NCELLS];
    if (run_round(w, stop, sum) != 0)
        fail_msg("%s", mp_error_get());
    expect_sum(w, stop, sum);
}

/* Any one participant dropping out at any phase, n - T = 1 being the most the threshold allows:
 * the sum of exactly the submitters. */
static void test_one_dropout_each_phase(void **state)
{
    world *w = *state;
    uint64_t sum[NCELLS];
    for (int p = 0; p < NORGS; p++)
        for (int s = 0; s < 5; s++) {
            int stop[NORGS] = {5, 5, 5, 5, 5, 5}, rc;
            stop[p] = s;
            if ((rc = run_round(w, stop, sum)) != 0)
                fail_msg("position %d stopping at phase %d: refused in phase %d: %s", p, s, rc,
                         mp_error_get());
            expect_sum(w, stop, sum);
        }
}

/* The phase that must refuse a pattern of dropouts, and what the reason says: the first phase
 * of advertise, share, submit, confirm, unmask that fewer than T participants complete. */
static int expected_refusal(const int stop[NORGS], const char **why)
{
    static const struct {
        int phase;
        const char *why;
    } at[6] = {{0, NULL},
               {2, "advertised keys; the threshold is 5"},
               {3, "sent key shares; the threshold is 5"},
               {4, "submitted, below the threshold 5"},
               {5, "confirmations of the survivors list, the threshold is 5"},
               {7, "unmask messages, the threshold is 5"}};
    for (int s = 1; s <= 5; s++) {
        int n = 0;
        for (int p = 0; p < NORGS; p++)
            n += stop[p] >= s;
        if (n < THRESHOLD) {
            *why = at[s].why;
            return at[s].phase;
        }
    }
    *why = NULL;
    return 0;
}

static void expect_threshold_refusal(world *w, const int stop[NORGS])
{
    const char *why;
    uint64_t sum[NCELLS];
    int want = expected_refusal(stop, &why), got = run_round(w, stop, sum);
    char pattern[NORGS + 1];
    for (int p = 0; p < NORGS; p++)
        pattern[p] = (char)('0' + stop[p]);
    pattern[NORGS] = '\0';
    assert_int_not_equal(want, 0);
    if (got != want)
        fail_msg("stop pattern %s: expected a refusal in phase %d, got %d (%s)", pattern, want, got,
                 got ? mp_error_get() : "the round opened");
    if (strstr(mp_error_get(), why) == NULL)
        fail_msg("stop pattern %s: reason \"%s\" does not mention \"%s\"", pattern, mp_error_get(),
                 why);
}

/* More dropouts than the threshold allows (2 to 5 of 6 with T = 5), at each phase and mixed
 * over the phases: refused, with the threshold named. */
static void test_too_many_dropouts_refused(void **state)
{
    world *w = *state;
    /* Two, at every pair of phases, each for two pairs of positions (together every pair of
     * positions is covered). */
    int pairs[15][2], npairs = 0;
    for (int p = 0; p < NORGS; p++)
        for (int q = p + 1; q < NORGS; q++) {
            pairs[npairs][0] = p;
            pairs[npairs++][1] = q;
        }
    for (int s = 0; s < 25; s++)
        for (int i = 0; i < 2; i++) {
            const int *pq = pairs[(s + 25 * i) % npairs];
            int stop[NORGS] = {5, 5, 5, 5, 5, 5};
            stop[pq[0]] = s / 5;
            stop[pq[1]] = s % 5;
            expect_threshold_refusal(w, stop);
        }
    /* Every set of three at one phase (the phases taking turns), and one set at each. */
    int set = 0;
    for (int a = 0; a < NORGS; a++)
        for (int b = a + 1; b < NORGS; b++)
            for (int c = b + 1; c < NORGS; c++, set++) {
                int stop[NORGS] = {5, 5, 5, 5, 5, 5};
                stop[a] = stop[b] = stop[c] = set % 5;
                expect_threshold_refusal(w, stop);
            }
    for (int s = 0; s < 5; s++) {
        int stop[NORGS] = {5, 5, 5, 5, 5, 5};
        stop[1] = stop[3] = stop[4] = s;
        expect_threshold_refusal(w, stop);
    }
    /* Three, at every combination of phases. */
    for (int s = 0; s < 125; s++) {
        int stop[NORGS] = {5, 5, 5, 5, 5, 5};
        stop[0] = s / 25;
        stop[2] = s / 5 % 5;
        stop[5] = s % 5;
        expect_threshold_refusal(w, stop);
    }
    /* Four and five. */
    for (int n = 4; n <= 5; n++)
        for (int s = 0; s < 5; s++) {
            int stop[NORGS] = {5, 5, 5, 5, 5, 5};
            for (int p = 0; p < n; p++)
                stop[NORGS - 1 - p] = s;
            expect_threshold_refusal(w, stop);
        }
}

/* The number of workers does not change the opened sum. */
static void test_open_threads(void **state)
{
    world *w = *state;
    int stop[NORGS] = {5, 2, 5, 5, 5, 5};
    static const unsigned threads[] = {0, 1, 3, 8, 16};
    uint64_t sum[NCELLS];
    rnd r;
    rnd_init(&r, w, w->spec, stop);
    assert_int_equal(rnd_advertise(&r), 0);
    assert_int_equal(rnd_keys(&r), 0);
    assert_int_equal(rnd_shares(&r), 0);
    assert_int_equal(rnd_survivors(&r), 0);
    assert_int_equal(rnd_request(&r), 0);
    assert_int_equal(rnd_unmask(&r), 0);
    for (size_t i = 0; i < sizeof threads / sizeof *threads; i++) {
        if (rnd_open(&r, sum, threads[i]) != 0)
            fail_msg("%u threads: %s", threads[i], mp_error_get());
        expect_sum(w, stop, sum);
    }
    rnd_free(&r);
}

/* ---- a lying aggregator -------------------------------------------------------------------- */

/* Rebuild, from the aggregator's reveals, the secret of member j (all shares it holds). */
static int rebuild(const rnd *r, size_t j, unsigned char out[32])
{
    unsigned char buf[NORGS * SB];
    for (size_t i = 0; i < r->nrev; i++)
        memcpy(buf + i * SB, r->rev[i].shares + j * SB, SB);
    return mp_shamir_combine(buf, r->nrev, out);
}

/* A survivors message built from u1 with member `flip`'s submitted flag inverted. */
static mp_envelope *survivors_variant(rnd *r, size_t flip)
{
    cJSON *body;
    r->u1.m[flip].submitted = !r->u1.m[flip].submitted;
    assert_int_equal(mp_secagg_survivors_build(&body, r->spec, &r->u1), 0);
    r->u1.m[flip].submitted = !r->u1.m[flip].submitted;
    return resign("survivors", body, r->w->coord);
}

/* Member k's confirmation of the survivors list `surv`. */
static mp_envelope *confirm_list(const rnd *r, size_t k, const mp_envelope *surv)
{
    mp_secagg_view v;
    cJSON *body;
    assert_int_equal(mp_secagg_survivors_accept(&v, surv, r->spec, r->w->roster, r->u1.m[k].org,
                                                r->views[k].advertised_hash, r->subhash[k]),
                     0);
    mp_secagg_view_free(&v);
    assert_int_equal(mp_secagg_consistency(&body, r->spec, r->u1.m[k].org, surv->hash), 0);
    return resign("consistency", body, kp_of(r, k));
}

/* Member k's view of the survivors list `surv` (which it accepts). */
static void accept_list(const rnd *r, size_t k, const mp_envelope *surv, mp_secagg_view *v)
{
    if (mp_secagg_survivors_accept(v, surv, r->spec, r->w->roster, r->u1.m[k].org,
                                   r->views[k].advertised_hash, r->subhash[k]) != 0)
        fail_msg("%s", mp_error_get());
}

static mp_envelope *request_for(const rnd *r, const mp_envelope *surv,
                                const mp_envelope *const *confs, size_t n)
{
    cJSON *body;
    if (mp_secagg_request_build(&body, r->spec, surv->hash, confs, n) != 0)
        fail_msg("%s", mp_error_get());
    return resign("unmask-request", body, r->w->coord);
}

/* 2a. The aggregator says X dropped out although X submitted. X refuses that list; the others,
 * confirming it alone, reveal X's mask key, never its self-mask seed, so X's submission stays
 * hidden; to get the seed it would need T confirmations of a list naming X a survivor. */
static void test_lie_dropped_after_submit(void **state)
{
    world *w = *state;
    int stop[NORGS] = {5, 5, 5, 5, 5, 5};
    const size_t X = 2; /* rsd-krh */
    unsigned char sk_x[32], b_x[32], got[32], pk[32], seed[32], buf[(NORGS + 1) * SB];
    uint64_t sum[NCELLS], v[NCELLS];
    mp_secagg_view tmp, va, vb;
    mp_envelope *survb, *confb[NORGS], *reqb, *req1, *unmb;
    mp_secagg_reveal rb;
    cJSON *body;
    rnd r;

    rnd_init(&r, w, w->spec, stop);
    assert_int_equal(rnd_advertise(&r), 0);
    assert_int_equal(rnd_keys(&r), 0);
    assert_int_equal(rnd_shares(&r), 0);
    assert_string_equal(r.u1.m[X].org, "rsd-krh");
    /* The lie: U2 without X. The list is well formed and signed; only X can tell. */
    r.u1.m[X].submitted = 0;
    r.u1.n2--;
    assert_int_equal(rnd_survivors_build(&r), 0);
    memset(&tmp, 0x55, sizeof tmp);
    expect_refused(mp_secagg_survivors_accept(&tmp, r.surv, r.spec, w->roster, r.u1.m[X].org,
                                              r.views[X].advertised_hash, r.subhash[X]),
                   "says rsd-krh did not submit, but it did");
    assert_null(tmp.m);
    /* The other five confirm it and unmask. */
    for (size_t k = 0; k < r.n1; k++)
        if (k != X)
            assert_int_equal(rnd_confirm(&r, k), 0);
    assert_int_equal(rnd_request(&r), 0);
    assert_int_equal(rnd_unmask(&r), 0);
    assert_int_equal(r.nrev, 5);
    /* Opening under this list gives the sum of the other five: X's submission is left out. */
    assert_int_equal(rnd_open(&r, sum, 2), 0);
    for (int c = 0; c < NCELLS; c++) {
        uint64_t want = 0;
        for (int p = 0; p < NORGS; p++)
            if ((unsigned)p != r.u1.m[X].pos)
                want += w->plain[p][c];
        assert_int_equal(sum[c], want);
    }

    /* For X, every unmask message holds a share of its mask key, none of its self-mask seed. */
    memcpy(sk_x, sec_of(&r, X)->s_sk, 32);
    memcpy(b_x, sec_of(&r, X)->b, 32);
    assert_int_equal(rebuild(&r, X, got), 0);
    assert_memory_equal(got, sk_x, 32);
    assert_memory_not_equal(got, b_x, 32);
    crypto_scalarmult_base(pk, got);
    assert_memory_equal(pk, r.sv.m[X].mask_pk, 32);
    /* For the others, their self-mask seeds only. */
    for (size_t j = 0; j < r.n1; j++) {
        unsigned char b_j[32];
        if (j == X)
            continue;
        memcpy(b_j, sec_of(&r, j)->b, 32);
        assert_int_equal(rebuild(&r, j, got), 0);
        assert_memory_equal(got, b_j, 32);
    }
    /* With X's mask key every pairwise mask comes off X's submission, but the self mask stays:
     * the vector is still hidden, and b_X is exactly what is missing. */
    assert_int_equal(rebuild(&r, X, got), 0);
    memcpy(v, r.y[X], sizeof v);
    for (size_t j = 0; j < r.n1; j++)
        if (j != X) {
            pair_seed(seed, got, &r.sv.m[X], &r.sv.m[j], r.spec);
            apply_pair(v, seed, &r.sv.m[X], &r.sv.m[j], -1);
        }
    assert_all_cells_differ(v, w->plain[r.u1.m[X].pos]);
    mp_mask_prg_apply(v, NCELLS, b_x, -1);
    assert_true(vec_equal(v, w->plain[r.u1.m[X].pos]));

    /* b_X is revealed only under a list naming X a survivor (list B, the truth). A contributor
     * that confirmed list A refuses a request for B, even one with six valid confirmations. */
    survb = survivors_variant(&r, X);
    for (size_t k = 0; k < r.n1; k++)
        confb[k] = confirm_list(&r, k, survb);
    reqb = request_for(&r, survb, (const mp_envelope *const *)confb, r.n1);
    for (size_t k = 0; k < r.n1; k++) {
        if (k == X)
            continue;
        accept_list(&r, k, r.surv, &va);
        expect_refused(mp_secagg_request_accept(reqb, r.spec, w->roster, &va, r.surv->hash),
                       "confirmed another list");
        mp_secagg_view_free(&va);
    }
    /* Honest contributors confirm one list per round, so only X confirms B: one confirmation
     * is refused by the aggregator's own builder and by X. */
    expect_refused(mp_secagg_request_build(&body, r.spec, survb->hash,
                                           (const mp_envelope *const *)&confb[X], 1),
                   "1 confirmations of the survivors list, the threshold is 5");
    body = dup_body(reqb);
    for (int i = (int)r.n1 - 1; i >= 0; i--)
        if ((size_t)i != X)
            cJSON_DeleteItemFromArray(field(body, "confirmations"), i);
    assert_int_equal(cJSON_GetArraySize(field(body, "confirmations")), 1);
    req1 = resign("unmask-request", body, w->coord);
    accept_list(&r, X, survb, &vb);
    expect_refused(mp_secagg_request_accept(req1, r.spec, w->roster, &vb, survb->hash),
                   "1 confirmations of the survivors list, the threshold is 5");
    /* Even if X answered B anyway, the aggregator would hold one share of b_X: below T, and no
     * mixture with the mask-key shares it holds rebuilds anything. */
    assert_int_equal(
        mp_secagg_unmask(&body, r.spec, &vb, r.keys[X], kp_of(&r, X), sec_of(&r, X), survb->hash),
        0);
    unmb = resign("unmask", body, kp_of(&r, X));
    assert_int_equal(mp_secagg_unmask_check(unmb, r.spec, w->roster, &vb, survb->hash, &rb), 0);
    memset(got, 0xaa, sizeof got);
    expect_refused(mp_shamir_combine(rb.shares + X * SB, 1, got), "the threshold is");
    assert_true(sodium_is_zero(got, 32));
    memcpy(buf, rb.shares + X * SB, SB);
    for (size_t i = 0; i < THRESHOLD - 1; i++)
        memcpy(buf + (i + 1) * SB, r.rev[i].shares + X * SB, SB);
    expect_refused(mp_shamir_combine(buf, THRESHOLD, got), "checksum mismatch");
    assert_true(sodium_is_zero(got, 32));
    for (size_t i = THRESHOLD - 1; i < r.nrev; i++)
        memcpy(buf + (i + 1) * SB, r.rev[i].shares + X * SB, SB);
    assert_int_equal(mp_shamir_combine(buf, r.nrev + 1, got), -1);
    assert_true(sodium_is_zero(got, 32));

    mp_secagg_reveal_free(&rb);
    mp_envelope_free(unmb);
    mp_secagg_view_free(&vb);
    mp_envelope_free(req1);
    mp_envelope_free(reqb);
    for (size_t k = 0; k < r.n1; k++)
        mp_envelope_free(confb[k]);
    mp_envelope_free(survb);
    rnd_free(&r);
}

/* 2b. The aggregator asks for both kinds of shares of one member by showing a second list. A
 * contributor answers only requests for the list it confirmed, carrying T valid, ordered,
 * distinct confirmations by survivors of that list. */
static void test_lie_unmask_requests(void **state)
{
    world *w = *state;
    int stop[NORGS] = {5, 5, 5, 5, 5, 5};
    const size_t me = 1, V = 0; /* a checking survivor, the victim */
    unsigned char sig[MP_SIG_BYTES], b_v[32], sk_v[32], seed[32];
    mp_envelope *survb, *confb[NORGS] = {0}, *reqb, *req, *conf_v, *other;
    const mp_envelope *list[NORGS];
    mp_secagg_view va, vb;
    mp_secagg_reveal revb[NORGS] = {{0}};
    uint64_t v[NCELLS];
    cJSON *body, *arr;
    size_t member;
    rnd r;

    rnd_init(&r, w, w->spec, stop);
    assert_int_equal(rnd_advertise(&r), 0);
    assert_int_equal(rnd_keys(&r), 0);
    assert_int_equal(rnd_shares(&r), 0);
    assert_int_equal(rnd_survivors(&r), 0); /* list A, confirmed by all six */
    assert_int_equal(r.nconf, 6);
    accept_list(&r, me, r.surv, &va);
    const unsigned char *ha = r.surv->hash;

    /* Controls: T confirmations of A, and all six, are accepted. */
    req = request_for(&r, r.surv, r.confs, THRESHOLD);
    assert_int_equal(mp_secagg_request_accept(req, r.spec, w->roster, &va, ha), 0);
    mp_envelope_free(req);
    req = request_for(&r, r.surv, r.confs, r.nconf);
    assert_int_equal(mp_secagg_request_accept(req, r.spec, w->roster, &va, ha), 0);
    mp_envelope_free(req);

    /* List B: V dropped. Members 1-5 would accept it; a request for it with their five valid
     * confirmations is good for B and refused by whoever confirmed A. */
    survb = survivors_variant(&r, V);
    for (size_t k = 1; k <= 5; k++)
        confb[k] = confirm_list(&r, k, survb);
    reqb = request_for(&r, survb, (const mp_envelope *const *)&confb[1], 5);
    accept_list(&r, me, survb, &vb);
    assert_int_equal(mp_secagg_request_accept(reqb, r.spec, w->roster, &vb, survb->hash), 0);
    expect_refused(mp_secagg_request_accept(reqb, r.spec, w->roster, &va, ha),
                   "this organisation confirmed another list");
    /* The aggregator cannot pass a confirmation of B off as one of A either. */
    expect_refused(mp_secagg_consistency_check(confb[1], r.spec, w->roster, &r.sv, ha, &member),
                   "refers to a different list of survivors");
    /* Why this matters: were the five to answer B as well (no request check), the aggregator
     * would hold V's self-mask seed (from A) and its mask key (from B), and V's vector. */
    for (size_t k = 1; k <= 5; k++) {
        mp_secagg_view vk;
        mp_envelope *u;
        accept_list(&r, k, survb, &vk);
        assert_int_equal(mp_secagg_unmask(&body, r.spec, &vk, r.keys[k], kp_of(&r, k),
                                          sec_of(&r, k), survb->hash),
                         0);
        u = resign("unmask", body, kp_of(&r, k));
        assert_int_equal(
            mp_secagg_unmask_check(u, r.spec, w->roster, &vk, survb->hash, &revb[k - 1]), 0);
        mp_envelope_free(u);
        mp_secagg_view_free(&vk);
    }
    assert_int_equal(rnd_request(&r), 0);
    assert_int_equal(rnd_unmask(&r), 0);
    assert_int_equal(rebuild(&r, V, b_v), 0); /* self-mask seed, from A */
    {
        unsigned char buf[THRESHOLD * SB];
        for (size_t i = 0; i < THRESHOLD; i++)
            memcpy(buf + i * SB, revb[i].shares + V * SB, SB);
        assert_int_equal(mp_shamir_combine(buf, THRESHOLD, sk_v), 0); /* mask key, from B */
    }
    memcpy(v, r.y[V], sizeof v);
    mp_mask_prg_apply(v, NCELLS, b_v, -1);
    for (size_t j = 0; j < r.n1; j++)
        if (j != V) {
            pair_seed(seed, sk_v, &r.sv.m[V], &r.sv.m[j], r.spec);
            apply_pair(v, seed, &r.sv.m[V], &r.sv.m[j], -1);
        }
    assert_true(vec_equal(v, w->plain[r.u1.m[V].pos]));

    /* Fewer than T confirmations: the builder refuses, and so does the contributor when the
     * aggregator builds the request by hand. */
    expect_refused(mp_secagg_request_build(&body, r.spec, ha, r.confs, THRESHOLD - 1),
                   "4 confirmations of the survivors list, the threshold is 5");
    assert_int_equal(mp_secagg_request_build(&body, r.spec, ha, r.confs, THRESHOLD), 0);
    cJSON_DeleteItemFromArray(field(body, "confirmations"), 3);
    req = resign("unmask-request", body, w->coord);
    expect_refused(mp_secagg_request_accept(req, r.spec, w->roster, &va, ha),
                   "4 confirmations of the survivors list, the threshold is 5: refused");
    mp_envelope_free(req);
    /* An empty request. */
    assert_int_equal(mp_secagg_request_build(&body, r.spec, ha, r.confs, THRESHOLD), 0);
    cJSON_ReplaceItemInObjectCaseSensitive(body, "confirmations", cJSON_CreateArray());
    req = resign("unmask-request", body, w->coord);
    expect_refused(mp_secagg_request_accept(req, r.spec, w->roster, &va, ha), "0 confirmations");
    mp_envelope_free(req);

    /* Forged confirmations: a flipped signature byte; two signatures exchanged; the right
     * organisation's signature of list B; a signature by another organisation. */
    assert_int_equal(mp_secagg_request_build(&body, r.spec, ha, r.confs, THRESHOLD), 0);
    arr = field(body, "confirmations");
    b64_get(sig, sizeof sig, field(cJSON_GetArrayItem(arr, 2), "sig"));
    sig[7] ^= 0x10;
    b64_set(field(cJSON_GetArrayItem(arr, 2), "sig"), sig, sizeof sig);
    req = resign("unmask-request", body, w->coord);
    expect_refused(mp_secagg_request_accept(req, r.spec, w->roster, &va, ha),
                   "the confirmation of rsd-krh does not verify");
    mp_envelope_free(req);

    assert_int_equal(mp_secagg_request_build(&body, r.spec, ha, r.confs, THRESHOLD), 0);
    arr = field(body, "confirmations");
    {
        char *s0 = strdup(field(cJSON_GetArrayItem(arr, 0), "sig")->valuestring);
        char *s1 = strdup(field(cJSON_GetArrayItem(arr, 1), "sig")->valuestring);
        str_set(field(cJSON_GetArrayItem(arr, 0), "sig"), s1);
        str_set(field(cJSON_GetArrayItem(arr, 1), "sig"), s0);
        free(s0);
        free(s1);
    }
    req = resign("unmask-request", body, w->coord);
    expect_refused(mp_secagg_request_accept(req, r.spec, w->roster, &va, ha),
                   "the confirmation of fermwerk does not verify");
    mp_envelope_free(req);

    assert_int_equal(mp_secagg_request_build(&body, r.spec, ha, r.confs, THRESHOLD), 0);
    b64_set(field(cJSON_GetArrayItem(field(body, "confirmations"), 1), "sig"), confb[1]->sig,
            MP_SIG_BYTES);
    req = resign("unmask-request", body, w->coord);
    expect_refused(mp_secagg_request_accept(req, r.spec, w->roster, &va, ha),
                   "the confirmation of lekstroom does not verify");
    mp_envelope_free(req);

    assert_int_equal(mp_secagg_consistency(&body, r.spec, r.u1.m[2].org, ha), 0);
    other = resign("consistency", body, kp_of(&r, 3)); /* rsd-krh's statement, signed by another */
    expect_refused(mp_secagg_consistency_check(other, r.spec, w->roster, &r.sv, ha, &member),
                   "claims to be from rsd-krh but is signed by stichtse-vecht");
    assert_int_equal(mp_secagg_request_build(&body, r.spec, ha, r.confs, THRESHOLD), 0);
    b64_set(field(cJSON_GetArrayItem(field(body, "confirmations"), 2), "sig"), other->sig,
            MP_SIG_BYTES);
    mp_envelope_free(other);
    req = resign("unmask-request", body, w->coord);
    expect_refused(mp_secagg_request_accept(req, r.spec, w->roster, &va, ha),
                   "the confirmation of rsd-krh does not verify");
    mp_envelope_free(req);

    /* Duplicated and out of order. */
    list[0] = r.confs[0];
    list[1] = r.confs[1];
    list[2] = r.confs[1];
    list[3] = r.confs[2];
    list[4] = r.confs[3];
    list[5] = r.confs[4];
    req = request_for(&r, r.surv, list, 6);
    expect_refused(mp_secagg_request_accept(req, r.spec, w->roster, &va, ha),
                   "confirmation of lekstroom out of order or twice");
    mp_envelope_free(req);
    list[0] = r.confs[1];
    list[1] = r.confs[0];
    list[2] = r.confs[2];
    list[3] = r.confs[3];
    list[4] = r.confs[4];
    req = request_for(&r, r.surv, list, 5);
    expect_refused(mp_secagg_request_accept(req, r.spec, w->roster, &va, ha),
                   "confirmation of fermwerk out of order or twice");
    mp_envelope_free(req);

    /* A confirmation of list B by V (signed by V's key, as a participant on the aggregator's
     * side would sign anything), which B names dropped, and one naming an organisation
     * outside the round. */
    assert_int_equal(mp_secagg_consistency(&body, r.spec, r.u1.m[V].org, survb->hash), 0);
    conf_v = resign("consistency", body, kp_of(&r, V));
    expect_refused(
        mp_secagg_consistency_check(conf_v, r.spec, w->roster, &vb, survb->hash, &member),
        "fermwerk is not a survivor");
    for (size_t k = 0; k < 4; k++)
        list[k] = confb[k + 1];
    list[4] = conf_v;
    req = request_for(&r, survb, list, 5);
    expect_refused(mp_secagg_request_accept(req, r.spec, w->roster, &vb, survb->hash),
                   "fermwerk confirmed but is not a survivor");
    mp_envelope_free(req);
    list[4] = confb[5];
    list[5] = conf_v; /* five good ones are not enough to carry a bad sixth */
    req = request_for(&r, survb, list, 6);
    expect_refused(mp_secagg_request_accept(req, r.spec, w->roster, &vb, survb->hash),
                   "fermwerk confirmed but is not a survivor");
    mp_envelope_free(req);
    assert_int_equal(mp_secagg_request_build(&body, r.spec, ha, r.confs, THRESHOLD), 0);
    str_set(field(cJSON_GetArrayItem(field(body, "confirmations"), 3), "org"), "amsterdam");
    req = resign("unmask-request", body, w->coord);
    expect_refused(mp_secagg_request_accept(req, r.spec, w->roster, &va, ha),
                   "amsterdam confirmed but is not a survivor");
    mp_envelope_free(req);

    /* A request not signed by the coordinator. */
    assert_int_equal(mp_secagg_request_build(&body, r.spec, ha, r.confs, THRESHOLD), 0);
    req = resign("unmask-request", body, kp_of(&r, 0));
    expect_refused(mp_secagg_request_accept(req, r.spec, w->roster, &va, ha), "unmask-request");
    mp_envelope_free(req);

    mp_envelope_free(conf_v);
    for (size_t i = 0; i < NORGS; i++) {
        mp_secagg_reveal_free(&revb[i]);
        mp_envelope_free(confb[i]);
    }
    mp_envelope_free(reqb);
    mp_envelope_free(survb);
    mp_secagg_view_free(&va);
    mp_secagg_view_free(&vb);
    rnd_free(&r);
}

/* 2e. An aggregator that controls c = t = 2 participants (it plays their messages: they
 * advertise and submit as anyone would, then confirm and unmask whatever list it shows them)
 * shows two survivors lists: A naming the victim V a survivor (so T unmask messages of A give
 * V's self-mask seed) and B naming it dropped (T of B give V's mask key). Each honest
 * participant confirms one list, V only A (B leaves its submission out). With the round's
 * T = 5 > (n + c)/2 every split of the honest between A and B leaves one list below T, and
 * both requests cannot be built. The same round forced to T = 4 (2T = n + c: every reader of
 * a round refuses that, test_threshold_below_bound) opens V's vector with a 2-2 split. Returns
 * 1 when the aggregator rebuilt V's vector under `split` (bit k: member k + 1 confirms B). */
static int colluders_attack(world *w, unsigned split)
{
    int stop[NORGS] = {5, 5, 5, 5, 5, 5};
    const size_t V = 0, C1 = 4, C2 = 5; /* the victim; the colluders utrecht and uwv */
    mp_envelope *lists[2], *conf[2][NORGS] = {{0}}, *req[2] = {0};
    const mp_envelope *confs[2][NORGS];
    mp_secagg_view agg[2] = {{0}};
    mp_secagg_reveal rev[2][NORGS] = {{{0}}};
    size_t nconf[2] = {0, 0}, nrev[2] = {0, 0};
    unsigned char secret[2][32], seed[32], buf[NORGS * SB];
    uint64_t v[NCELLS];
    int opened = 0;
    cJSON *body;
    rnd r;

    rnd_init(&r, w, w->spec, stop);
    assert_int_equal(rnd_advertise(&r), 0);
    assert_int_equal(rnd_keys(&r), 0);
    assert_int_equal(rnd_shares(&r), 0);
    assert_int_equal(rnd_survivors_build(&r), 0);
    lists[0] = r.surv;
    lists[1] = survivors_variant(&r, V);
    for (int l = 0; l < 2; l++)
        assert_int_equal(mp_secagg_survivors_parse(&agg[l], lists[l], r.spec, w->roster), 0);
    {
        mp_secagg_view tmp;
        expect_refused(mp_secagg_survivors_accept(&tmp, lists[1], r.spec, w->roster, r.u1.m[V].org,
                                                  r.views[V].advertised_hash, r.subhash[V]),
                       "says fermwerk did not submit, but it did");
    }
    /* Confirmations in position order: the colluders sign both lists, the honest one each. */
    for (size_t k = 0; k < r.n1; k++) {
        int colluder = k == C1 || k == C2;
        int onb = k != V && ((split >> (k - 1)) & 1);
        for (int l = 0; l < 2; l++)
            if (colluder || (l == 1) == onb) {
                conf[l][k] = confirm_list(&r, k, lists[l]);
                confs[l][nconf[l]++] = conf[l][k];
            }
    }
    for (int l = 0; l < 2; l++) {
        int rc = mp_secagg_request_build(&body, r.spec, lists[l]->hash, confs[l], nconf[l]);
        if ((long long)nconf[l] < r.spec->threshold) {
            refused_at(rc, "confirmations of the survivors list, the threshold is", __LINE__);
            continue;
        }
        assert_int_equal(rc, 0);
        req[l] = resign("unmask-request", body, w->coord);
        /* Whoever confirmed list l answers it (checking the request first). */
        for (size_t k = 0; k < r.n1; k++) {
            mp_secagg_view vk;
            mp_envelope *u;
            if (conf[l][k] == NULL)
                continue;
            accept_list(&r, k, lists[l], &vk);
            assert_int_equal(
                mp_secagg_request_accept(req[l], r.spec, w->roster, &vk, lists[l]->hash), 0);
            assert_int_equal(mp_secagg_unmask(&body, r.spec, &vk, r.keys[k], kp_of(&r, k),
                                              sec_of(&r, k), lists[l]->hash),
                             0);
            u = resign("unmask", body, kp_of(&r, k));
            assert_int_equal(mp_secagg_unmask_check(u, r.spec, w->roster, &agg[l], lists[l]->hash,
                                                    &rev[l][nrev[l]++]),
                             0);
            mp_envelope_free(u);
            mp_secagg_view_free(&vk);
        }
    }
    /* With both requests answered: V's self-mask seed from A, its mask key from B. */
    if (req[0] != NULL && req[1] != NULL) {
        for (int l = 0; l < 2; l++) {
            for (size_t i = 0; i < nrev[l]; i++)
                memcpy(buf + i * SB, rev[l][i].shares + V * SB, SB);
            assert_int_equal(mp_shamir_combine(buf, nrev[l], secret[l]), 0);
        }
        memcpy(v, r.y[V], sizeof v);
        mp_mask_prg_apply(v, NCELLS, secret[0], -1);
        for (size_t j = 0; j < r.n1; j++)
            if (j != V) {
                assert_int_equal(mp_secagg_pair_seed(seed, secret[1], &agg[0].m[V], &agg[0].m[j],
                                                     r.spec->env->hash),
                                 0);
                apply_pair(v, seed, &agg[0].m[V], &agg[0].m[j], -1);
            }
        opened = vec_equal(v, w->plain[r.u1.m[V].pos]);
        assert_true(opened);
    }
    for (int l = 0; l < 2; l++) {
        for (size_t k = 0; k < NORGS; k++) {
            mp_envelope_free(conf[l][k]);
            mp_secagg_reveal_free(&rev[l][k]);
        }
        mp_envelope_free(req[l]);
        mp_secagg_view_free(&agg[l]);
    }
    mp_envelope_free(lists[1]);
    rnd_free(&r);
    return opened;
}

static void test_colluders_one_list(void **state)
{
    world *w = *state;
    int opened = 0;
    assert_int_equal(w->spec->threshold, 5);
    assert_int_equal(w->spec->colluders, 2);
    /* Every split of the three honest non-victims between the lists. */
    for (unsigned split = 0; split < 8; split++)
        if (colluders_attack(w, split))
            fail_msg("split %u: the aggregator with 2 colluders opened one vector", split);
    /* The bound is what stops it: the same round read as if T = 4 were allowed. */
    w->spec->threshold = 4;
    for (unsigned split = 0; split < 8; split++)
        opened += colluders_attack(w, split);
    w->spec->threshold = THRESHOLD;
    assert_int_equal(opened, 3); /* exactly the splits with two honest on each side */
}

/* The round body edited by hand to T = 4 (or to fewer colluders than t, or T <= c) and signed by
 * the coordinator: mp_spec_from_envelope, through which the aggregator, every contributor and
 * the auditor read a round, refuses it and says why. */
static void test_threshold_below_bound(void **state)
{
    world *w = *state;
    static const struct {
        long long threshold, colluders;
        const char *why;
    } bad[] = {
        {4, 2, "masking threshold 4 of 6 participants does not resist 2 colluders"},
        {4, 2, "use a threshold of at least 5"},
        {5, 1, "masking resists 1 colluders, fewer than the t = 2"},
        {5, 5, "threshold 5 does not exceed the 5 colluders"},
        {6, 6, "cannot resist 6 colluders among 6 participants"},
        {5, 4, "threshold 5 of 6 participants does not resist 4 colluders"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cJSON *body = dup_body(w->spec->env), *masking = field(body, "masking");
        char *text;
        size_t len;
        mp_envelope *env;
        mp_spec *s = (mp_spec *)0x1;
        cJSON_SetNumberValue(field(masking, "threshold"), (double)bad[i].threshold);
        cJSON_SetNumberValue(field(masking, "colluders"), (double)bad[i].colluders);
        assert_int_equal(mp_envelope_sign(&text, &len, "round", body, w->coord), 0);
        cJSON_Delete(body);
        assert_int_equal(mp_envelope_parse(&env, text, len, "round"), 0);
        free(text);
        mp_error_clear();
        refused_at(mp_spec_from_envelope(&s, env, w->roster), bad[i].why, __LINE__);
        assert_ptr_equal(s, (mp_spec *)0x1);
        mp_envelope_free(env);
    }
    /* Control: the body as it was, re-signed, is read. */
    {
        char *text;
        size_t len;
        mp_envelope *env;
        mp_spec *s;
        assert_int_equal(mp_envelope_sign(&text, &len, "round", w->spec->env->body, w->coord), 0);
        assert_int_equal(mp_envelope_parse(&env, text, len, "round"), 0);
        free(text);
        assert_int_equal(mp_spec_from_envelope(&s, env, w->roster), 0);
        assert_int_equal(s->threshold, 5);
        mp_spec_free(s);
    }
}

/* 2c. The aggregator shows different lists: a contributor confirms only a survivors list whose
 * advertised keys are exactly those it masked with, and which names its own submission. */
static void test_lie_survivors_lists(void **state)
{
    world *w = *state;
    int stop[NORGS] = {5, 5, 5, 5, 5, 5};
    const size_t Z = 5; /* uwv: left out of one member's shares message */
    mp_secagg_view u1z = {0}, v0z = {0}, tmp, seen;
    mp_envelope *keys0z, *survz, *surv, *bad;
    unsigned char h0z[MP_HASH_BYTES], pk[32];
    uint64_t y0z[NCELLS];
    cJSON *body, *arr;
    rnd r;

    rnd_init(&r, w, w->spec, stop);
    assert_int_equal(rnd_advertise(&r), 0);
    assert_int_equal(rnd_keys(&r), 0);
    assert_int_equal(rnd_shares(&r), 0);
    /* U2 without Z, as the aggregator could have shown it to member 0 (Z's shares left out). */
    u1z.m = calloc(NORGS, sizeof *u1z.m);
    assert_non_null(u1z.m);
    for (size_t k = 0; k < r.n1; k++)
        if (k != Z) {
            u1z.m[u1z.n1] = r.u1.m[k];
            u1z.m[u1z.n1++].submitted = 0;
        }
    keys0z = shares_message(&r, &u1z, 0);
    assert_int_equal(mp_secagg_shares_accept(&v0z, keys0z, r.spec, w->roster, kp_of(&r, 0),
                                             sec_of(&r, 0), r.share[0]->hash),
                     0);
    assert_int_equal(v0z.n1, NORGS - 1);
    assert_memory_not_equal(v0z.advertised_hash, r.views[0].advertised_hash, MP_HASH_BYTES);
    memcpy(y0z, w->plain[0], sizeof y0z);
    assert_int_equal(mp_secagg_mask(y0z, NCELLS, r.spec, &v0z, kp_of(&r, 0), sec_of(&r, 0)), 0);
    mp_hash(h0z, y0z, sizeof y0z);

    /* The full list, naming that submission: member 0 refuses (it masked with five keys). */
    memcpy(r.u1.m[0].submission_hash, h0z, MP_HASH_BYTES);
    assert_int_equal(mp_secagg_survivors_build(&body, r.spec, &r.u1), 0);
    surv = resign("survivors", body, w->coord);
    memset(&tmp, 0x55, sizeof tmp);
    expect_refused(mp_secagg_survivors_accept(&tmp, surv, r.spec, w->roster, r.u1.m[0].org,
                                              v0z.advertised_hash, h0z),
                   "names other participants or keys than the shares message fermwerk masked with");
    assert_null(tmp.m);
    /* Its view of the five does accept the list of five. */
    for (size_t k = 0; k < u1z.n1; k++)
        u1z.m[k].submitted = 1;
    memcpy(u1z.m[0].submission_hash, h0z, MP_HASH_BYTES);
    u1z.n2 = u1z.n1;
    assert_int_equal(mp_secagg_survivors_build(&body, r.spec, &u1z), 0);
    survz = resign("survivors", body, w->coord);
    assert_int_equal(mp_secagg_survivors_accept(&seen, survz, r.spec, w->roster, r.u1.m[0].org,
                                                v0z.advertised_hash, h0z),
                     0);
    mp_secagg_view_free(&seen);
    /* ... which the others, who masked with all six keys, refuse. */
    for (size_t k = 1; k < u1z.n1; k++)
        expect_refused(mp_secagg_survivors_accept(&tmp, survz, r.spec, w->roster, r.u1.m[k].org,
                                                  r.views[k].advertised_hash, r.subhash[k]),
                       "names other participants or keys");
    mp_envelope_free(surv);
    memcpy(r.u1.m[0].submission_hash, r.subhash[0], MP_HASH_BYTES);

    /* A list naming another submission for member 2: refused by member 2, fine for member 3. */
    r.u1.m[2].submission_hash[0] ^= 1;
    assert_int_equal(mp_secagg_survivors_build(&body, r.spec, &r.u1), 0);
    r.u1.m[2].submission_hash[0] ^= 1;
    surv = resign("survivors", body, w->coord);
    expect_refused(mp_secagg_survivors_accept(&tmp, surv, r.spec, w->roster, r.u1.m[2].org,
                                              r.views[2].advertised_hash, r.subhash[2]),
                   "names a different submission of rsd-krh than the one it sent");
    assert_int_equal(mp_secagg_survivors_accept(&seen, surv, r.spec, w->roster, r.u1.m[3].org,
                                                r.views[3].advertised_hash, r.subhash[3]),
                     0);
    mp_secagg_view_free(&seen);
    mp_envelope_free(surv);

    /* The honest list, for reference, and edits of it that parsing alone refuses. */
    assert_int_equal(mp_secagg_survivors_build(&body, r.spec, &r.u1), 0);
    surv = resign("survivors", body, w->coord);
    accept_list(&r, 1, surv, &seen);
    mp_secagg_view_free(&seen);
    /* Entries exchanged. */
    body = dup_body(surv);
    swap_items(field(body, "shared"), 1, 2);
    bad = resign("survivors", body, w->coord);
    expect_refused(mp_secagg_survivors_parse(&tmp, bad, r.spec, w->roster),
                   "lekstroom is out of order or given twice");
    mp_envelope_free(bad);
    /* One member's mask key replaced (by another member's, or a fresh one): its signature no
     * longer covers it. */
    body = dup_body(surv);
    arr = field(body, "shared");
    str_set(field(cJSON_GetArrayItem(arr, 3), "mask_pk"),
            field(cJSON_GetArrayItem(arr, 4), "mask_pk")->valuestring);
    bad = resign("survivors", body, w->coord);
    expect_refused(mp_secagg_survivors_parse(&tmp, bad, r.spec, w->roster),
                   "the keys of stichtse-vecht are not signed by stichtse-vecht");
    mp_envelope_free(bad);
    body = dup_body(surv);
    arr = field(body, "shared");
    randombytes_buf(pk, sizeof pk);
    b64_set(field(cJSON_GetArrayItem(arr, 3), "box_pk"), pk, sizeof pk);
    bad = resign("survivors", body, w->coord);
    expect_refused(mp_secagg_survivors_parse(&tmp, bad, r.spec, w->roster),
                   "the keys of stichtse-vecht are not signed by stichtse-vecht");
    mp_envelope_free(bad);
    body = dup_body(surv);
    arr = field(body, "shared");
    b64_set(field(cJSON_GetArrayItem(arr, 3), "mask_pk"), pk, sizeof pk);
    bad = resign("survivors", body, w->coord);
    expect_refused(mp_secagg_survivors_parse(&tmp, bad, r.spec, w->roster),
                   "the keys of stichtse-vecht are not signed by stichtse-vecht");
    mp_envelope_free(bad);
    /* Key signatures exchanged. */
    body = dup_body(surv);
    arr = field(body, "shared");
    {
        char *s3 = strdup(field(cJSON_GetArrayItem(arr, 3), "key_sig")->valuestring);
        str_set(field(cJSON_GetArrayItem(arr, 3), "key_sig"),
                field(cJSON_GetArrayItem(arr, 4), "key_sig")->valuestring);
        str_set(field(cJSON_GetArrayItem(arr, 4), "key_sig"), s3);
        free(s3);
    }
    bad = resign("survivors", body, w->coord);
    expect_refused(mp_secagg_survivors_parse(&tmp, bad, r.spec, w->roster),
                   "not signed by stichtse-vecht");
    mp_envelope_free(bad);
    /* A submitter that did not advertise; a submitter twice. */
    body = dup_body(survz);
    arr = field(body, "submitted");
    str_set(field(cJSON_GetArrayItem(arr, 4), "org"), "uwv");
    bad = resign("survivors", body, w->coord);
    expect_refused(mp_secagg_survivors_parse(&tmp, bad, r.spec, w->roster),
                   "uwv submitted but did not send key shares");
    mp_envelope_free(bad);
    body = dup_body(surv);
    arr = field(body, "submitted");
    cJSON_AddItemToArray(arr, cJSON_Duplicate(cJSON_GetArrayItem(arr, 5), 1));
    bad = resign("survivors", body, w->coord);
    expect_refused(mp_secagg_survivors_parse(&tmp, bad, r.spec, w->roster),
                   "uwv is out of order or given twice");
    mp_envelope_free(bad);
    /* Signed by a participant instead of the coordinator. */
    bad = resign("survivors", dup_body(surv), kp_of(&r, 0));
    expect_refused(mp_secagg_survivors_parse(&tmp, bad, r.spec, w->roster), "survivors");
    mp_envelope_free(bad);
    assert_null(tmp.m);

    mp_envelope_free(surv);
    mp_envelope_free(survz);
    mp_envelope_free(keys0z);
    mp_secagg_view_free(&v0z);
    mp_secagg_view_free(&u1z);
    rnd_free(&r);
}

/* 2d. With everything an aggregator legitimately holds in a round with a dropout (all
 * advertisements and keys, every submission, every unmask message), no single organisation's
 * vector comes out, nor the sum of any proper subset of the survivors: the shares give the
 * self-mask seeds of the survivors and the mask keys of the dropped, and the masks between
 * two survivors need a survivor's mask key. */
static void test_no_single_vector(void **state)
{
    world *w = *state;
    int stop[NORGS] = {5, 2, 5, 5, 5, 5}; /* lekstroom sends its shares, then drops out */
    unsigned char sec[NORGS][32], b[32], sk[32], pk[32], seed[32];
    uint64_t sum[NCELLS], open[NORGS][NCELLS];
    size_t surv[NORGS], nsurv = 0;
    rnd r;

    rnd_init(&r, w, w->spec, stop);
    assert_int_equal(rnd_advertise(&r), 0);
    assert_int_equal(rnd_keys(&r), 0);
    assert_int_equal(rnd_shares(&r), 0);
    assert_int_equal(rnd_survivors(&r), 0);
    assert_int_equal(rnd_request(&r), 0);
    assert_int_equal(rnd_unmask(&r), 0);
    assert_int_equal(r.n1, 6);
    assert_int_equal(r.sv.n2, 5);
    assert_int_equal(r.nrev, THRESHOLD);
    assert_int_equal(rnd_open(&r, sum, 2), 0);
    expect_sum(w, stop, sum);

    /* One secret per member, and which one is fixed by the list. */
    for (size_t j = 0; j < r.n1; j++) {
        assert_int_equal(rebuild(&r, j, sec[j]), 0);
        memcpy(b, sec_of(&r, j)->b, 32);
        memcpy(sk, sec_of(&r, j)->s_sk, 32);
        if (r.sv.m[j].submitted) {
            assert_memory_equal(sec[j], b, 32);
            assert_memory_not_equal(sec[j], sk, 32);
            surv[nsurv++] = j;
        } else {
            assert_memory_equal(sec[j], sk, 32);
            crypto_scalarmult_base(pk, sec[j]);
            assert_memory_equal(pk, r.sv.m[j].mask_pk, 32);
        }
    }
    assert_int_equal(nsurv, 5);
    /* Each survivor's submission with everything rebuildable taken off. */
    for (size_t s = 0; s < nsurv; s++) {
        size_t i = surv[s];
        memcpy(open[s], r.y[i], sizeof open[s]);
        mp_mask_prg_apply(open[s], NCELLS, sec[i], -1);
        for (size_t j = 0; j < r.n1; j++)
            if (!r.sv.m[j].submitted) {
                pair_seed(seed, sec[j], &r.sv.m[j], &r.sv.m[i], r.spec);
                apply_pair(open[s], seed, &r.sv.m[i], &r.sv.m[j], -1);
            }
        assert_all_cells_differ(open[s], w->plain[r.sv.m[i].pos]);
        /* What is missing is exactly the masks with the other survivors. */
        uint64_t v[NCELLS];
        memcpy(v, open[s], sizeof v);
        memcpy(sk, sec_of(&r, i)->s_sk, 32);
        for (size_t t = 0; t < nsurv; t++)
            if (t != s) {
                pair_seed(seed, sk, &r.sv.m[i], &r.sv.m[surv[t]], r.spec);
                apply_pair(v, seed, &r.sv.m[i], &r.sv.m[surv[t]], -1);
            }
        assert_true(vec_equal(v, w->plain[r.sv.m[i].pos]));
    }
    /* Sums over subsets of the survivors: only all of them opens. */
    for (unsigned set = 1; set < (1u << nsurv); set++) {
        uint64_t got[NCELLS] = {0}, want[NCELLS] = {0};
        for (size_t s = 0; s < nsurv; s++)
            if (set & (1u << s)) {
                mp_vec_add(got, open[s], NCELLS);
                mp_vec_add(want, w->plain[r.sv.m[surv[s]].pos], NCELLS);
            }
        if (set == (1u << nsurv) - 1)
            assert_true(vec_equal(got, want));
        else
            assert_all_cells_differ(got, want);
    }
    rnd_free(&r);
}

/* ---- tampered, replayed, reordered and cross-round messages -------------------------------- */

/* The key statement of secagg.h, signed by kp. */
static void sign_key(unsigned char sig[MP_SIG_BYTES], const mp_spec *spec, const char *org,
                     const unsigned char box_pk[32], const unsigned char pk[32],
                     const mp_keypair *kp)
{
    char hex[MP_HASH_HEX_BYTES], *b1 = mp_base64_encode(box_pk, 32),
                                 *b64 = mp_base64_encode(pk, 32);
    cJSON *st = cJSON_CreateObject();
    assert_non_null(b1);
    assert_non_null(b64);
    assert_non_null(st);
    mp_hex_encode(hex, spec->env->hash, MP_HASH_BYTES);
    assert_non_null(cJSON_AddNumberToObject(st, "mijlpaal_mask_key", 2));
    assert_non_null(cJSON_AddStringToObject(st, "round_sha256", hex));
    assert_non_null(cJSON_AddStringToObject(st, "org", org));
    assert_non_null(cJSON_AddStringToObject(st, "box_pk", b1));
    assert_non_null(cJSON_AddStringToObject(st, "mask_pk", b64));
    assert_int_equal(mp_envelope_sign_detached(sig, "mask-key", st, kp), 0);
    cJSON_Delete(st);
    free(b1);
    free(b64);
}

/* Member k's advertisement with other keys, validly signed by k itself. */
static mp_envelope *advertise_with_keys(const rnd *r, size_t k, const unsigned char box_pk[32],
                                        const unsigned char pk[32])
{
    unsigned char sig[MP_SIG_BYTES];
    cJSON *body = dup_body(r->adv[k]);
    sign_key(sig, r->spec, r->u1.m[k].org, box_pk, pk, kp_of(r, k));
    b64_set(field(body, "box_pk"), box_pk, 32);
    b64_set(field(body, "mask_pk"), pk, 32);
    b64_set(field(body, "key_sig"), sig, sizeof sig);
    return resign("advertise", body, kp_of(r, k));
}

/* Curve25519 points of small order (and their non-canonical encodings). */
static const char *const low_order_hex[] = {
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
};

static void test_tampered_advertise(void **state)
{
    world *w = *state;
    int stop[NORGS] = {5, 5, 5, 5, 5, 5};
    mp_secagg_member m;
    mp_secagg_view v;
    mp_envelope *bad, *shr;
    mp_keypair *stranger;
    unsigned char lo[32], good[32], bpk[32], sig[MP_SIG_BYTES];
    uint64_t y[NCELLS];
    cJSON *body;
    rnd r;

    rnd_init(&r, w, w->spec, stop);
    assert_int_equal(rnd_advertise(&r), 0);
    b64_get(bpk, 32, field(r.adv[0]->body, "box_pk"));
    /* Another member's mask key, or box key, under this member's key signature. */
    body = dup_body(r.adv[0]);
    str_set(field(body, "mask_pk"), field(r.adv[1]->body, "mask_pk")->valuestring);
    bad = resign("advertise", body, kp_of(&r, 0));
    expect_refused(mp_secagg_advertise_check(bad, r.spec, w->roster, &m),
                   "advertise of fermwerk: the key signature does not verify");
    mp_envelope_free(bad);
    body = dup_body(r.adv[0]);
    str_set(field(body, "box_pk"), field(r.adv[1]->body, "box_pk")->valuestring);
    bad = resign("advertise", body, kp_of(&r, 0));
    expect_refused(mp_secagg_advertise_check(bad, r.spec, w->roster, &m),
                   "advertise of fermwerk: the key signature does not verify");
    mp_envelope_free(bad);
    /* Another member's keys and key signature. */
    body = dup_body(r.adv[0]);
    str_set(field(body, "box_pk"), field(r.adv[1]->body, "box_pk")->valuestring);
    str_set(field(body, "mask_pk"), field(r.adv[1]->body, "mask_pk")->valuestring);
    str_set(field(body, "key_sig"), field(r.adv[1]->body, "key_sig")->valuestring);
    bad = resign("advertise", body, kp_of(&r, 0));
    expect_refused(mp_secagg_advertise_check(bad, r.spec, w->roster, &m),
                   "the key signature does not verify");
    mp_envelope_free(bad);
    /* The key replaced in transit (envelope not re-signed). */
    bad = sign_parse("advertise", r.adv[0]->body, kp_of(&r, 0));
    str_set(field(bad->body, "mask_pk"), field(r.adv[2]->body, "mask_pk")->valuestring);
    expect_refused(mp_secagg_advertise_check(bad, r.spec, w->roster, &m), "does not verify");
    mp_envelope_free(bad);
    /* Low-order mask and box keys, even when the member signs them. */
    crypto_scalarmult_base(good, (const unsigned char *)"0123456789abcdef0123456789abcdef");
    for (size_t i = 0; i < sizeof low_order_hex / sizeof *low_order_hex; i++) {
        assert_int_equal(mp_hex_decode(lo, sizeof lo, low_order_hex[i]), 0);
        bad = advertise_with_keys(&r, 0, bpk, lo);
        expect_refused(mp_secagg_advertise_check(bad, r.spec, w->roster, &m),
                       "advertise of fermwerk: the mask key is degenerate (low order)");
        mp_envelope_free(bad);
        bad = advertise_with_keys(&r, 0, lo, good);
        expect_refused(mp_secagg_advertise_check(bad, r.spec, w->roster, &m),
                       "advertise of fermwerk: the box key is degenerate (low order)");
        mp_envelope_free(bad);
    }
    /* Control: fresh, well-formed keys signed by the member pass this check. */
    bad = advertise_with_keys(&r, 0, bpk, good);
    assert_int_equal(mp_secagg_advertise_check(bad, r.spec, w->roster, &m), 0);
    mp_envelope_free(bad);
    /* Claiming to be another member; signed by a key outside the roster. */
    body = dup_body(r.adv[0]);
    str_set(field(body, "org"), "lekstroom");
    bad = resign("advertise", body, kp_of(&r, 0));
    expect_refused(mp_secagg_advertise_check(bad, r.spec, w->roster, &m),
                   "claims to be from lekstroom but is signed by fermwerk");
    mp_envelope_free(bad);
    assert_int_equal(mp_keys_generate(&stranger, "amsterdam"), 0);
    bad = resign("advertise", dup_body(r.adv[0]), stranger);
    expect_refused(mp_secagg_advertise_check(bad, r.spec, w->roster, &m),
                   "signed by a key that is not in the roster");
    mp_envelope_free(bad);
    expect_refused(mp_secagg_advertise(&body, r.spec, w->roster, stranger, sec_of(&r, 0)),
                   "amsterdam is not a participant of round mu-2025");
    mp_keys_free(stranger);
    /* An unknown field; the boxes of format 1. */
    body = dup_body(r.adv[0]);
    assert_non_null(cJSON_AddStringToObject(body, "extra", "x"));
    bad = resign("advertise", body, kp_of(&r, 0));
    expect_refused(mp_secagg_advertise_check(bad, r.spec, w->roster, &m), "\"extra\"");
    mp_envelope_free(bad);

    /* A low-order mask key that the aggregator lets into U2 (skipping the check above): the
     * member signed it and its boxes are genuine, so the shares message is accepted, but
     * masking with it refuses and leaves the vector as it was. */
    assert_int_equal(rnd_keys(&r), 0);
    assert_int_equal(mp_hex_decode(lo, sizeof lo, low_order_hex[2]), 0);
    sign_key(sig, r.spec, r.u1.m[3].org, r.u1.m[3].box_pk, lo, kp_of(&r, 3));
    memcpy(r.u1.m[3].mask_pk, lo, 32);
    memcpy(r.u1.m[3].key_sig, sig, sizeof sig);
    shr = shares_message(&r, &r.u1, 0);
    assert_int_equal(mp_secagg_shares_accept(&v, shr, r.spec, w->roster, kp_of(&r, 0),
                                             sec_of(&r, 0), r.share[0]->hash),
                     0);
    memcpy(y, w->plain[0], sizeof y);
    expect_refused(mp_secagg_mask(y, NCELLS, r.spec, &v, kp_of(&r, 0), sec_of(&r, 0)),
                   "the mask key of stichtse-vecht is degenerate (low order)");
    assert_true(vec_equal(y, w->plain[0]));
    mp_secagg_view_free(&v);
    mp_envelope_free(shr);
    rnd_free(&r);
}

/* The keys message (U1) and the share messages built on it. */
static void test_tampered_keys_and_share(void **state)
{
    world *w = *state;
    int stop[NORGS] = {5, 5, 5, 5, 5, 5};
    unsigned char sig[MP_SIG_BYTES], pk[32];
    mp_secagg_view v, u1b;
    mp_envelope *bad;
    size_t member;
    cJSON *body, *adv;
    rnd r;

    rnd_init(&r, w, w->spec, stop);
    assert_int_equal(rnd_advertise(&r), 0);
    assert_int_equal(rnd_keys(&r), 0);
    const mp_keypair *kp0 = kp_of(&r, 0);
    const mp_secagg_secrets *sec0 = sec_of(&r, 0);
    /* The member's own advertisement left out, or its key replaced by another it signed. */
    body = dup_body(r.keysmsg);
    cJSON_DeleteItemFromArray(field(body, "advertised"), 0);
    bad = resign("keys", body, w->coord);
    expect_refused(mp_secagg_keys_accept(&v, bad, r.spec, w->roster, kp0, sec0),
                   "fermwerk is not among the advertised participants");
    mp_envelope_free(bad);
    crypto_scalarmult_base(pk, (const unsigned char *)"0123456789abcdef0123456789abcdef");
    sign_key(sig, r.spec, "fermwerk", r.adv_u1.m[0].box_pk, pk, kp0);
    body = dup_body(r.keysmsg);
    adv = cJSON_GetArrayItem(field(body, "advertised"), 0);
    b64_set(field(adv, "mask_pk"), pk, 32);
    b64_set(field(adv, "key_sig"), sig, sizeof sig);
    bad = resign("keys", body, w->coord);
    expect_refused(mp_secagg_keys_accept(&v, bad, r.spec, w->roster, kp0, sec0),
                   "the mask key listed for fermwerk is not the one it advertised");
    mp_envelope_free(bad);
    sign_key(sig, r.spec, "fermwerk", pk, r.adv_u1.m[0].mask_pk, kp0);
    body = dup_body(r.keysmsg);
    adv = cJSON_GetArrayItem(field(body, "advertised"), 0);
    b64_set(field(adv, "box_pk"), pk, 32);
    b64_set(field(adv, "key_sig"), sig, sizeof sig);
    bad = resign("keys", body, w->coord);
    expect_refused(mp_secagg_keys_accept(&v, bad, r.spec, w->roster, kp0, sec0),
                   "the box key listed for fermwerk is not the one it advertised");
    mp_envelope_free(bad);
    /* Two members with the same key; a key not signed by its member. */
    body = dup_body(r.keysmsg);
    adv = field(body, "advertised");
    str_set(field(cJSON_GetArrayItem(adv, 2), "mask_pk"),
            field(cJSON_GetArrayItem(adv, 1), "mask_pk")->valuestring);
    bad = resign("keys", body, w->coord);
    expect_refused(mp_secagg_keys_accept(&v, bad, r.spec, w->roster, kp0, sec0),
                   "lekstroom and rsd-krh have the same key");
    mp_envelope_free(bad);
    body = dup_body(r.keysmsg);
    randombytes_buf(pk, sizeof pk);
    b64_set(field(cJSON_GetArrayItem(field(body, "advertised"), 3), "box_pk"), pk, 32);
    bad = resign("keys", body, w->coord);
    expect_refused(mp_secagg_keys_accept(&v, bad, r.spec, w->roster, kp0, sec0),
                   "the keys of stichtse-vecht are not signed by stichtse-vecht");
    mp_envelope_free(bad);
    /* Fewer advertisers than the threshold. */
    body = dup_body(r.keysmsg);
    cJSON_DeleteItemFromArray(field(body, "advertised"), 5);
    cJSON_DeleteItemFromArray(field(body, "advertised"), 4);
    bad = resign("keys", body, w->coord);
    expect_refused(mp_secagg_keys_accept(&v, bad, r.spec, w->roster, kp0, sec0),
                   "only 4 participants advertised keys; the threshold is 5");
    mp_envelope_free(bad);
    /* Signed by a member instead of the coordinator; an unknown field. */
    bad = resign("keys", dup_body(r.keysmsg), kp_of(&r, 1));
    expect_refused(mp_secagg_keys_accept(&v, bad, r.spec, w->roster, kp0, sec0), "keys: ");
    mp_envelope_free(bad);
    body = dup_body(r.keysmsg);
    assert_non_null(cJSON_AddStringToObject(body, "extra", "x"));
    bad = resign("keys", body, w->coord);
    expect_refused(mp_secagg_keys_accept(&v, bad, r.spec, w->roster, kp0, sec0), "\"extra\"");
    mp_envelope_free(bad);
    /* Control. */
    assert_int_equal(mp_secagg_keys_accept(&v, r.keysmsg, r.spec, w->roster, kp0, sec0), 0);
    assert_int_equal(v.n1, NORGS);
    mp_secagg_view_free(&v);

    /* Share messages: made for another U1 (a keys message without uwv), a box missing, a box
     * that is not one, from a participant outside U1, by another signer. */
    assert_int_equal(mp_secagg_share_check(r.share[0], r.spec, w->roster, &r.adv_u1, &member), 0);
    u1b = r.adv_u1;
    u1b.n1 = NORGS - 1;
    memcpy(u1b.advertised_hash, r.adv_u1.advertised_hash, MP_HASH_BYTES);
    u1b.advertised_hash[0] ^= 1;
    expect_refused(mp_secagg_share_check(r.share[0], r.spec, w->roster, &u1b, &member),
                   "share of fermwerk was made for another list of advertised keys");
    expect_refused(mp_secagg_share_check(r.share[5], r.spec, w->roster, &u1b, &member),
                   "share of uwv: uwv did not advertise keys");
    body = dup_body(r.share[0]);
    cJSON_DeleteItemFromArray(field(body, "boxes"), 2);
    bad = resign("share", body, kp0);
    expect_refused(mp_secagg_share_check(bad, r.spec, w->roster, &r.adv_u1, &member),
                   "share of fermwerk has 5 boxes for 6 advertised participants");
    mp_envelope_free(bad);
    body = dup_body(r.share[0]);
    str_set(cJSON_GetArrayItem(field(body, "boxes"), 2), "AAAA");
    bad = resign("share", body, kp0);
    expect_refused(mp_secagg_share_check(bad, r.spec, w->roster, &r.adv_u1, &member),
                   "share of fermwerk: box 3 is not 190 bytes of base64");
    mp_envelope_free(bad);
    bad = resign("share", dup_body(r.share[0]), kp_of(&r, 1));
    expect_refused(mp_secagg_share_check(bad, r.spec, w->roster, &r.adv_u1, &member),
                   "claims to be from fermwerk but is signed by lekstroom");
    mp_envelope_free(bad);
    rnd_free(&r);
}

/* The shares message addressed to one member: every box checked, its own entry, U2 >= T. */
static void test_tampered_shares(void **state)
{
    world *w = *state;
    int stop[NORGS] = {5, 5, 5, 5, 5, 5};
    static const size_t offsets[] = {0, 15, 16, 100, MP_SECAGG_BOX_BYTES - 1};
    unsigned char box[MP_SECAGG_BOX_BYTES], h[MP_HASH_BYTES];
    mp_secagg_view v;
    mp_envelope *bad;
    cJSON *body, *boxes;
    rnd r;

    rnd_init(&r, w, w->spec, stop);
    assert_int_equal(rnd_advertise(&r), 0);
    assert_int_equal(rnd_keys(&r), 0);
    assert_int_equal(rnd_shares(&r), 0);
    const mp_keypair *kp0 = kp_of(&r, 0);
    const mp_secagg_secrets *sec0 = sec_of(&r, 0);
    const unsigned char *own = r.share[0]->hash;
#define SHARES_REFUSED(env, why)                                                                   \
    expect_refused(mp_secagg_shares_accept(&v, (env), r.spec, w->roster, kp0, sec0, own), (why))
    /* A byte flipped in the box from rsd-krh, re-signed by the coordinator: only the box can
     * tell, and the refusal names its sender. */
    for (size_t i = 0; i < sizeof offsets / sizeof *offsets; i++) {
        body = dup_body(r.keys[0]);
        boxes = field(body, "boxes");
        b64_get(box, sizeof box, cJSON_GetArrayItem(boxes, 2));
        box[offsets[i]] ^= 0x01;
        b64_set(cJSON_GetArrayItem(boxes, 2), box, sizeof box);
        bad = resign("shares", body, w->coord);
        memset(&v, 0x55, sizeof v);
        SHARES_REFUSED(bad, "the box from rsd-krh does not open");
        assert_null(v.m);
        assert_int_equal(v.n1, 0);
        mp_envelope_free(bad);
    }
    /* The same change in transit, without the coordinator's signature. */
    bad = sign_parse("shares", r.keys[0]->body, w->coord);
    boxes = field(bad->body, "boxes");
    b64_get(box, sizeof box, cJSON_GetArrayItem(boxes, 2));
    box[20] ^= 0x80;
    b64_set(cJSON_GetArrayItem(boxes, 2), box, sizeof box);
    SHARES_REFUSED(bad, "does not verify");
    mp_envelope_free(bad);
    /* Boxes exchanged: both genuine, each now under the wrong sender. */
    body = dup_body(r.keys[0]);
    swap_items(field(body, "boxes"), 1, 3);
    bad = resign("shares", body, w->coord);
    SHARES_REFUSED(bad, "the box from lekstroom does not open");
    mp_envelope_free(bad);
    /* A box moved to another recipient: stichtse-vecht's box for lekstroom, given to fermwerk
     * in its place. */
    body = dup_body(r.keys[0]);
    str_set(cJSON_GetArrayItem(field(body, "boxes"), 3),
            cJSON_GetArrayItem(field(r.keys[1]->body, "boxes"), 3)->valuestring);
    bad = resign("shares", body, w->coord);
    SHARES_REFUSED(bad, "the box from stichtse-vecht does not open");
    mp_envelope_free(bad);
    /* Every box of lekstroom's message, re-addressed to fermwerk. */
    body = dup_body(r.keys[1]);
    str_set(field(body, "to"), "fermwerk");
    bad = resign("shares", body, w->coord);
    SHARES_REFUSED(bad, "the box from fermwerk does not open");
    mp_envelope_free(bad);
    /* A shares message replayed to another member. */
    SHARES_REFUSED(r.keys[1], "addressed to lekstroom, not to fermwerk");
    /* A box missing; one that is not a box. */
    body = dup_body(r.keys[0]);
    cJSON_DeleteItemFromArray(field(body, "boxes"), 5);
    bad = resign("shares", body, w->coord);
    SHARES_REFUSED(bad, "shares: 5 boxes for 6 participants that sent shares");
    mp_envelope_free(bad);
    body = dup_body(r.keys[0]);
    str_set(cJSON_GetArrayItem(field(body, "boxes"), 2), "AAAA");
    bad = resign("shares", body, w->coord);
    SHARES_REFUSED(bad, "the box from rsd-krh is not 190 bytes of base64");
    mp_envelope_free(bad);
    /* Its own entry left out; another share message named for it; fewer than T. */
    body = dup_body(r.keys[0]);
    cJSON_DeleteItemFromArray(field(body, "shared"), 0);
    cJSON_DeleteItemFromArray(field(body, "boxes"), 0);
    bad = resign("shares", body, w->coord);
    SHARES_REFUSED(bad, "fermwerk is not among the participants whose key shares");
    mp_envelope_free(bad);
    memcpy(h, own, sizeof h);
    h[0] ^= 1;
    body = dup_body(r.keys[0]);
    {
        char hex[MP_HASH_HEX_BYTES];
        mp_hex_encode(hex, h, sizeof h);
        str_set(field(cJSON_GetArrayItem(field(body, "shared"), 0), "share_sha256"), hex);
    }
    bad = resign("shares", body, w->coord);
    SHARES_REFUSED(bad, "names a different share message of fermwerk than the one it sent");
    mp_envelope_free(bad);
    body = dup_body(r.keys[0]);
    for (int i = 5; i >= 4; i--) {
        cJSON_DeleteItemFromArray(field(body, "shared"), i);
        cJSON_DeleteItemFromArray(field(body, "boxes"), i);
    }
    bad = resign("shares", body, w->coord);
    SHARES_REFUSED(bad, "only 4 participants sent key shares; the threshold is 5");
    mp_envelope_free(bad);
    /* Signed by a member; an unknown field. */
    bad = resign("shares", dup_body(r.keys[0]), kp_of(&r, 1));
    SHARES_REFUSED(bad, "shares: ");
    mp_envelope_free(bad);
    body = dup_body(r.keys[0]);
    assert_non_null(cJSON_AddStringToObject(body, "extra", "x"));
    bad = resign("shares", body, w->coord);
    SHARES_REFUSED(bad, "\"extra\"");
    mp_envelope_free(bad);
#undef SHARES_REFUSED
    /* Control: the untouched message is accepted. */
    assert_int_equal(mp_secagg_shares_accept(&v, r.keys[0], r.spec, w->roster, kp0, sec0, own), 0);
    mp_secagg_view_free(&v);
    rnd_free(&r);
}

/* Forward secrecy: the boxes of a round open only with the recipient's box key of that round.
 * The long-term X25519 keys of the roster (stolen later, say) open none of them, on either
 * side; the round's box secret, wiped from the ledger after unmask, opens every one. */
static void test_forward_secrecy(void **state)
{
    world *w = *state;
    int stop[NORGS] = {5, 5, 5, 5, 5, 5};
    unsigned char box[MP_SECAGG_BOX_BYTES], plain[MP_SECAGG_PLAIN_BYTES], nonce[24];
    rnd r;
    rnd_init(&r, w, w->spec, stop);
    assert_int_equal(rnd_advertise(&r), 0);
    assert_int_equal(rnd_keys(&r), 0);
    assert_int_equal(rnd_shares(&r), 0);
    for (size_t to = 0; to < r.n1; to++) {
        const mp_keypair *rk = kp_of(&r, to);
        const cJSON *boxes = field(r.keys[to]->body, "boxes");
        for (size_t i = 0; i < r.n1; i++) {
            const mp_keypair *sk = kp_of(&r, i);
            b64_get(box, sizeof box, cJSON_GetArrayItem(boxes, (int)i));
            mp_secagg_box_nonce(nonce, r.spec->env->hash, r.u1.m[i].pos, r.u1.m[to].pos);
            assert_int_not_equal(
                crypto_box_open_easy(plain, box, sizeof box, nonce, sk->pub.kx_pk, rk->kx_sk), 0);
            assert_int_not_equal(
                crypto_box_open_easy(plain, box, sizeof box, nonce, r.u1.m[i].box_pk, rk->kx_sk),
                0);
            assert_int_not_equal(crypto_box_open_easy(plain, box, sizeof box, nonce, sk->pub.kx_pk,
                                                      sec_of(&r, to)->c_sk),
                                 0);
            assert_int_equal(crypto_box_open_easy(plain, box, sizeof box, nonce, r.u1.m[i].box_pk,
                                                  sec_of(&r, to)->c_sk),
                             0);
        }
    }
    rnd_free(&r);
}

/* Messages of the previous format (key shares boxed to long-term keys with the advertisement)
 * are refused by name, even when validly signed. */
static void test_old_formats(void **state)
{
    world *w = *state;
    int stop[NORGS] = {5, 5, 5, 5, 5, 5};
    mp_secagg_member m;
    mp_secagg_view v;
    mp_envelope *bad;
    cJSON *body;
    rnd r;
    rnd_init(&r, w, w->spec, stop);
    assert_int_equal(rnd_advertise(&r), 0);
    assert_int_equal(rnd_keys(&r), 0);
    assert_int_equal(rnd_shares(&r), 0);
    assert_int_equal(rnd_survivors_build(&r), 0);
    body = dup_body(r.adv[0]);
    cJSON_SetNumberValue(field(body, "mijlpaal_advertise"), 1);
    cJSON_DeleteItemFromObject(body, "box_pk");
    assert_non_null(cJSON_AddItemToObject(body, "boxes", cJSON_CreateArray()));
    bad = resign("advertise", body, kp_of(&r, 0));
    expect_refused(mp_secagg_advertise_check(bad, r.spec, w->roster, &m),
                   "advertise of fermwerk is of format 1; this version of mijlpaal takes format 2 "
                   "only");
    mp_envelope_free(bad);
    body = dup_body(r.keysmsg);
    cJSON_SetNumberValue(field(body, "mijlpaal_keys"), 1);
    bad = resign("keys", body, w->coord);
    expect_refused(mp_secagg_keys_accept(&v, bad, r.spec, w->roster, kp_of(&r, 0), sec_of(&r, 0)),
                   "keys of the coordinator is of format 1");
    mp_envelope_free(bad);
    body = dup_body(r.surv);
    cJSON_SetNumberValue(field(body, "mijlpaal_survivors"), 1);
    bad = resign("survivors", body, w->coord);
    expect_refused(mp_secagg_survivors_parse(&v, bad, r.spec, w->roster),
                   "survivors of the coordinator is of format 1");
    mp_envelope_free(bad);
    rnd_free(&r);
}

/* Member k's unmask message with share j replaced, re-signed by k. */
static mp_envelope *unmask_with_share(const rnd *r, size_t k, size_t j, const unsigned char *sh)
{
    cJSON *body = dup_body(r->unm[k]);
    b64_set(cJSON_GetArrayItem(field(body, "shares"), (int)j), sh, SB);
    return resign("unmask", body, kp_of(r, k));
}

static void share_of(unsigned char sh[SB], const mp_envelope *unm, size_t j)
{
    b64_get(sh, SB, cJSON_GetArrayItem(field(unm->body, "shares"), (int)j));
}

static void test_tampered_unmask(void **state)
{
    world *w = *state;
    int stop[NORGS] = {5, 5, 5, 5, 5, 2}; /* uwv sends its shares, then drops out */
    const size_t D = 5;
    unsigned char sh[SB];
    mp_secagg_reveal rv;
    mp_envelope *bad, *survb;
    mp_keypair *stranger;
    cJSON *body;
    size_t member;
    rnd r;

    rnd_init(&r, w, w->spec, stop);
    assert_int_equal(rnd_advertise(&r), 0);
    assert_int_equal(rnd_keys(&r), 0);
    assert_int_equal(rnd_shares(&r), 0);
    assert_int_equal(rnd_survivors(&r), 0);
    assert_int_equal(rnd_request(&r), 0);
    assert_int_equal(rnd_unmask(&r), 0);
    const unsigned char *ha = r.surv->hash;
    /* lekstroom (index 2) sends a share with another index, another threshold, fermwerk's
     * share (index 1), a share of another version, a share that is not one. */
    share_of(sh, r.unm[1], 2);
    sh[3] = 3;
    bad = unmask_with_share(&r, 1, 2, sh);
    memset(&rv, 0x55, sizeof rv);
    expect_refused(mp_secagg_unmask_check(bad, r.spec, w->roster, &r.sv, ha, &rv),
                   "unmask of lekstroom: share 3 has threshold 5 and index 3, expected 5 and 2");
    assert_null(rv.shares);
    mp_envelope_free(bad);
    share_of(sh, r.unm[1], 2);
    sh[1] = 3;
    bad = unmask_with_share(&r, 1, 2, sh);
    expect_refused(mp_secagg_unmask_check(bad, r.spec, w->roster, &r.sv, ha, &rv),
                   "share 3 has threshold 3 and index 2, expected 5 and 2");
    mp_envelope_free(bad);
    share_of(sh, r.unm[0], 2);
    bad = unmask_with_share(&r, 1, 2, sh);
    expect_refused(mp_secagg_unmask_check(bad, r.spec, w->roster, &r.sv, ha, &rv),
                   "share 3 has threshold 5 and index 1, expected 5 and 2");
    mp_envelope_free(bad);
    share_of(sh, r.unm[1], 2);
    sh[0] = 2;
    bad = unmask_with_share(&r, 1, 2, sh);
    expect_refused(mp_secagg_unmask_check(bad, r.spec, w->roster, &r.sv, ha, &rv),
                   "unmask of lekstroom: share 3 (for rsd-krh) is malformed");
    mp_envelope_free(bad);
    body = dup_body(r.unm[1]);
    str_set(cJSON_GetArrayItem(field(body, "shares"), 2), "AAAA");
    bad = resign("unmask", body, kp_of(&r, 1));
    expect_refused(mp_secagg_unmask_check(bad, r.spec, w->roster, &r.sv, ha, &rv), "malformed");
    mp_envelope_free(bad);
    /* A share missing. */
    body = dup_body(r.unm[1]);
    cJSON_DeleteItemFromArray(field(body, "shares"), 4);
    bad = resign("unmask", body, kp_of(&r, 1));
    expect_refused(mp_secagg_unmask_check(bad, r.spec, w->roster, &r.sv, ha, &rv),
                   "unmask of lekstroom has 5 shares for 6 participants that sent shares");
    mp_envelope_free(bad);
    /* The dropout has nothing to reveal, and an unmask signed by it is refused. */
    expect_refused(
        mp_secagg_unmask(&body, r.spec, &r.sv, r.keys[D], kp_of(&r, D), sec_of(&r, D), ha),
        "uwv is not a survivor of round mu-2025: it has nothing to reveal");
    body = dup_body(r.unm[0]);
    str_set(field(body, "org"), "uwv");
    bad = resign("unmask", body, kp_of(&r, D));
    expect_refused(mp_secagg_unmask_check(bad, r.spec, w->roster, &r.sv, ha, &rv),
                   "unmask of uwv: uwv is not a survivor");
    mp_envelope_free(bad);
    /* Signed by a key outside the roster; by one survivor in another's name; altered in
     * transit. */
    assert_int_equal(mp_keys_generate(&stranger, "amsterdam"), 0);
    bad = resign("unmask", dup_body(r.unm[0]), stranger);
    expect_refused(mp_secagg_unmask_check(bad, r.spec, w->roster, &r.sv, ha, &rv),
                   "signed by a key that is not in the roster");
    mp_envelope_free(bad);
    mp_keys_free(stranger);
    bad = resign("unmask", dup_body(r.unm[0]), kp_of(&r, 1));
    expect_refused(mp_secagg_unmask_check(bad, r.spec, w->roster, &r.sv, ha, &rv),
                   "claims to be from fermwerk but is signed by lekstroom");
    mp_envelope_free(bad);
    bad = sign_parse("unmask", r.unm[0]->body, kp_of(&r, 0));
    share_of(sh, bad, 1);
    sh[5] ^= 1;
    b64_set(cJSON_GetArrayItem(field(bad->body, "shares"), 1), sh, SB);
    expect_refused(mp_secagg_unmask_check(bad, r.spec, w->roster, &r.sv, ha, &rv),
                   "does not verify");
    mp_envelope_free(bad);
    /* An unmask, a consistency message and a request for another survivors list. */
    survb = survivors_variant(&r, 0);
    expect_refused(mp_secagg_unmask_check(r.unm[0], r.spec, w->roster, &r.sv, survb->hash, &rv),
                   "unmask refers to a different list of survivors");
    expect_refused(
        mp_secagg_consistency_check(r.conf[0], r.spec, w->roster, &r.sv, survb->hash, &member),
        "consistency refers to a different list of survivors");
    /* Control: the genuine ones check out. */
    assert_int_equal(mp_secagg_unmask_check(r.unm[0], r.spec, w->roster, &r.sv, ha, &rv), 0);
    mp_secagg_reveal_free(&rv);
    assert_int_equal(mp_secagg_consistency_check(r.conf[0], r.spec, w->roster, &r.sv, ha, &member),
                     0);
    mp_envelope_free(survb);
    rnd_free(&r);
}

/* The opening refuses what it cannot rebuild, and then leaves the sum as it was. */
static void test_open_refusals(void **state)
{
    world *w = *state;
    int stop[NORGS] = {5, 5, 5, 5, 5, 2}; /* uwv sends its shares, then drops out */
    const size_t D = 5;
    unsigned char sh[SB];
    uint64_t sum[NCELLS], before[NCELLS];
    mp_secagg_reveal tmp[NORGS], rv;
    mp_envelope *bad;
    unsigned char *forged[THRESHOLD];
    rnd r;

    rnd_init(&r, w, w->spec, stop);
    assert_int_equal(rnd_advertise(&r), 0);
    assert_int_equal(rnd_keys(&r), 0);
    assert_int_equal(rnd_shares(&r), 0);
    assert_int_equal(rnd_survivors(&r), 0);
    assert_int_equal(rnd_request(&r), 0);
    assert_int_equal(rnd_unmask(&r), 0);
    assert_int_equal(r.nrev, 5);
    assert_int_equal(rnd_open(&r, sum, 2), 0);
    expect_sum(w, stop, sum);
    memset(before, 0, sizeof before);
    for (size_t k = 0; k < r.n1; k++)
        if (r.sv.m[k].submitted)
            mp_vec_add(before, r.y[k], NCELLS);

#define OPEN_REFUSED(rev, n, why)                                                                  \
    do {                                                                                           \
        memcpy(sum, before, sizeof sum);                                                           \
        expect_refused(mp_secagg_open(sum, NCELLS, r.spec, &r.sv, (rev), (n), 2), (why));          \
        assert_true(vec_equal(sum, before));                                                       \
    } while (0)

    OPEN_REFUSED(r.rev, THRESHOLD - 1, "4 unmask messages, the threshold is 5");
    memcpy(tmp, r.rev, sizeof tmp);
    tmp[0] = r.rev[1];
    tmp[1] = r.rev[0];
    OPEN_REFUSED(tmp, 5, "unmask messages out of order or repeated");
    tmp[0] = r.rev[0];
    OPEN_REFUSED(tmp, 5, "unmask messages out of order or repeated");
    /* The first T are what counts: a sixth out of order does not matter. */
    memcpy(tmp, r.rev, sizeof tmp);
    tmp[5] = r.rev[0];
    memcpy(sum, before, sizeof sum);
    assert_int_equal(mp_secagg_open(sum, NCELLS, r.spec, &r.sv, tmp, 6, 2), 0);
    expect_sum(w, stop, sum);

    /* A damaged share that passes the message checks (right index and threshold), for a
     * survivor's seed and for the dropout's key. */
    for (size_t j = 0; j < r.n1; j += D) {
        share_of(sh, r.unm[1], j);
        sh[5] ^= 1;
        if (mp_shamir_share_info(sh, NULL, NULL) != 0)
            sh[5] ^= 3;
        bad = unmask_with_share(&r, 1, j, sh);
        assert_int_equal(mp_secagg_unmask_check(bad, r.spec, w->roster, &r.sv, r.surv->hash, &rv),
                         0);
        memcpy(tmp, r.rev, sizeof tmp);
        tmp[1] = rv;
        OPEN_REFUSED(tmp, 5,
                     j == 0 ? "cannot rebuild the self-mask seed of fermwerk"
                            : "cannot rebuild the mask key of uwv");
        mp_secagg_reveal_free(&rv);
        mp_envelope_free(bad);
    }
    /* T revealers together put fermwerk's self-mask shares in the dropout's place: a valid
     * secret, but not the key the dropout advertised. */
    memcpy(tmp, r.rev, sizeof tmp);
    for (size_t i = 0; i < THRESHOLD; i++) {
        forged[i] = malloc(r.n1 * SB);
        assert_non_null(forged[i]);
        memcpy(forged[i], r.rev[i].shares, r.n1 * SB);
        memcpy(forged[i] + D * SB, r.rev[i].shares, SB);
        tmp[i].shares = forged[i];
    }
    OPEN_REFUSED(tmp, THRESHOLD,
                 "the rebuilt mask key of uwv does not match the key it advertised");
    for (size_t i = 0; i < THRESHOLD; i++)
        free(forged[i]);
#undef OPEN_REFUSED
    rnd_free(&r);
}

/* Messages of another round, or of another version of this round, are refused at every
 * phase; a box of another round does not open. */
static void test_cross_round(void **state)
{
    world *w = *state;
    int stop[NORGS] = {5, 5, 5, 5, 5, 5};
    mp_spec *spec2, *spec1b, *pairwise;
    mp_secagg_member m;
    mp_secagg_view v, va;
    mp_secagg_reveal rv;
    mp_envelope *bad;
    char hex[MP_HASH_HEX_BYTES];
    uint64_t sum[NCELLS];
    size_t member;
    cJSON *body;
    rnd r1, r2;

    load_spec(w, "mu-2026", NULL, "round2.json", &spec2);
    load_spec(w, "mu-2025", "2026-02-02T12:00:00Z", "round1b.json", &spec1b);
    assert_memory_not_equal(spec1b->env->hash, w->spec->env->hash, MP_HASH_BYTES);
    for (int i = 0; i < NORGS; i++)
        assert_string_equal(spec2->participants[i], w->spec->participants[i]);
    rnd_init(&r1, w, w->spec, stop);
    rnd_init(&r2, w, spec2, stop);
    rnd *both[2] = {&r1, &r2};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(rnd_advertise(both[i]), 0);
        assert_int_equal(rnd_keys(both[i]), 0);
        assert_int_equal(rnd_shares(both[i]), 0);
        assert_int_equal(rnd_survivors(both[i]), 0);
        assert_int_equal(rnd_request(both[i]), 0);
        assert_int_equal(rnd_unmask(both[i]), 0);
        assert_int_equal(rnd_open(both[i], sum, 2), 0);
        expect_sum(w, stop, sum);
    }
    /* Per-round keys differ (fresh secrets each round). */
    for (size_t k = 0; k < r1.n1; k++)
        assert_memory_not_equal(r1.u1.m[k].mask_pk, r2.u1.m[k].mask_pk, 32);
    const mp_keypair *kp0 = kp_of(&r1, 0);
    const mp_secagg_secrets *sec0 = sec_of(&r1, 0);
    accept_list(&r1, 0, r1.surv, &va);

    expect_refused(mp_secagg_advertise_check(r2.adv[0], w->spec, w->roster, &m),
                   "advertise of fermwerk is for round mu-2026, not for round mu-2025");
    assert_int_equal(mp_secagg_advertise(&body, spec1b, w->roster, kp0, sec0), 0);
    bad = resign("advertise", body, kp0);
    expect_refused(mp_secagg_advertise_check(bad, w->spec, w->roster, &m),
                   "advertise of fermwerk was made for a different version of round mu-2025 "
                   "(round_sha256 mismatch)");
    mp_envelope_free(bad);
    /* An advertisement of round 2 relabelled as round 1: its key statement is for round 2. */
    body = dup_body(r2.adv[0]);
    mp_hex_encode(hex, w->spec->env->hash, MP_HASH_BYTES);
    str_set(field(body, "round_id"), "mu-2025");
    str_set(field(body, "round_sha256"), hex);
    bad = resign("advertise", body, kp0);
    expect_refused(mp_secagg_advertise_check(bad, w->spec, w->roster, &m),
                   "the key signature does not verify");
    mp_envelope_free(bad);

    expect_refused(mp_secagg_keys_accept(&v, r2.keysmsg, w->spec, w->roster, kp0, sec0),
                   "is for round mu-2026, not for round mu-2025");
    body = dup_body(r2.keysmsg);
    str_set(field(body, "round_id"), "mu-2025");
    str_set(field(body, "round_sha256"), hex);
    bad = resign("keys", body, w->coord);
    expect_refused(mp_secagg_keys_accept(&v, bad, w->spec, w->roster, kp0, sec0),
                   "the keys of fermwerk are not signed by fermwerk");
    mp_envelope_free(bad);
    /* Round 2's shares message in round 1, and round 2's box from lekstroom to fermwerk in
     * fermwerk's shares message of round 1. */
    expect_refused(
        mp_secagg_shares_accept(&v, r2.keys[0], w->spec, w->roster, kp0, sec0, r1.share[0]->hash),
        "shares of the coordinator is for round mu-2026, not for round mu-2025");
    body = dup_body(r1.keys[0]);
    str_set(cJSON_GetArrayItem(field(body, "boxes"), 1),
            cJSON_GetArrayItem(field(r2.keys[0]->body, "boxes"), 1)->valuestring);
    bad = resign("shares", body, w->coord);
    expect_refused(
        mp_secagg_shares_accept(&v, bad, w->spec, w->roster, kp0, sec0, r1.share[0]->hash),
        "the box from lekstroom does not open");
    mp_envelope_free(bad);
    /* Round 2's share message of fermwerk offered to the aggregator of round 1. */
    expect_refused(mp_secagg_share_check(r2.share[0], w->spec, w->roster, &r1.adv_u1, &member),
                   "share of fermwerk is for round mu-2026, not for round mu-2025");

    expect_refused(mp_secagg_survivors_parse(&v, r2.surv, w->spec, w->roster),
                   "is for round mu-2026, not for round mu-2025");
    expect_refused(mp_secagg_survivors_accept(&v, r2.surv, w->spec, w->roster, "fermwerk",
                                              r1.views[0].advertised_hash, r1.subhash[0]),
                   "is for round mu-2026");
    expect_refused(
        mp_secagg_consistency_check(r2.conf[0], w->spec, w->roster, &r1.sv, r1.surv->hash, &member),
        "consistency of fermwerk is for round mu-2026, not for round mu-2025");
    expect_refused(mp_secagg_request_accept(r2.req, w->spec, w->roster, &va, r1.surv->hash),
                   "is for round mu-2026, not for round mu-2025");
    /* A round-2 confirmation's signature inside a round-1 request. */
    assert_int_equal(mp_secagg_request_build(&body, w->spec, r1.surv->hash, r1.confs, THRESHOLD),
                     0);
    b64_set(field(cJSON_GetArrayItem(field(body, "confirmations"), 0), "sig"), r2.conf[0]->sig,
            MP_SIG_BYTES);
    bad = resign("unmask-request", body, w->coord);
    expect_refused(mp_secagg_request_accept(bad, w->spec, w->roster, &va, r1.surv->hash),
                   "the confirmation of fermwerk does not verify");
    mp_envelope_free(bad);
    expect_refused(
        mp_secagg_unmask_check(r2.unm[0], w->spec, w->roster, &r1.sv, r1.surv->hash, &rv),
        "unmask of fermwerk is for round mu-2026, not for round mu-2025");
    /* A round with masking scheme pairwise-v1 has no advertise phase. */
    {
        mp_spec_params p = tw_round_params("mu-2027", "1.5");
        p.t = 2;
        free(tw_write_round(w->dir, w->coord, w->roster, w->catalogue, &p, "pairwise.json",
                            &pairwise));
        assert_int_equal(pairwise->masking, MP_MASKING_PAIRWISE);
        expect_refused(mp_secagg_advertise(&body, pairwise, w->roster, kp0, sec0),
                       "round mu-2027 uses masking scheme pairwise-v1, which has no advertise "
                       "phase");
        expect_refused(mp_secagg_advertise_check(r1.adv[0], pairwise, w->roster, &m),
                       "there is no advertise phase");
        mp_spec_free(pairwise);
    }

    mp_secagg_view_free(&va);
    rnd_free(&r1);
    rnd_free(&r2);
    mp_spec_free(spec2);
    mp_spec_free(spec1b);
}

/* ---- determinism and the sealed secrets ---------------------------------------------------- */

/* Advertising and sharing again from the same secrets gives the same bytes (the Shamir
 * coefficients come from the secrets' seed, the box nonces from round and positions, Ed25519
 * is deterministic); fresh secrets give other keys and other boxes. */
static void test_advertise_deterministic(void **state)
{
    world *w = *state;
    int stop[NORGS] = {5, 5, 5, 5, 5, 5};
    rnd r;
    rnd_init(&r, w, w->spec, stop);
    assert_int_equal(rnd_advertise(&r), 0);
    assert_int_equal(rnd_keys(&r), 0);
    for (size_t k = 0; k < r.n1; k++) {
        mp_secagg_secrets *fresh;
        mp_secagg_view kv;
        cJSON *b1, *b2, *b3, *s1, *s2, *s3;
        char *t1, *t2, *e1, *e2;
        size_t l1, l2, el1, el2;
        const mp_keypair *kp = kp_of(&r, k);
        assert_int_equal(mp_secagg_secrets_new(&fresh), 0);
        assert_int_equal(mp_secagg_advertise(&b1, r.spec, w->roster, kp, sec_of(&r, k)), 0);
        assert_int_equal(mp_secagg_advertise(&b2, r.spec, w->roster, kp, sec_of(&r, k)), 0);
        assert_int_equal(mp_secagg_advertise(&b3, r.spec, w->roster, kp, fresh), 0);
        assert_int_equal(mp_canon_serialise(&t1, &l1, b1), 0);
        assert_int_equal(mp_canon_serialise(&t2, &l2, b2), 0);
        assert_int_equal(l1, l2);
        assert_memory_equal(t1, t2, l1);
        assert_string_not_equal(field(b1, "mask_pk")->valuestring,
                                field(b3, "mask_pk")->valuestring);
        assert_string_not_equal(field(b1, "box_pk")->valuestring, field(b3, "box_pk")->valuestring);
        free(t1);
        free(t2);
        /* The share message. */
        assert_int_equal(
            mp_secagg_keys_accept(&kv, r.keysmsg, r.spec, w->roster, kp, sec_of(&r, k)), 0);
        assert_int_equal(mp_secagg_share(&s1, r.spec, &kv, kp, sec_of(&r, k)), 0);
        assert_int_equal(mp_secagg_share(&s2, r.spec, &kv, kp, sec_of(&r, k)), 0);
        assert_int_equal(mp_envelope_sign(&e1, &el1, "share", s1, kp), 0);
        assert_int_equal(mp_envelope_sign(&e2, &el2, "share", s2, kp), 0);
        assert_int_equal(el1, el2);
        assert_memory_equal(e1, e2, el1);
        assert_int_equal(el1, r.share[k]->text_len);
        assert_memory_equal(e1, r.share[k]->text, el1); /* the one the round used */
        {
            mp_secagg_secrets other = *sec_of(&r, k);
            randombytes_buf(other.seed, sizeof other.seed);
            assert_int_equal(mp_secagg_share(&s3, r.spec, &kv, kp, &other), 0);
            sodium_memzero(&other, sizeof other);
        }
        for (int j = 0; j < NORGS; j++)
            assert_string_not_equal(cJSON_GetArrayItem(field(s1, "boxes"), j)->valuestring,
                                    cJSON_GetArrayItem(field(s3, "boxes"), j)->valuestring);
        free(e1);
        free(e2);
        cJSON_Delete(b1);
        cJSON_Delete(b2);
        cJSON_Delete(b3);
        cJSON_Delete(s1);
        cJSON_Delete(s2);
        cJSON_Delete(s3);
        mp_secagg_view_free(&kv);
        mp_secagg_secrets_free(fresh);
    }
    rnd_free(&r);
}

/* The ledger form of the secrets: sealing twice gives different bytes (fresh nonce) that both
 * open to the same secrets, and so to the same advertisement; a blob opens only for its round,
 * its organisation and its keystore, and not once a byte is changed. */
static void test_secrets_sealed(void **state)
{
    world *w = *state;
    const mp_keypair *kp = w->by_pos[0];
    const char *org = kp->pub.org;
    const unsigned char *rh = w->spec->env->hash;
    unsigned char a[MP_SECAGG_SEALED_BYTES], b[MP_SECAGG_SEALED_BYTES], other[MP_HASH_BYTES];
    mp_secagg_secrets *s, *back = (mp_secagg_secrets *)0x1;
    cJSON *b1, *b2;
    char *t1, *t2;
    size_t l1, l2;
    assert_int_equal(mp_secagg_secrets_new(&s), 0);
    assert_int_equal(mp_secagg_secrets_seal(a, s, kp, rh, org), 0);
    assert_int_equal(mp_secagg_secrets_seal(b, s, kp, rh, org), 0);
    assert_memory_not_equal(a, b, sizeof a);
    assert_int_equal(a[0], MP_SECAGG_SEALED_VERSION);
    for (size_t i = 0; i + 32 <= sizeof a; i++) { /* not in the clear */
        assert_memory_not_equal(a + i, s->b, 32);
        assert_memory_not_equal(a + i, s->s_sk, 32);
    }
    assert_int_equal(mp_secagg_secrets_open(&back, b, sizeof b, kp, rh, org), 0);
    assert_memory_equal(back, s, sizeof *s);
    assert_int_equal(mp_secagg_advertise(&b1, w->spec, w->roster, kp, s), 0);
    assert_int_equal(mp_secagg_advertise(&b2, w->spec, w->roster, kp, back), 0);
    assert_int_equal(mp_canon_serialise(&t1, &l1, b1), 0);
    assert_int_equal(mp_canon_serialise(&t2, &l2, b2), 0);
    assert_int_equal(l1, l2);
    assert_memory_equal(t1, t2, l1);
    free(t1);
    free(t2);
    cJSON_Delete(b1);
    cJSON_Delete(b2);
    mp_secagg_secrets_free(back);

    back = (mp_secagg_secrets *)0x1;
    memcpy(other, rh, sizeof other);
    other[0] ^= 1;
    expect_refused(mp_secagg_secrets_open(&back, a, sizeof a, kp, other, org), "do not open");
    expect_refused(mp_secagg_secrets_open(&back, a, sizeof a, kp, rh, "lekstroom"), "do not open");
    expect_refused(mp_secagg_secrets_open(&back, a, sizeof a, w->by_pos[1], rh, org),
                   "do not open with this keystore");
    for (size_t i = 1; i < sizeof a; i += 37) {
        a[i] ^= 0x20;
        expect_refused(mp_secagg_secrets_open(&back, a, sizeof a, kp, rh, org), "do not open");
        a[i] ^= 0x20;
    }
    a[0] = 2;
    expect_refused(mp_secagg_secrets_open(&back, a, sizeof a, kp, rh, org), "of version 1");
    a[0] = 1;
    expect_refused(mp_secagg_secrets_open(&back, a, sizeof a - 1, kp, rh, org), "201 bytes");
    assert_ptr_equal(back, (mp_secagg_secrets *)0x1);
    mp_secagg_secrets_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_formulas, setup, teardown),
        cmocka_unit_test_setup_teardown(test_everyone_delivers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_demo_dropout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_dropout_each_phase, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_many_dropouts_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lie_dropped_after_submit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lie_unmask_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lie_survivors_lists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_colluders_one_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threshold_below_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_single_vector, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tampered_advertise, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tampered_keys_and_share, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tampered_shares, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forward_secrecy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_old_formats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tampered_unmask, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cross_round, setup, teardown),
        cmocka_unit_test_setup_teardown(test_advertise_deterministic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secrets_sealed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
