//! Turning declared durations into numbers. Random durations are drawn from
//! a hash of (seed, instance, transition), so a prediction and a run with the
//! same seed see the same draw, whatever order they ask in.

use crate::model::{Action, DurationSpec, TypeIndex};
use std::collections::HashMap;
use std::time::Duration;

/// Parse `2.5`, `2.5s`, `300ms`, `1m`, or `uniform(0, 10)` (seconds).
pub fn parse_spec(text: &str) -> Result<DurationSpec, String> {
    let t = text.trim();
    if let Some(rest) = t.strip_prefix("uniform") {
        let inner = rest
            .trim()
            .strip_prefix('(')
            .and_then(|r| r.strip_suffix(')'))
            .ok_or_else(|| format!("expected `uniform(LO, HI)`, found `{t}`"))?;
        let (lo, hi) = inner
            .split_once(',')
            .ok_or_else(|| format!("expected two bounds in `{t}`"))?;
        let lo = parse_seconds(lo)?;
        let hi = parse_seconds(hi)?;
        if lo > hi {
            return Err(format!("lower bound {lo} is above upper bound {hi}"));
        }
        return Ok(DurationSpec::Uniform { lo, hi });
    }
    Ok(DurationSpec::Fixed(secs(parse_seconds(t)?)))
}

/// The longest duration accepted: 365 days.
pub const MAX_SECONDS: f64 = 365.0 * 24.0 * 3600.0;

/// Seconds from `2.5`, `2.5s`, `300ms`, `2m`, `1h`.
pub fn parse_seconds(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let (num, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = t.strip_suffix('h') {
        (n, 3600.0)
    } else {
        (t, 1.0)
    };
    let v: f64 = num.trim().parse().map_err(|_| {
        format!("`{t}` is not a duration (try `2.5`, `300ms`, `2m` or `uniform(0, 10)`)")
    })?;
    if !v.is_finite() || v < 0.0 {
        return Err(format!(
            "duration `{t}` must be a finite, non-negative number"
        ));
    }
    // At most a year: no deployment step lasts longer, and tokio's timer
    // spans about two years (a longer sleep would crawl there in steps).
    // This also rejects `1e308h`, infinite once scaled.
    let s = v * scale;
    if s > MAX_SECONDS {
        return Err(format!(
            "duration `{t}` is too large (at most one year, {MAX_SECONDS} seconds)"
        ));
    }
    Ok(s)
}

/// Seconds to a [`Duration`] rounded to the millisecond: every duration in
/// the runtime is a whole number of milliseconds, so sums are exact and the
/// paused tokio clock (1 ms timer resolution) reproduces them exactly.
pub fn secs(s: f64) -> Duration {
    Duration::from_millis((s * 1000.0).round() as u64)
}

/// Resolves the duration of each (instance, transition).
#[derive(Debug, Clone, Default)]
pub struct Durations {
    pub seed: u64,
    /// Overrides by `instance.transition` or `Type.transition`, the former winning.
    pub overrides: HashMap<String, Duration>,
}

impl Durations {
    pub fn new(seed: u64) -> Self {
        Durations {
            seed,
            overrides: HashMap::new(),
        }
    }

    /// The duration the performance model and simulated runs use.
    pub fn of(&self, instance: &str, ty: &TypeIndex, t: usize) -> Duration {
        let tr = &ty.ty.transitions[t];
        if let Some(d) = self
            .overrides
            .get(&format!("{instance}.{}", tr.name))
            .or_else(|| self.overrides.get(&format!("{}.{}", ty.ty.name, tr.name)))
        {
            return *d;
        }
        let spec = match (&tr.estimate, &tr.action) {
            (Some(s), _) => *s,
            (None, Action::Sleep(s)) => *s,
            (None, _) => return Duration::ZERO,
        };
        self.draw(instance, &tr.name, spec)
    }

    /// How long a `sleep` action sleeps (its own spec, not the estimate).
    pub fn sleep_of(&self, instance: &str, trans: &str, spec: DurationSpec) -> Duration {
        self.draw(instance, trans, spec)
    }

    fn draw(&self, instance: &str, trans: &str, spec: DurationSpec) -> Duration {
        match spec {
            DurationSpec::Fixed(d) => d,
            DurationSpec::Uniform { lo, hi } => {
                let u = unit(self.seed, instance, trans);
                secs(lo + (hi - lo) * u)
            }
        }
    }
}

/// A uniform number in [0, 1) from (seed, instance, transition): FNV-1a over
/// the names, finished with splitmix64.
fn unit(seed: u64, instance: &str, trans: &str) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for b in instance.bytes().chain([0u8]).chain(trans.bytes()) {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let mut z = h.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_uniform() {
        assert_eq!(
            parse_spec("2.5").unwrap(),
            DurationSpec::Fixed(Duration::from_millis(2500))
        );
        assert_eq!(
            parse_spec("300ms").unwrap(),
            DurationSpec::Fixed(Duration::from_millis(300))
        );
        assert_eq!(
            parse_spec("2m").unwrap(),
            DurationSpec::Fixed(Duration::from_secs(120))
        );
        assert_eq!(
            parse_spec("uniform(0, 10)").unwrap(),
            DurationSpec::Uniform { lo: 0.0, hi: 10.0 }
        );
        assert!(parse_spec("uniform(3, 1)").is_err());
        assert!(parse_spec("-1").is_err());
        assert!(parse_spec("fast").is_err());
        // Finite as written, not once scaled or in milliseconds.
        assert!(parse_spec("1e308h").is_err());
        assert!(parse_spec("uniform(0, 1e308h)").is_err());
        assert!(parse_spec("1e300").is_err());
        assert!(parse_spec("1e15").is_err());
        assert!(parse_spec("365d").is_err(), "no day unit");
        assert!(parse_spec("8760h").is_ok());
        assert!(parse_spec("8761h").is_err());
    }

    #[test]
    fn draws_are_seeded_and_in_range() {
        let spec = DurationSpec::Uniform { lo: 0.0, hi: 10.0 };
        let a = Durations::new(1);
        let b = Durations::new(2);
        let mut differ = 0;
        for i in 0..200 {
            let name = format!("c{i}");
            let x = a.sleep_of(&name, "t", spec);
            assert_eq!(x, a.sleep_of(&name, "t", spec));
            assert!(x <= Duration::from_secs(10));
            if x != b.sleep_of(&name, "t", spec) {
                differ += 1;
            }
        }
        assert!(differ > 190, "seeds should change the draws");
    }
}
