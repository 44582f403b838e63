"""Self-blended images, degradations, near-duplicate split and crop geometry (no torch needed).

Uses real UTKFace faces from ../shared/data and the real RetinaFace + face-mesh ONNX models."""

import cv2
import numpy as np
import pytest

from fakelens.media.align import TEMPLATE, align_face, crop_matrix, similarity
from fakelens.models import ModelStore
from fakelens.train import degrade
from fakelens.train.landmarks import compute
from fakelens.train.sbi import blend_pair, face_hull, five_point_hull, SWAP_SHARE, lookalikes, match_colours, self_blend
from fakelens.train.split import groups, phash, split

from conftest import REPO, need_shared


@pytest.fixture(scope="module")
def faces():
    folder = need_shared("faces-real", "utkface")
    files = sorted(folder.iterdir())[:: 997][:6]
    lm = compute(files, ModelStore(REPO / "models"), log_every=0)
    assert np.isfinite(lm["five"]).all() and np.isfinite(lm["mesh"]).all()
    return [(cv2.imread(str(f)), five, mesh) for f, five, mesh in zip(files, lm["five"], lm["mesh"])]


def test_blend_differs_from_source_only_inside_its_mask(faces):
    for k, (image, five, mesh) in enumerate(faces):
        for seed in range(4):
            blend, mask = self_blend(image, five, mesh, np.random.default_rng([k, seed]))
            assert blend.shape == image.shape and blend.dtype == np.uint8
            changed = (blend != image).any(axis=2)
            assert changed.sum() > 0.05 * changed.size, "the blend changed almost nothing"
            assert not changed[mask == 0].any(), "a pixel outside the mask changed"
            assert mask.min() >= 0 and mask.max() <= 1
            assert mask.max() >= 0.25, "empty mask (the erosion/normalisation bug FINDINGS.md warns of)"


def test_paper_synthesis_jitters_copy_or_face_and_blends_only_inside_the_mask(faces):
    kinds = set()
    for k, (image, five, mesh) in enumerate(faces):
        for seed in range(4):
            real, blend, mask = blend_pair(image, five, mesh, np.random.default_rng([k, seed, 5]), "paper")
            assert real.shape == blend.shape == image.shape and real.dtype == blend.dtype == np.uint8
            changed = (blend != real).any(axis=2)
            assert changed.sum() > 0.05 * changed.size, "the blend changed almost nothing"
            assert not changed[mask == 0].any(), "a pixel outside the mask differs from the real sample"
            # the jitter went either to the copy (the real sample is the untouched face) or to the face
            # itself (then the real sample differs from the original everywhere, the mask's outside too)
            on_copy = np.array_equal(real, image)
            kinds.add("copy" if on_copy else "face")
            if not on_copy:
                assert (real != image).any(axis=2)[mask == 0].mean() > 0.2
    assert kinds == {"copy", "face"}
    with pytest.raises(ValueError):
        blend_pair(image, five, mesh, np.random.default_rng(0), "strong")


def test_mild_synthesis_is_face_swap_1s_self_blend(faces):
    image, five, mesh = faces[2]
    real, blend, mask = blend_pair(image, five, mesh, np.random.default_rng(4), "mild")
    again, mask2 = self_blend(image, five, mesh, np.random.default_rng(4))
    assert real is image and np.array_equal(blend, again) and np.array_equal(mask, mask2)


def test_mask_lies_on_the_face(faces):
    for k, (image, five, mesh) in enumerate(faces):
        face = np.zeros(image.shape[:2], np.uint8)
        hull = face_hull(five, mesh)
        # the face region grown by 15 % of its size: elastic deformation and blur spill a little
        grown = (hull - hull.mean(0)) * 1.15 + hull.mean(0)
        cv2.fillConvexPoly(face, cv2.convexHull(grown.astype(np.int32)), 1)
        for seed in range(4):
            _, mask = self_blend(image, five, mesh, np.random.default_rng([k, seed, 9]))
            inside = mask[face > 0].sum() / mask.sum()
            assert inside > 0.95, f"only {inside:.2f} of the mask is on the face"
            nose = five[2].round().astype(int)
            assert mask[nose[1], nose[0]] > 0, "the mask misses the nose"


def test_five_point_hull_covers_eyes_and_mouth(faces):
    image, five, _ = faces[0]
    hull = cv2.convexHull(five_point_hull(five).astype(np.float32))
    for p in five:
        assert cv2.pointPolygonTest(hull, (float(p[0]), float(p[1])), True) > 5


def test_degradations_are_identical_for_both_classes(faces):
    image, five, mesh = faces[1]
    blend, mask = self_blend(image, five, mesh, np.random.default_rng(3))
    for seed in range(6):
        p = degrade.draw(np.random.default_rng(seed))
        a, b = degrade.apply(image, p), degrade.apply(blend, p)
        assert a.shape == image.shape
        assert np.array_equal(degrade.apply(image, p), a), "same parameters must give the same image"
        # outside the (blurred-out) mask the two degraded images agree up to JPEG block effects
        far = cv2.dilate((mask > 0).astype(np.uint8), np.ones((25, 25), np.uint8)) == 0
        if far.any() and "scale" not in p and "blur" not in p and "motion" not in p:
            assert np.abs(a[far].astype(int) - b[far]).mean() < 2.0


def test_everyday_degradations_keep_the_social_draws_and_add_their_own(faces):
    """"everyday" draws the social degradations exactly as before (reports and face_swap-1's recipe
    stay as they were), then defocus, beauty smoothing and moiré, applied alike to both classes."""
    image, five, mesh = faces[1]
    blend, _ = self_blend(image, five, mesh, np.random.default_rng(3))
    seen = set()
    for seed in range(60):
        social = degrade.draw(np.random.default_rng(seed))
        everyday = degrade.draw(np.random.default_rng(seed), "everyday")
        assert {k: v for k, v in everyday.items() if k in social} == social
        extra = set(everyday) - set(social)
        assert extra <= {"defocus", "smooth", "moire"}
        seen |= extra
        if extra:
            a, b = degrade.apply(image, everyday), degrade.apply(blend, everyday)
            assert a.shape == image.shape and a.dtype == np.uint8
            assert not np.array_equal(a, degrade.apply(image, social))   # they did something
            assert np.array_equal(degrade.apply(blend, everyday), b)      # the same draw, the same picture
    assert seen == {"defocus", "smooth", "moire"}
    with pytest.raises(ValueError):
        degrade.draw(np.random.default_rng(0), "studio")


def test_video_degradations_encode_the_pair_alike_as_h264_instead_of_jpeg(faces):
    """"video" draws the social degradations exactly as before, then (half the time) H.264 at the
    down-scaled size as a predicted frame, which replaces the JPEG step; both classes alike."""
    image, five, mesh = faces[1]
    blend, mask = self_blend(image, five, mesh, np.random.default_rng(3))
    far = cv2.dilate((mask > 0).astype(np.uint8), np.ones((25, 25), np.uint8)) == 0
    kinds = set()
    for seed in range(12):
        social = degrade.draw(np.random.default_rng(seed))
        video = degrade.draw(np.random.default_rng(seed), "video")
        assert {k: v for k, v in video.items() if k in social} == social
        assert set(video) - set(social) <= {"h264"}
        if "h264" not in video:
            continue
        kinds.add("scale" in video)
        a, b = degrade.apply(image, video), degrade.apply(blend, video)
        assert a.shape == image.shape and a.dtype == np.uint8
        assert np.array_equal(degrade.apply(image, video), a), "the encoder must be deterministic"
        without = degrade.apply(image, {k: v for k, v in video.items() if k not in ("h264", "jpeg")})
        loss = np.abs(a.astype(int) - without).mean()
        assert 0.3 < loss < 12, loss   # it did something, and left a face
        if far.any() and "scale" not in video and "blur" not in video and "motion" not in video:
            assert np.abs(a[far].astype(int) - b[far]).mean() < 3.0
    assert kinds == {True, False}   # encoded at full size and at the down-scaled size


def test_h264_keeps_the_shape_and_loses_more_at_a_higher_crf(faces):
    image = faces[1][0][:199]   # odd height: padded for 4:2:0 and cut back
    fine, coarse = degrade.h264(image, 18, (1.0, -1.5)), degrade.h264(image, 40, (1.0, -1.5))
    assert fine.shape == coarse.shape == image.shape
    assert np.abs(fine.astype(int) - image).mean() < np.abs(coarse.astype(int) - image).mean()


def test_near_duplicates_share_a_group(faces):
    image = faces[0][0]
    copies = [image, image[:, ::-1].copy(), degrade.jpeg(image, 60), faces[3][0], faces[4][0]]
    g = groups([phash(c) for c in copies], [phash(c[:, ::-1]) for c in copies])
    assert g[0] == g[1] == g[2]
    assert g[3] != g[0] and g[4] != g[0] and g[3] != g[4]
    train, val, _ = split([f"f{i}" for i in range(5)], lambda i: copies[i], val_fraction=0.5)
    for dup in (0, 1, 2):
        assert (dup in train) == (0 in train)


def test_a_mirror_copy_is_joined_whichever_of_the_two_comes_first():
    """Only the first face's mirror was compared with the second: where the second's mirror was the
    near one (4 bits for a UTKFace photo whose other way round was 8), the copy went to the other side."""
    # face 0's hash 0, its mirror's all ones; face 1's hash 32 bits from both, its mirror's 4 from face 0
    zero, ones, half, near_zero = 0, (1 << 64) - 1, (1 << 32) - 1, 0b1111
    assert groups([zero, half], [ones, near_zero]).tolist() == [0, 0]
    assert groups([half, zero], [near_zero, ones]).tolist() == [0, 0]
    assert groups([zero, half], [ones, half]).tolist() == [0, 1]   # nothing near: two groups


def test_crop_geometry_maps_landmarks_onto_the_template():
    rng = np.random.default_rng(0)
    # a face somewhere in a frame, rotated by 20 degrees and scaled by 1.7
    a = np.deg2rad(20)
    rot = 1.7 * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    points = (TEMPLATE * 160) @ rot.T + [300, 120]
    m = crop_matrix(points, 160)
    back = points @ m[:, :2].T + m[:, 2]
    assert np.abs(back - TEMPLATE * 160).max() < 1e-3
    # a looser crop (scale > 1) puts the landmarks nearer the centre
    loose = crop_matrix(points, 160, scale=1.25)
    spread = lambda mm: np.ptp(points @ mm[:, :2].T + mm[:, 2], axis=0)  # noqa: E731
    assert (spread(loose) < spread(m)).all()
    frame = rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)
    assert align_face(frame, points, 160).shape == (160, 160, 3)
    with pytest.raises(ValueError):
        similarity(np.zeros((5, 2)), np.ones((5, 2)))


def test_align_matches_between_a_frame_and_its_downscaled_copy():
    """The same face at two resolutions gives nearly the same crop (the pre-shrink path)."""
    rng = np.random.default_rng(1)
    frame = cv2.GaussianBlur(rng.integers(0, 255, (800, 800, 3), dtype=np.uint8), (0, 0), 6)
    points = TEMPLATE * 600 + 100
    big = align_face(frame, points, 160)
    small = align_face(cv2.resize(frame, (400, 400), interpolation=cv2.INTER_AREA), points / 2, 160)
    assert np.abs(big.astype(int) - small).mean() < 3


def test_pairs_share_one_crop_and_validation_uses_the_middle_scale(faces):
    from fakelens.train.data import make_pair

    image, five, mesh = faces[0]
    scales = (1.0, 1.3)
    real, fake = make_pair(image, five, mesh, 160, np.random.default_rng(3), train=False, degraded=False,
                           scales=scales)
    assert np.array_equal(real, align_face(image, five, 160, 1.15))
    assert not np.array_equal(real, align_face(image, five, 160, 1.0))
    # the fake is cut out with the same matrix: its crop differs from the real one only where blended
    fake_full, _ = self_blend(image, five, mesh, np.random.default_rng(3))
    assert np.array_equal(fake, align_face(fake_full, five, 160, 1.15))


def test_pair_masks_are_cut_out_with_their_crops(faces):
    """The mask head's target: the blend mask through the same crop (and flip) as the images, all zero
    for the real face; asking for it does not change the pair drawn."""
    from fakelens.train.data import CROP_SCALES, PairDataset, make_pair

    for k, (image, five, mesh) in enumerate(faces):
        real, fake = make_pair(image, five, mesh, 160, np.random.default_rng([k, 7]))
        real2, fake2, mask = make_pair(image, five, mesh, 160, np.random.default_rng([k, 7]), with_mask=True)
        assert np.array_equal(real, real2) and np.array_equal(fake, fake2)
        assert mask.shape == (160, 160) and mask.dtype == np.float32 and 0.25 <= mask.max() <= 1
        for seed in range(4):   # undegraded, so every changed pixel is the blend's (crop jitter and flip drawn)
            real, fake, mask = make_pair(image, five, mesh, 160, np.random.default_rng([k, seed]), degraded=False,
                                         with_mask=True)
            changed = (fake != real).any(axis=2)
            assert changed.mean() > 0.05 and (mask[changed] > 0).all()
            # the same draw by hand: the full-size mask through this pair's crop and flip
            rng = np.random.default_rng([k, seed])
            _, _, full = blend_pair(image, five, mesh, rng)
            scale, shift = rng.uniform(*CROP_SCALES), tuple(rng.uniform(-0.03, 0.03, 2))
            expected = align_face(full.astype(np.float32), five, 160, scale, shift)
            assert np.array_equal(mask, expected[:, ::-1] if rng.random() < 0.5 else expected)
    images, fives, meshes = zip(*faces)
    data = PairDataset(list(images), np.stack(fives), list(meshes), range(len(faces)), 160, mask_size=10)
    x, masks = data[0]
    assert x.shape == (2, 3, 160, 160) and masks.shape == (2, 10, 10)
    assert not masks[0].any() and masks[1].max() > 0.2 and masks[1][4:7, 4:7].mean() > masks[1][0].mean()


def test_mixed_synthesis_draws_each_pair_mild_or_paper(faces):
    image, five, mesh = faces[1]
    kinds = set()
    for seed in range(12):
        rng = np.random.default_rng(seed)
        real, blend, mask = blend_pair(image, five, mesh, rng, "mixed")
        assert not (blend != real).any(axis=2)[mask == 0].any()
        # replaying the same draw: the first number picks the kind, the rest is that kind's pair
        replay = np.random.default_rng(seed)
        kind = "mild" if replay.random() < 0.5 else "paper"
        again = blend_pair(image, five, mesh, replay, kind)
        assert all(np.array_equal(a, b) for a, b in zip((real, blend, mask), again))
        kinds.add(kind)
    assert kinds == {"mild", "paper"}


def test_lookalike_swap_changes_only_inside_its_mask_and_brings_another_face(faces):
    image, five, mesh = faces[0]
    donor, donor_five, _ = faces[3]
    kinds = set()
    for seed in range(8):
        real, blend, mask = blend_pair(image, five, mesh, np.random.default_rng([7, seed]), "swap",
                                       donor=(donor, donor_five))
        assert real is image and blend.shape == image.shape and blend.dtype == np.uint8
        changed = (blend != image).any(axis=2)
        assert changed.sum() > 0.05 * changed.size
        assert not changed[mask == 0].any(), "a pixel outside the mask changed"
        # the first draw chooses: a swap, or the face's own mild self-blend from the same generator
        rng = np.random.default_rng([7, seed])
        swap = rng.random() < SWAP_SHARE
        own, own_mask = self_blend(image, five, mesh, rng)
        kinds.add(swap)
        if not swap:
            assert np.array_equal(blend, own) and np.array_equal(mask, own_mask)
        else:   # another face's pixels where the mask is strongest: far from the face's own self-blend
            inside = mask >= 0.9 * mask.max()
            assert np.abs(blend[inside].astype(int) - own[inside]).mean() > 4 * mask.max()
    assert kinds == {True, False}
    with pytest.raises(ValueError):
        blend_pair(image, five, mesh, np.random.default_rng(0), "swap")   # a swap needs a donor


def test_lookalike_swap_brings_the_donors_face_in_the_faces_own_colours(faces):
    image, five, mesh = faces[0]
    donor, donor_five, _ = faces[3]
    region = np.zeros(image.shape[:2], np.uint8)
    cv2.fillConvexPoly(region, cv2.convexHull(face_hull(five, mesh).astype(np.int32)), 1)
    tinted = np.clip(donor.astype(int) + [60, -40, 0], 0, 255).astype(np.uint8)
    matched = match_colours(tinted, image, region)
    lab = lambda x: cv2.cvtColor(x, cv2.COLOR_BGR2LAB)[region > 0].astype(float).mean(0)  # noqa: E731
    assert np.abs(lab(matched) - lab(image)).max() < 3
    assert np.abs(lab(tinted) - lab(image)).max() > 10


def test_lookalikes_come_from_the_given_faces_only_and_are_near_in_pose():
    rng = np.random.default_rng(0)
    base = TEMPLATE * 160
    five = np.stack([base + rng.normal(0, 2, base.shape) for _ in range(60)]).astype(np.float32)
    five[:30, 2, 0] += 25        # the first thirty look to one side (nose moved), the rest straight
    # the same pose elsewhere and at another size is still a look-alike
    five[5] = five[6] * 2 + [100, 40]
    train = np.arange(0, 60, 2)  # the odd faces are held out
    near = lookalikes(five, train, k=5)
    assert set(near) == set(train.tolist())
    for face, donors in near.items():
        assert face not in donors and len(donors) == 5
        assert all(d % 2 == 0 for d in donors), "a held-out face lent its face"
        assert all((d < 30) == (face < 30) for d in donors), "a look-alike of another pose"
    # fewer faces than asked for: every other face, never itself
    few = lookalikes(five, [0, 2, 4], k=20)
    assert {f: sorted(d.tolist()) for f, d in few.items()} == {0: [2, 4], 2: [0, 4], 4: [0, 2]}
    with pytest.raises(ValueError):
        lookalikes(five, [0])
