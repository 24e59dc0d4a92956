//! Field sections (RFC 9292 §3.6) and the byte rules for names, values
//! and control data.

use alloc::string::String;
use alloc::vec::Vec;

use super::reader::Reader;
use super::BhttpError;

/// Where decoded field lines go: kept (headers) or only checked (trailers).
pub(super) type Sink<'s> = Option<&'s mut Vec<(String, Vec<u8>)>>;

/// Field lines still allowed across all sections of one message.
pub(super) struct Budget {
    pub(super) fields_left: usize,
    pub(super) max_field_bytes: usize,
}

/// Reads one field section in the message's framing.
pub(super) fn section(
    r: &mut Reader<'_>,
    indeterminate: bool,
    budget: &mut Budget,
    mut sink: Sink<'_>,
) -> Result<(), BhttpError> {
    if indeterminate {
        // Field lines until a zero name length (the Content Terminator).
        loop {
            let name_len = r.len()?;
            if name_len == 0 {
                return Ok(());
            }
            field_line(r, name_len, budget, sink.as_deref_mut())?;
        }
    } else {
        let len = r.len()?;
        let mut lines = Reader::new(r.take(len)?);
        while !lines.is_empty() {
            let name_len = lines.len()?;
            if name_len == 0 {
                return Err(BhttpError::BadFieldName);
            }
            field_line(&mut lines, name_len, budget, sink.as_deref_mut())?;
        }
        Ok(())
    }
}

fn field_line(
    r: &mut Reader<'_>,
    name_len: usize,
    budget: &mut Budget,
    sink: Sink<'_>,
) -> Result<(), BhttpError> {
    budget.fields_left = budget
        .fields_left
        .checked_sub(1)
        .ok_or(BhttpError::TooManyFields)?;
    if name_len > budget.max_field_bytes {
        return Err(BhttpError::FieldTooLarge);
    }
    let name = r.take(name_len)?;
    check_field_name(name)?;
    let value = r.bounded(budget.max_field_bytes)?;
    check_field_value(value)?;
    if let Some(out) = sink {
        out.push((ascii_string(name)?, value.to_vec()));
    }
    Ok(())
}

/// tchar (RFC 9110 §5.6.2).
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A non-empty HTTP token.
pub(super) fn is_token(bytes: &[u8]) -> bool {
    !bytes.is_empty() && bytes.iter().all(|b| is_tchar(*b))
}

fn check_field_name(name: &[u8]) -> Result<(), BhttpError> {
    if name.iter().any(u8::is_ascii_uppercase) {
        return Err(BhttpError::UppercaseFieldName);
    }
    // A leading ':' (pseudo-field) is not a tchar, so is_token refuses it.
    if !is_token(name) {
        return Err(BhttpError::BadFieldName);
    }
    Ok(())
}

/// Field value bytes (RFC 9110 §5.5): VCHAR, obs-text, SP and HTAB.
pub(super) fn is_field_value_byte(b: u8) -> bool {
    b == b'\t' || (b >= 0x20 && b != 0x7f)
}

fn check_field_value(value: &[u8]) -> Result<(), BhttpError> {
    if value.iter().all(|b| is_field_value_byte(*b)) {
        Ok(())
    } else {
        Err(BhttpError::BadFieldValue)
    }
}

/// Scheme, authority and path: visible ASCII only, possibly empty.
pub(super) fn check_control(bytes: &[u8]) -> Result<(), BhttpError> {
    if bytes.iter().all(|b| (0x21..=0x7e).contains(b)) {
        Ok(())
    } else {
        Err(BhttpError::BadControlData)
    }
}

pub(super) fn ascii_string(bytes: &[u8]) -> Result<String, BhttpError> {
    core::str::from_utf8(bytes)
        .map(String::from)
        .map_err(|_| BhttpError::InvalidUtf8)
}
