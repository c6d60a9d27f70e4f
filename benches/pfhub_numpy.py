#!/usr/bin/env python3
"""PFHub benchmark 1a: a NumPy semi-implicit Fourier-spectral reference, side by side
with phasecast.

The NumPy solver integrates the same *discrete* problem phasecast does: the 5-point
finite-difference Laplacian on a periodic N x N grid (its Fourier symbol
-(4/h^2)(sin^2(pi k/N) + sin^2(pi l/N)), not the continuous -k^2), with
f = rho (c - alpha)^2 (beta - c)^2 and first-order linearly stabilised steps

    c^(n+1)^ = c^n^ - dt M lam ( f'(c^n)^ + kappa lam c^n^ ) / (1 + dt M kappa lam^2),

lam = (4/h^2)(sin^2(pi k/N) + sin^2(pi l/N)) >= 0, written with rfft2. The step is
adaptive like phasecast's: e = 1/2 rms(delta^n - (dt_n/dt_(n-1)) delta^(n-1)) with
delta^n = c^(n+1) - c^n; a step is accepted if e <= 1.5 tol (and the free energy did
not rise), then dt *= clamp(0.9 (tol/e)^0.35 (e_prev/tol)^0.2, 0.2, 1.5); a rejected
step retries at dt * clamp(0.9 sqrt(tol/e), 0.1, 0.9) (0.25 after an energy rise).
It starts at dt = 2.5e-3 and steps end exactly at the report times. The free energy
is computed as phasecast does, F = sum [f(c) + kappa/2 |grad+ c|^2] h^2 with forward
differences.

    python3 benches/pfhub_numpy.py solve [--tol 2e-5] [--t-end 1000]
        runs the NumPy solver alone and prints one JSON line.
    python3 benches/pfhub_numpy.py compare --phasecast BIN --scene TOML [--tol 2e-5]
        runs the NumPy solver and phasecast (each as a child process, wall-clocked)
        and prints the comparison table. benches/pfhub_numpy.sh does this in a
        throwaway virtual environment.
"""
import argparse
import csv
import json
import math
import os
import subprocess
import sys
import tempfile
import time

# MOOSE S1 (dschwen/CHiMaD_Hackathon hackathon_1/problem_1a_out.csv), as in
# docs/reference/pfhub_bm1a_reference.csv.
S1 = {100.0: 138.52951984223, 1000.0: 83.740836903399}
REPORT = (100.0, 1000.0)


def solve(n=200, h=1.0, rho=5.0, alpha=0.3, beta=0.7, kappa=2.0, mob=5.0, tol=2e-5,
          t_end=1000.0, dt0=2.5e-3, report=REPORT):
    import numpy as np

    x = np.arange(n) * h
    X, Y = np.meshgrid(x, x, indexing="xy")  # c[y, x]
    c = 0.5 + 0.01 * (np.cos(0.105 * X) * np.cos(0.11 * Y)
                      + (np.cos(0.13 * X) * np.cos(0.087 * Y)) ** 2
                      + np.cos(0.025 * X - 0.15 * Y) * np.cos(0.07 * X - 0.02 * Y))

    sy = np.sin(np.pi * np.arange(n) / n) ** 2            # full axis (rows)
    sx = np.sin(np.pi * np.arange(n // 2 + 1) / n) ** 2   # half axis (rfft columns)
    lam = (4.0 / h**2) * (sy[:, None] + sx[None, :])      # -symbol of the 5-point L
    lam2 = lam * lam

    def fprime(c):
        return 2.0 * rho * (c - alpha) * (beta - c) * (alpha + beta - 2.0 * c)

    def energy(c):
        gx = np.roll(c, -1, axis=1) - c
        gy = np.roll(c, -1, axis=0) - c
        bulk = rho * (c - alpha) ** 2 * (beta - c) ** 2
        return float(np.sum(bulk + 0.5 * kappa * (gx * gx + gy * gy) / h**2) * h**2)

    def step(c, dt):
        ch = np.fft.rfft2(c)
        fh = np.fft.rfft2(fprime(c))
        upd = ch - dt * mob * lam * (fh + kappa * lam * ch) / (1.0 + dt * mob * kappa * lam2)
        return np.fft.irfft2(upd, s=c.shape)

    t = 0.0
    dt = dt0
    F = energy(c)
    hist_t, hist_F = [t], [F]
    delta_prev, dt_prev = None, None
    err_prev = 0.0
    steps = rejected = 0
    stops = sorted(r for r in report if 0.0 < r < t_end) + [t_end]
    t_solve = time.perf_counter()
    while t < t_end * (1.0 - 1e-12):
        want = dt
        nxt = next(s for s in stops if s > t * (1.0 + 1e-12) + 1e-12)
        dt = min(want, nxt - t)
        clipped = dt < want * (1.0 - 1e-9)
        tries = 0
        while True:
            cn = step(c, dt)
            delta = cn - c
            Fn = energy(cn)
            e = None
            if delta_prev is not None:
                r = delta - (dt / dt_prev) * delta_prev
                e = 0.5 * math.sqrt(float(np.mean(r * r)))
            why = None
            if not np.isfinite(Fn):
                why = "nan"
            elif Fn > F + 1e-6 * abs(F):
                why = "energy"
            elif e is not None and e > 1.5 * tol:
                why = "error"
            if why is None:
                break
            rejected += 1
            tries += 1
            if tries > 40:
                raise RuntimeError(f"40 rejections in a row at t = {t}, dt = {dt}")
            shrink = min(max(0.9 * math.sqrt(tol / e), 0.1), 0.9) if why == "error" else 0.25
            dt *= shrink
            clipped = False
            want = dt
        c = cn
        t += dt
        F = Fn
        steps += 1
        hist_t.append(t)
        hist_F.append(F)
        delta_prev, dt_prev = delta, dt
        if e is None:
            factor = 1.0
        elif e <= 0.0:
            factor = 1.5
        else:
            pi = (err_prev / tol) ** 0.2 if err_prev > 0.0 else 1.0
            factor = min(max(0.9 * (tol / e) ** 0.35 * pi, 0.2), 1.5)
        dt = max(want, dt) if (clipped and factor >= 1.0) else dt * factor
        err_prev = e if e is not None else 0.0
    t_solve = time.perf_counter() - t_solve
    return {
        "F": {str(r): interp(hist_t, hist_F, r) for r in report},
        "F0": hist_F[0],
        "steps": steps,
        "rejected": rejected,
        "t_end": t,
        "solve_s": t_solve,
    }


def interp(ts, fs, r):
    """F at time r, linear between the steps around it (None outside the run)."""
    for i in range(1, len(ts)):
        if ts[i] >= r * (1.0 - 1e-12):
            t0, t1, f0, f1 = ts[i - 1], ts[i], fs[i - 1], fs[i]
            if t1 <= t0:
                return f1
            return f0 + (f1 - f0) * (r - t0) / (t1 - t0)
    return None


def read_phasecast(path):
    ts, fs = [], []
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            ts.append(float(row["time_s"]))
            fs.append(float(row["free_energy"]))
    return ts, fs


def compare(args):
    here = os.path.abspath(__file__)
    # (a) NumPy, as a child process so both wall times include start-up.
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, here, "solve", "--tol", str(args.tol), "--t-end", str(args.t_end)],
                         check=True, capture_output=True, text=True).stdout
    wall_np = time.perf_counter() - t0
    res = json.loads(out.strip().splitlines()[-1])
    np_F = {r: res["F"][str(r)] for r in REPORT}

    # (b) phasecast.
    with tempfile.TemporaryDirectory(prefix="pfhub_pc_") as d:
        cmd = [args.phasecast, "run", args.scene, "--backend", "cpu", "--quiet", "--out", d,
               "--set", f"time.tolerance={args.tol}"]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True)
        wall_pc = time.perf_counter() - t0
        ts, fs = read_phasecast(os.path.join(d, "energy.csv"))
    pc_F = {r: interp(ts, fs, r) for r in REPORT}
    pc_steps = len(ts) - 1

    def dev(v, r):
        return 100.0 * (v - S1[r]) / S1[r]

    print(f"PFHub 1a, 200x200 periodic, t = 0..{args.t_end:g}, time.tolerance = --tol = {args.tol:g}")
    print(f"MOOSE S1: F(100) = {S1[100.0]:.3f}, F(1000) = {S1[1000.0]:.3f}")
    print()
    hdr = f"{'solver':<22}{'F(0)':>10}{'F(100)':>10}{'dev':>8}{'F(1000)':>10}{'dev':>8}{'steps':>8}{'wall s':>9}"
    print(hdr)
    print("-" * len(hdr))
    rows = [("NumPy spectral (f64)", res["F0"], np_F, f"{res['steps']}", wall_np),
            ("phasecast cpu (f32)", fs[0], pc_F, f"{pc_steps}", wall_pc)]
    ok = True
    for name, f0, F, st, w in rows:
        d1, d2 = dev(F[100.0], 100.0), dev(F[1000.0], 1000.0)
        ok &= abs(d1) <= 3.0 and abs(d2) <= 3.0
        print(f"{name:<22}{f0:>10.3f}{F[100.0]:>10.3f}{d1:>+7.2f}%{F[1000.0]:>10.3f}{d2:>+7.2f}%{st:>8}{w:>9.2f}")
    print()
    print(f"wall-time ratio NumPy / phasecast: {wall_np / wall_pc:.2f}")
    print(f"NumPy: {res['rejected']} rejected steps, solve loop alone {res['solve_s']:.2f} s "
          f"(wall includes interpreter and numpy start-up); phasecast wall includes its outputs")
    print(f"phasecast vs NumPy: F(100) {100 * (pc_F[100.0] - np_F[100.0]) / np_F[100.0]:+.2f}%, "
          f"F(1000) {100 * (pc_F[1000.0] - np_F[1000.0]) / np_F[1000.0]:+.2f}%")
    print(f"both within 3 % of S1 at t = 100 and 1000: {'yes' if ok else 'NO'}")
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("solve", help="run the NumPy solver, print one JSON line")
    s.add_argument("--tol", type=float, default=2e-5)
    s.add_argument("--t-end", type=float, default=1000.0)
    c = sub.add_parser("compare", help="run NumPy and phasecast, print the table")
    c.add_argument("--tol", type=float, default=2e-5)
    c.add_argument("--t-end", type=float, default=1000.0)
    c.add_argument("--phasecast", required=True)
    c.add_argument("--scene", required=True)
    args = ap.parse_args()
    if args.cmd == "solve":
        print(json.dumps(solve(tol=args.tol, t_end=args.t_end)))
        return 0
    return compare(args)


if __name__ == "__main__":
    sys.exit(main())
