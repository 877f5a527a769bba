//! MD5 (RFC 1321) and HMAC-MD5 (RFC 2104), just enough for CRAM-MD5 (RFC 2195).
//!
//! MD5 is broken as a collision-resistant hash; it is here only because CRAM-MD5 is
//! defined on top of HMAC-MD5, and HMAC-MD5 is still a usable keyed MAC for that purpose.
//! Implemented compactly in safe Rust so the crate needs no extra dependency.
//!
//! ```
//! use ehlo::sasl::md5::{hmac_md5, md5, to_hex};
//! assert_eq!(to_hex(&md5(b"abc")), "900150983cd24fb0d6963f7d28e17f72");
//! let mac = hmac_md5(b"tanstaaftanstaaf", b"<1896.697170952@postoffice.reston.mci.net>");
//! assert_eq!(to_hex(&mac), "b913a602c7eda7a495b4e6e7334d3890");
//! ```

/// Per-round shift amounts (RFC 1321 section 3.4).
const S: [u32; 64] = [
    7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9,
    14, 20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15,
    21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
];

/// The sine table T[i] = floor(abs(sin(i + 1)) * 2^32) (RFC 1321 section 3.4).
const T: [u32; 64] = [
    0xd76a_a478,
    0xe8c7_b756,
    0x2420_70db,
    0xc1bd_ceee,
    0xf57c_0faf,
    0x4787_c62a,
    0xa830_4613,
    0xfd46_9501,
    0x6980_98d8,
    0x8b44_f7af,
    0xffff_5bb1,
    0x895c_d7be,
    0x6b90_1122,
    0xfd98_7193,
    0xa679_438e,
    0x49b4_0821,
    0xf61e_2562,
    0xc040_b340,
    0x265e_5a51,
    0xe9b6_c7aa,
    0xd62f_105d,
    0x0244_1453,
    0xd8a1_e681,
    0xe7d3_fbc8,
    0x21e1_cde6,
    0xc337_07d6,
    0xf4d5_0d87,
    0x455a_14ed,
    0xa9e3_e905,
    0xfcef_a3f8,
    0x676f_02d9,
    0x8d2a_4c8a,
    0xfffa_3942,
    0x8771_f681,
    0x6d9d_6122,
    0xfde5_380c,
    0xa4be_ea44,
    0x4bde_cfa9,
    0xf6bb_4b60,
    0xbebf_bc70,
    0x289b_7ec6,
    0xeaa1_27fa,
    0xd4ef_3085,
    0x0488_1d05,
    0xd9d4_d039,
    0xe6db_99e5,
    0x1fa2_7cf8,
    0xc4ac_5665,
    0xf429_2244,
    0x432a_ff97,
    0xab94_23a7,
    0xfc93_a039,
    0x655b_59c3,
    0x8f0c_cc92,
    0xffef_f47d,
    0x8584_5dd1,
    0x6fa8_7e4f,
    0xfe2c_e6e0,
    0xa301_4314,
    0x4e08_11a1,
    0xf753_7e82,
    0xbd3a_f235,
    0x2ad7_d2bb,
    0xeb86_d391,
];

/// Length of an MD5 digest in octets.
pub const DIGEST_LEN: usize = 16;
/// MD5 block size in octets (used by HMAC, RFC 2104 section 2).
pub const BLOCK_LEN: usize = 64;

/// An incremental MD5 computation (RFC 1321).
#[derive(Clone, Debug)]
pub struct Md5 {
    state: [u32; 4],
    /// Total message length in octets, modulo 2^64 (RFC 1321 section 3.2 keeps the low
    /// 64 bits of the bit length).
    len: u64,
    buf: [u8; BLOCK_LEN],
    buf_len: usize,
}

impl Default for Md5 {
    fn default() -> Self {
        Self::new()
    }
}

impl Md5 {
    /// A fresh computation with the initial state of RFC 1321 section 3.3.
    pub fn new() -> Self {
        Md5 {
            state: [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476],
            len: 0,
            buf: [0; BLOCK_LEN],
            buf_len: 0,
        }
    }

    /// Feeds more message bytes.
    pub fn update(&mut self, mut data: &[u8]) {
        self.len = self.len.wrapping_add(data.len() as u64);
        if self.buf_len > 0 {
            let take = (BLOCK_LEN - self.buf_len).min(data.len());
            let (head, rest) = data.split_at(take);
            self.buf[self.buf_len..self.buf_len + take].copy_from_slice(head);
            self.buf_len += take;
            data = rest;
            if self.buf_len < BLOCK_LEN {
                return;
            }
            let block = self.buf;
            compress(&mut self.state, &block);
            self.buf_len = 0;
        }
        let mut blocks = data.chunks_exact(BLOCK_LEN);
        for block in &mut blocks {
            let mut b = [0u8; BLOCK_LEN];
            b.copy_from_slice(block);
            compress(&mut self.state, &b);
        }
        let rem = blocks.remainder();
        self.buf[..rem.len()].copy_from_slice(rem);
        self.buf_len = rem.len();
    }

    /// Pads (RFC 1321 sections 3.1 and 3.2) and returns the 16-octet digest.
    pub fn finalize(mut self) -> [u8; DIGEST_LEN] {
        let bit_len = self.len.wrapping_mul(8);
        // One 0x80 octet, then zeros until the length is 56 mod 64, then the bit length.
        let pad_len = if self.buf_len < 56 {
            56 - self.buf_len
        } else {
            120 - self.buf_len
        };
        let mut pad = [0u8; 72];
        pad[0] = 0x80;
        let len_before = self.len;
        self.update(&pad[..pad_len]);
        self.update(&bit_len.to_le_bytes());
        self.len = len_before;
        let mut out = [0u8; DIGEST_LEN];
        for (chunk, word) in out.chunks_exact_mut(4).zip(self.state.iter()) {
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        out
    }
}

/// The MD5 compression function over one 64-octet block (RFC 1321 section 3.4).
fn compress(state: &mut [u32; 4], block: &[u8; BLOCK_LEN]) {
    let mut x = [0u32; 16];
    for (word, chunk) in x.iter_mut().zip(block.chunks_exact(4)) {
        *word = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
    }
    let [mut a, mut b, mut c, mut d] = *state;
    // One round step: a = b + ((a + f + X[g] + T[i]) <<< s), then rotate the registers.
    macro_rules! step {
        ($f:expr, $i:expr, $g:expr) => {{
            let sum = a.wrapping_add($f).wrapping_add(T[$i]).wrapping_add(x[$g]);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(sum.rotate_left(S[$i]));
        }};
    }
    for i in 0..16 {
        step!((b & c) | (!b & d), i, i);
    }
    for i in 16..32 {
        step!((d & b) | (!d & c), i, (5 * i + 1) % 16);
    }
    for i in 32..48 {
        step!(b ^ c ^ d, i, (3 * i + 5) % 16);
    }
    for i in 48..64 {
        step!(c ^ (b | !d), i, (7 * i) % 16);
    }
    state[0] = state[0].wrapping_add(a);
    state[1] = state[1].wrapping_add(b);
    state[2] = state[2].wrapping_add(c);
    state[3] = state[3].wrapping_add(d);
}

/// MD5 of `data` in one call.
pub fn md5(data: &[u8]) -> [u8; DIGEST_LEN] {
    let mut h = Md5::new();
    h.update(data);
    h.finalize()
}

/// HMAC-MD5 (RFC 2104 section 2): `MD5(K XOR opad, MD5(K XOR ipad, text))`, with a key
/// longer than the 64-octet block first replaced by its MD5.
pub fn hmac_md5(key: &[u8], text: &[u8]) -> [u8; DIGEST_LEN] {
    let mut k = [0u8; BLOCK_LEN];
    if key.len() > BLOCK_LEN {
        k[..DIGEST_LEN].copy_from_slice(&md5(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut ipad = [0x36u8; BLOCK_LEN];
    let mut opad = [0x5cu8; BLOCK_LEN];
    for ((i, o), kb) in ipad.iter_mut().zip(opad.iter_mut()).zip(k.iter()) {
        *i ^= kb;
        *o ^= kb;
    }
    let mut inner = Md5::new();
    inner.update(&ipad);
    inner.update(text);
    let inner = inner.finalize();
    let mut outer = Md5::new();
    outer.update(&opad);
    outer.update(&inner);
    outer.finalize()
}

/// Lowercase hexadecimal of `bytes` (the digest form of RFC 2195 section 2).
pub fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex_md5(s: &[u8]) -> String {
        to_hex(&md5(s))
    }

    /// The test suite of RFC 1321 appendix A.5.
    #[test]
    fn rfc1321_suite() {
        assert_eq!(hex_md5(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(hex_md5(b"a"), "0cc175b9c0f1b6a831c399e269772661");
        assert_eq!(hex_md5(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(
            hex_md5(b"message digest"),
            "f96b697d7cb7938d525a2f31aaf161d0"
        );
        assert_eq!(
            hex_md5(b"abcdefghijklmnopqrstuvwxyz"),
            "c3fcd3d76192e4007dfb496cca67e13b"
        );
        assert_eq!(
            hex_md5(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"),
            "d174ab98d277d9f5a5611c2c9f419d9f"
        );
        assert_eq!(
            hex_md5(
                b"12345678901234567890123456789012345678901234567890123456789012345678901234567890"
            ),
            "57edf4a22be3c955ac49da2e2107b67a"
        );
    }

    #[test]
    fn incremental_equals_one_shot_across_block_edges() {
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let whole = md5(&data);
        for split in [0, 1, 55, 56, 63, 64, 65, 119, 128, 999, 1000] {
            let mut h = Md5::new();
            h.update(&data[..split]);
            h.update(&data[split..]);
            assert_eq!(h.finalize(), whole, "split at {split}");
        }
        let mut h = Md5::new();
        for b in &data {
            h.update(std::slice::from_ref(b));
        }
        assert_eq!(h.finalize(), whole);
    }

    /// RFC 2104 section 2 / appendix test vectors (also RFC 2202 section 2).
    #[test]
    fn rfc2104_vectors() {
        assert_eq!(
            to_hex(&hmac_md5(&[0x0b; 16], b"Hi There")),
            "9294727a3638bb1c13f48ef8158bfc9d"
        );
        assert_eq!(
            to_hex(&hmac_md5(b"Jefe", b"what do ya want for nothing?")),
            "750c783e6ab0b503eaa86e310a5db738"
        );
        assert_eq!(
            to_hex(&hmac_md5(&[0xaa; 16], &[0xdd; 50])),
            "56be34521d144c88dbb8c733f0e8b3f6"
        );
    }

    /// RFC 2202 section 2 cases with keys longer than the block size.
    #[test]
    fn rfc2202_long_key() {
        assert_eq!(
            to_hex(&hmac_md5(
                &[0xaa; 80],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd"
        );
        assert_eq!(
            to_hex(&hmac_md5(
                &[0xaa; 80],
                b"Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data"
            )),
            "6f630fad67cda0ee1fb1f562db3aa53e"
        );
    }

    /// RFC 2195 section 2 worked example.
    #[test]
    fn rfc2195_example() {
        assert_eq!(
            to_hex(&hmac_md5(
                b"tanstaaftanstaaf",
                b"<1896.697170952@postoffice.reston.mci.net>"
            )),
            "b913a602c7eda7a495b4e6e7334d3890"
        );
    }
}
