//! Phase diagram of the polymer–diluent pair on the host: the Flory–Huggins
//! spinodal and binodal (coexisting compositions by the common tangent) of
//!
//!   f(φ) = φ ln φ / N + (1 − φ) ln(1 − φ) + χ φ (1 − φ)   (kT per site),
//!
//! and, for χ(T) = A + B/T, the spinodal and cloud-point temperatures of a
//! solution; for the ternary dope of a casting recipe, the non-solvent
//! fraction at its spinodal. The run states them for TIPS scenes, so a user sees how far the
//! cooling path runs between the cloud point (where demixing could start by
//! nucleation) and the spinodal (where the Cahn–Hilliard model starts it); they
//! are also the first piece of the planned nucleation pass
//! (docs/nucleation_design.md).

/// ∂f/∂φ.
fn mu(phi: f64, n: f64, chi: f64) -> f64 {
    (phi.ln() + 1.0) / n - (1.0 - phi).ln() - 1.0 + chi * (1.0 - 2.0 * phi)
}

/// f(φ).
fn f(phi: f64, n: f64, chi: f64) -> f64 {
    phi * phi.ln() / n + (1.0 - phi) * (1.0 - phi).ln() + chi * phi * (1.0 - phi)
}

/// The critical point (φ_c, χ_c) for chain length `n`.
pub fn critical(n: f64) -> (f64, f64) {
    let s = n.sqrt();
    (1.0 / (1.0 + s), 0.5 * (1.0 + 1.0 / s).powi(2))
}

/// χ at which `phi` lies on the spinodal: ½ (1/(Nφ) + 1/(1 − φ)).
pub fn spinodal_chi(phi: f64, n: f64) -> f64 {
    0.5 * (1.0 / (n * phi) + 1.0 / (1.0 - phi))
}

/// The two spinodal compositions at `chi` (None at or below χ_c).
pub fn spinodal(chi: f64, n: f64) -> Option<(f64, f64)> {
    let (phi_c, chi_c) = critical(n);
    if chi <= chi_c {
        return None;
    }
    // f'' = 1/(Nφ) + 1/(1 − φ) − 2χ falls on (0, φ_c] and rises on [φ_c, 1).
    let fpp = |p: f64| 1.0 / (n * p) + 1.0 / (1.0 - p) - 2.0 * chi;
    let lo = bisect(1e-15, phi_c, |p| fpp(p) > 0.0);
    let hi = bisect(phi_c, 1.0 - 1e-15, |p| fpp(p) < 0.0);
    Some((lo, hi))
}

/// The largest x in [a, b] (to rounding) with `pred(x)` true, for a predicate
/// that is true on a prefix of the interval.
fn bisect(mut a: f64, mut b: f64, pred: impl Fn(f64) -> bool) -> f64 {
    for _ in 0..200 {
        let m = 0.5 * (a + b);
        if m <= a || m >= b {
            break;
        }
        if pred(m) {
            a = m;
        } else {
            b = m;
        }
    }
    0.5 * (a + b)
}

/// The coexisting compositions (lean, rich) at `chi` by the common tangent
/// (None at or below χ_c). For a slope m between the spinodal values of f′,
/// each convex branch has one tangent point; the intercepts f − mφ of the two
/// agree at the binodal, and their difference is monotonic in m, so m is found
/// by bisection.
pub fn binodal(chi: f64, n: f64) -> Option<(f64, f64)> {
    let (s_lo, s_hi) = spinodal(chi, n)?;
    // f′ rises on (0, s_lo] and on [s_hi, 1): tangent points by bisection.
    let on_lean = |m: f64| bisect(1e-15, s_lo, |p| mu(p, n, chi) < m);
    let on_rich = |m: f64| bisect(s_hi, 1.0 - 1e-15, |p| mu(p, n, chi) < m);
    let gap = |m: f64| {
        let (a, b) = (on_lean(m), on_rich(m));
        (f(a, n, chi) - m * a) - (f(b, n, chi) - m * b)
    };
    // gap(m) rises with m (its derivative is b − a > 0).
    let (m_lo, m_hi) = (mu(s_hi, n, chi), mu(s_lo, n, chi));
    let m = bisect(m_lo, m_hi, |m| gap(m) < 0.0);
    Some((on_lean(m), on_rich(m)))
}

/// Temperatures (K) at which a solution of polymer fraction `phi` reaches its
/// spinodal and its binodal (cloud point) on cooling, for χ(T) = A + B/T with
/// B > 0. None where the solution never demixes (χ never reaches the value).
pub fn spinodal_and_cloud_point_k(phi: f64, n: f64, chi_a: f64, chi_b: f64) -> (Option<f64>, Option<f64>) {
    if !(phi > 0.0 && phi < 1.0) || chi_b <= 0.0 {
        return (None, None);
    }
    let t_of = |chi: f64| if chi > chi_a { Some(chi_b / (chi - chi_a)) } else { None };
    let spin = t_of(spinodal_chi(phi, n));
    // The binodal branch through phi: the rich branch above φ_c, the lean one
    // below; it moves away from φ_c as χ grows, so bisect on χ.
    let (phi_c, chi_c) = critical(n);
    let chi_s = spinodal_chi(phi, n);
    let beyond = |chi: f64| match binodal(chi, n) {
        Some((a, b)) => {
            if phi >= phi_c {
                b < phi
            } else {
                a > phi
            }
        }
        None => true,
    };
    let chi_cloud = bisect(chi_c * (1.0 + 1e-12), chi_s, beyond);
    (spin, t_of(chi_cloud))
}

/// Ternary Flory–Huggins (polymer P, solvent S, non-solvent N; φ_S implied):
/// the non-solvent fraction at which a solution of polymer fraction `phi_p`
/// that takes up non-solvent in place of solvent (φ_P fixed, as in the vapour
/// and bath stages' first moments) reaches its spinodal, det H = 0 with the
/// Hessian of docs/model.md. Searched upward from `phi_n0`; None if the
/// solution is already unstable there or stays stable up to φ_S → 0.
pub fn ternary_spinodal_nonsolvent(phi_p: f64, phi_n0: f64, n: f64, chi_ps: f64, chi_pn: f64, chi_sn: f64) -> Option<f64> {
    let det = |pn: f64| {
        let ps = 1.0 - phi_p - pn;
        let hpp = 1.0 / (n * phi_p) + 1.0 / ps - 2.0 * chi_ps;
        let hnn = 1.0 / pn + 1.0 / ps - 2.0 * chi_sn;
        let hpn = 1.0 / ps - chi_ps + chi_pn - chi_sn;
        hpp * hnn - hpn * hpn
    };
    let start = phi_n0.max(1e-12);
    let end = 1.0 - phi_p - 1e-12;
    if !(start < end) || det(start) <= 0.0 || !(phi_p > 0.0) {
        return None;
    }
    // Step up to the first sign change, then bisect it.
    let steps = 2000;
    let mut a = start;
    for i in 1..=steps {
        let b = start + (end - start) * i as f64 / steps as f64;
        if det(b) <= 0.0 {
            return Some(bisect(a, b, |x| det(x) > 0.0));
        }
        a = b;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psf_dope_spinodal_moves_with_chi_pn() {
        // Seed 000's dope without PVP/LiCl: φ_P = 0.148, φ_N = 0.0196, N = 100,
        // χ_PS = 0.24, χ_SN = 0.785 (docs/model.md §8): the water fraction at
        // the spinodal falls as χ_PN rises (0.081, 0.030, 0.0245 for 3, 5, 5.5;
        // computed independently from det H = 0 on a 0.0005 grid).
        for (chi_pn, want) in [(3.0, 0.081), (5.0, 0.030), (5.5, 0.0245)] {
            let got = ternary_spinodal_nonsolvent(0.148, 0.0196, 100.0, 0.24, chi_pn, 0.785).unwrap();
            assert!((got - want).abs() < 0.0006, "χ_PN {chi_pn}: {got} vs {want}");
        }
        // A dope already past its spinodal has none ahead.
        assert!(ternary_spinodal_nonsolvent(0.148, 0.05, 100.0, 0.24, 5.5, 0.785).is_none());
    }

    #[test]
    fn symmetric_blend_binodal_is_the_closed_form() {
        // N = 1: χ = ln(φ/(1 − φ))/(2φ − 1) on the binodal, φ_lean = 1 − φ_rich.
        for chi in [2.1, 2.5, 3.0] {
            let (a, b) = binodal(chi, 1.0).unwrap();
            assert!((a + b - 1.0).abs() < 1e-9, "χ {chi}: {a} {b}");
            let closed = (b / (1.0 - b)).ln() / (2.0 * b - 1.0);
            assert!((closed - chi).abs() < 1e-9, "χ {chi}: closed form gives {closed}");
        }
        assert!(binodal(2.0, 1.0).is_none());
    }

    #[test]
    fn polymer_solution_binodal_has_a_common_tangent() {
        let (n, chi) = (100.0, 0.7);
        let (a, b) = binodal(chi, n).unwrap();
        let (s1, s2) = spinodal(chi, n).unwrap();
        assert!(a < s1 && s1 < s2 && s2 < b);
        // Equal chemical potential and equal intercept (osmotic pressure).
        assert!((mu(a, n, chi) - mu(b, n, chi)).abs() < 1e-9);
        let pi = |p: f64| f(p, n, chi) - p * mu(p, n, chi);
        assert!((pi(a) - pi(b)).abs() < 1e-9);
        // The critical point of N = 100: φ_c = 1/11, χ_c = 0.605.
        let (pc, cc) = critical(n);
        assert!((pc - 1.0 / 11.0).abs() < 1e-12 && (cc - 0.605).abs() < 1e-12);
    }

    #[test]
    fn the_seed_002_solution_clouds_above_its_spinodal() {
        // PVDF/DEP φ_P = 0.354, N = 100, χ = −3.99 + 1902 K/T (docs/model.md §7):
        // the spinodal was fitted to 125 °C; the cloud point lies above it.
        let (spin, cloud) = spinodal_and_cloud_point_k(0.354, 100.0, -3.99, 1902.0);
        let (spin, cloud) = (spin.unwrap() - 273.15, cloud.unwrap() - 273.15);
        assert!((spin - 125.0).abs() < 1.0, "spinodal {spin} °C");
        assert!(cloud > spin + 3.0 && cloud < spin + 15.0, "cloud point {cloud} °C, spinodal {spin} °C");
        // At the cloud point φ is the rich end of the tie line.
        let chi = -3.99 + 1902.0 / (cloud + 273.15);
        let (_, b) = binodal(chi, 100.0).unwrap();
        assert!((b - 0.354).abs() < 1e-6);
    }
}
