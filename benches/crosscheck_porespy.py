#!/usr/bin/env python3
"""Cross-check phasecast's analysis against PoreSpy and scikit-image.

Generates test volumes with numpy (1 = pore), runs the Rust side through
`cargo bench --bench analysis` in cross-check mode (it writes the EDT, local
thickness, skeleton and analysis.json next to each volume), computes the same
quantities with scipy / PoreSpy / scikit-image, and prints the agreement and the
side-by-side timings as a Markdown table.

    pip install porespy scikit-image
    python3 benches/crosscheck_porespy.py [--size 128] [--timing-size 256] [--out DIR]

Quantities: porosity, Euclidean distance transform (scipy.ndimage), local
thickness (porespy.filters.local_thickness, brute force: radius → ×2 for a
diameter), pore chord lengths along x (porespy.filters.apply_chords, all lines,
edge chords trimmed), and skeleton junction/end counts (skimage.morphology.
skeletonize, Lee 1994; both skeletons are counted by the same Python code).
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np
import scipy.ndimage as ndi


def grf(n, sigma, porosity, seed):
    rng = np.random.default_rng(seed)
    f = ndi.gaussian_filter(rng.standard_normal((n, n, n)), sigma, mode="wrap")
    return (f < np.quantile(f, porosity)).astype(np.uint8)


def spheres(n, r, k, seed, pore):
    """Jittered cubic lattice of balls of radius r, spacing 2rk; balls are polymer
    (pore=False) or pore (pore=True)."""
    rng = np.random.default_rng(seed)
    s = 2 * r * k
    z, y, x = np.mgrid[0:n, 0:n, 0:n].astype(np.float32)
    inside = np.zeros((n, n, n), bool)
    m = int(np.ceil(n / s)) + 1
    for i in range(m):
        for j in range(m):
            for l in range(m):
                c = np.array([i, j, l]) * s + (rng.random(3) * 2 - 1) * 0.06 * s
                inside |= (z - c[0]) ** 2 + (y - c[1]) ** 2 + (x - c[2]) ** 2 <= r * r
    return inside.astype(np.uint8) if pore else (~inside).astype(np.uint8)


def gyroid(n, period, porosity):
    w = 2 * np.pi / period
    z, y, x = np.mgrid[0:n, 0:n, 0:n] * w
    f = np.sin(x) * np.cos(y) + np.sin(y) * np.cos(z) + np.sin(z) * np.cos(x)
    return (f < np.quantile(f, porosity)).astype(np.uint8)


def skeleton_counts(sk):
    """Junction voxels (≥ 3 skeleton neighbours), junction clusters, end points."""
    sk = sk.astype(bool)
    nb = ndi.convolve(sk.astype(np.uint8), np.ones((3, 3, 3), np.uint8), mode="constant") - 1
    junction = sk & (nb >= 3)
    clusters = ndi.label(junction, structure=np.ones((3, 3, 3)))[1]
    return dict(voxels=int(sk.sum()), junction_voxels=int(junction.sum()), junctions=int(clusters), end_points=int((sk & (nb == 1)).sum()))


def chords_x(im):
    import porespy as ps
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lab = ps.filters.apply_chords(im.astype(bool), spacing=0, axis=2, trim_edges=True)
    sizes = np.bincount(lab.ravel())[1:]
    sizes = sizes[sizes > 0]
    return float(sizes.mean()) if len(sizes) else float("nan"), int(len(sizes))


def timed(f, *a, **k):
    t = time.perf_counter()
    r = f(*a, **k)
    return r, time.perf_counter() - t


def run_rust(dirname, repo):
    env = dict(os.environ, PHASECAST_CROSSCHECK=dirname)
    env.setdefault("CARGO_TARGET_DIR", os.path.join(repo, "target"))
    subprocess.run(["cargo", "bench", "--bench", "analysis"], cwd=repo, env=env, check=True,
                   stdout=subprocess.DEVNULL)


def compare(name, im, d, python_timing=True):
    import porespy as ps
    from skimage.morphology import skeletonize
    stem = os.path.join(d, name)
    rust = json.load(open(stem + ".rust.json"))
    r_edt = np.load(stem + ".edt.npy")
    r_lt = np.load(stem + ".lt.npy")
    r_sk = np.load(stem + ".skel.npy") > 0
    row = {"name": name, "shape": list(im.shape)}
    b = im.astype(bool)
    por, t = timed(ps.metrics.porosity, b)
    row["porosity"] = (rust["porosity"], float(por))
    dt, t_edt = timed(ndi.distance_transform_edt, b)
    row["edt_max_abs_diff"] = float(np.abs(dt - r_edt).max())
    # Timing: PoreSpy's default (brute-force sphere insertion, integer radii).
    lt_bf, t_lt = timed(ps.filters.local_thickness, b, method="bf")
    # Agreement: the 'legacy' method with every distinct EDT value as a radius is the
    # exact fractional-radius local thickness, comparable voxel by voxel.
    # (An explicit array: with sizes=None PoreSpy 3.2 walks the radii smallest first.)
    timing_only = name.startswith("timing_")
    # float64 EDT passed in: with PoreSpy's own float32 EDT, `dt >= radius` drops
    # seeds whose float32 value rounds below the float64 radius.
    if timing_only:  # hundreds of EDTs of the whole volume: agreement is checked on the small volumes
        lt, t_leg = lt_bf, float("nan")
    else:
        lt, t_leg = timed(ps.filters.local_thickness, b, dt=dt, method="legacy", sizes=np.unique(dt[b]))
    lt_d = 2 * lt
    mask = b
    diff = np.abs(lt_d[mask] - r_lt[mask])
    # Arbitrate where they differ: brute force max over all balls, on a sample.
    d2 = np.rint(dt ** 2).astype(np.int64)
    cz, cy, cx = np.nonzero(b)
    cr2 = d2[b]
    bad = np.argwhere(b & (np.abs(lt_d - r_lt) > 1e-3))
    sel = bad[np.random.default_rng(0).choice(len(bad), min(100, len(bad)), replace=False)] if len(bad) and not timing_only else []
    won = [0, 0]
    for z, y, x in sel:
        m = (cz - z) ** 2 + (cy - y) ** 2 + (cx - x) ** 2 < cr2
        truth = 2 * np.sqrt(cr2[m].max())
        won[0] += abs(truth - r_lt[z, y, x]) < 1e-3
        won[1] += abs(truth - lt_d[z, y, x]) < 1e-3
    row["lt_arbitration"] = (len(sel), int(won[0]), int(won[1]))
    row["lt_mean"] = (float(r_lt[mask].mean()), float(lt_d[mask].mean()), float(2 * lt_bf[mask].mean()))
    row["lt_median"] = (float(np.median(r_lt[mask])), float(np.median(lt_d[mask])))
    row["lt_equal_share"] = float((diff < 1e-3).mean())
    row["lt_mean_abs_diff"] = float(diff.mean())
    (cx, cn), t_ch = timed(chords_x, im)
    row["chord_x"] = (rust["analysis"]["chord_length_um"]["x"]["mean_um"], cx, rust["analysis"]["chord_length_um"]["x"]["count"], cn)
    sk, t_sk = timed(skeletonize, b)
    row["skeleton"] = (skeleton_counts(r_sk), skeleton_counts(sk))
    row["times_python_s"] = dict(edt=t_edt, local_thickness=t_lt, local_thickness_legacy=t_leg, skeleton=t_sk, chords=t_ch)
    row["times_rust_s"] = rust["times_s"]
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=96)
    ap.add_argument("--timing-size", type=int, default=0, help="also time one GRF volume of this size side by side")
    ap.add_argument("--only-timing", action="store_true", help="skip the small agreement volumes")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    d = a.out or tempfile.mkdtemp(prefix="phasecast_xcheck_")
    os.makedirs(d, exist_ok=True)
    n = a.size
    vols = {
        "grf_s3_p50": grf(n, 3.0, 0.5, 1),
        "grf_s2_p35": grf(n, 2.0, 0.35, 2),
        "gyroid_t32_p50": gyroid(n, 32.0, 0.5),
        "spheres_r8": spheres(n, 8.0, 0.9, 3, pore=False),
        "cells_r8": spheres(n, 8.0, 0.9, 4, pore=True),
    }
    if a.only_timing:
        vols = {}
    if a.timing_size:
        vols[f"timing_grf_{a.timing_size}"] = grf(a.timing_size, 4.0, 0.5, 5)
    for k, v in vols.items():
        np.save(os.path.join(d, k + ".npy"), v)
    t = time.perf_counter()
    run_rust(d, repo)
    print(f"rust side done in {time.perf_counter() - t:.1f} s (including cargo)", file=sys.stderr)
    rows = []
    for k, v in vols.items():
        print(f"python side: {k}", file=sys.stderr)
        rows.append(compare(k, v, d))
    json.dump(rows, open(os.path.join(d, "crosscheck.json"), "w"), indent=1)
    import porespy, skimage, scipy
    print(f"machine: {platform.node()} {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"porespy {porespy.__version__}, scikit-image {skimage.__version__}, scipy {scipy.__version__}; "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n")
    print("| volume | porosity rust / porespy | EDT max abs diff (voxels) | local thickness mean (diameter, vox) rust / porespy legacy-exact / porespy bf | median rust / legacy | voxels equal | mean abs diff | brute force on differing voxels: sample, rust right, porespy right | x chord mean rust / porespy (µm = vox) | chords rust / porespy |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['name']} {r['shape'][0]}³ | {r['porosity'][0]:.5f} / {r['porosity'][1]:.5f} | {r['edt_max_abs_diff']:.2e} | "
              f"{r['lt_mean'][0]:.3f} / {r['lt_mean'][1]:.3f} / {r['lt_mean'][2]:.3f} | {r['lt_median'][0]:.3f} / {r['lt_median'][1]:.3f} | "
              f"{100 * r['lt_equal_share']:.1f} % | {r['lt_mean_abs_diff']:.3f} | {r['lt_arbitration'][0]}: {r['lt_arbitration'][1]} / {r['lt_arbitration'][2]} | {r['chord_x'][0]:.3f} / {r['chord_x'][1]:.3f} | {r['chord_x'][2]} / {r['chord_x'][3]} |")
    print("\n| volume | skeleton voxels rust / skimage | junction voxels | junction clusters | end points |")
    print("|---|---|---|---|---|")
    for r in rows:
        a_, b_ = r["skeleton"]
        print(f"| {r['name']} | {a_['voxels']} / {b_['voxels']} | {a_['junction_voxels']} / {b_['junction_voxels']} | "
              f"{a_['junctions']} / {b_['junctions']} | {a_['end_points']} / {b_['end_points']} |")
    print("\n| volume | step | rust (s) | python (s) | python tool |")
    print("|---|---|---|---|---|")
    tools = dict(edt="scipy.ndimage.distance_transform_edt", local_thickness="porespy.filters.local_thickness(method='bf')",
                 skeleton="skimage.morphology.skeletonize (3D, Lee)", chords="porespy.filters.apply_chords")
    for r in rows:
        for step in ["edt", "local_thickness", "skeleton"]:
            print(f"| {r['name']} | {step} | {r['times_rust_s'][step]:.3f} | {r['times_python_s'][step]:.3f} | {tools[step]} |")
        print(f"| {r['name']} | full analyze (all measurements, both phases) | {r['times_rust_s']['analyze_total']:.3f} | | |")
    print(f"\nfiles in {d}", file=sys.stderr)


if __name__ == "__main__":
    main()
