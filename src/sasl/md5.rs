//! MD5 (RFC 1321) and HMAC-MD5 (RFC 2104), just enough for CRAM-MD5 (RFC 2195).
//!
//! MD5 is broken as a collision-resistant hash; it is here only because CRAM-MD5 is
//! defined on top of HMAC-MD5, and HMAC-MD5 is still a usable keyed MAC for that purpose.
//! The primitives come from the RustCrypto crates `md-5` and `hmac`; this module is a thin,
//! allocation-free facade with the RFC test vectors beside it.
//!
//! ```
//! use ehlo::sasl::md5::{hmac_md5, md5, to_hex};
//! assert_eq!(to_hex(&md5(b"abc")), "900150983cd24fb0d6963f7d28e17f72");
//! let mac = hmac_md5(b"tanstaaftanstaaf", b"<1896.697170952@postoffice.reston.mci.net>");
//! assert_eq!(to_hex(&mac), "b913a602c7eda7a495b4e6e7334d3890");
//! ```

use hmac::{Hmac, Mac};
use md5::Digest;

/// Length of an MD5 digest in octets.
pub const DIGEST_LEN: usize = 16;
/// MD5's block length in octets (the HMAC block size B of RFC 2104).
pub const BLOCK_LEN: usize = 64;

/// Incremental MD5.
#[derive(Clone, Default)]
pub struct Md5(md5::Md5);

impl std::fmt::Debug for Md5 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Md5")
    }
}

impl Md5 {
    /// A fresh hash state.
    pub fn new() -> Self {
        Md5(md5::Md5::new())
    }

    /// Feeds more input.
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    /// The digest of everything fed so far.
    pub fn finalize(self) -> [u8; DIGEST_LEN] {
        self.0.finalize().into()
    }
}

/// MD5 of `data` in one call.
pub fn md5(data: &[u8]) -> [u8; DIGEST_LEN] {
    md5::Md5::digest(data).into()
}

/// HMAC-MD5 (RFC 2104) of `text` under `key` (keys longer than 64 octets are hashed first).
pub fn hmac_md5(key: &[u8], text: &[u8]) -> [u8; DIGEST_LEN] {
    // `new_from_slice` accepts any key length for HMAC; the error branch cannot happen.
    match Hmac::<md5::Md5>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(text);
            mac.finalize().into_bytes().into()
        }
        Err(_) => [0; DIGEST_LEN],
    }
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
