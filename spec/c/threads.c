/*
 * threads.c - the thread-safety check: N threads, each with its own
 * lua_State and its own credentials and contexts, run the same worker script
 * at once.  Built with -fsanitize=thread by `make test-threads`; any data
 * race in the core, the providers or the binding is a ThreadSanitizer report
 * and a non-zero exit.
 *
 *   threads-tsan WORKER.lua NTHREADS [ARGS...]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

int luaopen_sspi_core(lua_State *L);

typedef struct worker {
    pthread_t tid;
    int index;
    const char *script;
    int argc;
    char **argv;
    int ok;
    char message[512];
} worker;

static void *run_worker(void *arg)
{
    worker *w = arg;
    lua_State *L = luaL_newstate();
    int i, status;
    if (L == NULL) {
        snprintf(w->message, sizeof w->message, "cannot create a Lua state");
        return NULL;
    }
    luaL_openlibs(L);
    luaL_requiref(L, "sspi.core", luaopen_sspi_core, 0);
    lua_pop(L, 1);
    status = luaL_loadfile(L, w->script);
    if (status == LUA_OK) {
        lua_pushinteger(L, w->index);
        for (i = 0; i < w->argc; i++)
            lua_pushstring(L, w->argv[i]);
        status = lua_pcall(L, 1 + w->argc, 0, 0);
    }
    if (status != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        snprintf(w->message, sizeof w->message, "%s", msg ? msg : "(non-string error)");
    } else {
        w->ok = 1;
    }
    lua_close(L);
    return NULL;
}

int main(int argc, char **argv)
{
    int n, i, failures = 0;
    worker *workers;
    if (argc < 3) {
        fprintf(stderr, "usage: %s WORKER.lua NTHREADS [ARGS...]\n", argv[0]);
        return 2;
    }
    n = atoi(argv[2]);
    if (n < 1 || n > 64) {
        fprintf(stderr, "NTHREADS must be 1..64\n");
        return 2;
    }
    workers = calloc((size_t)n, sizeof *workers);
    if (workers == NULL)
        return 1;
    for (i = 0; i < n; i++) {
        workers[i].index = i + 1;
        workers[i].script = argv[1];
        workers[i].argc = argc - 3;
        workers[i].argv = argv + 3;
        if (pthread_create(&workers[i].tid, NULL, run_worker, &workers[i]) != 0) {
            fprintf(stderr, "pthread_create failed\n");
            return 1;
        }
    }
    for (i = 0; i < n; i++) {
        pthread_join(workers[i].tid, NULL);
        if (!workers[i].ok) {
            failures++;
            fprintf(stderr, "thread %d failed: %s\n", workers[i].index, workers[i].message);
        }
    }
    free(workers);
    printf("threads: %d of %d workers completed\n", n - failures, n);
    return failures ? 1 : 0;
}
