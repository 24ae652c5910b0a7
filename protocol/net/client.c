/* client.c - see client.h. */
#include "client.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct mp_client {
    CURL *curl;
    char *base;
    int attempts;
};

typedef struct sink {
    char *buf;
    size_t len;
    int over;
} sink;

static size_t on_data(char *ptr, size_t size, size_t n, void *arg)
{
    sink *s = arg;
    size_t add = size * n;
    if (s->len + add > MP_CLIENT_MAX_BODY) {
        s->over = 1;
        return 0; /* aborts the transfer */
    }
    char *b = realloc(s->buf, s->len + add + 1);
    if (b == NULL)
        return 0;
    memcpy(b + s->len, ptr, add);
    s->buf = b;
    s->len += add;
    s->buf[s->len] = '\0';
    return add;
}

int mp_client_new(mp_client **out, const char *base_url, const char *cert_file,
                  const char *key_file, const char *ca_file, int attempts)
{
    static int global;
    mp_client *c;
    if (strncmp(base_url, "https://", 8) != 0)
        return mp_error_set("%s: the server URL must start with https://", base_url);
    if (!global) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return mp_error_set("libcurl failed to initialise");
        global = 1;
    }
    if ((c = calloc(1, sizeof *c)) == NULL || (c->base = strdup(base_url)) == NULL ||
        (c->curl = curl_easy_init()) == NULL) {
        if (c)
            free(c->base);
        free(c);
        return mp_error_system("out of memory");
    }
    size_t n = strlen(c->base);
    while (n > 8 && c->base[n - 1] == '/')
        c->base[--n] = '\0';
    c->attempts = attempts > 0 ? attempts : 1;
    CURL *h = c->curl;
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(h, CURLOPT_SSLCERT, cert_file);
    curl_easy_setopt(h, CURLOPT_SSLKEY, key_file);
    curl_easy_setopt(h, CURLOPT_CAINFO, ca_file);
    curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "mijlpaal-contributor");
    *out = c;
    return 0;
}

void mp_client_free(mp_client *c)
{
    if (c == NULL)
        return;
    curl_easy_cleanup(c->curl);
    free(c->base);
    free(c);
}

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

int mp_client_request(mp_client *c, const char *path, const char *body, size_t len, long *status,
                      char **resp, size_t *resp_len)
{
    char url[2048];
    long delay = 250;
    struct curl_slist *hdr = NULL;
    snprintf(url, sizeof url, "%s%s", c->base, path);
    if (body != NULL)
        hdr = curl_slist_append(NULL, "Content-Type: application/json");
    for (int attempt = 1;; attempt++) {
        sink s = {0};
        char why[CURL_ERROR_SIZE + 64] = "", errbuf[CURL_ERROR_SIZE] = "";
        curl_off_t retry_after = 0;
        long code = 0;
        CURL *h = c->curl;
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
        if (body != NULL) {
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
            curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
        } else {
            curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
            curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
        }
        CURLcode rc = curl_easy_perform(h);
        if (rc == CURLE_OK) {
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
            if (code < 500 && code != 429) {
                curl_slist_free_all(hdr);
                *status = code;
                *resp = s.buf ? s.buf : calloc(1, 1);
                *resp_len = s.len;
                return *resp ? 0 : mp_error_system("out of memory");
            }
            curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &retry_after);
            snprintf(why, sizeof why, "HTTP %ld", code);
        } else if (s.over) {
            snprintf(why, sizeof why, "the answer is larger than %u bytes", MP_CLIENT_MAX_BODY);
        } else {
            snprintf(why, sizeof why, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
        }
        free(s.buf);
        if (attempt >= c->attempts || s.over) {
            curl_slist_free_all(hdr);
            return mp_error_set("%s: no answer after %d attempt(s): %s", url, attempt, why);
        }
        long wait = delay + (long)randombytes_uniform((uint32_t)(delay / 2 + 1));
        if (retry_after > 0)
            wait = retry_after > 60 ? 60000 : (long)retry_after * 1000;
        fprintf(stderr, "mijlpaal-contributor: %s %s: %s; retry %d/%d in %.1f s\n",
                body ? "POST" : "GET", path, why, attempt, c->attempts - 1, (double)wait / 1000);
        pause_ms(wait);
        delay = delay * 2 > 30000 ? 30000 : delay * 2;
    }
}

void mp_client_error_of(const char *resp, char *code, size_t code_cap, char *reason,
                        size_t reason_cap)
{
    code[0] = reason[0] = '\0';
    cJSON *j = resp ? cJSON_Parse(resp) : NULL;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error"),
                *r = cJSON_GetObjectItemCaseSensitive(j, "reason");
    if (cJSON_IsString(e))
        snprintf(code, code_cap, "%s", e->valuestring);
    if (cJSON_IsString(r))
        snprintf(reason, reason_cap, "%s", r->valuestring);
    cJSON_Delete(j);
}
