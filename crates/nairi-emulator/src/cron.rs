//! A small 5-field cron checker enforcing the 5-minute minimum granularity.

/// Why a schedule was rejected.
pub(crate) type CronError = String;

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

fn value(s: &str, min: u32, max: u32, names: &[&str], name_base: u32) -> Result<u32, CronError> {
    if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(s)) {
        return Ok(i as u32 + name_base);
    }
    let n: u32 = s.parse().map_err(|_| format!("invalid value {s:?}"))?;
    if n < min || n > max {
        return Err(format!("value {n} out of range {min}-{max}"));
    }
    Ok(n)
}

/// Expands one field into the set of values it matches.
fn field(
    s: &str,
    min: u32,
    max: u32,
    names: &[&str],
    name_base: u32,
) -> Result<Vec<u32>, CronError> {
    let mut out = Vec::new();
    for part in s.split(',') {
        if part.is_empty() {
            return Err("empty list item".into());
        }
        let (range, step) = match part.split_once('/') {
            Some((r, st)) => {
                let st: u32 = st.parse().map_err(|_| format!("invalid step {st:?}"))?;
                if st == 0 {
                    return Err("step must be at least 1".into());
                }
                (r, st)
            }
            None => (part, 1),
        };
        let (lo, hi) = if range == "*" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (
                value(a, min, max, names, name_base)?,
                value(b, min, max, names, name_base)?,
            )
        } else {
            let v = value(range, min, max, names, name_base)?;
            (v, if part.contains('/') { max } else { v })
        };
        if lo > hi {
            return Err(format!("invalid range {range:?}"));
        }
        out.extend((lo..=hi).step_by(step as usize));
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Checks a 5-field cron expression: valid fields and runs at least 5 minutes apart.
pub(crate) fn check(expr: &str) -> Result<(), CronError> {
    let fields: Vec<&str> = expr.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "expected 5 fields (minute hour day-of-month month day-of-week), got {}",
            fields.len()
        ));
    }
    let minutes = field(fields[0], 0, 59, &[], 0)?;
    let hours = field(fields[1], 0, 23, &[], 0)?;
    field(fields[2], 1, 31, &[], 0)?;
    field(fields[3], 1, 12, &MONTHS, 1)?;
    field(fields[4], 0, 7, &DAYS, 0)?;
    let mut gap = minutes.windows(2).map(|w| w[1] - w[0]).min().unwrap_or(60);
    // The last run of an hour and the first of the next are also neighbours when both hours run.
    let consecutive_hours = hours.len() == 24 || hours.windows(2).any(|w| w[1] - w[0] == 1);
    if consecutive_hours && let (Some(first), Some(last)) = (minutes.first(), minutes.last()) {
        gap = gap.min(60 - last + first);
    }
    if gap < 5 {
        return Err("runs must be at least 5 minutes apart".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn granularity() {
        for ok in [
            "0 9 * * *",
            "*/5 * * * *",
            "*/15 9-17 * * MON-FRI",
            "0,30 * * * *",
            "0 0 1 JAN *",
            "0,58 9 * * *",
        ] {
            assert!(check(ok).is_ok(), "{ok}");
        }
        for bad in [
            "* * * * *",
            "*/2 * * * *",
            "0,3 * * * *",
            "0,58 * * * *",
            "0 9 * *",
            "61 * * * *",
            "a b c d e",
            "*/0 * * * *",
        ] {
            assert!(check(bad).is_err(), "{bad}");
        }
    }
}
