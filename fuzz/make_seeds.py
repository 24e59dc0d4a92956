#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/corpus/<target>/ from test vectors and
fixtures already in the repository (and ../shared/testdata/snp if present).
Re-run after changing a format; libFuzzer adds what it finds to the same
folders during a run, but only these seeds are committed."""
import base64
import hashlib
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SNP = os.path.join(ROOT, "..", "shared", "testdata", "snp")


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def e820(entries):
    return b"".join(struct.pack("<QQI", a, n, k) for a, n, k in entries)


MIB, GIB = 1 << 20, 1 << 30
kvm = (0xFEFF_C000, 0x4000, 2)
put("memory_map", "q35_256m", e820([(0, 256 * MIB, 1)]))
put("memory_map", "q35_1g_kvm", e820([(0, GIB, 1), kvm]))
put("memory_map", "q35_4g_high", e820([(0, 2 * GIB, 1), (1 << 32, 2 * GIB, 1), kvm]))
put("memory_map", "ram_overlap", e820([(0, GIB, 1), (GIB // 2, GIB, 1)]))

# common/appliance-config/tests/parse.rs GOOD
good = {"listen_port": 8080, "kbs": {"host": "10.0.2.2", "port": 8081},
        "resource_path": "default/model/key", "log_level": "debug"}
put("appliance_config", "good", json.dumps(good, indent=2))
put("appliance_config", "minimal", json.dumps({"listen_port": 8080}))
put("appliance_config", "nested_array", '[8080, {"host": "10.0.2.2", "port": 8081}, "a/b/c"]')

# embed-engine: the test MLP blob (40 KB) and its header alone
with open(os.path.join(ROOT, "host/model-tools/testdata/digits_mlp.bin"), "rb") as f:
    blob = f.read()
put("embed_blob", "digits_mlp", blob)
put("embed_blob", "header_only", blob[:128])

# model-seal: sealed under the target's fixed key (0x42 * 32)
def seal(plain, chunk, prefix=b"\x01" * 8):
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    count = (len(plain) + chunk - 1) // chunk
    h = b"AMODSEAL" + struct.pack("<HHIQQ", 1, 0, chunk, count, len(plain))
    h += prefix + hashlib.sha384(plain).digest()
    digest = hashlib.sha384(h).digest()
    out = bytearray(h)
    aes = AESGCM(b"\x42" * 32)
    for i in range(count):
        part = plain[i * chunk:(i + 1) * chunk]
        aad = digest + struct.pack("<Q", i) + bytes([i + 1 == count])
        out += aes.encrypt(prefix + struct.pack(">I", i), part, aad)
    return bytes(out)


try:
    put("model_seal", "three_chunks", seal(bytes(range(40)), 16))
    put("model_seal", "one_chunk", seal(b"model", 64))
except ImportError:
    print("python3 cryptography missing: model_seal seeds skipped", file=sys.stderr)
put("model_seal", "header_only", seal_header := b"AMODSEAL" + struct.pack("<HHIQQ", 1, 0, 16, 1, 5) + b"\0" * 56)

# jwe: the KBS protected header (common/jwe/tests/vectors.rs HEADER_EPK_G)
prot = ("eyJhbGciOiJFQ0RILUVTK0EyNTZLVyIsImVuYyI6IkEyNTZHQ00iLCJlcGsiOnsiY3J2IjoiUC0yNTYiLCJrdHkiOiJFQyIs"
        "IngiOiJheGZSOHVFc1FrZjR2T2JsWTZSQThuY0RmWUV0NnpPZzlLRTVSZGlZd3BZIiwieSI6IlQtTkM0djRhZjV1TzUtdEtmQS1lRml2T00xZHJNVjdPeTdaQWFEZV9VZlUifX0")
b64u = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
flat = {"protected": prot, "encrypted_key": b64u(bytes(40)), "iv": b64u(bytes(12)),
        "ciphertext": b64u(b"secret"), "tag": b64u(bytes(16))}
put("jwe", "flattened", json.dumps(flat))
put("jwe", "compact", ".".join([prot, flat["encrypted_key"], flat["iv"], flat["ciphertext"], flat["tag"]]))

# kbs-protocol: what the guest reads from the broker
put("kbs_protocol", "challenge", '{"nonce":"Tj3DgPgZ1XtY6AZOjCv3KQ","extra-params":""}')
put("kbs_protocol", "token", '{"token":"eyJhbGciOiJFUzI1NiJ9.e30.c2ln"}')
put("kbs_protocol", "error", '{"type":"https://github.com/confidential-containers/kbs/errors/TooManyRequests","detail":"too many requests"}')
put("kbs_protocol", "cookie", "kbs-session-id=0123456789abcdef0123456789abcdef; Max-Age=300; Path=/kbs/v0; HttpOnly")
put("kbs_protocol", "resource", "default/model/key")
put("kbs_protocol", "canonical", '{"b":[1,2.5,1e21,-0.0],"a":{"z":"\\u00e9","y":null}}')

# ohttp-gateway: RFC 9292 / RFC 9458 Appendix A
put("bhttp", "rfc9458_get", bytes.fromhex("00034745540568747470730b6578616d706c652e636f6d012f"))
put("bhttp", "post_json", bytes.fromhex("0004504f535405687474707300") + bytes([15]) + b"/v1/embeddings"
    + bytes([30, 12]) + b"content-type" + bytes([16]) + b"application/json" + bytes([2]) + b"{}")
put("ohttp", "rfc9458_request", bytes.fromhex(
    "010020000100014b28f881333e7c164ffc499ad9796f877f4e1051ee6d31bad19dec96c208b472"
    "6374e469135906992e1268c594d2a10c695d858c40a026e7965e7d86b83dd440b2c0185204b4d63525"))

# serving-api
put("serving_api", "one", '{"input":"hello world","model":"all-MiniLM-L6-v2"}')
put("serving_api", "batch_b64", '{"input":["a","b\\u00e9"],"model":"all-MiniLM-L6-v2","encoding_format":"base64","dimensions":384,"user":"u"}')
put("serving_api", "tokens", '{"input":[[1,2,3]],"model":"all-MiniLM-L6-v2"}')

# http1
put("http1_server", "pipelined",
    b"GET / HTTP/1.1\r\nHost: a\r\n\r\nPOST /v1/embeddings HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
put("http1_server", "continue", b"POST /p HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc")
put("http1_server", "chunked_refused", b"POST /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
put("http1_client", "length", b"\x00HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
put("http1_client", "chunked", b"\x00HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\nT: 1\r\n\r\n")
put("http1_client", "close_delimited", b"\x00HTTP/1.0 404 Not Found\r\n\r\nbody until close")
put("http1_client", "head", b"\x01HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")

# client: the RFC 9458 key configuration, framed as application/ohttp-keys
kc = bytes.fromhex("01002031e1f05a740102115220e9af918f738674aec95f54db6e04eb705aae8e79815500080001000100010003")
put("client_keys", "rfc9458", struct.pack(">H", len(kc)) + kc)
put("client_keys", "two", struct.pack(">H", len(kc)) + kc + struct.pack(">H", len(kc)) + kc[:1] + b"\x00\x10" + kc[3:])
measurement = "8034d722aa0af95c385aada0e475a4f576a8c2d6472a4acc5c87e211fa8140481c40ab12eb700613a37db45583609e16"
doc = {"version": 1,
       "evidence": {"tee": "sample", "svn": "1", "report_data": base64.b64encode(bytes(64)).decode(), "measurement": measurement},
       "ohttp_keys": base64.b64encode(struct.pack(">H", len(kc)) + kc).decode(),
       "boot_log": [{"event": "model", "algorithm": "sha384", "digest": "00" * 48}]}
put("client_document", "sample", json.dumps(doc))

# manifest (image-builder's shape; digest from the e2e EPYC-Milan config)
manifest = {"format_version": 1,
            "launch_configurations": [{"vcpus": 1, "vcpu_type": "EPYC-Milan", "guest_features": "0x1", "launch_digest": measurement}],
            "policy": {"guest_policy": "0x30000", "min_report_version": 2,
                       "min_tcb": {"milan": {"bootloader": 3, "tee": 0, "snp": 8, "microcode": 115}},
                       "runtime_config_sha256": ["00" * 32]},
            "model": {"sha384": "11" * 48}}
put("appliance_manifest", "milan", json.dumps(manifest, indent=1))
put("appliance_manifest", "minimal", '{"launch_configurations":[{"launch_digest":"%s"}],"policy":{"guest_policy":"0x30000"}}' % measurement)

# keybroker: /auth and /attest bodies (host/keybroker/tests/common shapes)
put("keybroker_bodies", "auth", '{"version":"0.4.0","tee":"snp","extra-params":{}}')
jwk = {"kty": "EC", "crv": "P-256", "alg": "ECDH-ES+A256KW",
       "x": "weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_PxMQ", "y": "e8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck"}
att = {"runtime-data": {"nonce": "Tj3DgPgZ1XtY6AZOjCv3KQ", "tee-pubkey": jwk},
       "tee-evidence": {"primary_evidence": {"svn": "1", "report_data": base64.b64encode(bytes(48)).decode(), "measurement": measurement},
                        "additional_evidence": ""}}
put("keybroker_bodies", "attest_sample", json.dumps(att))

# snp: real reports and VCEK (public AMD/Trustee vectors) when present
def snp(path):
    try:
        with open(os.path.join(SNP, path), "rb") as f:
            return f.read()
    except OSError:
        return None


report = snp("trustee/verifier-snp/test-report.bin")
vcek = snp("trustee/verifier-snp/test-vcek.der")
if report and vcek:
    put("snp_report", "trustee_milan", report)
    vlek_report = snp("trustee/verifier-snp/test-vlek-report.bin")
    put("snp_report", "trustee_vlek_v3", vlek_report)
    put("snp_verify", "report", b"\x00" + report)
    put("snp_verify", "vcek", b"\x01" + vcek)
    # Trustee JSON evidence of the same report is written by the snp_report
    # target's own round trip; a hand-made one is below.
else:
    print("../shared/testdata/snp missing: snp seeds skipped", file=sys.stderr)
tcb = {"fmc": None, "bootloader": 10, "tee": 0, "snp": 23, "microcode": 25}
ints = lambda n, f: [f(i) for i in range(n)]
ev = {"attestation_report": {
    "version": 3, "guest_svn": 0, "policy": 196608, "family_id": ints(16, lambda i: 0), "image_id": ints(16, lambda i: 0),
    "vmpl": 0, "sig_algo": 1, "current_tcb": tcb, "plat_info": 37, "key_info": 0,
    "report_data": ints(64, lambda i: i), "measurement": ints(48, lambda i: 0x80 + i), "host_data": ints(32, lambda i: 0),
    "id_key_digest": ints(48, lambda i: 0), "author_key_digest": ints(48, lambda i: 0),
    "report_id": ints(32, lambda i: (7 * i) & 0xff), "report_id_ma": ints(32, lambda i: 255), "reported_tcb": tcb,
    "cpuid_fam_id": 25, "cpuid_mod_id": 160, "cpuid_step": 2, "chip_id": ints(64, lambda i: 200 - i),
    "committed_tcb": tcb, "current": {"major": 1, "minor": 55, "build": 40},
    "committed": {"major": 1, "minor": 55, "build": 40}, "launch_tcb": tcb,
    "signature": {"r": ints(72, lambda i: 1 + i if i < 48 else 0), "s": ints(72, lambda i: 100 + i if i < 48 else 0)}},
    "cert_chain": [{"cert_type": "VCEK", "data": [48, 130, 5, 63]}]}
put("snp_report", "trustee_json", json.dumps(ev))


# The guest kernel's host-fed parsers (guest/kernel/src/fuzzing.rs; the same
# inputs are its unit tests, guest/kernel/src/fuzzing/tests.rs).
def fw_dir_entry(name, size, select):
    return struct.pack(">IHH", size, select, 0) + name.ljust(56, b"\0")


def fw_cfg(flags, count, entries, contents=b""):
    d = struct.pack(">I", count) + b"".join(fw_dir_entry(*e) for e in entries)
    return bytes([flags]) + struct.pack("<H", len(d)) + d + contents


fw_files = [(b"etc/e820", 20, 0x20), (b"opt/appliance/config", 9, 0x21)]
put("kernel_fw_cfg", "e820", fw_cfg(0, 2, fw_files, e820([(0, 256 * MIB, 1)])))
put("kernel_fw_cfg", "config_dma", fw_cfg(2 | 1 << 2, 2, fw_files, b'{"a": 1}\n'))
put("kernel_fw_cfg", "count_too_large", fw_cfg(0, 0xFFFF_FFFF, fw_files))
put("kernel_fw_cfg", "duplicate", fw_cfg(0, 2, [fw_files[0], (b"etc/e820", 20, 0x22)]))
put("kernel_fw_cfg", "model_huge", fw_cfg(2 << 2, 1, [(b"opt/appliance/model", 0xFFFF_FFFF, 0x20)]))
put("kernel_fw_cfg", "model_stream", fw_cfg(2 << 2, 1, [(b"opt/appliance/model", 70_001, 0x20)], b"\x5a" * 1000))


def pci_virtio_net(queue_size=64):
    """QEMU's virtio-net: common/ISR/device/notify capabilities at 0x40..0x70
    and MSI-X at 0x84, all in a 16 KiB 64-bit BAR 4; then the BAR registers,
    the device model and the driver's queue size (fuzzing.rs, pci_capabilities)."""
    c = bytearray(256)
    c[0:4] = bytes([0xF4, 0x1A, 0x41, 0x10])
    c[0x06] = 1 << 4
    c[0x34] = 0x40
    for at, nxt, kind, off, ln in [(0x40, 0x50, 1, 0, 16), (0x50, 0x60, 3, 0x1000, 16),
                                   (0x60, 0x70, 4, 0x2000, 16), (0x70, 0x84, 2, 0x3000, 20)]:
        c[at:at + 16] = bytes([0x09, nxt, ln, kind, 4, 0, 0, 0]) + struct.pack("<II", off, 0x1000)
        if ln == 20:
            c[at + 16:at + 20] = struct.pack("<I", 4)
    c[0x84:0x8C] = bytes([0x11, 0]) + struct.pack("<HI", 1, 0x3800 | 4)
    bars = [(0, 0)] * 4 + [(~(0x4000 - 1) & 0xFFFF_FFF0, 0b100), (0xFFFF_FFFF, 0)]
    out = bytes(c) + b"".join(struct.pack("<II", w, f) for w, f in bars)
    out += bytes([4]) + struct.pack("<4H", 0, 0x1000, 0x2000, 0x3000) + struct.pack("<I", 0)
    out += struct.pack("<4H", 256, 256, 0, 1) + bytes([1]) + bytes([0x52, 0x54, 0, 0x12, 0x34, 0x56, 1, 0])
    return out + struct.pack("<H", queue_size)


put("kernel_pci", "virtio_net", pci_virtio_net())
put("kernel_pci", "queue_not_offered", pci_virtio_net(300))
looping = bytearray(pci_virtio_net())
looping[0x85] = 0x40
put("kernel_pci", "looping_list", bytes(looping))


def used(queue, ident, length):
    return bytes([0, queue]) + struct.pack("<II", ident, length)


RECEIVE, SEND = bytes([3, 0, 0]), bytes([5, 60, 0])
for features in (0, 1, 2):
    put("kernel_virtio_used", f"rx_tx_{features}", bytes([features]) + used(0, 0, 72) + RECEIVE + SEND + used(1, 0, 0) + SEND)
put("kernel_virtio_used", "id_out_of_range", bytes([0]) + used(0, 64, 100) + RECEIVE + RECEIVE)
put("kernel_virtio_used", "len_past_buffer", bytes([0]) + used(0, 1, 5000) + RECEIVE + used(0, 1, 0xFFFF_FFFF) + RECEIVE)
put("kernel_virtio_used", "repeated_id", bytes([0]) + used(0, 2, 70) + used(0, 2, 70) + RECEIVE + RECEIVE)
put("kernel_virtio_used", "index_jump", bytes([1, 1, 0]) + struct.pack("<H", 1000) + RECEIVE + RECEIVE + bytes([1, 1]) + struct.pack("<H", 77) + SEND)
