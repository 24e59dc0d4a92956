"""A KBS client that speaks as guest-components' `kbs_protocol` does
(attestation-agent/kbs_protocol/src/client/{rcar_client,token_client}.rs at
8246e5e), written from its source as an independent third implementation
beside the guest and the broker (P-256, Concat KDF, AES-KW and AES-GCM from
`cryptography`):

- RCAR: `POST /kbs/v0/auth` (JSON, version 0.4.0, its hash-algorithm list),
  SHA-384 unless the challenge selects another, runtime data
  `{nonce, tee-pubkey}` with the primary digest over the JCS of
  `{tee-pubkey, nonce, additional-evidence}`, `POST /kbs/v0/attest` with
  `init-data: null`; a cookie store keeps `kbs-session-id` for later requests;
- the token from `/attest` is read as `Token::new` does (claims `exp`);
- resources: the RCAR client sends its cookie; the token client sends
  `Authorization: Bearer <token>` only; a 401 body is `ErrorInformation`.

Sample evidence is kbs_protocol's sample quote `{svn, report_data}` (the
48-byte digest, standard base64), plus any `extra` members (our broker's
`measurement`)."""

import base64
import hashlib
import http.client
import json

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap

HASH_ALGORITHMS = ["sha256", "sha384", "sha512", "sm3"]


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jcs(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class Reply:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def header(self, name):
        for n, v in self.headers:
            if n.lower() == name.lower():
                return v
        return None

    def json(self):
        return json.loads(self.body)

    def error_information(self):
        """kbs_types::ErrorInformation: exactly `type` and `detail` strings."""
        info = self.json()
        assert set(info) == {"type", "detail"}, info
        assert all(isinstance(v, str) for v in info.values()), info
        return info


class TeeKey:
    """kbs_protocol's default TEE key: EC P-256 for ECDH-ES+A256KW."""

    def __init__(self):
        self.private = ec.generate_private_key(ec.SECP256R1())

    def jwk(self):
        n = self.private.public_key().public_numbers()
        return {"kty": "EC", "crv": "P-256", "alg": "ECDH-ES+A256KW",
                "x": b64url(n.x.to_bytes(32, "big")), "y": b64url(n.y.to_bytes(32, "big"))}

    def decrypt(self, response):
        """A kbs_types::Response (flattened JWE) to the plaintext."""
        header = json.loads(unb64url(response["protected"]))
        assert header["alg"] == "ECDH-ES+A256KW" and header["enc"] == "A256GCM", header
        epk = header["epk"]
        peer = ec.EllipticCurvePublicNumbers(int.from_bytes(unb64url(epk["x"]), "big"),
                                             int.from_bytes(unb64url(epk["y"]), "big"),
                                             ec.SECP256R1()).public_key()
        z = self.private.exchange(ec.ECDH(), peer)
        alg = b"ECDH-ES+A256KW"
        other = len(alg).to_bytes(4, "big") + alg + bytes(8) + (256).to_bytes(4, "big")
        kek = hashlib.sha256((1).to_bytes(4, "big") + z + other).digest()
        cek = aes_key_unwrap(kek, unb64url(response["encrypted_key"]))
        sealed = unb64url(response["ciphertext"]) + unb64url(response["tag"])
        return AESGCM(cek).decrypt(unb64url(response["iv"]), sealed, response["protected"].encode())


class KbsProtocolClient:
    def __init__(self, port, tee="sample"):
        self.port, self.tee = port, tee
        self.key = TeeKey()
        self.cookies = {}
        self.token = None

    def request(self, method, path, body=None, headers=None, cookies=True):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        h = dict(headers or {})
        if body is not None:
            h["Content-Type"] = "application/json"
        if cookies and self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn.request(method, path, body=body, headers=h)
        resp = conn.getresponse()
        reply = Reply(resp.status, resp.getheaders(), resp.read())
        conn.close()
        for name, value in reply.headers:
            if name.lower() == "set-cookie":
                pair = value.split(";")[0].strip()
                k, _, v = pair.partition("=")
                self.cookies[k] = v
        return reply

    def digest(self, nonce, additional=""):
        runtime = {"tee-pubkey": self.key.jwk(), "nonce": nonce, "additional-evidence": additional}
        return hashlib.sha384(jcs(runtime)).digest()

    def rcar_handshake(self, extra=None, report_data=None):
        """Auth + attest; returns the attest reply (token kept on 200)."""
        request = {"version": "0.4.0", "tee": self.tee,
                   "extra-params": {"supported-hash-algorithms": HASH_ALGORITHMS}}
        reply = self.request("POST", "/kbs/v0/auth", json.dumps(request))
        if reply.status != 200:
            return reply
        challenge = reply.json()
        selected = challenge["extra-params"].get("selected-hash-algorithm") \
            if isinstance(challenge["extra-params"], dict) else None
        assert selected in (None, "sha384"), challenge
        nonce = challenge["nonce"]
        digest = self.digest(nonce) if report_data is None else report_data(self.digest(nonce))
        evidence = {"svn": "1", "report_data": base64.b64encode(digest).decode()}
        evidence.update(extra or {})
        attestation = {"init-data": None,
                       "runtime-data": {"nonce": nonce, "tee-pubkey": self.key.jwk()},
                       "tee-evidence": {"primary_evidence": evidence, "additional_evidence": ""}}
        reply = self.request("POST", "/kbs/v0/attest", json.dumps(attestation))
        if reply.status == 200:
            self.token = reply.json()["token"]
            claims = json.loads(unb64url(self.token.split(".")[1]))
            assert isinstance(claims.get("exp"), int), claims  # Token::new / check_valid
        return reply

    def get_resource(self, path):
        """The RCAR client: the cookie store only."""
        return self.request("GET", f"/kbs/v0/resource/{path}")

    def get_resource_with_token(self, path, token=None):
        """The token client: `bearer_auth(token)`, no cookie."""
        return self.request("GET", f"/kbs/v0/resource/{path}",
                            headers={"Authorization": f"Bearer {token or self.token}"},
                            cookies=False)
