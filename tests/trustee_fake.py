"""A Trustee-shaped KBS for the test suite, which cannot download or build
Trustee itself. Written from facts of Trustee's source (confidential-
containers/trustee at 78962cd, kbs/src/{api_server,error}.rs,
kbs/src/attestation/{backend,session}.rs, kbs/src/token, kbs/src/jwe,
deps/verifier/src/sample; see docs/kbs.md), configured as the
README's Trustee section runs it: sample verifier only, `insecure_http`,
`insecure_header_jwk`, `InsecureAllowAll` admin, a resource policy.

What it sends, as Trustee (actix-web) does:
- lower-case field names; JSON answers with `content-type: application/json`
  and `content-length` (or, with --chunked, re-framed chunked with a
  `Content-Type` parameter, as a proxy in between might);
- `POST /kbs/v0/auth`: `{"nonce":<base64 of 32 random bytes>,"extra-params":""}`
  and `set-cookie: kbs-session-id=<uuid simple>; Expires=<IMF-fixdate>`;
  the version must be exactly 0.4.0;
- `POST /kbs/v0/attest`: the sample verifier compares the decoded
  `report_data` with the 48-byte SHA-384 of the JCS runtime data, no
  padding; `{"token":<EAR JWT, ES256, key in the header jwk>}` and the
  cookie again; an attested session gets its old token back;
- `GET /kbs/v0/resource/<repo>/<type>/<tag>`: the session's token, else
  `Authorization: Bearer`; the token verified with its header jwk and `exp`
  (60 s leeway, jsonwebtoken's default); the resource policy; a flattened
  JWE (ECDH-ES+A256KW, A256GCM) to the token's `tee-pubkey`;
- `POST /kbs/v0/resource/<path>` (admin, raw bytes) stores a resource;
- errors: 404 only for an unknown plugin, 401 for everything else, with
  `{"type":"https://github.com/confidential-containers/kbs/errors/<Variant>","detail":"<Display>"}`
  and no content-type.

Usage: trustee_fake.py --port N [--resource PATH=FILE]... [--policy allow_all|default|deny_all]
                       [--chunked] [--session-minutes M]
Logs one line per request on stdout: `trustee-fake: <METHOD> <path> -> <status> [<variant>] ...`.
Only binds 127.0.0.1.
"""

import argparse
import base64
import email.utils
import hashlib
import json
import os
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import aes_key_wrap

ERROR_PREFIX = "https://github.com/confidential-containers/kbs/errors/"
TEES = {"az-snp-vtpm", "az-tdx-vtpm", "cca", "csv", "hygondcu", "nvidia", "nvidia-dpu", "sample",
        "sampledevice", "se", "sgx", "snp", "tdx", "tpm"}
JWT_LEEWAY = 60


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jcs(value):
    """RFC 8785 for the JSON the KBS hashes (strings, objects, no numbers)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def point_bytes(n):
    return n.to_bytes(32, "big")


def jwk_of(public_key):
    numbers = public_key.public_numbers()
    return {"crv": "P-256", "kty": "EC", "x": b64url(point_bytes(numbers.x)),
            "y": b64url(point_bytes(numbers.y))}


def public_key_of(jwk):
    x = int.from_bytes(unb64url(jwk["x"]), "big")
    y = int.from_bytes(unb64url(jwk["y"]), "big")
    return ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()


class KbsError(Exception):
    """A Trustee error: variant name (the `type` suffix), Display text, status."""

    def __init__(self, variant, detail, status=401):
        super().__init__(detail)
        self.variant, self.detail, self.status = variant, detail, status


def attestation_error(inner):
    # kbs Error::AttestationError wraps attestation::Error; its Display
    # prefixes "Attestation error: ".
    return KbsError("AttestationError", f"Attestation error: {inner}")


class Kbs:
    def __init__(self, resources, policy, chunked, session_minutes):
        self.resources = dict(resources)
        self.policy = policy
        self.chunked = chunked
        self.session_seconds = session_minutes * 60
        self.sessions = {}
        self.lock = threading.Lock()
        # The AS's ephemeral token key (EC P-256, ES256).
        self.token_key = ec.generate_private_key(ec.SECP256R1())

    # --- RCAR -------------------------------------------------------------

    def auth(self, body):
        try:
            request = json.loads(body)
            version, tee = request["version"], request["tee"]
            if tee not in TEES or not isinstance(version, str) or "extra-params" not in request:
                raise ValueError
        except (ValueError, KeyError, TypeError):
            raise attestation_error("RCAR handshake Auth failed: deserialize Request")
        if version.split("+")[0] != "0.4.0":
            raise attestation_error(
                "RCAR handshake Auth failed: KBS Client Protocol Version Mismatch: "
                f"expect =0.4.0 while the request is {version}")
        sid = uuid.uuid4().hex
        nonce = base64.b64encode(os.urandom(32)).decode()
        expires = time.time() + self.session_seconds
        with self.lock:
            self.sessions[sid] = {"tee": tee, "nonce": nonce, "expires": expires, "token": None}
        challenge = {"nonce": nonce, "extra-params": ""}
        return challenge, self.cookie(sid, expires)

    @staticmethod
    def cookie(sid, expires):
        return f"kbs-session-id={sid}; Expires={email.utils.formatdate(expires, usegmt=True)}"

    def session(self, sid):
        with self.lock:
            s = self.sessions.get(sid)
        if s is None:
            return None
        if s["expires"] < time.time():
            with self.lock:
                self.sessions.pop(sid, None)
            return None
        return s

    def attest(self, sid, body):
        failed = attestation_error("RCAR handshake Attest failed")
        if sid is None:
            raise failed
        try:
            attestation = json.loads(body)
            runtime = attestation["runtime-data"]
            nonce, tee_pubkey = runtime["nonce"], runtime["tee-pubkey"]
            evidence = attestation["tee-evidence"]
            primary, additional = evidence["primary_evidence"], evidence["additional_evidence"]
            if not isinstance(additional, str):
                raise ValueError
        except (ValueError, KeyError, TypeError):
            raise failed
        s = self.session(sid)
        if s is None:
            raise failed
        if s["token"] is not None:
            return s["token"], self.cookie(sid, s["expires"])
        if nonce != s["nonce"]:
            raise failed
        # Trustee keeps only the TeePubKey members when it hashes.
        if tee_pubkey.get("kty") == "EC":
            key = {m: tee_pubkey[m] for m in ("kty", "crv", "alg", "x", "y")}
        else:
            raise failed
        runtime_data = {"tee-pubkey": key, "nonce": nonce, "additional-evidence": additional}
        digest = hashlib.sha384(jcs(runtime_data)).digest()
        if s["tee"] != "sample":
            raise failed  # this KBS is built with the sample verifier only
        try:
            report_data = base64.b64decode(primary["report_data"], validate=True)
            svn = primary["svn"]
        except (ValueError, KeyError, TypeError):
            raise failed
        if report_data != digest:
            log("attest refused: REPORT_DATA is different from that in Sample Quote "
                f"(report_data_len={len(report_data)})")
            raise failed
        log(f"attest: tee=sample report_data_len={len(report_data)}")
        token = self.ear_token(svn, primary["report_data"], runtime_data, s["expires"])
        with self.lock:
            s["token"] = token
        return token, self.cookie(sid, s["expires"])

    def ear_token(self, svn, report_data, runtime_data, session_end):
        now = int(time.time())
        claims = {
            "eat_profile": "tag:github.com,2024:confidential-containers/Trustee",
            "iat": now,
            "exp": now + 5 * 60,
            "ear.verifier-id": {"developer": "https://confidentialcontainers.org",
                                "build": "attestation-service 0.1.0"},
            "submods": {"cpu0": {
                "ear.status": "contraindicated",
                "ear.trustworthiness-vector": {
                    "instance-identity": 0, "configuration": 2, "executables": 33,
                    "file-system": 0, "hardware": 97, "runtime-opaque": 0,
                    "storage-opaque": 0, "sourced-data": 0},
                "ear.appraisal-policy-id": "default",
                "ear.veraison.annotated-evidence": {
                    "sample": {"svn": svn, "report_data": report_data, "launch_digest": "abcde",
                               "platform_version": {"major": 1, "minor": 4}, "debug": False},
                    "init_data": None,
                    "init_data_claims": None,
                    "report_data": hashlib.sha384(jcs(runtime_data)).hexdigest(),
                    "runtime_data_claims": runtime_data,
                },
            }},
        }
        header = {"alg": "ES256", "typ": "JWT", "jwk": jwk_of(self.token_key.public_key())}
        signing_input = f"{b64url(jcs(header))}.{b64url(jcs(claims))}"
        der = self.token_key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return f"{signing_input}.{b64url(point_bytes(r) + point_bytes(s))}"

    # --- resources --------------------------------------------------------

    def verify_token(self, token):
        """insecure_header_jwk = true: the header's jwk verifies the
        signature; `exp` is required, with a 60 s leeway."""
        try:
            h, c, sig = token.split(".")
            header = json.loads(unb64url(h))
            claims = json.loads(unb64url(c))
            if header.get("alg") != "ES256":
                raise ValueError
            raw = unb64url(sig)
            if len(raw) != 64:
                raise ValueError
            der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
            public_key_of(header["jwk"]).verify(der, f"{h}.{c}".encode(), ec.ECDSA(hashes.SHA256()))
            if not isinstance(claims.get("exp"), int) or claims["exp"] + JWT_LEEWAY < time.time():
                raise ValueError
            return claims
        except Exception:
            raise KbsError("TokenVerifierError", "Token Verifier error")

    def allowed(self, claims):
        if self.policy == "allow_all":
            return True
        if self.policy == "default":
            evidence = claims.get("submods", {}).get("cpu0", {}).get("ear.veraison.annotated-evidence", {})
            return "sample" not in evidence
        return False

    def resource(self, path, sid, authorization):
        token = None
        s = self.session(sid) if sid else None
        if s is not None and s["token"] is not None:
            token = s["token"]
        elif authorization is not None:
            # actix-web-httpauth Bearer: "Bearer <token>".
            scheme, _, value = authorization.partition(" ")
            if scheme == "Bearer" and value:
                token = value
        if token is None:
            raise KbsError("TokenNotFound", "Attestation Token not found")
        claims = self.verify_token(token)
        if not self.allowed(claims):
            raise KbsError("PolicyDeny", "Access denied by policy")
        if path not in self.resources:
            raise KbsError("PluginInternalError", "Plugin internal error")
        pointers = [["tee-pubkey"],
                    ["submods", "cpu0", "ear.veraison.annotated-evidence", "runtime_data_claims",
                     "tee-pubkey"]]
        tee_key = None
        for pointer in pointers[::-1]:
            node = claims
            for step in pointer:
                node = node.get(step) if isinstance(node, dict) else None
            if node is not None:
                tee_key = node
                break
        if not tee_key or tee_key.get("alg") != "ECDH-ES+A256KW" or tee_key.get("crv") != "P-256":
            raise KbsError("JweError", "JWE failed")
        return jwe(public_key_of(tee_key), self.resources[path])


def jwe(recipient, plaintext):
    """Flattened JWE, ECDH-ES+A256KW / A256GCM, AAD = the protected string."""
    epk = ec.generate_private_key(ec.SECP256R1())
    z = epk.exchange(ec.ECDH(), recipient)
    alg = b"ECDH-ES+A256KW"
    other = len(alg).to_bytes(4, "big") + alg + bytes(4) + bytes(4) + (256).to_bytes(4, "big")
    kek = hashlib.sha256((1).to_bytes(4, "big") + z + other).digest()
    cek, iv = os.urandom(32), os.urandom(12)
    header = {"alg": "ECDH-ES+A256KW", "enc": "A256GCM", "epk": jwk_of(epk.public_key())}
    protected = b64url(json.dumps(header, separators=(",", ":")).encode())
    sealed = AESGCM(cek).encrypt(iv, plaintext, protected.encode())
    return {"protected": protected, "encrypted_key": b64url(aes_key_wrap(kek, cek)),
            "iv": b64url(iv), "ciphertext": b64url(sealed[:-16]), "tag": b64url(sealed[-16:])}


def log(line):
    print(f"trustee-fake: {line}", flush=True)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    kbs = None

    def log_message(self, *args):
        pass

    def cookie_sid(self):
        for header in self.headers.get_all("Cookie") or []:
            for pair in header.split(";"):
                name, _, value = pair.strip().partition("=")
                if name == "kbs-session-id":
                    return value
        return None

    def send(self, status, body, content_type=None, extra=()):
        reason = {200: "OK", 401: "Unauthorized", 404: "Not Found"}[status]
        head = [f"HTTP/1.1 {status} {reason}"]
        chunked = self.kbs.chunked and body
        if chunked:
            head.append("transfer-encoding: chunked")
            if content_type:
                content_type += "; charset=utf-8"
        else:
            head.append(f"content-length: {len(body)}")
        head.extend(f"{n}: {v}" for n, v in extra)
        if content_type:
            head.append(f"content-type: {content_type}")
        head.append(f"date: {email.utils.formatdate(usegmt=True)}")
        wire = ("\r\n".join(head) + "\r\n\r\n").encode()
        if chunked:
            # Small chunks with an extension, as an odd proxy might send.
            for i in range(0, len(body), 100):
                piece = body[i:i + 100]
                wire += f"{len(piece):x};p=1\r\n".encode() + piece + b"\r\n"
            wire += b"0\r\n\r\n"
        else:
            wire += body
        self.wfile.write(wire)

    def handle_kbs(self, method):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = self.path.split("?")[0]
        if not path.startswith("/kbs/v0/"):
            self.send(404, b"")
            return
        rest = path[len("/kbs/v0/"):]
        plugin, _, resource_path = rest.partition("/")
        extra, note = [], ""
        try:
            if plugin == "auth" and method == "POST":
                challenge, cookie = self.kbs.auth(body)
                status, out, ctype, extra = 200, json.dumps(challenge), "application/json", [("set-cookie", cookie)]
            elif plugin == "attest" and method == "POST":
                token, cookie = self.kbs.attest(self.cookie_sid(), body)
                status, out, ctype, extra = 200, json.dumps({"token": token}), "application/json", [("set-cookie", cookie)]
            elif plugin == "resource" and method == "POST":
                self.kbs.resources[resource_path] = body  # InsecureAllowAll admin
                status, out, ctype = 200, "", "text/xml"
            elif plugin == "resource" and method == "GET":
                via = "cookie" if self.cookie_sid() else "bearer"
                out = json.dumps(self.kbs.resource(resource_path, self.cookie_sid(),
                                                   self.headers.get("Authorization")))
                status, ctype, note = 200, "application/json", f" released={resource_path} via={via}"
            else:
                raise KbsError("PluginNotFound", f"Plugin {plugin} not found", 404)
        except KbsError as e:
            status, ctype = e.status, None
            out = json.dumps({"type": ERROR_PREFIX + e.variant, "detail": e.detail}, separators=(",", ":"))
            note = f" {e.variant}"
        log(f"{method} {path} -> {status}{note}")
        self.send(status, out.encode(), ctype, extra)

    def do_GET(self):
        self.handle_kbs("GET")

    def do_POST(self):
        self.handle_kbs("POST")


def serve(port, resources, policy="allow_all", chunked=False, session_minutes=5):
    """Starts the fake in a thread; returns (server, kbs)."""
    kbs = Kbs(resources, policy, chunked, session_minutes)
    handler = type("BoundHandler", (Handler,), {"kbs": kbs})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, kbs


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--resource", action="append", default=[], metavar="PATH=FILE")
    p.add_argument("--policy", choices=["allow_all", "default", "deny_all"], default="allow_all")
    p.add_argument("--chunked", action="store_true")
    p.add_argument("--session-minutes", type=float, default=5)
    a = p.parse_args()
    resources = {}
    for item in a.resource:
        path, _, file = item.partition("=")
        resources[path] = open(file, "rb").read()
    server, _ = serve(a.port, resources, a.policy, a.chunked, a.session_minutes)
    log(f"listening on 127.0.0.1:{server.server_address[1]} policy={a.policy} chunked={a.chunked}")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
