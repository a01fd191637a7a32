#!/usr/bin/python3
"""The python-gssapi contender (Debian's python3-gssapi, run by /usr/bin/python3).

The same work as bench/gss_raw.c, through gssapi's high-level SecurityContext:

    gss_python.py krb5|ntlm handshake SECONDS
    gss_python.py krb5|ntlm wrap SIZE SECONDS

Environment as for gss_raw (BENCH_KRB5_TARGET; BENCH_NTLM_USER,
BENCH_NTLM_PASSWORD, NTLM_USER_FILE).  Prints "ops=N secs=T bytes=B"; any
failure raises (exit status 1).  Iterations are sized by time.
"""
import os
import sys
import time

import gssapi
import gssapi.raw

NTLM_OID = gssapi.OID.from_int_seq("1.3.6.1.4.1.311.2.2.10")
FLAGS = (gssapi.RequirementFlag.mutual_authentication
         | gssapi.RequirementFlag.replay_detection
         | gssapi.RequirementFlag.out_of_sequence_detection
         | gssapi.RequirementFlag.confidentiality
         | gssapi.RequirementFlag.integrity)


def need_env(name):
    value = os.environ.get(name)
    if not value:
        sys.exit("gss_python: environment variable %s is not set" % name)
    return value


def setup(mech_name):
    if mech_name == "krb5":
        mech = gssapi.MechType.kerberos
        init_cred = gssapi.Credentials(usage="initiate", mechs=[mech])
        target = need_env("BENCH_KRB5_TARGET")
    elif mech_name == "ntlm":
        mech = NTLM_OID
        need_env("NTLM_USER_FILE")
        user = gssapi.Name(need_env("BENCH_NTLM_USER"), gssapi.NameType.user)
        password = need_env("BENCH_NTLM_PASSWORD").encode()
        acquired = gssapi.raw.acquire_cred_with_password(user, password, usage="initiate",
                                                         mechs=[mech])
        init_cred = gssapi.Credentials(base=acquired.creds)
        target = "host@localhost"
    else:
        sys.exit("gss_python: unknown mechanism " + mech_name)
    accept_cred = gssapi.Credentials(usage="accept", mechs=[mech])
    name = gssapi.Name(target, gssapi.NameType.hostbased_service)
    return mech, init_cred, accept_cred, name


def handshake(mech, init_cred, accept_cred, name):
    ictx = gssapi.SecurityContext(name=name, creds=init_cred, usage="initiate", mech=mech,
                                  flags=FLAGS)
    actx = gssapi.SecurityContext(creds=accept_cred, usage="accept")
    token = None
    for _ in range(8):
        out = ictx.step(token)
        if not out:
            break
        token = actx.step(out)
        if not token:
            break
    if not (ictx.complete and actx.complete):
        raise RuntimeError("handshake ended with a side not complete")
    return ictx, actx


def bench_handshake(peer, seconds):
    handshake(*peer)  # fetches and caches the service ticket
    ops = 0
    start = time.perf_counter()
    while True:
        handshake(*peer)
        ops += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            break
    print("ops=%d secs=%.6f bytes=0" % (ops, elapsed))


def bench_wrap(peer, size, seconds):
    ictx, actx = handshake(*peer)
    msg = bytes((i * 7 + 1) & 0xFF for i in range(size))
    for _ in range(16):
        wrapped = ictx.wrap(msg, True)
        plain = actx.unwrap(wrapped.message)
        if not (wrapped.encrypted and plain.encrypted and plain.message == msg):
            raise RuntimeError("wrap/unwrap gave back something else")
    batch = 1 if size >= 4096 else 64
    ops = 0
    start = time.perf_counter()
    while True:
        for _ in range(batch):
            wrapped = ictx.wrap(msg, True)
            plain = actx.unwrap(wrapped.message)
            if not (wrapped.encrypted and plain.encrypted and len(plain.message) == size):
                raise RuntimeError("wrap/unwrap gave back something else")
        ops += batch
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            break
    print("ops=%d secs=%.6f bytes=%d" % (ops, elapsed, size))


def main(argv):
    if len(argv) == 4 and argv[2] == "handshake":
        bench_handshake(setup(argv[1]), float(argv[3]))
    elif len(argv) == 5 and argv[2] == "wrap":
        bench_wrap(setup(argv[1]), int(argv[3]), float(argv[4]))
    else:
        sys.exit("usage: gss_python.py krb5|ntlm handshake SECONDS | "
                 "gss_python.py krb5|ntlm wrap SIZE SECONDS")


if __name__ == "__main__":
    main(sys.argv)
