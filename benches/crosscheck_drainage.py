#!/usr/bin/env python3
"""Cross-check of phasecast's morphological drainage against PoreSpy.

Reads the cases exported by `tests/lab_crosscheck.rs` (see
`benches/crosscheck_drainage.sh`), runs `porespy.simulations.drainage` on the
same volumes (inlet: the z = 0 face, every distinct capillary pressure of the
image as a step, side faces as image borders), and compares:

- the breakthrough (bubble-point) radius: the largest sphere radius at which
  the invading phase reaches the outlet face (z = last);
- the gas saturation curve S(r): the pore fraction invaded once the pressure
  has reached the Laplace pressure of radius r;
- voxel-wise agreement of the invaded sets at the breakthrough radius and at
  a few radii below it.

PoreSpy's pc = 2/dt (σ = 1, θ = 0), so radius r corresponds to pc = 2/r.
Prints a Markdown table for docs/validation.md (section 5).
"""
import json
import sys
from pathlib import Path

import numpy as np
import porespy as ps


def main(case_dir: Path) -> int:
    cases = json.loads((case_dir / "cases.json").read_text())
    print(f"PoreSpy {ps.__version__}")
    print()
    print("| case | shape | porosity | breakthrough r phasecast (vox) | PoreSpy (vox) | S(r) max abs diff | voxel agreement at r_bt, 0.8 r_bt, 0.6 r_bt |")
    print("|---|---|---|---|---|---|---|")
    worst = 0.0
    for name, info in cases.items():
        im = np.load(case_dir / f"{name}.npy") > 0.5
        rinv = np.load(case_dir / f"{name}_rinv.npy")
        inlets = np.zeros_like(im)
        inlets[0] = True
        inlets &= im
        res = ps.simulations.drainage(im=im, inlets=inlets, steps=None)
        pc = res.im_pc
        # Breakthrough: lowest invasion pressure on the outlet face.
        out_pc = pc[-1][im[-1]]
        out_pc = out_pc[np.isfinite(out_pc) & (out_pc > 0)]
        r_ps = 2.0 / out_pc.min() if out_pc.size else float("nan")
        r_pc = info["breakthrough_radius_vox"]
        r_pc = float("nan") if r_pc is None else r_pc
        # Saturation curves on a common set of radii (every distinct radius).
        radii = np.unique(np.concatenate([rinv[im & (rinv > 0)], 2.0 / pc[im & np.isfinite(pc) & (pc > 0)]]))
        npore = im.sum()
        s_pc = np.array([(rinv >= r - 1e-6).sum() / npore for r in radii])
        s_ps = np.array([((pc <= 2.0 / r + 1e-9) & im).sum() / npore for r in radii])
        dmax = float(np.abs(s_pc - s_ps).max())
        agree = []
        for f in (1.0, 0.8, 0.6):
            r = f * r_pc
            a = (rinv >= r - 1e-6) & im
            b = (pc <= 2.0 / r + 1e-9) & im
            agree.append(1.0 - (a ^ b).sum() / npore)
        worst = max(worst, abs(r_ps - r_pc))
        print(f"| {name} | {'×'.join(map(str, im.shape))} | {im.mean():.3f} | {r_pc:.3f} | {r_ps:.3f} | {dmax:.3f} | "
              + ", ".join(f"{x:.3f}" for x in agree) + " |")
    print()
    print(f"largest breakthrough-radius difference: {worst:.3f} voxels")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "target/crosscheck_drainage")))
