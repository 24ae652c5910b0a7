/*
 * test_audit.c - the auditor's checks as a library (protocol/audit/audit.c), over a real
 * round built in memory: a CA (tools/test-ca) certifying the six organisations, their keys
 * bound and the roster co-signed by all, a signed round, six signed submissions, the signed
 * release with its CSV, HTML and PDF renderings. Each test hands mp_audit_release the
 * documents (some altered) through an in-memory source and checks the verdict and its kind.
 */
#include "testutil.h"
#include "testworld.h"

#include "audit.h"
#include "canon.h"
#include "cert.h"
#include "encoding.h"
#include "envelope.h"
#include "keys.h"
#include "release.h"
#include "report.h"
#include "roster.h"
#include "spec.h"
#include "submission.h"

#define TEST_CA "../../tools/test-ca"
#define NOW "2026-01-15T09:00:00Z"
#define PUBLISHED "2026-02-02T10:00:00Z"
#define MAXDOCS 16

static const char *const oins[NORGS] = {"00000001001299992000", "00000001001299992001",
                                        "00000001001299992002", "00000001001299992003",
                                        "00000001001299992004", "00000001001299992005"};

static const char catalogue_json[] =
    "{\"mijlpaal_catalogue\":1,\"id\":\"t\",\"version\":1,\"title\":\"Monitor T\","
    "\"dimensions\":{\"sex\":{\"title\":\"Geslacht\",\"bands\":[{\"label\":\"man\",\"sex\":\"M\"},"
    "{\"label\":\"vrouw\",\"sex\":\"V\"},{\"label\":\"x\",\"sex\":\"X\"}]}},"
    "\"metrics\":[{\"id\":\"stand\",\"title\":\"Stand\",\"description\":\"d\","
    "\"source\":\"s\",\"kind\":\"stock\",\"spells\":[\"bijstand\"],\"breakdowns\":[\"sex\"]},"
    "{\"id\":\"werkend\",\"title\":\"Werkend\",\"description\":\"d\",\"source\":\"s\","
    "\"kind\":\"stock\",\"spells\":[\"bijstand\"],\"also_active\":[\"baan\"]}],"
    "\"rates\":[{\"id\":\"aandeel\",\"title\":\"Aandeel werkend\",\"numerator\":\"werkend\","
    "\"denominator\":\"stand\"}]}";

/* A document of the release: its name and bytes (owned). */
typedef struct doc {
    char name[64];
    char *data;
    size_t len;
} doc;

static struct world {
    char *dir;
    mp_keypair *coord, *other, *orgs[NORGS];
    mp_pubkey pubs[NORGS];
    mp_ca *ca;
    mp_roster *roster;
    mp_spec *spec;
    doc docs[MAXDOCS];
    size_t ndocs;
    uint64_t sum[16];
    mp_included inc[NORGS];
} W;

static void sh(const char *cmd)
{
    if (system(cmd) != 0)
        fail_msg("command failed: %s", cmd);
}

static char *sign(size_t *len, const char *type, const cJSON *body, const mp_keypair *kp)
{
    char *text;
    if (mp_envelope_sign(&text, len, type, body, kp) != 0)
        fail_msg("sign %s: %s", type, mp_error_get());
    return text;
}

static mp_envelope *parse(const char *text, size_t len, const char *type)
{
    mp_envelope *e;
    if (mp_envelope_parse(&e, text, len, type) != 0)
        fail_msg("parse %s: %s", type ? type : "any", mp_error_get());
    return e;
}

static void add_doc(const char *name, char *data, size_t len)
{
    assert_true(W.ndocs < MAXDOCS);
    snprintf(W.docs[W.ndocs].name, sizeof W.docs[W.ndocs].name, "%s", name);
    W.docs[W.ndocs].data = data;
    W.docs[W.ndocs].len = len;
    W.ndocs++;
}

static doc *find_doc(doc *docs, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(docs[i].name, name) == 0)
            return &docs[i];
    fail_msg("no document %s", name);
    return NULL;
}

/* The release rebuilt from a sum, signed by kp; the renderings of it. */
static char *release_of(size_t *len, const uint64_t *sum, const mp_keypair *kp)
{
    cJSON *body;
    if (mp_release_build(&body, W.spec, W.inc, W.spec->nparticipants, sum, PUBLISHED, NULL) != 0)
        fail_msg("release: %s", mp_error_get());
    char *text = sign(len, "release", body, kp);
    cJSON_Delete(body);
    return text;
}

static int group_setup(void **state)
{
    char cmd[1024];
    (void)state;
    assert_int_equal(setenv("MIJLPAAL_NOW", NOW, 1), 0);
    W.dir = tu_mkdtemp();
    snprintf(cmd, sizeof cmd, TEST_CA " init '%s' >/dev/null", W.dir);
    sh(cmd);
    for (int i = 0; i < NORGS; i++) {
        snprintf(cmd, sizeof cmd, TEST_CA " issue '%s' %s %s 'Org %s' >/dev/null", W.dir,
                 org_ids[i], oins[i], org_ids[i]);
        sh(cmd);
    }
    char *ca_pem = tu_path(W.dir, "ca.pem");
    if (mp_ca_load(&W.ca, ca_pem, NULL) != 0)
        fail_msg("ca: %s", mp_error_get());
    free(ca_pem);
    tw_keys_generate(&W.coord, W.orgs, W.pubs);
    assert_int_equal(mp_keys_generate(&W.other, "coordinator"), 0);

    /* The roster: bound, signed as a draft, co-signed by every member, agreed. */
    cJSON *draft_body, *agreed;
    mp_roster *draft;
    mp_envelope *cos[NORGS];
    size_t len;
    char *text;
    if (mp_roster_build(&draft_body, REGION, &W.coord->pub, W.pubs, NORGS) != 0)
        fail_msg("roster: %s", mp_error_get());
    for (int i = 0; i < NORGS; i++) {
        char cert[512], key[512], oin[MP_OIN_LEN + 1];
        cJSON *b = NULL;
        snprintf(cert, sizeof cert, "%s/%s.pem", W.dir, org_ids[i]);
        snprintf(key, sizeof key, "%s/%s.key", W.dir, org_ids[i]);
        if (mp_binding_sign(&b, oin, &W.pubs[i], cert, NULL, key, NULL) != 0)
            fail_msg("binding: %s", mp_error_get());
        assert_int_equal(mp_roster_bind(draft_body, org_ids[i], oin, b), 0);
        cJSON_Delete(b);
    }
    text = sign(&len, "roster", draft_body, W.coord);
    assert_int_equal(mp_roster_from_envelope(&draft, parse(text, len, "roster"), &W.coord->pub), 0);
    free(text);
    for (int i = 0; i < NORGS; i++) {
        cJSON *b;
        assert_int_equal(mp_roster_cosign_body(&b, draft, org_ids[i]), 0);
        text = sign(&len, "roster-cosign", b, W.orgs[i]);
        cos[i] = parse(text, len, "roster-cosign");
        free(text);
        cJSON_Delete(b);
    }
    if (mp_roster_agree(&agreed, draft, cos, NORGS) != 0)
        fail_msg("agree: %s", mp_error_get());
    text = sign(&len, "roster-agreed", agreed, W.coord);
    if (mp_roster_from_envelope(&W.roster, parse(text, len, NULL), &W.coord->pub) != 0)
        fail_msg("agreed roster: %s", mp_error_get());
    add_doc("roster.json", text, len);
    for (int i = 0; i < NORGS; i++)
        mp_envelope_free(cos[i]);
    mp_roster_free(draft);
    cJSON_Delete(draft_body);
    cJSON_Delete(agreed);

    /* The round. */
    cJSON *cat, *body;
    mp_spec_params p = tw_round_params("mu-2025", "4");
    assert_int_equal(mp_canon_parse(&cat, catalogue_json, sizeof catalogue_json - 1), 0);
    if (mp_spec_build(&body, &p, W.roster, cat) != 0)
        fail_msg("spec: %s", mp_error_get());
    text = sign(&len, "round", body, W.coord);
    if (mp_spec_from_envelope(&W.spec, parse(text, len, "round"), W.roster) != 0)
        fail_msg("spec load: %s", mp_error_get());
    add_doc("round.json", text, len);
    cJSON_Delete(body);
    cJSON_Delete(cat);

    /* Six submissions of small counts (unmasked: the masks would cancel in the sum anyway). */
    size_t d = W.spec->catalogue->ncells;
    assert_true(d <= 16);
    for (size_t k = 0; k < W.spec->nparticipants; k++) {
        const char *org = W.spec->participants[k];
        int i = 0;
        uint64_t vec[16];
        char name[64];
        while (strcmp(org_ids[i], org) != 0)
            i++;
        for (size_t c = 0; c < d; c++) {
            vec[c] = 40 + 3 * (uint64_t)k + c;
            W.sum[c] += vec[c];
        }
        assert_int_equal(mp_submission_build(&body, W.spec, org, vec, d), 0);
        text = sign(&len, "submission", body, W.orgs[i]);
        mp_envelope *e = parse(text, len, "submission");
        W.inc[k].org = org;
        memcpy(W.inc[k].submission_hash, e->hash, MP_HASH_BYTES);
        mp_envelope_free(e);
        snprintf(name, sizeof name, "submissions/%s.json", org);
        add_doc(name, text, len);
        cJSON_Delete(body);
    }

    /* The release and its renderings. */
    char *csv, *html, *pdf, hash[MP_HASH_HEX_BYTES];
    size_t csvlen, htmllen, pdflen;
    text = release_of(&len, W.sum, W.coord);
    mp_envelope *rel = parse(text, len, "release");
    add_doc("release.json", text, len);
    mp_hex_encode(hash, rel->hash, MP_HASH_BYTES);
    mp_series series = {0};
    mp_report_in rin = {rel->body, W.spec, W.roster, &series, hash};
    if (mp_release_csv(&csv, &csvlen, rel->body, W.spec) != 0 ||
        mp_report_html(&html, &htmllen, &rin) != 0 || mp_report_pdf(&pdf, &pdflen, &rin) != 0)
        fail_msg("renderings: %s", mp_error_get());
    add_doc("release.csv", csv, csvlen);
    add_doc("report.html", html, htmllen);
    add_doc("report.pdf", pdf, pdflen);
    mp_envelope_free(rel);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < W.ndocs; i++)
        free(W.docs[i].data);
    mp_spec_free(W.spec);
    mp_roster_free(W.roster);
    mp_ca_free(W.ca);
    tw_keys_free(W.coord, W.orgs);
    mp_keys_free(W.other);
    tu_rmdir(W.dir);
    unsetenv("MIJLPAAL_NOW");
    return 0;
}

/* ---- running the audit ------------------------------------------------------------------- */

/* A copy of the release's documents (bytes shared with W: replace, never edit in place). */
typedef struct release {
    doc d[MAXDOCS];
    size_t n;
    char *owned[4];
    size_t nowned;
} release;

static void release_copy(release *r)
{
    memset(r, 0, sizeof *r);
    memcpy(r->d, W.docs, sizeof W.docs);
    r->n = W.ndocs;
}

static void release_remove(release *r, const char *name)
{
    doc *x = find_doc(r->d, r->n, name);
    *x = r->d[--r->n];
}

/* Replace document name's bytes by a fresh copy of `data` (owned by r). */
static void release_set(release *r, const char *name, const char *data, size_t len)
{
    doc *x = find_doc(r->d, r->n, name);
    char *copy = malloc(len + 1);
    assert_non_null(copy);
    memcpy(copy, data, len);
    assert_true(r->nowned < 4);
    r->owned[r->nowned++] = copy;
    x->data = copy;
    x->len = len;
}

static void release_free(release *r)
{
    for (size_t i = 0; i < r->nowned; i++)
        free(r->owned[i]);
}

static int audit_with(release *r, const mp_pubkey *coord, mp_audit_release_report *rep)
{
    mp_audit_doc docs[MAXDOCS];
    mp_audit_docs set = {docs, r->n};
    mp_audit_source src;
    for (size_t i = 0; i < r->n; i++) {
        docs[i].name = r->d[i].name;
        docs[i].data = (const unsigned char *)r->d[i].data;
        docs[i].len = r->d[i].len;
    }
    mp_audit_source_docs(&src, &set, "rel");
    mp_error_clear();
    return mp_audit_release(&src, coord, W.ca, rep);
}

/* The audit of r is refused, with a reason mentioning needle. */
static void expect_refused_at(release *r, const mp_pubkey *coord, const char *needle, int line)
{
    mp_audit_release_report rep;
    int rc = audit_with(r, coord, &rep);
    if (rc != -1)
        fail_msg("line %d: audit returned %d, expected a refusal mentioning \"%s\"", line, rc,
                 needle);
    if (strstr(mp_error_get(), needle) == NULL)
        fail_msg("line %d: reason \"%s\" does not mention \"%s\"", line, mp_error_get(), needle);
    if (mp_error_kind_get() != MP_ERR_REFUSED)
        fail_msg("line %d: \"%s\" is not a refusal", line, mp_error_get());
    release_free(r);
}
#define expect_refused(r, coord, needle) expect_refused_at((r), (coord), (needle), __LINE__)

/* ---- tests ------------------------------------------------------------------------------- */

static void test_verifies(void **state)
{
    (void)state;
    release r;
    mp_audit_release_report rep;
    char id[2 * MP_KEY_ID_BYTES + 1];
    release_copy(&r);
    if (audit_with(&r, &W.coord->pub, &rep) != 0)
        fail_msg("audit: %s", mp_error_get());
    assert_string_equal(rep.round_id, "mu-2025");
    assert_string_equal(rep.series, "mu");
    assert_string_equal(rep.published, PUBLISHED);
    assert_int_equal(rep.submissions, NORGS);
    assert_int_equal(rep.cells, W.spec->catalogue->ncells);
    assert_int_equal(rep.masking, MP_MASKING_PAIRWISE);
    assert_true(rep.rho == 1.0 && rep.series_rho == 4.0 && rep.spent_before == 0.0);
    mp_hex_encode(id, W.coord->pub.key_id, MP_KEY_ID_BYTES);
    assert_string_equal(rep.coordinator_key_id, id);
}

static void test_missing_documents(void **state)
{
    (void)state;
    static const char *const names[] = {"roster.json",
                                        "round.json",
                                        "release.json",
                                        "release.csv",
                                        "report.html",
                                        "report.pdf",
                                        "submissions/lekstroom.json"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        release r;
        release_copy(&r);
        release_remove(&r, names[i]);
        expect_refused(&r, &W.coord->pub, names[i]);
    }
}

static void test_wrong_coordinator(void **state)
{
    (void)state;
    release r;
    release_copy(&r);
    expect_refused(&r, &W.other->pub, "roster.json");
    release_copy(&r);
    expect_refused(&r, &W.pubs[0], "roster.json");
}

static void test_submission_swapped(void **state)
{
    (void)state;
    release r;
    release_copy(&r);
    doc *uwv = find_doc(r.d, r.n, "submissions/uwv.json");
    release_set(&r, "submissions/lekstroom.json", uwv->data, uwv->len);
    expect_refused(&r, &W.coord->pub, "sha256 differs");
}

static void test_renderings_edited(void **state)
{
    (void)state;
    static const char *const names[] = {"release.csv", "report.html"};
    for (size_t i = 0; i < 2; i++) {
        release r;
        release_copy(&r);
        doc *x = find_doc(r.d, r.n, names[i]);
        release_set(&r, names[i], x->data, x->len);
        r.owned[r.nowned - 1][x->len / 2] ^= 1; /* one bit in the middle */
        expect_refused(&r, &W.coord->pub, "does not say what the signed release.json says");
    }
    release r;
    release_copy(&r);
    release_set(&r, "report.pdf", "%PDF-1.7\n%%EOF\n", 15);
    expect_refused(&r, &W.coord->pub, "report.pdf is not the PDF of this release");
}

static void test_release_edited_or_lying(void **state)
{
    (void)state;
    release r;
    /* One byte of the signed release changed: its signature no longer verifies. */
    release_copy(&r);
    doc *x = find_doc(r.d, r.n, "release.json");
    release_set(&r, "release.json", x->data, x->len);
    char *v = strstr(r.owned[0], "\"value\":");
    assert_non_null(v);
    v[8] = v[8] == '9' ? '8' : (char)(v[8] + 1);
    expect_refused(&r, &W.coord->pub, "release.json");

    /* The coordinator signs a release whose sum is not the sum of the submissions. */
    uint64_t lie[16];
    size_t len;
    memcpy(lie, W.sum, sizeof lie);
    lie[0] += 5;
    char *text = release_of(&len, lie, W.coord);
    release_copy(&r);
    release_set(&r, "release.json", text, len);
    free(text);
    expect_refused(&r, &W.coord->pub, "the published sum is not the sum of the signed submissions");

    /* A release of fewer submissions than the round's participants (pairwise-v1). */
    mp_audit_release_report rep;
    cJSON *body;
    assert_int_equal(mp_release_build(&body, W.spec, W.inc, NORGS - 1, W.sum, PUBLISHED, NULL), 0);
    text = sign(&len, "release", body, W.coord);
    cJSON_Delete(body);
    release_copy(&r);
    release_set(&r, "release.json", text, len);
    free(text);
    assert_int_equal(audit_with(&r, &W.coord->pub, &rep), -1);
    assert_non_null(strstr(mp_error_get(), "the sum cannot be opened"));
    release_free(&r);
}

/* A source that cannot read (I/O): the failure is a system error, not a verdict. */
static int broken_read(void *ctx, const char *name, size_t max, unsigned char **buf, size_t *len)
{
    (void)ctx;
    (void)max;
    (void)buf;
    (void)len;
    return mp_error_system("%s: read failed: Input/output error", name);
}

static int empty_list(void *ctx, const char *folder, char ***names, size_t *n)
{
    (void)ctx;
    (void)folder;
    *names = NULL;
    *n = 0;
    return 0;
}

static void test_system_error(void **state)
{
    (void)state;
    mp_audit_source src = {broken_read, empty_list, NULL, "rel"};
    mp_audit_release_report rep;
    assert_int_equal(mp_audit_release(&src, &W.coord->pub, W.ca, &rep), -1);
    assert_int_equal(mp_error_kind_get(), MP_ERR_SYSTEM);
    assert_int_equal(mp_error_exit_code(), 2);
    assert_non_null(strstr(mp_error_get(), "roster.json: read failed"));
}

static mp_audit_release_report verified(const char *round, const char *published, double rho,
                                        double series_rho, double spent_before)
{
    mp_audit_release_report r = {0};
    snprintf(r.round_id, sizeof r.round_id, "%s", round);
    snprintf(r.series, sizeof r.series, "mu");
    snprintf(r.published, sizeof r.published, "%s", published);
    r.rho = rho;
    r.series_rho = series_rho;
    r.spent_before = spent_before;
    return r;
}

static void test_series(void **state)
{
    (void)state;
    mp_audit_release_report v[3];
    /* Given out of order: sorted by publication, each declared what the earlier ones spent. */
    v[0] = verified("b", "2026-08-01T00:00:00Z", 1, 4, 1);
    v[1] = verified("a", "2026-02-01T00:00:00Z", 1, 4, 0);
    v[2] = verified("c", "2027-02-01T00:00:00Z", 2, 4, 2);
    assert_int_equal(mp_audit_series(v, 3), 0);
    assert_string_equal(v[0].round_id, "a");
    /* Round c declared less than was spent before it. */
    v[2] = verified("c", "2027-02-01T00:00:00Z", 2, 4, 1);
    assert_int_equal(mp_audit_series(v, 3), -1);
    assert_non_null(strstr(mp_error_get(), "declared that series mu had spent rho 1"));
    /* Over the series budget. */
    v[2] = verified("c", "2027-02-01T00:00:00Z", 3, 4, 2);
    assert_int_equal(mp_audit_series(v, 3), -1);
    assert_non_null(strstr(mp_error_get(), "over budget at round c"));
    /* One round twice. */
    v[2] = verified("a", "2027-02-01T00:00:00Z", 1, 4, 2);
    assert_int_equal(mp_audit_series(v, 3), -1);
    assert_non_null(strstr(mp_error_get(), "round a is given twice"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verifies),          cmocka_unit_test(test_missing_documents),
        cmocka_unit_test(test_wrong_coordinator), cmocka_unit_test(test_submission_swapped),
        cmocka_unit_test(test_renderings_edited), cmocka_unit_test(test_release_edited_or_lying),
        cmocka_unit_test(test_system_error),      cmocka_unit_test(test_series),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
