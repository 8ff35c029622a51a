//! Small statistics toolkit used to test samplers and by the reproductions: moments, the
//! Kolmogorov-Smirnov statistic and its asymptotic p-value, and the CDFs the tests need
//! (normal, gamma via the regularised incomplete gamma, Student-t via the incomplete beta).
//! No allocation: the KS test sorts the caller's slice in place.

/// First four moments: mean, variance (population), skewness and excess kurtosis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Moments {
    /// Sample mean.
    pub mean: f64,
    /// Population variance `E[(x - mean)^2]`.
    pub var: f64,
    /// Skewness `E[(x - mean)^3] / var^1.5`.
    pub skew: f64,
    /// Excess kurtosis `E[(x - mean)^4] / var^2 - 3`.
    pub excess_kurtosis: f64,
}

/// Moments of `xs` (two-pass, stable). An empty slice gives NaNs.
pub fn moments(xs: &[f64]) -> Moments {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let (mut m2, mut m3, mut m4) = (0.0, 0.0, 0.0);
    for &x in xs {
        let d = x - mean;
        let d2 = d * d;
        m2 += d2;
        m3 += d2 * d;
        m4 += d2 * d2;
    }
    m2 /= n;
    m3 /= n;
    m4 /= n;
    Moments {
        mean,
        var: m2,
        skew: m3 / libm::pow(m2, 1.5),
        excess_kurtosis: m4 / (m2 * m2) - 3.0,
    }
}

/// Two-sided one-sample KS statistic `D = sup |F_n - F|`; sorts `xs` in place.
pub fn ks_statistic(xs: &mut [f64], cdf: impl Fn(f64) -> f64) -> f64 {
    xs.sort_unstable_by(|a, b| a.total_cmp(b));
    let n = xs.len() as f64;
    let mut d: f64 = 0.0;
    for (i, &x) in xs.iter().enumerate() {
        let f = cdf(x);
        d = d.max(f - i as f64 / n).max((i + 1) as f64 / n - f);
    }
    d
}

/// Asymptotic p-value of the KS statistic `d` for `n` samples (Kolmogorov distribution with the
/// Stephens small-sample correction `sqrt(n) + 0.12 + 0.11/sqrt(n)`).
pub fn ks_pvalue(d: f64, n: usize) -> f64 {
    let sn = libm::sqrt(n as f64);
    let t = (sn + 0.12 + 0.11 / sn) * d;
    if t < 0.2 {
        return 1.0;
    }
    let mut sum = 0.0;
    for j in 1..=100 {
        let jf = j as f64;
        let term = libm::exp(-2.0 * jf * jf * t * t);
        sum += if j % 2 == 1 { term } else { -term };
        if term < 1e-16 {
            break;
        }
    }
    (2.0 * sum).clamp(0.0, 1.0)
}

/// Standard normal CDF.
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / core::f64::consts::SQRT_2)
}

/// Regularised lower incomplete gamma `P(a, x)` (series for `x < a + 1`, continued fraction
/// otherwise; Numerical Recipes 6.2).
pub fn gamma_p(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    let ln_pre = a * libm::log(x) - x - libm::lgamma(a);
    if x < a + 1.0 {
        let (mut ap, mut sum, mut del) = (a, 1.0 / a, 1.0 / a);
        for _ in 0..10_000 {
            ap += 1.0;
            del *= x / ap;
            sum += del;
            if del.abs() < sum.abs() * 1e-16 {
                break;
            }
        }
        sum * libm::exp(ln_pre)
    } else {
        1.0 - continued_fraction_gamma(a, x) * libm::exp(ln_pre)
    }
}

fn continued_fraction_gamma(a: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let mut b = x + 1.0 - a;
    let mut c = 1.0 / TINY;
    let mut d = 1.0 / b;
    let mut h = d;
    for i in 1..10_000 {
        let an = -(i as f64) * (i as f64 - a);
        b += 2.0;
        d = an * d + b;
        if d.abs() < TINY {
            d = TINY;
        }
        c = b + an / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < 1e-16 {
            break;
        }
    }
    h
}

/// Gamma(shape, scale) CDF.
pub fn gamma_cdf(x: f64, shape: f64, scale: f64) -> f64 {
    gamma_p(shape, x / scale)
}

/// Poisson(lambda) CDF `P(X <= k) = 1 - P(k + 1, lambda)`.
pub fn poisson_cdf(k: u64, lambda: f64) -> f64 {
    1.0 - gamma_p(k as f64 + 1.0, lambda)
}

/// Regularised incomplete beta `I_x(a, b)` (continued fraction, Numerical Recipes 6.4).
pub fn beta_inc(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = libm::lgamma(a + b) - libm::lgamma(a) - libm::lgamma(b)
        + a * libm::log(x)
        + b * libm::log(1.0 - x);
    if x < (a + 1.0) / (a + b + 2.0) {
        libm::exp(ln_front) * beta_cf(a, b, x) / a
    } else {
        1.0 - libm::exp(ln_front) * beta_cf(b, a, 1.0 - x) / b
    }
}

fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..10_000 {
        let m = m as f64;
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < 1e-16 {
            break;
        }
    }
    h
}

/// Student-t CDF with `nu` degrees of freedom.
pub fn student_t_cdf(t: f64, nu: f64) -> f64 {
    let x = nu / (nu + t * t);
    let tail = 0.5 * beta_inc(nu / 2.0, 0.5, x);
    if t >= 0.0 {
        1.0 - tail
    } else {
        tail
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdfs_match_reference_values() {
        // scipy 1.x stats: norm.cdf(1.0), gamma.cdf(2, a=3), t.cdf(1.5, df=4) (= 0.896 exactly), poisson.cdf(3, 2.5)
        assert!((normal_cdf(1.0) - 0.841_344_746_068_542_9).abs() < 1e-14);
        assert!((gamma_cdf(2.0, 3.0, 1.0) - 0.323_323_583_816_936_5).abs() < 1e-12);
        assert!((student_t_cdf(1.5, 4.0) - 0.896).abs() < 1e-10);
        assert!((poisson_cdf(3, 2.5) - 0.757_576_133_133_066_5).abs() < 1e-12);
    }

    #[test]
    fn moments_of_a_known_sample() {
        let m = moments(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(m.mean, 2.5);
        assert_eq!(m.var, 1.25);
        assert!(m.skew.abs() < 1e-15);
        assert!((m.excess_kurtosis - (-1.36)).abs() < 1e-12);
    }

    #[test]
    fn ks_detects_a_shifted_sample_and_accepts_a_fair_one() {
        let mut fair: [f64; 100] = core::array::from_fn(|i| (i as f64 + 0.5) / 100.0);
        let d = ks_statistic(&mut fair, |x| x.clamp(0.0, 1.0));
        assert!(d <= 0.005 + 1e-12);
        assert!(ks_pvalue(d, 100) > 0.99);
        let mut shifted: [f64; 100] = core::array::from_fn(|i| 0.3 + (i as f64 + 0.5) / 200.0);
        let d = ks_statistic(&mut shifted, |x| x.clamp(0.0, 1.0));
        assert!(ks_pvalue(d, 100) < 1e-6);
    }
}
