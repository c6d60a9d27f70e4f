#!/usr/bin/env python3
"""Permeability of one PoreSpy blob volume from PoreSpy's snow2 network with
OpenPNM's Stokes flow, and from phasecast (`analyze`, pore-network flow by
default; `--lbm` adds phasecast's lattice-Boltzmann reference), with the wall
time of each. Run through benches/crosscheck_network.sh.

Conventions: the volume is written as u8 .npy (1 = pore) with a sidecar JSON
holding the voxel size; flow is along axis 0 (phasecast's z, PoreSpy's x), the
side faces are walls (not periodic) on both sides. OpenPNM: snow2 with
boundary pores (width 3), pore and throat diameters = inscribed diameters
(throats clipped to 0.99 × the smaller adjacent pore, which the conduit model needs),
hydraulic size factors `spheres_and_cylinders`, generic Poiseuille
conductance, μ = 1 Pa·s, ΔP = 1 Pa between the axis-0 boundary pores;
k = Q μ L / (A ΔP).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import openpnm as op
import porespy as ps


def openpnm_permeability(im, voxel_m):
    t0 = time.perf_counter()
    snow = ps.networks.snow2(im, voxel_size=voxel_m, boundary_width=3)
    t_snow = time.perf_counter() - t0
    t1 = time.perf_counter()
    pn = op.io.network_from_porespy(snow.network)
    # Drop clusters that do not reach the main network (they carry no flow).
    health = op.utils.check_network_health(pn)
    if len(health["disconnected_pores"]):
        op.topotools.trim(network=pn, pores=health["disconnected_pores"])
    pn["pore.diameter"] = pn["pore.inscribed_diameter"]
    # spheres_and_cylinders needs every throat narrower than its pores.
    conns = pn["throat.conns"]
    dmin = np.minimum(pn["pore.diameter"][conns[:, 0]], pn["pore.diameter"][conns[:, 1]])
    pn["throat.diameter"] = np.minimum(pn["throat.inscribed_diameter"], 0.99 * dmin)
    pn.add_model(
        propname="throat.hydraulic_size_factors",
        model=op.models.geometry.hydraulic_size_factors.spheres_and_cylinders,
    )
    fluid = op.phase.Phase(network=pn)
    fluid["pore.viscosity"] = 1.0
    fluid.add_model(
        propname="throat.hydraulic_conductance",
        model=op.models.physics.hydraulic_conductance.generic_hydraulic,
    )
    sf = op.algorithms.StokesFlow(network=pn, phase=fluid)
    inlet, outlet = pn.pores("xmin"), pn.pores("xmax")
    sf.set_value_BC(pores=inlet, values=1.0)
    sf.set_value_BC(pores=outlet, values=0.0)
    sf.run()
    q = abs(float(sf.rate(pores=inlet)[0]))
    t_flow = time.perf_counter() - t1
    n0, n1, n2 = im.shape
    length = n0 * voxel_m
    area = n1 * n2 * voxel_m**2
    k = q * 1.0 * length / (area * 1.0)
    internal = int((~pn["pore.boundary"]).sum()) if "pore.boundary" in pn else pn.Np
    return {"k_m2": k, "pores": internal, "throats": int(pn.Nt), "t_snow": t_snow, "t_flow": t_flow}


def phasecast_run(exe, path, out, flow):
    t0 = time.perf_counter()
    subprocess.run(
        [exe, "analyze", path, "--out", out, "--flow", flow, "--periodic-xy", "false", "--no-skeleton"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    dt = time.perf_counter() - t0
    rep = json.load(open(os.path.join(out, "analysis.json")))
    net = rep["porometry"].get("network") or {}
    return {
        "k_m2": rep["permeability"]["darcy_m2"],
        "bubble_um": rep["porometry"]["bubble_point_diameter_um"],
        "mean_flow_um": rep["porometry"]["mean_flow_diameter_um"],
        "pores": net.get("pores"),
        "throats": net.get("throats"),
        "t": dt,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--phasecast", required=True)
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--porosity", type=float, default=0.5)
    ap.add_argument("--blobiness", type=float, default=1.5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--voxel-um", type=float, default=0.02)
    ap.add_argument("--lbm", action="store_true", help="also run phasecast's lattice-Boltzmann reference (slow)")
    ap.add_argument("--keep", help="directory to keep the volume and reports in")
    a = ap.parse_args()
    d = a.keep or tempfile.mkdtemp(prefix="crosscheck_network_")
    os.makedirs(d, exist_ok=True)
    n = a.size
    im = ps.generators.blobs(shape=[n, n, n], porosity=a.porosity, blobiness=a.blobiness, seed=a.seed)
    im = ps.filters.fill_closed_pores(im)  # closed pores carry no flow in either method
    path = os.path.join(d, "blobs.npy")
    np.save(path, im.astype(np.uint8))
    json.dump({"voxel_um": a.voxel_um, "shape_zyx": [n, n, n]}, open(os.path.join(d, "blobs.json"), "w"))
    print(f"PoreSpy {ps.__version__}, OpenPNM {op.__version__}; blobs {n}³, porosity {im.mean():.3f}, "
          f"blobiness {a.blobiness}, seed {a.seed}, voxel {a.voxel_um} µm; volume in {d}")
    pnm = openpnm_permeability(im, a.voxel_um * 1e-6)
    pc = phasecast_run(a.phasecast, path, os.path.join(d, "pc_network"), "network")
    rows = [
        ("PoreSpy snow2 + OpenPNM StokesFlow", pnm["k_m2"], pnm["pores"], pnm["throats"], "–", "–",
         f"{pnm['t_snow'] + pnm['t_flow']:.1f} (snow2 {pnm['t_snow']:.1f}, flow {pnm['t_flow']:.1f})"),
        ("phasecast analyze --flow network (whole analysis)", pc["k_m2"], pc["pores"], pc["throats"],
         f"{pc['bubble_um']:.4f}", f"{pc['mean_flow_um']:.4f}", f"{pc['t']:.1f}"),
    ]
    if a.lbm:
        lb = phasecast_run(a.phasecast, path, os.path.join(d, "pc_lbm"), "lbm")
        rows.append(("phasecast analyze --flow lbm (reference)", lb["k_m2"], "–", "–",
                     f"{lb['bubble_um']:.4f}", f"{lb['mean_flow_um']:.4f}", f"{lb['t']:.1f}"))
    print()
    print("| method | k (m²) | pores | throats | bubble point µm | mean flow µm | wall time s |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]:.4e} | {r[2]} | {r[3]} | {r[4]} | {r[5]} | {r[6]} |")
    if a.lbm:
        ref = rows[-1][1]
        print()
        for r in rows[:-1]:
            print(f"{r[0]}: k {100 * (r[1] / ref - 1):+.1f} % against phasecast's lattice Boltzmann")
    return 0


if __name__ == "__main__":
    sys.exit(main())
