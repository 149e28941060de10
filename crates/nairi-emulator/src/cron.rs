//! A small 5-field cron checker enforcing the 5-minute minimum granularity.

use chrono::{Datelike, NaiveDate};

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

/// Minutes in a day.
const DAY: u32 = 24 * 60;

/// Checks a 5-field cron expression: valid fields and runs at least 5 minutes apart, also
/// from the last run of one day to the first of the next when both days run.
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
    let days = Days {
        of_month: field(fields[2], 1, 31, &[], 0)?,
        months: field(fields[3], 1, 12, &MONTHS, 1)?,
        // 7 is Sunday too.
        of_week: field(fields[4], 0, 7, &DAYS, 0)?
            .into_iter()
            .map(|d| d % 7)
            .collect(),
        // Vixie cron: when both day fields are restricted, a day matching either one runs.
        either: !fields[2].starts_with('*') && !fields[4].starts_with('*'),
    };
    // Runs within a day, as minutes since midnight (sorted: hours and minutes are).
    let times: Vec<u32> = hours
        .iter()
        .flat_map(|h| minutes.iter().map(move |m| h * 60 + m))
        .collect();
    if let Some(w) = times.windows(2).find(|w| w[1] - w[0] < 5) {
        return Err(format!(
            "runs must be at least 5 minutes apart: {} and {} are {} minutes apart",
            hhmm(w[0]),
            hhmm(w[1]),
            w[1] - w[0]
        ));
    }
    if let (Some(&first), Some(&last)) = (times.first(), times.last()) {
        let wrap = DAY - last + first;
        if wrap < 5 && days.two_in_a_row() {
            return Err(format!(
                "runs must be at least 5 minutes apart: {} and {} on the next day are {wrap} \
                 minutes apart",
                hhmm(last),
                hhmm(first)
            ));
        }
    }
    Ok(())
}

fn hhmm(t: u32) -> String {
    format!("{:02}:{:02}", t / 60, t % 60)
}

/// The day fields of a schedule.
struct Days {
    of_month: Vec<u32>,
    months: Vec<u32>,
    of_week: Vec<u32>,
    either: bool,
}

impl Days {
    fn runs_on(&self, d: NaiveDate) -> bool {
        if !self.months.contains(&d.month()) {
            return false;
        }
        let dom = self.of_month.contains(&d.day());
        let dow = self.of_week.contains(&d.weekday().num_days_from_sunday());
        if self.either { dom || dow } else { dom && dow }
    }

    /// Whether the schedule runs on two consecutive days (across a week, month or year end
    /// too). Checked over 28 years from 2000, a full cycle of weekdays, dates and leap years.
    fn two_in_a_row(&self) -> bool {
        let (Some(start), Some(end)) = (
            NaiveDate::from_ymd_opt(2000, 1, 1),
            NaiveDate::from_ymd_opt(2028, 1, 2),
        ) else {
            return true;
        };
        let mut prev = false;
        for d in start.iter_days().take_while(|d| *d < end) {
            let runs = self.runs_on(d);
            if prev && runs {
                return true;
            }
            prev = runs;
        }
        false
    }
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
            "0,58 0,23 * * MON",
            "0,58 0,23 31 * *",
            "0,55 0,23 * * *",
        ] {
            assert!(check(ok).is_ok(), "{ok}");
        }
        for bad in [
            "* * * * *",
            "*/2 * * * *",
            "0,3 * * * *",
            "0,58 * * * *",
            "0,58 0,23 * * *",
            "0,58 0,23 * * SAT,SUN",
            "0,58 0,23 1,31 * *",
            "0 9 * *",
            "61 * * * *",
            "a b c d e",
            "*/0 * * * *",
        ] {
            assert!(check(bad).is_err(), "{bad}");
        }
    }
}
