"""Trustee conformance (issue 13): the suite cannot download Trustee, so
tests/trustee_fake.py stands in for it, written from Trustee's source (status
codes, error bodies, cookie attributes, EAR token, JWE), and
tests/kbs_protocol_py.py speaks as guest-components' kbs_protocol client.

- The fake and that client agree (cookie and bearer paths, error bodies).
- Our broker serves that client: RCAR with the session cookie, the token
  path with `Authorization: Bearer`, and refuses missing, forged, foreign
  (Trustee's own) and expired tokens with its one 401.
- The guest gets its key from the fake under QEMU, through the same
  guestfwd relay the key-release tests use: with Trustee's Content-Length
  answers, through a proxy that re-frames them chunked, and refused (exit
  35) by Trustee's default resource policy, which denies sample evidence.

Host tools come from target/debug (E2E_HOST_BIN overrides the directory).
"""

import json
import os
import sys
import tempfile
import time

import kbs_protocol_py
import trustee_fake
from harness import ROOT, LineProcess, free_port, main, run_cmd, test

import e2e_keyrelease as kr

FAKE = os.path.join(ROOT, "tests", "trustee_fake.py")
RESOURCE = kr.RESOURCE
ERRORS = "https://github.com/confidential-containers/kbs/errors/"
BROKER_401 = {"type": ERRORS + "Unauthorized", "detail": "unauthorized"}
MEASUREMENT = "5a" * 48


def wait_port(port, proc=None, what="server"):
    import socket
    deadline = time.time() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert time.time() < deadline and (proc is None or proc.proc.poll() is None), \
                f"{what} did not start:\n" + (proc.log() if proc else "")
            time.sleep(0.1)


# --- host only: the fake, the kbs_protocol client and our broker ------------

@test
def trustee_fake_and_kbs_protocol_client_agree():
    key = os.urandom(32)
    port = free_port()
    server, kbs = trustee_fake.serve(port, {RESOURCE: key})
    try:
        c = kbs_protocol_py.KbsProtocolClient(port)
        # No session, no token: Trustee's TokenNotFound.
        r = c.get_resource(RESOURCE)
        assert r.status == 401 and r.error_information() == {
            "type": ERRORS + "TokenNotFound", "detail": "Attestation Token not found"}, r.body
        assert r.header("content-type") is None, r.headers
        r = c.rcar_handshake()
        assert r.status == 200, r.body
        # Set-Cookie carries only an Expires attribute.
        cookie = r.header("set-cookie")
        name_value, attrs = cookie.split("; ", 1)
        assert name_value.startswith("kbs-session-id=") and len(name_value) == 15 + 32, cookie
        assert attrs.startswith("Expires=") and attrs.endswith(" GMT") and ";" not in attrs, cookie
        assert r.header("content-type") == "application/json"
        assert r.header("content-length") == str(len(r.body))
        # Both resource paths open with the TEE key.
        assert c.key.decrypt(c.get_resource(RESOURCE).json()) == key
        assert kbs_protocol_py.KbsProtocolClient(port).get_resource_with_token(
            RESOURCE, c.token).status == 200
        assert c.key.decrypt(c.get_resource_with_token(RESOURCE).json()) == key
        # The EAR token: ES256, key in the header, tee-pubkey in the claims.
        header, claims = (json.loads(kbs_protocol_py.unb64url(p)) for p in c.token.split(".")[:2])
        assert header["alg"] == "ES256" and header["jwk"]["crv"] == "P-256", header
        ae = claims["submods"]["cpu0"]["ear.veraison.annotated-evidence"]
        assert ae["runtime_data_claims"]["tee-pubkey"]["x"] == c.key.jwk()["x"], claims
        # The 64-byte (SNP) form of REPORT_DATA is refused by the sample verifier.
        bad = kbs_protocol_py.KbsProtocolClient(port)
        r = bad.rcar_handshake(report_data=lambda d: d + bytes(16))
        assert r.status == 401 and r.error_information() == {
            "type": ERRORS + "AttestationError",
            "detail": "Attestation error: RCAR handshake Attest failed"}, r.body
        # Unknown plugin: the one 404; bad version: 401.
        r = c.request("GET", "/kbs/v0/nosuch/a/b")
        assert r.status == 404 and r.error_information()["type"] == ERRORS + "PluginNotFound"
        r = c.request("POST", "/kbs/v0/auth",
                      json.dumps({"version": "0.1.1", "tee": "sample", "extra-params": {}}))
        assert r.status == 401 and "Version Mismatch" in r.error_information()["detail"]
        # The default policy denies sample evidence (PolicyDeny).
        kbs.policy = "default"
        r = c.get_resource(RESOURCE)
        assert r.status == 401 and r.error_information()["type"] == ERRORS + "PolicyDeny", r.body
        kbs.policy = "allow_all"
        # Chunked re-framing (a proxy) changes nothing for the client.
        kbs.chunked = True
        assert c.key.decrypt(c.get_resource(RESOURCE).json()) == key
    finally:
        server.shutdown()


def write_manifest(d, digest):
    path = os.path.join(d, "manifest.json")
    with open(path, "w") as f:
        json.dump({"format_version": 1,
                   "launch_configurations": [{"vcpus": 1, "vcpu_type": "EPYC-v4",
                                              "guest_features": "0x1", "launch_digest": digest}],
                   "policy": {"guest_policy": "0x30000", "debug_allowed": False,
                              "migration_agent_allowed": False, "required_vmpl": 0}}, f)
    return path


class HostBroker(LineProcess):
    """keybroker serve --insecure-allow-sample on 127.0.0.1 with RESOURCE."""

    def __init__(self, d, key, extra=()):
        self.port = free_port()
        resources = os.path.join(d, f"resources-{self.port}")
        keyfile = os.path.join(d, "model.key")
        with open(keyfile, "wb") as f:
            f.write(key)
        run_cmd([kr.KB, "add-resource", "--resources", resources, "--path", RESOURCE,
                 "--file", keyfile], check=True)
        super().__init__([kr.KB, "serve", "--listen", f"127.0.0.1:{self.port}",
                          "--manifest", write_manifest(d, MEASUREMENT), "--resources", resources,
                          "--insecure-allow-sample", *extra])
        wait_port(self.port, self, "broker")


@test
def keybroker_serves_a_kbs_protocol_client():
    key = os.urandom(32)
    with tempfile.TemporaryDirectory() as d:
        broker = HostBroker(d, key)
        fake_port = free_port()
        fake, _ = trustee_fake.serve(fake_port, {RESOURCE: key})
        try:
            ours = {"measurement": MEASUREMENT}
            c = kbs_protocol_py.KbsProtocolClient(broker.port)
            r = c.rcar_handshake(extra=ours)
            assert r.status == 200, r.body
            # RCAR client: the cookie store.
            assert c.key.decrypt(c.get_resource(RESOURCE).json()) == key
            # Token client: bearer only, from a client without the cookie.
            t = kbs_protocol_py.KbsProtocolClient(broker.port)
            r = t.get_resource_with_token(RESOURCE, c.token)
            assert r.status == 200, r.body
            assert c.key.decrypt(r.json()) == key
            # Refusals, each the broker's one 401 in ErrorInformation shape.
            refusals = {
                "missing token": t.get_resource(RESOURCE),
                "forged token": t.get_resource_with_token(RESOURCE, forge(c.token)),
                "garbage token": t.get_resource_with_token(RESOURCE, "a.b.c"),
            }
            # A Trustee token (the fake's EAR token) is foreign here.
            f = kbs_protocol_py.KbsProtocolClient(fake_port)
            assert f.rcar_handshake().status == 200
            refusals["Trustee's token"] = t.get_resource_with_token(RESOURCE, f.token)
            # The 64-byte REPORT_DATA in sample evidence, as Trustee refuses it.
            padded = kbs_protocol_py.KbsProtocolClient(broker.port)
            refusals["64-byte sample report_data"] = padded.rcar_handshake(
                extra=ours, report_data=lambda dg: dg + bytes(16))
            # kbs_protocol's own sample quote has no measurement.
            refusals["no measurement"] = kbs_protocol_py.KbsProtocolClient(broker.port).rcar_handshake()
            for what, r in refusals.items():
                assert r.status == 401 and r.error_information() == BROKER_401, (what, r.body)
            # The broker logs after it answers, and its output is read by
            # another thread: wait for each line rather than read it at once.
            for reason in ("no-session", "token", "report-data", "bad-request"):
                broker.wait_for(f"REFUSED reason={reason} ", timeout=10)
            broker.wait_for("via=bearer-token", timeout=10)
        finally:
            fake.shutdown()
            broker.kill()
        # Expired: the token's exp is the session's end.
        broker = HostBroker(d, key, ["--session-ttl-secs", "1"])
        try:
            c = kbs_protocol_py.KbsProtocolClient(broker.port)
            assert c.rcar_handshake(extra={"measurement": MEASUREMENT}).status == 200
            exp = json.loads(kbs_protocol_py.unb64url(c.token.split(".")[1]))["exp"]
            while time.time() < exp:
                time.sleep(0.1)
            r = kbs_protocol_py.KbsProtocolClient(broker.port).get_resource_with_token(RESOURCE, c.token)
            assert r.status == 401 and r.error_information() == BROKER_401, r.body
            broker.wait_for("REFUSED reason=token-expired ", timeout=10)
        finally:
            broker.kill()


def forge(token):
    """The token with a later exp: the signature no longer covers it."""
    h, c, s = token.split(".")
    claims = json.loads(kbs_protocol_py.unb64url(c))
    claims["exp"] += 3600
    return f"{h}.{kbs_protocol_py.b64url(json.dumps(claims).encode())}.{s}"


# --- the guest under QEMU against the fake ----------------------------------

class Fake(LineProcess):
    """tests/trustee_fake.py as its own process, serving the model key."""

    def __init__(self, d, policy="allow_all", chunked=False):
        b = kr.built()
        self.port = free_port()
        args = [sys.executable, FAKE, "--port", str(self.port), "--policy", policy,
                "--resource", f"{RESOURCE}={os.path.join(b['dir'], 'seal', 'model.key')}"]
        super().__init__(args + (["--chunked"] if chunked else []))
        wait_port(self.port, self, "fake Trustee")


def guest_against_fake(chunked):
    b = kr.built()
    with tempfile.TemporaryDirectory() as d:
        fake = Fake(d, chunked=chunked)
        guest = kr.Guest(d, fake.port)
        try:
            guest.wait_for(kr.READY)
        finally:
            guest.kill()
            fake.kill()
        assert f"model unsealed sha384:{b['digest']}" in guest.lines, guest.log()
        kr.no_secrets(guest)
        log = fake.log(None)
        assert f"policy=allow_all chunked={chunked}" in log, log
        # The guest's sample evidence carries exactly the 48-byte digest.
        assert "attest: tee=sample report_data_len=48" in log, log
        for line in ("POST /kbs/v0/auth -> 200", "POST /kbs/v0/attest -> 200",
                     f"GET /kbs/v0/resource/{RESOURCE} -> 200 released={RESOURCE} via=cookie"):
            assert line in log, (line, log)
        assert "-> 401" not in log, log


@test
def trustee_guest_gets_the_key_from_the_fake():
    guest_against_fake(chunked=False)


@test
def trustee_guest_through_a_chunking_proxy():
    guest_against_fake(chunked=True)


@test
def trustee_guest_refused_by_the_default_policy():
    """Trustee's default resource policy denies sample evidence: the guest
    gets 401 on the resource and stops, as for any refusal."""
    with tempfile.TemporaryDirectory() as d:
        fake = Fake(d, policy="default")
        guest = kr.Guest(d, fake.port)
        try:
            code = guest.wait_exit()
        finally:
            guest.kill()
            fake.kill()
        assert code == kr.EXIT_FAIL, f"exit {code}\n{guest.log()}"
        assert kr.REFUSED in guest.lines, guest.log()
        assert not any("model unsealed" in l for l in guest.lines), guest.log()
        assert f"GET /kbs/v0/resource/{RESOURCE} -> 401 PolicyDeny" in fake.log(None), fake.log()


OWN = [name for name, value in list(globals().items())
       if callable(value) and name.startswith(("trustee_", "keybroker_serves"))]

if __name__ == "__main__":
    main(sys.argv[1:] or OWN)
