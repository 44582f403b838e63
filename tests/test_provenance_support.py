"""Shared helpers for the provenance tests: an imwatermark encoder, a test CA, C2PA signing.

The encoder is a line-by-line reimplementation of invisible-watermark 0.2.0's
EmbedMaxDct.encode (method "dwtDct", MIT licence), with PyWavelets and OpenCV, so the tests
can mark images exactly as Stable Diffusion's scripts do without installing that package
(it pulls torch and a second OpenCV). Its quirks are kept on purpose: only the U channel
is marked (scales [0, 36, 36] over range(2)), and the inverse DWT gets the detail bands
as (v, h, d), swapped.
"""

import datetime
import io

import cv2
import numpy as np
import pywt


def imwatermark_encode(bgr: np.ndarray, bits, scale: int = 36, block: int = 4) -> np.ndarray:
    bits = [int(b) for b in bits]
    row, col, _ = bgr.shape
    yuv = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV)
    for channel in range(2):
        if [0, scale, scale][channel] <= 0:
            continue
        ca1, (h1, v1, d1) = pywt.dwt2(yuv[:row // 4 * 4, :col // 4 * 4, channel], "haar")
        num = 0
        for i in range(ca1.shape[0] // block):
            for j in range(ca1.shape[1] // block):
                blk = ca1[i * block:(i + 1) * block, j * block:(j + 1) * block]
                bit = bits[num % len(bits)]
                pos = np.argmax(abs(blk.flatten()[1:])) + 1
                r, c = pos // block, pos % block
                val = blk[r][c]
                if val >= 0.0:
                    blk[r][c] = (val // scale + 0.25 + 0.5 * bit) * scale
                else:
                    blk[r][c] = -1.0 * (abs(val) // scale + 0.25 + 0.5 * bit) * scale
                num += 1
        yuv[:row // 4 * 4, :col // 4 * 4, channel] = pywt.idwt2((ca1, (v1, h1, d1)), "haar")
    return cv2.cvtColor(yuv, cv2.COLOR_YUV2BGR)


def photo_like(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A smooth, photo-like BGR image (random noise blurred, plus gradients)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (h // 16 + 1, w // 16 + 1, 3), np.uint8)
    img = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    noise = rng.normal(0, 6, (h, w, 3))
    return np.clip(img + noise, 0, 255).astype(np.uint8)


# --- a throw-away certificate authority and C2PA signing --------------------------------

def make_test_ca(cn: str = "FakeLens Test Root", signer: str = "FakeLens Test Signer",
                 valid_for: datetime.timedelta = datetime.timedelta(days=30)):
    """(ca_pem, chain_pem, key_pem): a root CA and an ES256 signer certificate it issued, named `signer`,
    valid from a day ago for `valid_for` from now (a few seconds: a certificate that expires after signing)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def name(common):
        # (a name past X.509's 64 characters too: the C2PA library signs with it all the same)
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common, _validate=len(common) <= 64),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, "FakeLens Test")])

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name(cn)).issuer_name(name(cn))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(name(signer)).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + valid_for)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = lambda c: c.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return pem(ca), pem(cert) + pem(ca), key_pem


IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"


def c2pa_sign(data: bytes, mime: str, chain_pem: str, key_pem: str, tool: str = "FakeLens Test Tool",
              actions=None, remote_url: str | None = None, ingredients=(),
              thumbnail: bytes | None = None) -> tuple[bytes, bytes]:
    """Sign `data` with c2pa-python; returns (signed asset, manifest store bytes). `ingredients`:
    (ingredient JSON such as {"title", "relationship", "instance_id"}, signed JPEG bytes) pairs;
    `thumbnail`: a JPEG the store carries as the claim's thumbnail."""
    import c2pa
    manifest = {"claim_generator_info": [{"name": tool, "version": "1.0"}], "title": "test",
                "assertions": [{"label": "c2pa.actions", "data": {"actions": actions or [
                    {"action": "c2pa.created", "digitalSourceType": IPTC + "digitalCapture"}]}}]}
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, chain_pem.encode(),
                                                       key_pem.encode(), None))
    if thumbnail is not None:
        manifest["thumbnail"] = {"format": "image/jpeg", "identifier": "thumbnail.jpg"}
    builder = c2pa.Builder(manifest)
    if thumbnail is not None:
        builder.add_resource("thumbnail.jpg", io.BytesIO(thumbnail))
    for ingredient, ingredient_data in ingredients:
        builder.add_ingredient(ingredient, "image/jpeg", io.BytesIO(ingredient_data))
    if remote_url:
        builder.set_no_embed()
        builder.set_remote_url(remote_url)
    out = io.BytesIO()
    store = builder.sign(signer, mime, io.BytesIO(data), out)
    return out.getvalue(), store
