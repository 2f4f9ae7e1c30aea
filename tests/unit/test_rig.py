"""The AU rig on real heads: FACS directions, regions, no interpenetration, no flipped faces."""

import numpy as np
import pytest

from pain3d import facs, rig
from pain3d.head.geometry import eye_centre
from pain3d.head.topology import PART_ID
from pain3d.identity import build_identity

PEOPLE = [(25, "female", "East Asian", 1), (50, "male", "Black", 2), (78, "female", "White", 3)]


@pytest.fixture(scope="module", params=PEOPLE, ids=lambda p: f"{p[2]}-{p[1]}-{p[0]}")
def person(request):
    age, sex, ethnicity, seed = request.param
    ident = build_identity(age, sex, ethnicity, seed)
    return ident.head, ident.au_deltas


def lm(head, deltas, aus, ids):
    return rig.pose(head, deltas, aus)[head.landmark68_ids[ids]]


def test_every_catalog_au_has_targets(person):
    head, deltas = person
    names = {t.name for t in rig.targets()}
    for key, au in facs.catalog().items():
        expected = {f"{key}_L", f"{key}_R"} if au.sides else {key}
        assert expected <= names
    assert set(deltas) == names
    for name, d in deltas.items():
        assert d.shape == head.vertices.shape and np.isfinite(d).all()
        assert np.linalg.norm(d, axis=1).max() > 5e-4, f"{name} barely moves"


def test_sides_add_up_and_stay_on_their_side(person):
    head, deltas = person
    x = head.vertices[:, 0]
    for target in rig.targets():
        if target.side == "L":
            moved = np.linalg.norm(deltas[target.name], axis=1) > 1e-4
            assert (x[moved] > -0.004).all(), target.name


FACS_DIRECTIONS = [
    # (aus, landmark ids, axis, sign, what FACS says)
    ({"AU1": 5}, [21, 22], 2, +1, "inner brows rise"),
    ({"AU2": 5}, [17, 26], 2, +1, "outer brows rise"),
    ({"AU4": 5}, [19, 24], 2, -1, "brows lower"),
    ({"AU5": 5}, [37, 38, 43, 44], 2, +1, "upper lids rise"),
    ({"AU7": 5}, [40, 41, 46, 47], 2, +1, "lower lids rise"),
    ({"AU9": 5}, [31, 35], 2, +1, "nasal wings rise"),
    ({"AU10": 5}, [50, 52], 2, +1, "upper lip rises"),
    ({"AU12": 5}, [48, 54], 2, +1, "lip corners rise"),
    ({"AU15": 5}, [48, 54], 2, -1, "lip corners fall"),
    ({"AU17": 5}, [8], 2, +1, "chin rises"),
    ({"AU26": 5}, [8, 57], 2, -1, "jaw drops"),
    ({"AU27": 5}, [8, 57], 2, -1, "mouth stretches open"),
    ({"AU43": 1}, [37, 38, 43, 44], 2, -1, "upper lids close"),
]


@pytest.mark.parametrize("aus, ids, axis, sign, why", FACS_DIRECTIONS, ids=[c[4] for c in FACS_DIRECTIONS])
def test_aus_move_landmarks_in_facs_direction(person, aus, ids, axis, sign, why):
    head, deltas = person
    before = lm(head, deltas, {}, ids)[:, axis]
    after = lm(head, deltas, aus, ids)[:, axis]
    assert (sign * (after - before) > 0.0005).all(), why


def test_brow_lowerer_draws_brows_together(person):
    head, deltas = person
    before, after = lm(head, deltas, {}, [21, 22]), lm(head, deltas, {"AU4": 5}, [21, 22])
    assert after[1, 0] - after[0, 0] < before[1, 0] - before[0, 0] - 0.001


def test_lip_corner_actions_change_mouth_width(person):
    head, deltas = person
    width = lambda aus: np.ptp(lm(head, deltas, aus, [48, 54])[:, 0])  # noqa: E731
    assert width({"AU20": 5}) > width({}) + 0.004
    assert width({"AU12": 5}) > width({}) + 0.003
    assert width({"AU23": 5}) < width({}) - 0.002


def test_eyes_close_completely(person):
    head, deltas = person
    closed = lm(head, deltas, {"AU43": 1}, [37, 38, 41, 40, 43, 44, 47, 46])
    upper, lower = closed[[0, 1, 4, 5]], closed[[2, 3, 6, 7]]
    assert (upper[:, 2] <= lower[:, 2] + 0.0008).all()  # the upper margin reaches the lower one


def test_lips_part_and_jaw_opens_the_mouth(person):
    head, deltas = person
    gap = lambda aus: np.diff(lm(head, deltas, aus, [66, 62])[:, 2])[0]  # noqa: E731
    assert gap({"AU25": 5}) > gap({}) + 0.003
    assert gap({"AU26": 5}) > gap({"AU25": 5})


REGIONS = {
    "AU1": ("forehead", "brow_L", "brow_R", "glabella"), "AU2": ("forehead", "brow_L", "brow_R"),
    "AU4": ("forehead", "brow_L", "brow_R", "glabella"),
    "AU5": ("upper_eyelid_L", "upper_eyelid_R"), "AU43": ("upper_eyelid_L", "upper_eyelid_R"),
    "AU45": ("upper_eyelid_L", "upper_eyelid_R"),
    "AU6": ("cheek_L", "cheek_R", "infraorbital_L", "infraorbital_R", "lower_eyelid_L", "lower_eyelid_R"),
    "AU7": ("lower_eyelid_L", "lower_eyelid_R", "upper_eyelid_L", "upper_eyelid_R"),
    "AU9": ("nose", "nose_bridge", "nose_alae", "infraorbital_L", "infraorbital_R", "glabella", "nasolabial_L",
            "nasolabial_R"),
    "AU10": ("upper_lip", "nasolabial_L", "nasolabial_R", "nose_alae"),
    "AU12": ("lip_corner_L", "lip_corner_R", "cheek_L", "cheek_R", "nasolabial_L", "nasolabial_R"),
    "AU15": ("lip_corner_L", "lip_corner_R"), "AU20": ("lip_corner_L", "lip_corner_R"),
    "AU17": ("chin", "lower_lip"), "AU23": ("upper_lip", "lower_lip"), "AU25": ("upper_lip", "lower_lip"),
    "AU26": ("jaw",), "AU27": ("jaw", "upper_lip", "lower_lip"),
}


def test_each_au_stays_in_its_region(person):
    head, deltas = person
    for target in rig.targets():
        mask = np.clip(sum(head.regions[r] for r in REGIONS[target.au]), 0, 1) > 0.02
        energy = (deltas[target.name] ** 2).sum(axis=1)
        share = energy[mask].sum() / energy.sum()
        assert share >= 0.9, f"{target.name}: {share:.2%} of its displacement inside its region"


JAW = ("AU26", "AU27")


def random_configs(n: int, seed: int, jaw: bool = True) -> list[dict]:
    rng = np.random.default_rng(seed)
    keys = [k for k in facs.all_keys() if jaw or facs.parse_key(k)[0].key not in JAW]
    configs = []
    for _ in range(n):
        chosen = rng.choice(len(keys), size=rng.integers(1, 9), replace=False)
        aus = {}
        for i in chosen:
            au, _ = facs.parse_key(keys[i])
            aus[keys[i]] = float(rng.integers(0, 2)) if au.scale == "binary" else float(rng.choice([1, 3, 5, 2.5]))
        configs.append(aus)
    configs.append({k: float(facs.parse_key(k)[0].max_intensity) for k in keys})  # everything at once
    return configs


def triangle_normals(head, v):
    tris = []
    for start, end in zip(head.poly_starts[:-1], head.poly_starts[1:]):
        poly = head.poly_verts[start:end]
        tris.extend((poly[0], poly[i], poly[i + 1]) for i in range(1, len(poly) - 1))
    tris = np.array(tris)
    return np.cross(v[tris[:, 1]] - v[tris[:, 0]], v[tris[:, 2]] - v[tris[:, 0]])


def assert_no_folds(head, deltas, configs):
    before = triangle_normals(head, head.vertices)
    area0 = np.linalg.norm(before, axis=1)
    for aus in configs:
        after = triangle_normals(head, rig.pose(head, deltas, aus))
        area = np.linalg.norm(after, axis=1)
        flipped = (before * after).sum(axis=1) <= 0
        assert not flipped[area0 > 1e-12].any(), f"{flipped.sum()} flipped triangles for {aus}"
        assert (area[area0 > 1e-12] > 1e-3 * area0[area0 > 1e-12]).all(), f"degenerate faces for {aus}"


LIP_ACTIONS = ("AU10", "AU12", "AU15", "AU20", "AU25")


def stacks_lip_actions(aus: dict) -> bool:
    """Two lip actions at full intensity on one side of the mouth (AU25 counts on both sides)."""
    return any(sum(max(aus.get(k, 0.0), aus.get(k + side, 0.0)) >= 5 for k in LIP_ACTIONS) >= 2 for side in "LR")


def test_no_flipped_or_degenerate_faces_on_100_combinations(person):
    """Lid actions, their blends, stacked lip actions and every other action fold nothing."""
    head, deltas = person
    configs = random_configs(100, seed=7, jaw=False)
    assert sum(map(stacks_lip_actions, configs)) >= 5  # the combinations that once folded the mouth corners
    assert_no_folds(head, deltas, configs)


def test_no_folds_when_lip_actions_stack(person):
    """Two or more lip actions on one side, at full and at intermediate intensities, fold nothing."""
    head, deltas = person
    pairs = [{a + side: 5.0, b + side: 5.0} for side in "LR" for i, a in enumerate(LIP_ACTIONS[:4])
             for b in LIP_ACTIONS[i + 1:4]]
    pairs += [{"AU25": 5.0, a + side: 5.0} for side in "LR" for a in LIP_ACTIONS[:4]]
    configs = [{k: level for k in aus} for aus in pairs for level in (1.0, 2.5, 3.5, 5.0)]
    configs += [{**aus, "AU17": 5.0, "AU23": 5.0} for aus in pairs]  # chin and lip tightener on top
    configs += [{k: 5.0 for k in LIP_ACTIONS + ("AU17", "AU23")}, {k: 3.0 for k in LIP_ACTIONS + ("AU6", "AU9")}]
    assert_no_folds(head, deltas, configs)


def test_mouth_keys_fold_nothing_at_any_weights(person):
    """The relaxed mouth keys (rig._unfold_blends) at random weights in [0, 1], not only the FACS knots."""
    head, deltas = person
    names = [t.name for t in rig.targets() if t.au in rig.MOUTH_ACTIONS and not t.name.endswith("_lid")]
    rng = np.random.default_rng(3)
    weights = rng.random((60, len(names))) * (rng.random((60, len(names))) < 0.5)  # about half the keys on
    weights = np.vstack([weights, np.ones(len(names)), rng.random((20, len(names)))])
    before = triangle_normals(head, head.vertices)
    moving = np.linalg.norm(before, axis=1) > 1e-12
    for w in weights:
        v = head.vertices + sum(wi * deltas[n] for wi, n in zip(w, names))
        after = triangle_normals(head, v)
        assert ((before * after).sum(axis=1)[moving] > 1e-3 * (before * before).sum(axis=1)[moving]).all(), w


LID_PUSHERS = ("AU5", "AU6", "AU7", "AU43", "AU45")  # AU6 drives its lid push too


def test_each_non_lid_action_alone_makes_no_folds(person):
    """Every brow, nose, lip and jaw action at full intensity, on either side, folds nothing."""
    head, deltas = person
    configs = [{k: float(facs.parse_key(k)[0].max_intensity)} for k in facs.all_keys()
               if facs.parse_key(k)[0].key not in LID_PUSHERS]
    assert_no_folds(head, deltas, configs)


def test_jaw_opening_makes_no_folds(person):
    head, deltas = person
    assert_no_folds(head, deltas, [{"AU26": 5}, {"AU27": 5}, {"AU27": 3, "AU12": 5, "AU17": 5}])


def soft_vertices(head):
    return np.isin(head.vertex_part, [PART_ID["skin"], PART_ID["mouth_cavity"]])


def winding_number(points, v, tris):
    """Generalised winding number of a closed triangle mesh at each point (1 inside, 0 outside)."""
    total = np.zeros(len(points))
    for chunk in np.array_split(np.arange(len(tris)), max(1, len(tris) // 400)):
        a = v[tris[chunk, 0]][None] - points[:, None]
        b = v[tris[chunk, 1]][None] - points[:, None]
        c = v[tris[chunk, 2]][None] - points[:, None]
        la, lb, lc = (np.linalg.norm(x, axis=2) for x in (a, b, c))
        num = np.einsum("pti,pti->pt", a, np.cross(b, c))
        den = la * lb * lc + np.einsum("pti,pti->pt", a, b) * lc + np.einsum("pti,pti->pt", b, c) * la \
            + np.einsum("pti,pti->pt", c, a) * lb
        total += 2 * np.arctan2(num, den).sum(axis=1)
    return total / (4 * np.pi)


def part_triangles(head, part):
    tris = []
    for f in np.nonzero(head.face_part == PART_ID[part])[0]:
        poly = head.poly_verts[head.poly_starts[f]:head.poly_starts[f + 1]]
        tris.extend((poly[0], poly[i], poly[i + 1]) for i in range(1, len(poly) - 1))
    return np.array(tris)


FOLD_FREE = ("AU1", "AU2", "AU4", "AU9", "AU10", "AU12", "AU15", "AU17", "AU20", "AU23", "AU25")


def test_fold_free_actions_make_no_folds(person):
    """Brows, nose wrinkler, chin raiser and the lip actions fold nothing in any combination."""
    head, deltas = person
    keys = [k for k in facs.all_keys() if facs.parse_key(k)[0].key in FOLD_FREE]
    rng = np.random.default_rng(11)
    configs = [{keys[i]: float(min(rng.choice([1, 3, 5]), facs.parse_key(keys[i])[0].max_intensity))
                for i in rng.choice(len(keys), 5, replace=False)} for _ in range(60)]
    assert_no_folds(head, deltas, configs)


def assert_clear_of_eyes_and_teeth(head, deltas, configs):
    soft = soft_vertices(head)
    near_mouth = soft & (np.abs(head.vertices[:, 2] - head.params.z_sto) < 0.03) & (head.vertices[:, 1] < 0.0)
    teeth = {p: part_triangles(head, p) for p in ("teeth_upper", "teeth_lower")}
    for aus in configs:
        v = rig.pose(head, deltas, aus)
        for side in "LR":
            clearance = np.linalg.norm(v[soft] - eye_centre(head.params, side), axis=1) - head.params.eye_r
            assert clearance.min() > 0.0001, f"skin inside the {side} eye for {aus}"
        for part, tris in teeth.items():
            inside = np.abs(winding_number(v[near_mouth], v, tris)) > 0.5
            assert not inside.any(), f"{inside.sum()} skin vertices inside {part} for {aus}"


def test_no_skin_passes_through_eyes_or_teeth(person):
    head, deltas = person
    assert_clear_of_eyes_and_teeth(head, deltas, random_configs(25, seed=5, jaw=False)
                                   + [{"AU10": 5, "AU25": 5, "AU12": 5}, {"AU23": 5, "AU17": 5}])


def test_open_jaw_stays_clear_of_teeth(person):
    head, deltas = person
    assert_clear_of_eyes_and_teeth(head, deltas, [{"AU27": 5, "AU25": 5, "AU10": 5}, {"AU15": 2.5, "AU27": 3}])


def test_weights_follow_drivers_rules():
    by_name = {t.name: t for t in rig.targets()}
    assert rig.target_weight(by_name["AU4_L"], {"AU4": 3}) == facs.intensity_to_weight(3)
    assert rig.target_weight(by_name["AU4_L"], {"AU4R": 3}) == 0.0
    assert rig.target_weight(by_name["AU4_L"], {"AU4": 1, "AU4L": 4}) == facs.intensity_to_weight(4)
    assert rig.target_weight(by_name["AU5_L"], {"AU5": 5, "AU43": 1}) == 0.0
    assert rig.target_weight(by_name["AU6_L_lid"], {"AU6": 5, "AU45": 1}) == 0.0
    assert rig.target_weight(by_name["AU6_L"], {"AU6": 5, "AU43": 1}) == 1.0
    assert rig.target_weight(by_name["AU26"], {"AU26": 5, "AU27": 2}) == 0.0


@pytest.mark.parametrize("au", list(rig.E_MAGNITUDES))
def test_each_pain_au_moves_the_documented_distance_at_e(person, au):
    """Not only the direction: at E every PSPI action moves its landmarks by the millimetres
    docs/rig.md documents (rig.E_MAGNITUDES), on young and old, female and male faces."""
    head, deltas = person
    what, low, high = rig.E_MAGNITUDES[au]
    measured = rig.e_magnitudes(head, deltas)[au]
    assert low <= measured <= high, f"{au}: {what}: {measured:.2f}, documented {low}-{high}"


def test_the_raised_upper_lip_keeps_its_corners_closed(person):
    """AU10 at E opens the lips in the middle (teeth show) and not at the corners: an open corner
    showed the dark mouth as a tear from 30 degrees."""
    head, deltas = person
    ring, up = head.topology.mouth_patch.rings[0], np.sin(head.topology.mouth_patch.psi)
    v, posed, half = head.vertices, rig.pose(head, deltas, {"AU10": 5}), head.params.mouth_w
    upper, lower = ring[up > 1e-9], ring[up < -1e-9]
    facing = lower[np.argmin(np.abs(v[lower, 0][None, :] - v[upper, 0][:, None]), axis=1)]
    gap = (posed[upper, 2] - posed[facing, 2]) * 1000.0
    reach = np.abs(v[upper, 0]) / half
    assert gap[reach < 0.3].min() > 2.5 and gap[reach > 0.85].max() < 1.0, gap.round(2)


def cheek_profile(head, vertices, side: str) -> np.ndarray:
    """How far forward (mm) the front of the cheek stands, every 1.5 mm up the vertical through the
    pupil, from 36 mm below the eyeball centre to 8 mm below it (the lower lid)."""
    centre = head.landmarks[f"eye_centre_{side}"]
    skin = np.nonzero((head.vertex_part == 0) & (head.vertices[:, 1] < centre[1] + 0.01))[0]
    out = []
    for z in np.arange(centre[2] - 0.036, centre[2] - 0.008, 0.0015):
        near = skin[(np.abs(vertices[skin, 2] - z) < 0.0015) & (np.abs(vertices[skin, 0] - centre[0]) < 0.003)]
        out.append(-vertices[near, 1].min() * 1000.0)
    return np.array(out)


def test_the_cheek_raiser_rounds_the_cheek(person):
    """AU6 at E bunches the cheek into a rounded apple below the eye: the flat-to-hollow profile
    under the pupil gains a forward apex at least 1.5 mm proud of both its ends (a uniform lift
    would not show on a smooth cheek)."""
    head, deltas = person
    posed = rig.pose(head, deltas, {"AU6": 5})
    for side in ("L", "R"):
        rest, raised = cheek_profile(head, head.vertices, side), cheek_profile(head, posed, side)
        apex = [profile.max() - max(profile[0], profile[-1]) for profile in (rest, raised)]
        assert apex[0] < 1.0 and apex[1] > 1.5, (rest.round(1), raised.round(1))


def test_the_brow_raisers_slide_the_forehead_along_the_skull(person):
    """AU1 + AU2 at full on both sides lift the brows about 5 mm, and the forehead skin slides up
    over the skull instead of standing proud of it: no forehead vertex moves more than 0.3 mm
    along its rest normal (lifted straight up, the sloping upper forehead came 2-3 mm forward,
    through a fringe lying on it)."""
    head, deltas = person
    move = sum(deltas[f"{au}_{side}"] for au in ("AU1", "AU2") for side in ("L", "R"))
    forehead = (head.regions["forehead"] > 0.5) & (head.vertices[:, 2] > head.params.z_brow + 0.015)
    outward = (move * rig.Face.of(head).normals()).sum(1)[forehead]
    assert move[forehead, 2].max() > 0.004
    assert outward.max() < 3e-4, f"the forehead comes {outward.max() * 1000:.1f} mm forward"


def test_nose_wrinkle_lines_cover_the_nose_root_and_its_sides_not_the_lids(person):
    """AU9's lines (the `wrinkles` G channel) run across the dorsum and onto the nasal sidewalls
    between the eyes (FACS: wrinkles along the sides and bridge of the nose), never over the lids."""
    from pain3d.identity import color_attributes

    head, _deltas = person
    lines, v, nasion = color_attributes(head)["wrinkles"][:, 1], head.vertices, head.landmarks68[27]
    lids = sum(head.regions[f"{p}_eyelid_{s}"] for p in ("upper", "lower") for s in ("L", "R")) > 0.5
    below = nasion[2] - v[:, 2]
    skin_front = (head.vertex_part == PART_ID["skin"]) & (v[:, 1] < nasion[1] + 0.01)
    sidewall = skin_front & (np.abs(v[:, 0]) > 0.006) & (np.abs(v[:, 0]) < 0.009) & (below > 0.003) & (below < 0.01)
    assert sidewall.sum() >= 4 and lines[sidewall].mean() > 0.5
    assert lines[lids].max() < 0.05 and lines[below > 0.016].max() == 0.0
