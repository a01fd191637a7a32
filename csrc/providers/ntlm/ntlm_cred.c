/*
 * ntlm_cred.c - NTLM credentials: the initiator's identity (user, domain,
 * NT and LM hashes: the password itself is hashed at acquisition and never
 * kept), the acceptor's user store (a user file loaded at acquisition, or
 * the host's lookup function), and the per-credential settings
 * (LM_COMPAT_LEVEL, timestamp window, NetBIOS names).
 *
 * User files hold "DOMAIN:USER:PASSWORD" lines (the NTLM_USER_FILE format
 * of gss-ntlmssp) or smbpasswd lines "USER:UID:LMHASH:NTHASH:FLAGS:LCT:"
 * (which pyspnego also reads); '#' starts a comment line.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "ntlm.h"

#define USER_FILE_MAX (16u << 20)

static void user_clear(const sspi_allocator *a, sspi_ntlm_user *u)
{
    sspi_mem_strfree(a, &u->user);
    sspi_mem_strfree(a, &u->domain);
    OPENSSL_cleanse(u->nt_hash, sizeof u->nt_hash);
    OPENSSL_cleanse(u->lm_hash, sizeof u->lm_hash);
    u->has_lm = 0;
}

static int hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

static int parse_hex16(const char *s, size_t len, unsigned char out[16])
{
    size_t i;
    if (len != 32)
        return -1;
    for (i = 0; i < 16; i++) {
        int hi = hex_value((unsigned char)s[2 * i]), lo = hex_value((unsigned char)s[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            OPENSSL_cleanse(out, 16); /* the bytes parsed so far are a hash's */
            return -1;
        }
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

static char *dup_n(const sspi_allocator *a, const char *s, size_t n)
{
    char *p = sspi_mem_alloc(a, n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* The account flags of an smbpasswd line, "[UX         ]": the letters
 * Samba's pdb_decode_acct_ctrl knows that change who may log on. */
static unsigned smbpasswd_flags(const char *s, size_t n)
{
    unsigned acct = 0;
    size_t i;
    if (n < 2 || s[0] != '[')
        return 0;
    for (i = 1; i < n && s[i] != ']'; i++) {
        switch (s[i]) {
        case 'D': acct |= NTLM_ACCT_DISABLED; break;
        case 'L': acct |= NTLM_ACCT_LOCKED; break;
        case 'W': case 'S': case 'I': acct |= NTLM_ACCT_TRUST; break;
        case 'N': acct |= NTLM_ACCT_NOPASS; break;
        default: break; /* U (normal user), X (no expiry), H, T, M, ' ' */
        }
    }
    return acct;
}

/* One line into *u: 1 parsed, 0 skipped (comment, blank, no usable hash),
 * -1 malformed, -2 out of memory. */
static int parse_line(const sspi_allocator *a, const char *line, size_t n, sspi_ntlm_user *u)
{
    const char *f[6];
    size_t fl[6], count = 0, i, start = 0;
    memset(u, 0, sizeof *u);
    if (n == 0 || line[0] == '#')
        return 0;
    for (i = 0; i <= n && count < 6; i++) {
        if (i == n || line[i] == ':') {
            f[count] = line + start;
            fl[count] = i - start;
            count++;
            start = i + 1;
        }
    }
    if (count < 3)
        return -1;
    /* smbpasswd: USER:UID:LM:NT:FLAGS:... with a numeric uid and hex (or X) hashes. */
    if (count >= 4 && fl[1] > 0 && fl[3] == 32) {
        int numeric = 1;
        for (i = 0; i < fl[1]; i++)
            numeric = numeric && isdigit((unsigned char)f[1][i]);
        if (numeric) {
            u->acct = count >= 5 ? smbpasswd_flags(f[4], fl[4]) : 0;
            if (u->acct & NTLM_ACCT_NOPASS) {
                /* Samba's "no password" account: the blank password's hash. */
                if (sspi_ntlm_ntowfv1(a, "", 0, u->nt_hash) != 0)
                    return -1;
            } else if (parse_hex16(f[3], fl[3], u->nt_hash) != 0) {
                return 0; /* "XXXX...": an account without password */
            } else {
                u->has_lm = parse_hex16(f[2], fl[2], u->lm_hash) == 0;
            }
            u->user = dup_n(a, f[0], fl[0]);
            u->domain = dup_n(a, "", 0);
            if (!u->user || !u->domain) {
                user_clear(a, u);
                return -2;
            }
            return 1;
        }
    }
    /* DOMAIN:USER:PASSWORD, the password running to the end of the line. */
    {
        const char *pw = f[2];
        size_t pwl = n - (size_t)(pw - line);
        int lm;
        if (sspi_ntlm_ntowfv1(a, pw, pwl, u->nt_hash) != 0)
            return -1;
        lm = sspi_ntlm_lmowfv1(pw, pwl, u->lm_hash);
        if (lm < 0) {
            OPENSSL_cleanse(u, sizeof *u);
            return -1;
        }
        u->has_lm = lm;
        u->domain = dup_n(a, f[0], fl[0]);
        u->user = dup_n(a, f[1], fl[1]);
        if (!u->user || !u->domain) {
            user_clear(a, u);
            return -2;
        }
        return 1;
    }
}

static sspi_status read_file(const sspi_allocator *a, const char *path, char **out, size_t *len,
                             sspi_error *err)
{
    FILE *fp = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0;
    *out = NULL;
    *len = 0;
    if (fp == NULL)
        return sspi_error_set(err, SEC_E_NO_CREDENTIALS, "NTLM: cannot open the user file %s: %s",
                              path, strerror(errno));
    /* Unbuffered: stdio's own buffer would hold the passwords too, and
     * fclose frees it without wiping.  fread then reads straight into buf. */
    setvbuf(fp, NULL, _IONBF, 0);
    for (;;) {
        size_t got;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 4096;
            char *nb;
            if (ncap > USER_FILE_MAX) {
                sspi_mem_free(a, buf, cap);
                fclose(fp);
                return sspi_error_set(err, SEC_E_NO_CREDENTIALS,
                                      "NTLM: the user file %s is larger than %u bytes", path,
                                      USER_FILE_MAX);
            }
            nb = sspi_mem_alloc(a, ncap);
            if (nb == NULL) {
                sspi_mem_free(a, buf, cap);
                fclose(fp);
                return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "NTLM: out of memory");
            }
            if (n)
                memcpy(nb, buf, n);
            sspi_mem_free(a, buf, cap); /* wiped: it holds passwords */
            buf = nb;
            cap = ncap;
        }
        got = fread(buf + n, 1, cap - n, fp);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(fp)) {
        sspi_mem_free(a, buf, cap);
        fclose(fp);
        return sspi_error_set(err, SEC_E_NO_CREDENTIALS, "NTLM: cannot read the user file %s",
                              path);
    }
    fclose(fp);
    *out = buf;
    *len = cap;
    /* The caller gets the capacity in *len for freeing; the text ends at n. */
    if (n < cap)
        buf[n] = '\0';
    else {
        /* Full to the byte: grow by one for the terminator. */
        char *nb = sspi_mem_alloc(a, cap + 1);
        if (nb == NULL) {
            sspi_mem_free(a, buf, cap);
            *out = NULL;
            return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "NTLM: out of memory");
        }
        memcpy(nb, buf, n);
        nb[n] = '\0';
        sspi_mem_free(a, buf, cap);
        *out = nb;
        *len = cap + 1;
    }
    return SEC_E_OK;
}

static sspi_status load_users(sspi_credential *cred, sspi_ntlm_cred *c, const char *path,
                              sspi_error *err)
{
    const sspi_allocator *a = &cred->alloc;
    char *text = NULL;
    size_t cap = 0, at = 0, lineno = 0;
    sspi_status st = read_file(a, path, &text, &cap, err);
    if (st != SEC_E_OK)
        return st;
    while (text[at] != '\0') {
        size_t end = at, n;
        sspi_ntlm_user u;
        int r;
        while (text[end] != '\0' && text[end] != '\n')
            end++;
        n = end - at;
        if (n > 0 && text[at + n - 1] == '\r')
            n--;
        lineno++;
        r = parse_line(a, text + at, n, &u);
        if (r < 0) {
            OPENSSL_cleanse(&u, sizeof u);
            st = r == -2 ? sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "NTLM: out of memory")
                         : sspi_error_set(err, SEC_E_NO_CREDENTIALS,
                                          "NTLM: the user file %s, line %zu, is neither "
                                          "DOMAIN:USER:PASSWORD nor an smbpasswd line",
                                          path, lineno);
            goto done;
        }
        if (r == 1) {
            sspi_ntlm_user *grown = sspi_mem_alloc(a, (c->user_count + 1) * sizeof *grown);
            if (grown == NULL) {
                user_clear(a, &u);
                OPENSSL_cleanse(&u, sizeof u);
                st = sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "NTLM: out of memory");
                goto done;
            }
            if (c->user_count)
                memcpy(grown, c->users, c->user_count * sizeof *grown);
            sspi_mem_free(a, c->users, c->user_count * sizeof *grown);
            grown[c->user_count++] = u;
            c->users = grown;
        }
        /* The stack copy holds the hashes too (the list has its own). */
        OPENSSL_cleanse(&u, sizeof u);
        at = text[end] ? end + 1 : end;
    }
done:
    sspi_mem_free(a, text, cap);
    return st;
}

/* The NetBIOS form of the host name: first label, upper case, 15 chars. */
static char *netbios_name(const sspi_allocator *a, const char *host)
{
    size_t n = strcspn(host, "."), i;
    char *s;
    if (n > 15)
        n = 15;
    s = dup_n(a, host, n);
    for (i = 0; s && i < n; i++)
        s[i] = (char)toupper((unsigned char)s[i]);
    return s;
}

static sspi_status set_names(sspi_credential *cred, sspi_ntlm_cred *c,
                             const sspi_cred_options *opts, sspi_error *err)
{
    const sspi_allocator *a = &cred->alloc;
    char host[256];
    const char *env = getenv("NETBIOS_COMPUTER_NAME");
    const char *dot;
    int ok = 1;
    if (gethostname(host, sizeof host) != 0 || host[0] == '\0')
        strcpy(host, "localhost");
    host[sizeof host - 1] = '\0';
    if (opts->workstation)
        c->workstation = sspi_mem_strdup(a, opts->workstation, &ok);
    else if (env && *env)
        c->workstation = sspi_mem_strdup(a, env, &ok);
    else
        c->workstation = netbios_name(a, host);
    c->computer = (env && *env) ? netbios_name(a, env) : netbios_name(a, host);
    c->dns_computer = sspi_mem_strdup(a, host, &ok);
    dot = strchr(host, '.');
    c->dns_domain = sspi_mem_strdup(a, dot ? dot + 1 : "", &ok);
    if (!ok || !c->workstation || !c->computer || !c->dns_computer || !c->dns_domain)
        return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "NTLM: out of memory");
    return SEC_E_OK;
}

/* "DOMAIN\user" or a UPN "user@realm" (which NTLM sends whole, with an
 * empty domain: MS-NLMP 3.1.5.1.2) or a bare "user". */
static sspi_status split_username(const sspi_allocator *a, const char *name, sspi_ntlm_user *u,
                                  sspi_error *err)
{
    const char *bs = strchr(name, '\\');
    if (bs) {
        u->domain = dup_n(a, name, (size_t)(bs - name));
        u->user = dup_n(a, bs + 1, strlen(bs + 1));
    } else {
        u->domain = dup_n(a, "", 0);
        u->user = dup_n(a, name, strlen(name));
    }
    if (!u->domain || !u->user)
        return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "NTLM: out of memory");
    return SEC_E_OK;
}

/* LM_COMPAT_LEVEL (gss-ntlmssp's variable) lowers or raises the level
 * when the credential gives none; the default, 5, sends NTLMv2 and accepts
 * only NTLMv2 (docs/security.md). */
static int lm_level_from_env(void)
{
    const char *s = getenv("LM_COMPAT_LEVEL");
    if (s && s[0] >= '0' && s[0] <= '5' && s[1] == '\0')
        return s[0] - '0';
    return 5;
}

static sspi_status set_target_names(sspi_credential *cred, sspi_ntlm_cred *c,
                                    const sspi_cred_options *opts, sspi_error *err)
{
    const sspi_allocator *a = &cred->alloc;
    size_t i;
    int ok = 1;
    if (opts->target_name_count == 0)
        return SEC_E_OK;
    c->target_names = sspi_mem_alloc(a, opts->target_name_count * sizeof *c->target_names);
    if (c->target_names == NULL)
        return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "NTLM: out of memory");
    for (i = 0; i < opts->target_name_count; i++) {
        c->target_names[i] = sspi_mem_strdup(a, opts->target_names[i], &ok);
        c->target_name_count = i + 1;
        if (!ok)
            return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "NTLM: out of memory");
    }
    return SEC_E_OK;
}

static sspi_status set_identity(sspi_credential *cred, sspi_ntlm_cred *c,
                                const sspi_cred_options *opts, sspi_error *err)
{
    const sspi_allocator *a = &cred->alloc;
    sspi_status st;
    size_t i;
    if (opts->username == NULL) {
        if (opts->password || opts->nt_hash)
            return sspi_error_set(err, SEC_E_INVALID_PARAMETER,
                                  "NTLM: a password or nt_hash needs a username");
        if (c->user_count == 0)
            return sspi_error_set(err, SEC_E_NO_CREDENTIALS,
                                  "NTLM: no identity for an outbound credential: give a "
                                  "username (\"DOMAIN\\\\user\" or \"user@realm\", \"\" for "
                                  "anonymous) with a password or nt_hash, or a user_file / "
                                  "NTLM_USER_FILE");
        c->self = c->users[0]; /* take a copy that owns its strings */
        c->self.user = sspi_mem_strdup(a, c->users[0].user, &(int){1});
        c->self.domain = sspi_mem_strdup(a, c->users[0].domain, &(int){1});
        if (!c->self.user || !c->self.domain)
            return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "NTLM: out of memory");
    } else {
        st = split_username(a, opts->username, &c->self, err);
        if (st != SEC_E_OK)
            return st;
        if (c->self.user[0] == '\0' && c->self.domain[0] == '\0') {
            c->anonymous = 1;
            c->has_identity = 1;
            return SEC_E_OK;
        }
        if (opts->nt_hash) {
            memcpy(c->self.nt_hash, opts->nt_hash, 16);
        } else if (opts->password) {
            int lm;
            if (sspi_ntlm_ntowfv1(a, opts->password, opts->password_len, c->self.nt_hash) != 0)
                return sspi_error_set(err, SEC_E_INVALID_PARAMETER,
                                      "NTLM: the password is not valid UTF-8");
            lm = sspi_ntlm_lmowfv1(opts->password, opts->password_len, c->self.lm_hash);
            if (lm < 0)
                return sspi_error_set(err, SEC_E_INTERNAL_ERROR, "NTLM: LM hash failed");
            c->self.has_lm = lm;
        } else {
            for (i = 0; i < c->user_count; i++)
                if (sspi_ntlm_name_equal(c->users[i].user, c->self.user) &&
                    (c->self.domain[0] == '\0' ||
                     sspi_ntlm_name_equal(c->users[i].domain, c->self.domain)))
                    break;
            if (i == c->user_count)
                return sspi_error_set(err, SEC_E_NO_CREDENTIALS,
                                      "NTLM: no password for %s: give password or nt_hash, or "
                                      "list the user in the user file",
                                      opts->username);
            memcpy(c->self.nt_hash, c->users[i].nt_hash, 16);
            memcpy(c->self.lm_hash, c->users[i].lm_hash, 16);
            c->self.has_lm = c->users[i].has_lm;
        }
    }
    if (sspi_ntlm_ntowfv2(a, c->self.nt_hash, c->self.user, c->self.domain, c->ntowfv2) != 0)
        return sspi_error_set(err, SEC_E_INVALID_PARAMETER, "NTLM: the user name is not UTF-8");
    c->has_identity = 1;
    return SEC_E_OK;
}

sspi_status sspi_ntlm_acquire(sspi_credential *cred, const sspi_cred_options *opts,
                              sspi_error *err)
{
    const sspi_allocator *a = &cred->alloc;
    sspi_ntlm_cred *c;
    const char *file = opts->user_file ? opts->user_file : getenv("NTLM_USER_FILE");
    sspi_status st = sspi_ntlm_crypto_ready(err);
    if (st != SEC_E_OK)
        return st;
    if (opts->lm_compat_level < -1 || opts->lm_compat_level > 5)
        return sspi_error_set(err, SEC_E_INVALID_PARAMETER,
                              "NTLM: lm_compat_level %d is outside 0..5", opts->lm_compat_level);
    if (opts->timestamp_window < 0)
        return sspi_error_set(err, SEC_E_INVALID_PARAMETER,
                              "NTLM: timestamp_window %ld is negative", opts->timestamp_window);
    c = sspi_mem_alloc(a, sizeof *c);
    if (c == NULL)
        return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "NTLM: out of memory");
    memset(c, 0, sizeof *c);
    cred->impl = c;
    if (pthread_mutex_init(&c->lock, NULL) != 0)
        return sspi_error_set(err, SEC_E_INSUFFICIENT_MEMORY, "NTLM: cannot create a lock");
    c->lock_ready = 1;
    c->lm_compat_level = opts->lm_compat_level >= 0 ? opts->lm_compat_level : lm_level_from_env();
    c->timestamp_window = opts->timestamp_window ? opts->timestamp_window : 300;
    c->allow_blank_passwords = opts->allow_blank_passwords != 0;
    st = set_target_names(cred, c, opts, err);
    if (st != SEC_E_OK)
        return st;
    st = set_names(cred, c, opts, err);
    if (st != SEC_E_OK)
        return st;
    /* An explicit user file must load; NTLM_USER_FILE only when it is needed. */
    if (file && *file && (opts->user_file || (cred->usage & SSPI_CRED_INBOUND) ||
                          (opts->username == NULL && !opts->lookup) ||
                          (opts->username && !opts->password && !opts->nt_hash))) {
        st = load_users(cred, c, file, err);
        if (st != SEC_E_OK)
            return st;
    }
    if (cred->usage & SSPI_CRED_OUTBOUND) {
        st = set_identity(cred, c, opts, err);
        if (st != SEC_E_OK)
            return st;
    }
    return SEC_E_OK;
}

void sspi_ntlm_free_cred(sspi_credential *cred)
{
    const sspi_allocator *a = &cred->alloc;
    sspi_ntlm_cred *c = cred->impl;
    size_t i;
    if (c == NULL)
        return;
    user_clear(a, &c->self);
    for (i = 0; i < c->user_count; i++)
        user_clear(a, &c->users[i]);
    sspi_mem_free(a, c->users, c->user_count * sizeof *c->users);
    sspi_mem_strfree(a, &c->workstation);
    sspi_mem_strfree(a, &c->computer);
    sspi_mem_strfree(a, &c->dns_computer);
    sspi_mem_strfree(a, &c->dns_domain);
    for (i = 0; i < c->target_name_count; i++)
        sspi_mem_strfree(a, &c->target_names[i]);
    sspi_mem_free(a, c->target_names, c->target_name_count * sizeof *c->target_names);
    if (c->lock_ready)
        pthread_mutex_destroy(&c->lock);
    sspi_mem_free(a, c, sizeof *c); /* wipes ntowfv2 with the rest */
    cred->impl = NULL;
}

/* Whether the client's domain names this entry's: equal, or for a
 * domain-less (smbpasswd) entry none at all or this server's own name. */
static int domain_matches(const sspi_ntlm_cred *c, const sspi_ntlm_user *u, const char *domain)
{
    if (u->domain[0] == '\0')
        return domain[0] == '\0' || sspi_ntlm_name_equal(domain, c->computer) ||
               sspi_ntlm_name_equal(domain, c->dns_computer);
    return domain[0] == '\0' || sspi_ntlm_name_equal(u->domain, domain);
}

int sspi_ntlm_find_user(sspi_credential *cred, const sspi_step_in *in, const char *user,
                        const char *domain,
                        sspi_ntlm_account *acct, sspi_status *st, sspi_error *err)
{
    sspi_ntlm_cred *c = cred->impl;
    size_t i;
    memset(acct, 0, sizeof *acct);
    *st = SEC_E_OK;
    if (in->lookup) {
        int r;
        sspi_error why;
        sspi_error_clear(&why);
        r = in->lookup(in->lookup_ud, user, domain, acct->nt_hash, &why);
        if (r < 0) {
            *st = sspi_error_set(err, why.status && !SSPI_SUCCESS(why.status) ? why.status
                                                                               : SEC_E_INTERNAL_ERROR,
                                 "NTLM: the lookup function failed: %s",
                                 why.message[0] ? why.message : "(no message)");
            return -1;
        }
        acct->user = user;
        acct->domain = domain;
        return r > 0 ? 1 : 0;
    }
    for (i = 0; i < c->user_count; i++) {
        const sspi_ntlm_user *u = &c->users[i];
        if (!sspi_ntlm_name_equal(u->user, user) || !domain_matches(c, u, domain))
            continue;
        memcpy(acct->nt_hash, u->nt_hash, 16);
        memcpy(acct->lm_hash, u->lm_hash, 16);
        acct->has_lm = u->has_lm;
        acct->user = u->user;
        acct->domain = u->domain;
        acct->acct = u->acct;
        return 1;
    }
    return 0;
}

void sspi_ntlm_pending_add(sspi_credential *cred, sspi_ntlm_ctx *ctx)
{
    sspi_ntlm_cred *c = cred->impl;
    if (ctx->pending)
        return;
    pthread_mutex_lock(&c->lock);
    ctx->pending_next = c->pending;
    c->pending = ctx;
    ctx->pending = 1;
    pthread_mutex_unlock(&c->lock);
}

void sspi_ntlm_pending_remove(sspi_credential *cred, sspi_ntlm_ctx *ctx)
{
    sspi_ntlm_cred *c = cred->impl;
    sspi_ntlm_ctx **at;
    if (!ctx->pending)
        return;
    pthread_mutex_lock(&c->lock);
    for (at = &c->pending; *at; at = &(*at)->pending_next) {
        if (*at == ctx) {
            *at = ctx->pending_next;
            break;
        }
    }
    ctx->pending_next = NULL;
    ctx->pending = 0;
    pthread_mutex_unlock(&c->lock);
}

int sspi_ntlm_pending_issued(sspi_credential *cred, const unsigned char server_challenge[8])
{
    sspi_ntlm_cred *c = cred->impl;
    const sspi_ntlm_ctx *p;
    int found = 0;
    pthread_mutex_lock(&c->lock);
    for (p = c->pending; p; p = p->pending_next)
        found |= CRYPTO_memcmp(p->server_challenge, server_challenge, 8) == 0;
    pthread_mutex_unlock(&c->lock);
    return found;
}
