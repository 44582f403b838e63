"""What FakeLens says of a C2PA signing certificate: a validity that has not started yet is not
"expired", and the certificate's organisation is not its issuer."""

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import c2pa
import cv2
import pytest

from fakelens import provenance
from fakelens.config import Settings
from test_provenance_support import c2pa_sign, make_test_ca, photo_like

TESTS = Path(__file__).resolve().parent

# A clock moved forward (clock_gettime and time, as the C2PA library and Python read it): the SDK signs
# only with a certificate valid at signing time, so a certificate valid from next week needs a signer
# living next week. gcc builds it; without gcc the test is skipped.
SHIFT_C = r"""
#define _GNU_SOURCE
#include <time.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>
static long off(void) { const char *s = getenv("SHIFT_S"); return s ? atol(s) : 0; }
int clock_gettime(clockid_t id, struct timespec *ts) {
  int r = syscall(SYS_clock_gettime, id, ts);
  if (r == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE)) ts->tv_sec += off();
  return r;
}
time_t time(time_t *t) { struct timespec ts; clock_gettime(CLOCK_REALTIME, &ts); if (t) *t = ts.tv_sec; return ts.tv_sec; }
"""

SIGN = textwrap.dedent("""
    import sys, cv2
    sys.path.insert(0, sys.argv[2])
    from test_provenance_support import c2pa_sign, make_test_ca, photo_like
    _, chain, key = make_test_ca(signer="Canon Inc.")        # valid from "yesterday": next week's yesterday
    ok, buf = cv2.imencode(".jpg", photo_like(240, 320, 3), [cv2.IMWRITE_JPEG_QUALITY, 90])
    open(sys.argv[1], "wb").write(c2pa_sign(buf.tobytes(), "image/jpeg", chain, key)[0])
""")


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    return Settings(home=tmp_path_factory.mktemp("home"))


@pytest.fixture(scope="module")
def not_yet_valid(tmp_path_factory):
    """A JPEG signed (no time-stamp) with a certificate whose validity starts in about a week."""
    if not shutil.which("gcc"):
        pytest.skip("gcc is absent: no shifted clock to sign with a certificate valid from next week")
    folder = tmp_path_factory.mktemp("notyet")
    (folder / "shift.c").write_text(SHIFT_C)
    subprocess.run(["gcc", "-shared", "-fPIC", "-O2", "-o", str(folder / "shift.so"), str(folder / "shift.c")],
                   check=True, capture_output=True)
    path = folder / "notyet.jpg"
    env = {**os.environ, "LD_PRELOAD": str(folder / "shift.so"), "SHIFT_S": str(8 * 86400)}
    subprocess.run([sys.executable, "-c", SIGN, str(path), str(TESTS)], check=True, env=env, capture_output=True,
                   timeout=120)
    return path


def test_a_certificate_not_valid_yet_is_not_called_expired(not_yet_valid, settings):
    r = provenance.check(str(not_yet_valid), "image/jpeg", "image", settings)
    block = r["provenance"]
    assert block["codes"] == ["signingCredential.expired"], block   # what the SDK calls it
    words = " ".join(block["failure_words"])
    assert "is not valid yet" in words, words
    assert "expired" not in words and "expired" not in r["detail"]["reason"], r["detail"]["reason"]


def test_where_the_dates_cannot_be_read_it_says_either(not_yet_valid, settings, monkeypatch):
    def broken(self):
        raise c2pa.C2paError("no crJSON")

    monkeypatch.setattr(c2pa.Reader, "crjson", broken)
    words = " ".join(provenance.check(str(not_yet_valid), "image/jpeg", "image", settings)["provenance"]["failure_words"])
    assert "is not valid at this time (expired or not yet valid)" in words, words
    assert "has expired" not in words


def test_the_certificates_organisation_is_not_called_its_issuer(tmp_path, settings):
    """c2pa's signature_info "issuer" is the signing certificate's own O= (its organisation), not the
    authority that issued it: "(issuer “FakeLens Test”)" named the signer's company as its CA."""
    _, chain, key = make_test_ca(cn="Some CA", signer="Jane Doe")
    ok, buf = cv2.imencode(".jpg", photo_like(240, 320, 4), [cv2.IMWRITE_JPEG_QUALITY, 90])
    path = tmp_path / "signed.jpg"
    path.write_bytes(c2pa_sign(buf.tobytes(), "image/jpeg", chain, key)[0])
    block = provenance.check(str(path), "image/jpeg", "image", settings)["provenance"]
    assert block["signer"] == "Jane Doe" and block["issuer"] == "FakeLens Test"   # the JSON field keeps its name
    said = " ".join(block["reasons"])
    assert "(organisation “FakeLens Test”)" in said, said
    assert "issuer" not in said
