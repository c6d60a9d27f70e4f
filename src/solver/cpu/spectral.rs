//! CPU twin of the semi-implicit solve (`shaders/spectral.wgsl`): the operators of
//! `solver::implicit` applied as inverses, FFT (rustfft) or DCT-II (rustdct) along x
//! and y, and along z the FFT (periodic) or a pentadiagonal solve per transverse mode.
//! Layers and columns run in parallel with rayon; all buffers are allocated once.

use crate::solver::implicit::{eigenvalues, factor_band, layout, solve_band, AxisKind, Layout, Op};
use crate::solver::params::Params;
use rayon::prelude::*;
use rustdct::{DctPlanner, TransformType2And3};
use rustfft::num_complex::Complex32;
use rustfft::{Fft, FftPlanner};
use std::sync::Arc;

/// Per-task scratch (one per layer in the x/y passes, one per y row in the z pass).
struct Scratch {
    c: Vec<Complex32>,
    r: Vec<f32>,
    q: Vec<f32>,
    dct: Vec<f32>,
    band: Vec<[f64; 5]>,
    x: Vec<[f64; 2]>,
}

struct Axis {
    kind: AxisKind,
    n: usize,
    lam: Vec<f64>,
    fwd: Option<Arc<dyn Fft<f32>>>,
    inv: Option<Arc<dyn Fft<f32>>>,
    /// DCT-II / DCT-III (Cosine axes, and the noise filter of a banded z).
    dct: Option<Arc<dyn TransformType2And3<f32>>>,
}

impl Axis {
    fn new(kind: AxisKind, n: usize, inv_h2: f64, fp: &mut FftPlanner<f32>, dp: &mut DctPlanner<f32>) -> Self {
        let (fwd, inv) = if kind == AxisKind::Periodic { (Some(fp.plan_fft_forward(n)), Some(fp.plan_fft_inverse(n))) } else { (None, None) };
        let dct = if kind != AxisKind::Periodic { Some(dp.plan_dct2(n)) } else { None };
        Self { kind, n, lam: eigenvalues(kind, n, inv_h2), fwd, inv, dct }
    }

    /// forward ∘ inverse = this factor × identity.
    fn scale(&self) -> f64 {
        match self.kind {
            AxisKind::Periodic => self.n as f64,
            _ => self.n as f64 / 2.0,
        }
    }

    fn scratch_len(&self) -> (usize, usize) {
        let c = self.fwd.as_ref().map_or(0, |f| f.get_inplace_scratch_len()).max(self.inv.as_ref().map_or(0, |f| f.get_inplace_scratch_len()));
        let r = self.dct.as_ref().map_or(0, |d| d.get_scratch_len());
        (c, r)
    }

    /// Transforms every line of `lines` (a multiple of n, contiguous lines).
    fn transform(&self, lines: &mut [Complex32], forward: bool, s: &mut Scratch) {
        match self.kind {
            AxisKind::Periodic => {
                let f = if forward { self.fwd.as_ref() } else { self.inv.as_ref() }.expect("planned");
                let need = f.get_inplace_scratch_len();
                f.process_with_scratch(lines, &mut s.c[..need]);
            }
            _ => {
                let d = self.dct.as_ref().expect("planned");
                let n = self.n;
                let need = d.get_scratch_len();
                for line in lines.chunks_exact_mut(n) {
                    for (k, v) in line.iter().enumerate() {
                        s.r[k] = v.re;
                        s.q[k] = v.im;
                    }
                    if forward {
                        d.process_dct2_with_scratch(&mut s.r[..n], &mut s.dct[..need]);
                        d.process_dct2_with_scratch(&mut s.q[..n], &mut s.dct[..need]);
                    } else {
                        d.process_dct3_with_scratch(&mut s.r[..n], &mut s.dct[..need]);
                        d.process_dct3_with_scratch(&mut s.q[..n], &mut s.dct[..need]);
                    }
                    for (k, v) in line.iter_mut().enumerate() {
                        *v = Complex32::new(s.r[k], s.q[k]);
                    }
                }
            }
        }
    }
}

/// The semi-implicit solver of one grid.
pub struct Spectral {
    pub layout: Layout,
    nx: usize,
    ny: usize,
    nz: usize,
    inv_h2: f64,
    ax: [Axis; 3],
    /// The DCT-II along z used by the noise filter when z is banded.
    zf: Axis,
    buf: Vec<Complex32>,
    tbuf: Vec<Complex32>,
    scratch: Vec<Scratch>,
}

impl Spectral {
    pub fn new(p: &Params) -> Result<Self, String> {
        let layout = layout(p)?;
        let (nx, ny, nz) = (p.nx as usize, p.ny as usize, p.nz as usize);
        let inv_h2 = p.inv_h2 as f64;
        let mut fp = FftPlanner::new();
        let mut dp = DctPlanner::new();
        let ax = [
            Axis::new(layout.x, nx, inv_h2, &mut fp, &mut dp),
            Axis::new(layout.y, ny, inv_h2, &mut fp, &mut dp),
            Axis::new(layout.z, nz, inv_h2, &mut fp, &mut dp),
        ];
        let zf = Axis::new(if layout.z == AxisKind::Periodic { AxisKind::Periodic } else { AxisKind::Cosine }, nz, inv_h2, &mut fp, &mut dp);
        let (mut cl, mut rl) = (0, 0);
        for a in ax.iter().chain(std::iter::once(&zf)) {
            let (c, r) = a.scratch_len();
            cl = cl.max(c);
            rl = rl.max(r);
        }
        let m = nx.max(ny).max(nz);
        let n = nx * ny * nz;
        let scratch = (0..nz.max(ny))
            .map(|_| Scratch {
                c: vec![Complex32::new(0.0, 0.0); cl.max(1)],
                r: vec![0.0; m],
                q: vec![0.0; m],
                dct: vec![0.0; rl.max(1)],
                band: vec![[0.0; 5]; nz],
                x: vec![[0.0; 2]; nz],
            })
            .collect();
        Ok(Self { layout, nx, ny, nz, inv_h2, ax, zf, buf: vec![Complex32::new(0.0, 0.0); n], tbuf: vec![Complex32::new(0.0, 0.0); n], scratch })
    }

    /// x then y transform of every layer of `buf`, lines in parallel.
    fn xy_pass(&mut self, forward: bool) {
        let (nx, ny, nz) = (self.nx, self.ny, self.nz);
        let nxy = nx * ny;
        let [ax, ay, _] = &self.ax;
        let tasks = 4 * rayon::current_num_threads();
        let need = |a: &Axis| {
            let (c, r) = a.scratch_len();
            (c.max(1), r.max(1), a.n)
        };
        if nx > 1 {
            let per = (ny * nz).div_ceil(tasks).max(1);
            let (c, r, m) = need(ax);
            self.buf.par_chunks_mut(nx * per).for_each(|lines| with_scratch(c, r, m, |s| ax.transform(lines, forward, s)));
        }
        if ny > 1 {
            let buf = &self.buf;
            // [z][x][y]: y lines contiguous.
            self.tbuf.par_chunks_mut(ny).enumerate().for_each(|(line, t)| {
                let (z, x) = (line / nx, line % nx);
                for (y, v) in t.iter_mut().enumerate() {
                    *v = buf[z * nxy + y * nx + x];
                }
            });
            let per = (nx * nz).div_ceil(tasks).max(1);
            let (c, r, m) = need(ay);
            self.tbuf.par_chunks_mut(ny * per).for_each(|lines| with_scratch(c, r, m, |s| ay.transform(lines, forward, s)));
            let tbuf = &self.tbuf;
            self.buf.par_chunks_mut(nx).enumerate().for_each(|(row, b)| {
                let (z, y) = (row / ny, row % ny);
                for (x, v) in b.iter_mut().enumerate() {
                    *v = tbuf[(z * nx + x) * ny + y];
                }
            });
        }
    }

    fn load(&mut self, data: &[[f32; 2]], comp: usize, shift: f32) {
        self.buf.par_iter_mut().zip(data.par_iter()).for_each(|(b, d)| *b = Complex32::new(d[comp] - shift, 0.0));
    }

    fn store(&self, data: &mut [[f32; 2]], comp: usize, shift: f32) {
        data.par_iter_mut().zip(self.buf.par_iter()).for_each(|(d, b)| d[comp] = b.re + shift);
    }

    fn norm(&self, with_z: bool) -> f64 {
        let mut s = 1.0;
        for (k, a) in self.ax.iter().enumerate().take(2) {
            if [self.nx, self.ny][k] > 1 {
                s *= a.scale();
            }
        }
        if with_z && self.nz > 1 {
            s *= self.zf.scale();
        }
        1.0 / s
    }

    /// Replaces component `comp` of `data` by the solution w of op (w − shift) = data − shift.
    pub fn solve(&mut self, data: &mut [[f32; 2]], comp: usize, op: &Op, shift: f32) {
        self.load(data, comp, shift);
        self.xy_pass(true);
        let nz = self.nz;
        let inv_h2 = self.inv_h2;
        let periodic_z = self.layout.z == AxisKind::Periodic;
        let norm_xy = self.norm(false);
        let (nx, ny) = (self.nx, self.ny);
        let [ax, ay, az] = &self.ax;
        let norm_z = if periodic_z && nz > 1 { 1.0 / az.scale() } else { 1.0 };
        let lz = &az.lam;
        let az_ptr: &Axis = az;
        let op = *op;
        z_pass(&mut self.buf, &mut self.tbuf, &mut self.scratch, nx, ny, nz, &ax.lam, &ay.lam, move |lam, c, s| {
            if periodic_z {
                if nz > 1 {
                    az_ptr.transform(c, true, s);
                }
                for (k, v) in c.iter_mut().enumerate() {
                    *v *= (norm_xy * norm_z / op.symbol(lam + lz[k])) as f32;
                }
                if nz > 1 {
                    az_ptr.transform(c, false, s);
                }
            } else {
                op.band_into(lam, inv_h2, &mut s.band);
                factor_band(&mut s.band);
                for (k, v) in c.iter().enumerate() {
                    s.x[k] = [v.re as f64, v.im as f64];
                }
                solve_band(&s.band, &mut s.x);
                for (k, v) in c.iter_mut().enumerate() {
                    *v = Complex32::new((s.x[k][0] * norm_xy) as f32, (s.x[k][1] * norm_xy) as f32);
                }
            }
        });
        self.xy_pass(false);
        self.store(data, comp, shift);
    }

    /// Multiplies component `comp` of `data` by (symbol of `op`)^(−½), the noise filter,
    /// diagonal in the FFT/DCT-II basis along every axis (mirror rows along a banded z),
    /// and removes the mean the transforms' rounding leaves.
    pub fn filter(&mut self, data: &mut [[f32; 2]], comp: usize, op: &Op) {
        self.load(data, comp, 0.0);
        self.xy_pass(true);
        let nz = self.nz;
        let norm = self.norm(true);
        let (nx, ny) = (self.nx, self.ny);
        let [ax, ay, _] = &self.ax;
        let zf = &self.zf;
        let lz = &zf.lam;
        let op = *op;
        z_pass(&mut self.buf, &mut self.tbuf, &mut self.scratch, nx, ny, nz, &ax.lam, &ay.lam, move |lam, c, s| {
            if nz > 1 {
                zf.transform(c, true, s);
            }
            for (k, v) in c.iter_mut().enumerate() {
                *v *= (norm / op.symbol(lam + lz[k]).max(1.0).sqrt()) as f32;
            }
            if nz > 1 {
                zf.transform(c, false, s);
            }
        });
        self.xy_pass(false);
        let mean = self.buf.par_iter().map(|b| b.re as f64).sum::<f64>() / self.buf.len() as f64;
        self.store(data, comp, -(mean as f32));
    }
}

/// Applies `col(lam_xy, column, scratch)` to every z column of the x/y spectrum in `buf`.
#[allow(clippy::too_many_arguments)]
fn z_pass<F>(buf: &mut [Complex32], tbuf: &mut [Complex32], scratch: &mut [Scratch], nx: usize, ny: usize, nz: usize, lx: &[f64], ly: &[f64], col: F)
where
    F: Fn(f64, &mut [Complex32], &mut Scratch) + Sync,
{
    let nxy = nx * ny;
    if nz == 1 {
        buf.par_chunks_mut(nx).zip(scratch.par_iter_mut()).enumerate().for_each(|(y, (row, s))| {
            for (x, v) in row.chunks_mut(1).enumerate() {
                col(lx[x] + ly[y], v, s);
            }
        });
        return;
    }
    {
        let buf = &*buf;
        tbuf.par_chunks_mut(nx * nz).zip(scratch.par_iter_mut()).enumerate().for_each(|(y, (group, s))| {
            for x in 0..nx {
                let c = &mut group[x * nz..(x + 1) * nz];
                for z in 0..nz {
                    c[z] = buf[z * nxy + y * nx + x];
                }
                col(lx[x] + ly[y], c, s);
            }
        });
    }
    let tbuf = &*tbuf;
    buf.par_chunks_mut(nxy).enumerate().for_each(|(z, layer)| {
        for (k, v) in layer.iter_mut().enumerate() {
            *v = tbuf[k * nz + z];
        }
    });
}

thread_local! {
    static LINE_SCRATCH: std::cell::RefCell<Scratch> = const { std::cell::RefCell::new(Scratch { c: Vec::new(), r: Vec::new(), q: Vec::new(), dct: Vec::new(), band: Vec::new(), x: Vec::new() }) };
}

/// Runs `f` with this thread's line scratch, grown (once) to the sizes asked for.
fn with_scratch<R>(c: usize, r: usize, m: usize, f: impl FnOnce(&mut Scratch) -> R) -> R {
    LINE_SCRATCH.with(|cell| {
        let mut s = cell.borrow_mut();
        if s.c.len() < c {
            s.c.resize(c, Complex32::new(0.0, 0.0));
        }
        if s.dct.len() < r {
            s.dct.resize(r, 0.0);
        }
        if s.r.len() < m {
            s.r.resize(m, 0.0);
            s.q.resize(m, 0.0);
        }
        f(&mut s)
    })
}
