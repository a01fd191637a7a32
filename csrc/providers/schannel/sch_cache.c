/*
 * sch_cache.c - client session resumption, as Schannel does it: sessions
 * are cached per credential and keyed by the target name, so a second
 * context on the same credential to the same server resumes (TLS 1.2
 * session IDs or tickets, TLS 1.3 tickets).  A small fixed table under the
 * credential's lock: contexts of one credential may run in several
 * threads.  SCH_CRED_DISABLE_RECONNECTS turns it off (sch_cred.c).
 */
#include <string.h>

#include "schannel.h"

int sch_cache_new_session(SSL *ssl, SSL_SESSION *sess)
{
    sch_conn *conn = SSL_get_app_data(ssl);
    sch_cred *c;
    sch_cache_entry *slot = NULL;
    size_t i, n;
    if (conn == NULL || conn->target == NULL || !SSL_SESSION_is_resumable(sess))
        return 0; /* not kept: OpenSSL frees it */
    n = strlen(conn->target);
    if (n >= sizeof slot->target)
        return 0;
    c = conn->cred;
    pthread_mutex_lock(&c->lock);
    for (i = 0; i < SCH_CACHE_SLOTS; i++) {
        sch_cache_entry *e = &c->cache[i];
        if (e->session && strcmp(e->target, conn->target) == 0) {
            slot = e;
            break;
        }
        if (slot == NULL || (slot->session && (e->session == NULL || e->used < slot->used)))
            slot = e;
    }
    SSL_SESSION_free(slot->session); /* NULL-safe: the one it replaces */
    slot->session = sess;
    memcpy(slot->target, conn->target, n + 1);
    slot->used = ++c->clock;
    pthread_mutex_unlock(&c->lock);
    return 1; /* we hold the reference now */
}

void sch_cache_resume(sch_cred *c, SSL *ssl, const char *target)
{
    size_t i;
    if (!c->reconnects || target == NULL)
        return;
    pthread_mutex_lock(&c->lock);
    for (i = 0; i < SCH_CACHE_SLOTS; i++) {
        sch_cache_entry *e = &c->cache[i];
        if (e->session && strcmp(e->target, target) == 0) {
            /* SSL_set_session takes its own reference.  A TLS 1.3 ticket is
             * meant for one use: drop it once handed out. */
            SSL_set_session(ssl, e->session);
            e->used = ++c->clock;
            if (SSL_SESSION_get_protocol_version(e->session) >= TLS1_3_VERSION) {
                SSL_SESSION_free(e->session);
                e->session = NULL;
            }
            break;
        }
    }
    pthread_mutex_unlock(&c->lock);
}

void sch_cache_clear(sch_cred *c)
{
    size_t i;
    for (i = 0; i < SCH_CACHE_SLOTS; i++) {
        SSL_SESSION_free(c->cache[i].session);
        c->cache[i].session = NULL;
    }
}
