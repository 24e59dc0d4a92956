//! A bounds-checked cursor over the input: every read either succeeds
//! or returns `Truncated`, never indexes out of range.

use super::BhttpError;
use crate::varint;

pub(super) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(super) fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub(super) fn remaining(&self) -> usize {
        self.buf.len()
    }

    pub(super) fn rest(&self) -> &'a [u8] {
        self.buf
    }

    pub(super) fn varint(&mut self) -> Result<u64, BhttpError> {
        let (value, used) = varint::decode(self.buf).map_err(|_| BhttpError::Truncated)?;
        self.buf = self.buf.get(used..).ok_or(BhttpError::Truncated)?;
        Ok(value)
    }

    /// A varint used as a length.
    pub(super) fn len(&mut self) -> Result<usize, BhttpError> {
        usize::try_from(self.varint()?).map_err(|_| BhttpError::BadVarint)
    }

    pub(super) fn take(&mut self, n: usize) -> Result<&'a [u8], BhttpError> {
        let (head, tail) = self.buf.split_at_checked(n).ok_or(BhttpError::Truncated)?;
        self.buf = tail;
        Ok(head)
    }

    /// A length-prefixed item of at most `max` bytes. The limit is checked
    /// first so an absurd length is refused as too large, not truncated.
    pub(super) fn bounded(&mut self, max: usize) -> Result<&'a [u8], BhttpError> {
        let n = self.len()?;
        if n > max {
            return Err(BhttpError::FieldTooLarge);
        }
        self.take(n)
    }
}
