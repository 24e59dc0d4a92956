//! The GHCB page (GHCB spec 56421 §2.3, table "GHCB layout"), kept as a
//! private 4 KiB byte image. Setters mark the field in the valid bitmap
//! (bit = offset / 8), getters read little-endian bytes; no `unsafe`.

pub const GHCB_SIZE: usize = 4096;

// Save-area offsets used by this crate.
#[cfg(any(test, feature = "mock"))]
pub const OFF_CPL: usize = 0x0CB;
#[cfg(any(test, feature = "mock"))]
pub const OFF_XSS: usize = 0x140;
#[cfg(any(test, feature = "mock"))]
pub const OFF_DR7: usize = 0x160;
pub const OFF_RAX: usize = 0x1F8;
pub const OFF_RCX: usize = 0x308;
pub const OFF_RDX: usize = 0x310;
pub const OFF_RBX: usize = 0x318;
pub const OFF_SW_EXIT_CODE: usize = 0x390;
pub const OFF_SW_EXIT_INFO1: usize = 0x398;
pub const OFF_SW_EXIT_INFO2: usize = 0x3A0;
pub const OFF_SW_SCRATCH: usize = 0x3A8;
pub const OFF_XCR0: usize = 0x3E8;
pub const OFF_VALID_BITMAP: usize = 0x3F0;
pub const VALID_BITMAP_LEN: usize = 16;
/// End of the save area (the rest up to 0x800 is reserved).
pub const SAVE_AREA_END: usize = 0x800;
pub const OFF_SHARED_BUFFER: usize = 0x800;
/// Shared buffer is 0x800..0xFF0 (2032 bytes).
pub const SHARED_BUFFER_LEN: usize = 0x7F0;
pub const OFF_PROTOCOL_VERSION: usize = 0xFFA;
pub const OFF_USAGE: usize = 0xFFC;

/// GHCB usage 0: the standard format (the only one KVM accepts).
pub const GHCB_USAGE_STANDARD: u32 = 0;

/// A private copy of the GHCB page.
#[derive(Clone, PartialEq, Eq)]
pub struct Ghcb {
    bytes: [u8; GHCB_SIZE],
}

#[cfg(any(test, feature = "mock"))]
impl core::fmt::Debug for Ghcb {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Ghcb")
            .field("sw_exit_code", &self.sw_exit_code())
            .field("sw_exit_info1", &self.sw_exit_info1())
            .field("sw_exit_info2", &self.sw_exit_info2())
            .field("valid_bitmap", &self.valid_bitmap())
            .finish()
    }
}

impl Default for Ghcb {
    fn default() -> Self {
        Self::new()
    }
}

impl Ghcb {
    /// Zeroed page with protocol version 2 and usage 0.
    pub fn new() -> Self {
        let mut g = Self {
            bytes: [0; GHCB_SIZE],
        };
        g.set_header();
        g
    }

    fn set_header(&mut self) {
        self.write_u16(
            OFF_PROTOCOL_VERSION,
            crate::msr_protocol::GHCB_PROTOCOL_VERSION,
        );
        self.write_u32(OFF_USAGE, GHCB_USAGE_STANDARD);
    }

    /// Zero the whole page (save area and shared buffer), then set version/usage.
    pub fn reset(&mut self) {
        self.bytes = [0; GHCB_SIZE];
        self.set_header();
    }

    /// Zero the save area (fields and valid bitmap) but keep the shared buffer,
    /// which a multi-round exit (page state change) reuses.
    pub fn reset_save_area(&mut self) {
        self.bytes[..SAVE_AREA_END].fill(0);
        self.set_header();
    }

    pub fn as_bytes(&self) -> &[u8; GHCB_SIZE] {
        &self.bytes
    }

    pub fn as_bytes_mut(&mut self) -> &mut [u8; GHCB_SIZE] {
        &mut self.bytes
    }

    // ---- raw little-endian access; offsets are this crate's constants ----

    /// Reads `N` bytes at `off`, zeros if out of range (never panics).
    fn read<const N: usize>(&self, off: usize) -> [u8; N] {
        let mut out = [0u8; N];
        if let Some(s) = self.bytes.get(off..off.saturating_add(N)) {
            out.copy_from_slice(s);
        }
        out
    }

    fn write(&mut self, off: usize, v: &[u8]) {
        if let Some(d) = self.bytes.get_mut(off..off.saturating_add(v.len())) {
            d.copy_from_slice(v);
        }
    }

    #[cfg(any(test, feature = "mock"))]
    pub fn read_u16(&self, off: usize) -> u16 {
        u16::from_le_bytes(self.read(off))
    }
    #[cfg(any(test, feature = "mock"))]
    pub fn read_u32(&self, off: usize) -> u32 {
        u32::from_le_bytes(self.read(off))
    }
    pub fn read_u64(&self, off: usize) -> u64 {
        u64::from_le_bytes(self.read(off))
    }
    pub fn write_u16(&mut self, off: usize, v: u16) {
        self.write(off, &v.to_le_bytes())
    }
    pub fn write_u32(&mut self, off: usize, v: u32) {
        self.write(off, &v.to_le_bytes())
    }
    pub fn write_u64(&mut self, off: usize, v: u64) {
        self.write(off, &v.to_le_bytes())
    }

    // ---- valid bitmap ----

    pub fn valid_bitmap(&self) -> u128 {
        u128::from_le_bytes(self.read(OFF_VALID_BITMAP))
    }

    pub fn set_valid_bitmap(&mut self, bitmap: u128) {
        self.write(OFF_VALID_BITMAP, &bitmap.to_le_bytes())
    }

    /// Whether the quadword field at `off` is marked valid.
    pub fn is_valid(&self, off: usize) -> bool {
        let bit = off / 8;
        bit < 128 && self.valid_bitmap() & (1u128 << bit) != 0
    }

    pub fn mark_valid(&mut self, off: usize) {
        let bit = off / 8;
        if bit < 128 {
            let b = self.valid_bitmap() | 1u128 << bit;
            self.set_valid_bitmap(b);
        }
    }

    #[cfg(test)]
    pub fn clear_valid_bitmap(&mut self) {
        self.set_valid_bitmap(0)
    }

    /// Writes a u64 field and marks it valid.
    pub fn set_field(&mut self, off: usize, v: u64) {
        self.write_u64(off, v);
        self.mark_valid(off);
    }

    /// A u64 field if marked valid.
    pub fn field_if_valid(&self, off: usize) -> Option<u64> {
        self.is_valid(off).then(|| self.read_u64(off))
    }

    // ---- typed fields ----

    pub fn set_rax(&mut self, v: u64) {
        self.set_field(OFF_RAX, v)
    }
    pub fn set_rcx(&mut self, v: u64) {
        self.set_field(OFF_RCX, v)
    }
    pub fn set_rdx(&mut self, v: u64) {
        self.set_field(OFF_RDX, v)
    }
    pub fn set_sw_exit_code(&mut self, v: u64) {
        self.set_field(OFF_SW_EXIT_CODE, v)
    }
    pub fn set_sw_exit_info1(&mut self, v: u64) {
        self.set_field(OFF_SW_EXIT_INFO1, v)
    }
    pub fn set_sw_exit_info2(&mut self, v: u64) {
        self.set_field(OFF_SW_EXIT_INFO2, v)
    }
    pub fn set_sw_scratch(&mut self, v: u64) {
        self.set_field(OFF_SW_SCRATCH, v)
    }
    #[cfg(any(test, feature = "mock"))]
    pub fn set_xcr0(&mut self, v: u64) {
        self.set_field(OFF_XCR0, v)
    }

    #[cfg(any(test, feature = "mock"))]
    pub fn rax(&self) -> u64 {
        self.read_u64(OFF_RAX)
    }
    #[cfg(any(test, feature = "mock"))]
    pub fn rbx(&self) -> u64 {
        self.read_u64(OFF_RBX)
    }
    #[cfg(any(test, feature = "mock"))]
    pub fn rcx(&self) -> u64 {
        self.read_u64(OFF_RCX)
    }
    #[cfg(any(test, feature = "mock"))]
    pub fn rdx(&self) -> u64 {
        self.read_u64(OFF_RDX)
    }
    #[cfg(any(test, feature = "mock"))]
    pub fn sw_exit_code(&self) -> u64 {
        self.read_u64(OFF_SW_EXIT_CODE)
    }
    pub fn sw_exit_info1(&self) -> u64 {
        self.read_u64(OFF_SW_EXIT_INFO1)
    }
    pub fn sw_exit_info2(&self) -> u64 {
        self.read_u64(OFF_SW_EXIT_INFO2)
    }
    #[cfg(any(test, feature = "mock"))]
    pub fn xcr0(&self) -> u64 {
        self.read_u64(OFF_XCR0)
    }
    #[cfg(test)]
    pub fn protocol_version(&self) -> u16 {
        self.read_u16(OFF_PROTOCOL_VERSION)
    }
    #[cfg(any(test, feature = "mock"))]
    pub fn usage(&self) -> u32 {
        self.read_u32(OFF_USAGE)
    }

    // ---- shared buffer ----

    pub fn shared_buffer(&self) -> &[u8] {
        &self.bytes[OFF_SHARED_BUFFER..OFF_SHARED_BUFFER + SHARED_BUFFER_LEN]
    }

    pub fn shared_buffer_mut(&mut self) -> &mut [u8] {
        &mut self.bytes[OFF_SHARED_BUFFER..OFF_SHARED_BUFFER + SHARED_BUFFER_LEN]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_and_valid_bits() {
        let mut g = Ghcb::new();
        assert_eq!(g.as_bytes()[0xFFA..0xFFC], [2, 0]);
        assert_eq!(g.usage(), 0);
        assert_eq!(g.valid_bitmap(), 0);

        g.set_rax(0x1122_3344_5566_7788);
        assert_eq!(g.as_bytes()[0x1F8], 0x88);
        assert_eq!(g.as_bytes()[0x1FF], 0x11);
        g.set_rcx(1);
        g.set_rdx(2);
        g.set_field(OFF_RBX, 3);
        g.set_sw_exit_code(0x7B);
        g.set_sw_exit_info1(4);
        g.set_sw_exit_info2(5);
        g.set_sw_scratch(6);
        g.set_xcr0(7);
        g.mark_valid(OFF_CPL); // CPL: the valid bit of its quadword (0xC8 / 8)
        let want: u128 = [63u32, 97, 98, 99, 114, 115, 116, 117, 125, 25]
            .iter()
            .fold(0, |acc, b| acc | 1u128 << b);
        assert_eq!(g.valid_bitmap(), want);
        // The bitmap sits at 0x3F0, little-endian: bit 63 (RAX) is byte 7 bit 7.
        assert_eq!(g.as_bytes()[0x3F7] & 0x80, 0x80);
        assert_eq!(g.as_bytes()[0x3F0 + 125 / 8] & (1 << (125 % 8)), 1 << 5);
        assert_eq!(g.read_u64(0x390), 0x7B);
        assert_eq!(g.read_u64(0x3E8), 7);

        assert_eq!(g.field_if_valid(OFF_RBX), Some(3));
        g.clear_valid_bitmap();
        assert_eq!(g.field_if_valid(OFF_RBX), None);
    }

    #[test]
    fn resets() {
        let mut g = Ghcb::new();
        g.set_rax(9);
        g.shared_buffer_mut()[0] = 0xAA;
        g.write_u16(OFF_PROTOCOL_VERSION, 7);
        g.reset_save_area();
        assert_eq!(g.rax(), 0);
        assert_eq!(g.valid_bitmap(), 0);
        assert_eq!(g.shared_buffer()[0], 0xAA);
        assert_eq!(g.protocol_version(), 2);
        g.reset();
        assert_eq!(g.shared_buffer()[0], 0);
        assert_eq!(g.shared_buffer().len(), 2032);
    }

    #[test]
    fn out_of_range_access_does_not_panic() {
        let mut g = Ghcb::new();
        g.write_u64(4094, 0xFFFF);
        assert_eq!(g.read_u64(4094), 0);
        assert!(!g.is_valid(0x1000));
    }
}
