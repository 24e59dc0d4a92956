//! ECMAScript `Number.prototype.toString` formatting of IEEE-754 doubles, as
//! RFC 8785 section 3.2.2.3 requires for canonical JSON numbers.

use alloc::string::String;
use core::fmt::Write;

use crate::error::CanonicalError;

/// Integers up to 2^53 are exact doubles; larger ones are converted to the
/// nearest double first, as an ECMAScript parser would.
const MAX_EXACT: u64 = 1 << 53;

/// Formats a JSON number the way ECMAScript prints the double it denotes.
pub fn write_number(out: &mut String, n: &serde_json::Number) -> Result<(), CanonicalError> {
    if let Some(u) = n.as_u64() {
        if u <= MAX_EXACT {
            return write_int(out, false, u);
        }
    } else if let Some(i) = n.as_i64() {
        if i.unsigned_abs() <= MAX_EXACT {
            return write_int(out, i < 0, i.unsigned_abs());
        }
    }
    let f = n.as_f64().ok_or(CanonicalError::NonFiniteNumber)?;
    write_f64(out, f)
}

fn write_int(out: &mut String, negative: bool, magnitude: u64) -> Result<(), CanonicalError> {
    // "-0" does not exist for integers: ECMAScript prints 0.
    if negative && magnitude != 0 {
        out.push('-');
    }
    write!(out, "{magnitude}").map_err(|_| CanonicalError::Format)
}

/// Formats a finite double per ECMAScript 2019 Number::toString (radix 10).
pub fn write_f64(out: &mut String, f: f64) -> Result<(), CanonicalError> {
    if !f.is_finite() {
        return Err(CanonicalError::NonFiniteNumber);
    }
    if f == 0.0 {
        // Both +0 and -0 print as "0".
        out.push('0');
        return Ok(());
    }
    if f < 0.0 {
        out.push('-');
    }
    let (digits, exp) = shortest_digits(f.abs())?;
    let digits = digits.as_str();
    let k = digits.len() as i32;
    // ECMAScript's n: the value is 0.d1d2... * 10^n.
    let n = exp + 1;
    if k <= n && n <= 21 {
        out.push_str(digits);
        out.extend(core::iter::repeat_n('0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        let (int, frac) = digits.split_at(n as usize);
        out.push_str(int);
        out.push('.');
        out.push_str(frac);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        out.extend(core::iter::repeat_n('0', (-n) as usize));
        out.push_str(digits);
    } else {
        let (first, rest) = digits.split_at(1);
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        let e = n - 1;
        write!(
            out,
            "e{}{}",
            if e < 0 { '-' } else { '+' },
            e.unsigned_abs()
        )
        .map_err(|_| CanonicalError::Format)?;
    }
    Ok(())
}

/// The shortest round-trip digits (no trailing zeros) of a positive finite
/// `f` and the decimal exponent of the first digit.
///
/// Rust's `{:e}` already gives the shortest digits closest to the value; only
/// an exact tie between two shortest candidates differs: ECMAScript takes the
/// even one, Rust may not (e.g. 1424953923781206.25 -> ".2", not ".3").
pub(crate) fn shortest_digits(f: f64) -> Result<(String, i32), CanonicalError> {
    let (digits, exp) = scientific(f, None)?;
    if !last_digit_even(&digits) {
        if let Some(even) = tie_to_even(f, &digits, exp)? {
            return Ok(even);
        }
    }
    Ok((digits, exp))
}

/// Digits (trailing zeros removed) and exponent from `{:e}` / `{:.N e}`.
fn scientific(f: f64, precision: Option<usize>) -> Result<(String, i32), CanonicalError> {
    let mut sci = String::new();
    match precision {
        None => write!(sci, "{f:e}"),
        Some(p) => write!(sci, "{f:.p$e}"),
    }
    .map_err(|_| CanonicalError::Format)?;
    let (mantissa, exp) = sci.split_once('e').ok_or(CanonicalError::Format)?;
    let exp: i32 = exp.parse().map_err(|_| CanonicalError::Format)?;
    let mut digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if precision.is_none() {
        let len = digits.trim_end_matches('0').len().max(1);
        digits.truncate(len);
    }
    Ok((digits, exp))
}

/// If `f` lies exactly halfway between two shortest candidates, the even one.
fn tie_to_even(f: f64, digits: &str, exp: i32) -> Result<Option<(String, i32)>, CanonicalError> {
    // 800 fractional digits hold any double's exact decimal expansion.
    let (exact, exact_exp) = scientific(f, Some(800))?;
    // Exact digits at or above the last place of `digits`.
    let keep = exact_exp - exp + digits.len() as i32;
    let Ok(keep) = usize::try_from(keep) else {
        return Ok(None);
    };
    let Some(rest) = exact.get(keep..) else {
        return Ok(None);
    };
    let mut rest = rest.bytes();
    if rest.next() != Some(b'5') || !rest.all(|b| b == b'0') {
        return Ok(None);
    }
    // Candidates are trunc and trunc+1 at the same scale; pick the other one.
    let trunc = exact.get(..keep).ok_or(CanonicalError::Format)?;
    let same_scale = exact_exp == exp && trunc == digits;
    let (other, other_exp) = if same_scale {
        increment(trunc, exact_exp)
    } else {
        (String::from(trunc), exact_exp)
    };
    let trimmed_len = other.trim_end_matches('0').len().max(1);
    let other = String::from(&other[..trimmed_len]);
    let mut text = String::new();
    let (first, tail) = other.split_at(1);
    if tail.is_empty() {
        write!(text, "{first}e{other_exp}")
    } else {
        write!(text, "{first}.{tail}e{other_exp}")
    }
    .map_err(|_| CanonicalError::Format)?;
    let round_trips = text.parse::<f64>().is_ok_and(|g| g == f);
    let even = last_digit_even(&other);
    Ok((round_trips && even).then_some((other, other_exp)))
}

/// Decimal digit string plus one in the last place (with carry).
fn increment(digits: &str, exp: i32) -> (String, i32) {
    let mut bytes: alloc::vec::Vec<u8> = digits.bytes().collect();
    for b in bytes.iter_mut().rev() {
        if *b == b'9' {
            *b = b'0';
        } else {
            *b += 1;
            return (bytes.into_iter().map(char::from).collect(), exp);
        }
    }
    // All nines: 99..9 + 1 = 100..0, one decade up.
    let mut s = String::from("1");
    s.extend(bytes.into_iter().map(char::from));
    (s, exp + 1)
}

fn last_digit_even(digits: &str) -> bool {
    digits
        .bytes()
        .last()
        .is_some_and(|d| (d - b'0').is_multiple_of(2))
}
