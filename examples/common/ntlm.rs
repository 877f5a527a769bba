//! The NTLM arithmetic the crate leaves to its caller (\[MS-NLMP\]): the server's
//! CHALLENGE message and the check of the client's AUTHENTICATE message (NTLMv2, NTLM2
//! session response and NTLMv1), and the client's NEGOTIATE and AUTHENTICATE (NTLMv2)
//! messages. The crate frames the exchange (\[MS-SMTPNTLM\]); this is what SSPI would do.
//!
//! NTLM is a legacy protocol (MD4, DES, HMAC-MD5); it is here because Exchange clients
//! use it. Run it only under TLS in production.

use des::cipher::generic_array::GenericArray;
use des::cipher::{BlockEncrypt, KeyInit};
use ehlo::sasl::md5::{hmac_md5, md5};
use md4::{Digest, Md4};
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

const SIGNATURE: &[u8; 8] = b"NTLMSSP\0";

/// NTLMSSP_NEGOTIATE_UNICODE.
pub const NEGOTIATE_UNICODE: u32 = 0x0000_0001;
/// NTLM_NEGOTIATE_OEM.
pub const NEGOTIATE_OEM: u32 = 0x0000_0002;
/// NTLMSSP_REQUEST_TARGET.
pub const REQUEST_TARGET: u32 = 0x0000_0004;
/// NTLMSSP_NEGOTIATE_NTLM.
pub const NEGOTIATE_NTLM: u32 = 0x0000_0200;
/// NTLMSSP_NEGOTIATE_ALWAYS_SIGN.
pub const NEGOTIATE_ALWAYS_SIGN: u32 = 0x0000_8000;
/// NTLMSSP_TARGET_TYPE_SERVER.
pub const TARGET_TYPE_SERVER: u32 = 0x0002_0000;
/// NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY (NTLM2 session response for NTLMv1).
pub const NEGOTIATE_EXTENDED_SESSIONSECURITY: u32 = 0x0008_0000;
/// NTLMSSP_NEGOTIATE_TARGET_INFO.
pub const NEGOTIATE_TARGET_INFO: u32 = 0x0080_0000;
/// NTLMSSP_NEGOTIATE_128.
pub const NEGOTIATE_128: u32 = 0x2000_0000;
/// NTLMSSP_NEGOTIATE_56.
pub const NEGOTIATE_56: u32 = 0x8000_0000;

/// Why an NTLM message was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NtlmError {
    /// Not an NTLMSSP message of the expected type, or a field points outside it.
    Malformed(&'static str),
    /// No such user.
    UnknownUser,
    /// The response does not match the password.
    BadResponse,
}

impl fmt::Display for NtlmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NtlmError::Malformed(why) => write!(f, "malformed NTLM message: {why}"),
            NtlmError::UnknownUser => f.write_str("unknown user"),
            NtlmError::BadResponse => f.write_str("wrong password"),
        }
    }
}

impl std::error::Error for NtlmError {}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([s[0], s[1]]))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// The payload a security buffer (`Len`, `MaxLen`, `Offset`) at `at` points to, in a
/// message whose fixed header is `header` octets long (\[MS-NLMP\] 2.2.1: the payload
/// follows the header). An empty buffer is empty wherever it points; a non-empty one
/// must lie in the payload, not in the header nor past the end.
fn field(b: &[u8], at: usize, header: usize) -> Result<&[u8], NtlmError> {
    let len = u16_at(b, at).ok_or(NtlmError::Malformed("truncated header"))? as usize;
    let off = u32_at(b, at + 4).ok_or(NtlmError::Malformed("truncated header"))? as usize;
    if len == 0 {
        return Ok(&[]);
    }
    if off < header {
        return Err(NtlmError::Malformed("field inside the header"));
    }
    off.checked_add(len)
        .and_then(|end| b.get(off..end))
        .ok_or(NtlmError::Malformed("field outside the message"))
}

/// The fixed header of an AUTHENTICATE message without VERSION and MIC (2.2.1.3).
const AUTHENTICATE_HEADER: usize = 64;
/// The fixed header of a CHALLENGE message without VERSION (2.2.1.2).
const CHALLENGE_HEADER: usize = 48;

fn check_type(b: &[u8], kind: u32) -> Result<(), NtlmError> {
    if b.get(..8) != Some(&SIGNATURE[..]) || u32_at(b, 8) != Some(kind) {
        return Err(NtlmError::Malformed("wrong signature or message type"));
    }
    Ok(())
}

fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// A string field of a message: UTF-16LE with NTLMSSP_NEGOTIATE_UNICODE, else the OEM
/// character set, taken to be UTF-8 here (\[MS-NLMP\] 2.2.1.3, 2.2.2.5 flags A and B).
/// Exactly: an odd length, an unpaired surrogate or (OEM) invalid UTF-8 is malformed,
/// never dropped or replaced with U+FFFD, which would make a name out of octets the
/// client did not send as that name.
fn text(b: &[u8], unicode: bool) -> Result<String, NtlmError> {
    if unicode {
        if b.len() % 2 != 0 {
            return Err(NtlmError::Malformed("odd-length UTF-16 string"));
        }
        let units: Vec<u16> = b
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16(&units).map_err(|_| NtlmError::Malformed("unpaired surrogate"))
    } else {
        String::from_utf8(b.to_vec()).map_err(|_| NtlmError::Malformed("OEM string not UTF-8"))
    }
}

fn encode_text(s: &str, unicode: bool) -> Vec<u8> {
    if unicode {
        utf16le(s)
    } else {
        s.as_bytes().to_vec()
    }
}

/// NTOWFv1: MD4 of the UTF-16LE password (\[MS-NLMP\] 3.3.1).
fn nt_hash(password: &str) -> [u8; 16] {
    Md4::digest(utf16le(password)).into()
}

/// NTOWFv2 (\[MS-NLMP\] 3.3.2).
fn ntowf_v2(password: &str, user: &str, domain: &str) -> [u8; 16] {
    let mut id = utf16le(&user.to_uppercase());
    id.extend_from_slice(&utf16le(domain));
    hmac_md5(&nt_hash(password), &id)
}

/// DES with a 56-bit key spread over 8 octets (parity bits ignored).
fn des_encrypt(key7: &[u8], data: &[u8; 8]) -> [u8; 8] {
    let k = key7;
    let key = [
        k[0],
        (k[0] << 7) | (k[1] >> 1),
        (k[1] << 6) | (k[2] >> 2),
        (k[2] << 5) | (k[3] >> 3),
        (k[3] << 4) | (k[4] >> 4),
        (k[4] << 3) | (k[5] >> 5),
        (k[5] << 2) | (k[6] >> 6),
        k[6] << 1,
    ];
    let cipher = des::Des::new(GenericArray::from_slice(&key));
    let mut block = GenericArray::clone_from_slice(data);
    cipher.encrypt_block(&mut block);
    block.into()
}

/// DESL (\[MS-NLMP\] 6): the 16-octet key padded to 21, three DES encryptions of `data`.
fn desl(key: &[u8; 16], data: &[u8; 8]) -> [u8; 24] {
    let mut k = [0u8; 21];
    k[..16].copy_from_slice(key);
    let mut out = [0u8; 24];
    out[..8].copy_from_slice(&des_encrypt(&k[0..7], data));
    out[8..16].copy_from_slice(&des_encrypt(&k[7..14], data));
    out[16..].copy_from_slice(&des_encrypt(&k[14..21], data));
    out
}

/// Eight unpredictable octets (challenges). From the OS; falls back to hashing the
/// clock with the standard library's randomly keyed hasher.
pub fn random8() -> [u8; 8] {
    use std::io::Read;
    let mut b = [0u8; 8];
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .is_ok()
    {
        return b;
    }
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    h.finish().to_le_bytes()
}

/// Now as a Windows FILETIME (100 ns ticks since 1601).
fn filetime_now() -> u64 {
    let since_unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    (since_unix.as_nanos() / 100) as u64 + 116_444_736_000_000_000
}

fn av_pair(out: &mut Vec<u8>, id: u16, value: &[u8]) {
    out.extend_from_slice(&id.to_le_bytes());
    out.extend_from_slice(&(value.len() as u16).to_le_bytes());
    out.extend_from_slice(value);
}

/// A message builder: fixed header, then payload fields appended with their security
/// buffers patched in.
struct Builder {
    buf: Vec<u8>,
}

impl Builder {
    fn new(kind: u32, header_len: usize) -> Builder {
        let mut buf = vec![0u8; header_len];
        buf[..8].copy_from_slice(SIGNATURE);
        buf[8..12].copy_from_slice(&kind.to_le_bytes());
        Builder { buf }
    }

    fn put_u32(&mut self, at: usize, v: u32) {
        self.buf[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }

    fn payload(&mut self, at: usize, data: &[u8]) {
        let off = self.buf.len() as u32;
        let len = (data.len() as u16).to_le_bytes();
        self.buf[at..at + 2].copy_from_slice(&len);
        self.buf[at + 2..at + 4].copy_from_slice(&len);
        self.buf[at + 4..at + 8].copy_from_slice(&off.to_le_bytes());
        self.buf.extend_from_slice(data);
    }
}

// ---------------------------------------------------------------- server side

/// The server's state between its CHALLENGE and the client's AUTHENTICATE.
#[derive(Clone)]
pub struct ServerChallenge {
    challenge: [u8; 8],
}

impl fmt::Debug for ServerChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServerChallenge(..)")
    }
}

impl ServerChallenge {
    /// Answers a NEGOTIATE message: a fresh server challenge and the CHALLENGE message
    /// (\[MS-NLMP\] 2.2.1.2) with target information, so that NTLMv2 clients use NTLMv2.
    pub fn new(
        negotiate: &[u8],
        netbios_name: &str,
        dns_name: &str,
    ) -> Result<(ServerChallenge, Vec<u8>), NtlmError> {
        check_type(negotiate, 1)?;
        let client = u32_at(negotiate, 12).ok_or(NtlmError::Malformed("no flags"))?;
        let unicode = client & NEGOTIATE_UNICODE != 0;
        let mut flags = NEGOTIATE_NTLM | TARGET_TYPE_SERVER | NEGOTIATE_TARGET_INFO;
        flags |= if unicode {
            NEGOTIATE_UNICODE
        } else {
            NEGOTIATE_OEM
        };
        flags |= client
            & (REQUEST_TARGET
                | NEGOTIATE_ALWAYS_SIGN
                | NEGOTIATE_EXTENDED_SESSIONSECURITY
                | NEGOTIATE_128
                | NEGOTIATE_56);
        let challenge = random8();
        let mut info = Vec::new();
        av_pair(&mut info, 2, &utf16le(netbios_name)); // MsvAvNbDomainName
        av_pair(&mut info, 1, &utf16le(netbios_name)); // MsvAvNbComputerName
        av_pair(&mut info, 4, &utf16le(dns_name)); // MsvAvDnsDomainName
        av_pair(&mut info, 3, &utf16le(dns_name)); // MsvAvDnsComputerName
        av_pair(&mut info, 7, &filetime_now().to_le_bytes()); // MsvAvTimestamp
        av_pair(&mut info, 0, &[]); // MsvAvEOL
        let mut b = Builder::new(2, 48);
        b.put_u32(20, flags);
        b.buf[24..32].copy_from_slice(&challenge);
        b.payload(12, &encode_text(netbios_name, unicode));
        b.payload(40, &info);
        Ok((ServerChallenge { challenge }, b.buf))
    }

    /// Checks an AUTHENTICATE message against the password `lookup` finds for its user
    /// name (matched case-insensitively: `lookup` returns the canonical name and the
    /// password). Accepts NTLMv2, the NTLM2 session response and NTLMv1, all three
    /// always: the last two are weak (three DES encryptions under the NT hash, which a
    /// recorded exchange gives away to an offline search), kept for old clients. The
    /// expected response is compared with the received one in constant time. Returns the
    /// canonical user name and which response the client used.
    pub fn verify<'a>(
        &self,
        message: &[u8],
        lookup: impl Fn(&str) -> Option<(&'a str, &'a str)>,
    ) -> Result<(String, &'static str), NtlmError> {
        check_type(message, 3)?;
        // The fixed header (2.2.1.3): six security buffers, then NegotiateFlags. Each
        // buffer must lie in the message, the two not read here (workstation, encrypted
        // random session key) too.
        let flags = u32_at(message, 60).ok_or(NtlmError::Malformed("truncated header"))?;
        let lm = field(message, 12, AUTHENTICATE_HEADER)?;
        let nt = field(message, 20, AUTHENTICATE_HEADER)?;
        field(message, 44, AUTHENTICATE_HEADER)?;
        field(message, 52, AUTHENTICATE_HEADER)?;
        let unicode = flags & NEGOTIATE_UNICODE != 0;
        let domain = text(field(message, 28, AUTHENTICATE_HEADER)?, unicode)?;
        let user = text(field(message, 36, AUTHENTICATE_HEADER)?, unicode)?;
        if user.is_empty() {
            return Err(NtlmError::UnknownUser);
        }
        let (canonical, password) = lookup(&user).ok_or(NtlmError::UnknownUser)?;
        let variant = if nt.len() > 24 {
            "NTLMv2"
        } else if flags & NEGOTIATE_EXTENDED_SESSIONSECURITY != 0 {
            "NTLM2 session"
        } else {
            "NTLMv1"
        };
        let ok = if nt.len() > 24 {
            // NTLMv2 (3.3.2): NTProofStr = HMAC_MD5(NTOWFv2, ServerChallenge || temp).
            let (proof, temp) = nt.split_at(16);
            let mut msg = self.challenge.to_vec();
            msg.extend_from_slice(temp);
            let mut domains = vec![domain.clone(), domain.to_uppercase(), String::new()];
            domains.dedup();
            // Every candidate is computed and compared in full, in constant time: the
            // time taken says nothing of how much of a guessed proof was right.
            domains.iter().fold(false, |ok, d| {
                let expected = hmac_md5(&ntowf_v2(password, &user, d), &msg);
                ehlo::sasl::constant_time_eq(&expected, proof) | ok
            })
        } else if nt.len() == 24 {
            let key = nt_hash(password);
            // NTLMv1 (3.3.1): DESL(NTOWFv1, ServerChallenge); with extended session
            // security negotiated, and only then, the NTLM2 session response:
            // DESL(NTOWFv1, MD5(ServerChallenge || ClientChallenge)[..8]), the client
            // challenge being the first 8 octets of the LM response. The server computes
            // the form the flag names, as ComputeResponse does (3.2.5.1.2).
            if flags & NEGOTIATE_EXTENDED_SESSIONSECURITY != 0 {
                lm.len() >= 8 && {
                    let mut m = self.challenge.to_vec();
                    m.extend_from_slice(&lm[..8]);
                    let mut c = [0u8; 8];
                    c.copy_from_slice(&md5(&m)[..8]);
                    ehlo::sasl::constant_time_eq(&desl(&key, &c), nt)
                }
            } else {
                ehlo::sasl::constant_time_eq(&desl(&key, &self.challenge), nt)
            }
        } else {
            false
        };
        if ok {
            Ok((canonical.to_string(), variant))
        } else {
            Err(NtlmError::BadResponse)
        }
    }
}

/// The user name in an AUTHENTICATE message (for logs); `None` for a message without
/// one that decodes (see `text`).
pub fn authenticate_user(message: &[u8]) -> Option<String> {
    check_type(message, 3).ok()?;
    let flags = u32_at(message, 60)?;
    text(
        field(message, 36, AUTHENTICATE_HEADER).ok()?,
        flags & NEGOTIATE_UNICODE != 0,
    )
    .ok()
}

// ---------------------------------------------------------------- client side

const CLIENT_FLAGS: u32 = NEGOTIATE_UNICODE
    | NEGOTIATE_OEM
    | REQUEST_TARGET
    | NEGOTIATE_NTLM
    | NEGOTIATE_ALWAYS_SIGN
    | NEGOTIATE_EXTENDED_SESSIONSECURITY
    | NEGOTIATE_TARGET_INFO
    | NEGOTIATE_128
    | NEGOTIATE_56;

/// The client's NEGOTIATE message (\[MS-NLMP\] 2.2.1.1), without domain or workstation.
pub fn negotiate_message() -> Vec<u8> {
    let mut b = Builder::new(1, 32);
    b.put_u32(12, CLIENT_FLAGS);
    b.payload(16, &[]);
    b.payload(24, &[]);
    b.buf
}

/// The client's AUTHENTICATE message (\[MS-NLMP\] 2.2.1.3) with NTLMv2 and LMv2
/// responses to `challenge_message`.
pub fn authenticate_message(
    challenge_message: &[u8],
    user: &str,
    password: &str,
    domain: &str,
    workstation: &str,
) -> Result<Vec<u8>, NtlmError> {
    authenticate_message_with(
        challenge_message,
        user,
        password,
        domain,
        workstation,
        random8(),
        filetime_now(),
    )
}

/// [`authenticate_message`] with the client challenge and the time (a FILETIME, used when
/// the CHALLENGE carries no MsvAvTimestamp) given: what the \[MS-NLMP\] 4.2.4 test
/// vectors fix.
fn authenticate_message_with(
    challenge_message: &[u8],
    user: &str,
    password: &str,
    domain: &str,
    workstation: &str,
    client_challenge: [u8; 8],
    now: u64,
) -> Result<Vec<u8>, NtlmError> {
    check_type(challenge_message, 2)?;
    let server_flags = u32_at(challenge_message, 20).ok_or(NtlmError::Malformed("no flags"))?;
    let server_challenge = challenge_message
        .get(24..32)
        .ok_or(NtlmError::Malformed("no challenge"))?;
    let info = if server_flags & NEGOTIATE_TARGET_INFO != 0 {
        field(challenge_message, 40, CHALLENGE_HEADER)?
    } else {
        &[]
    };
    // The server's timestamp if it sent one (3.1.5.1.2), else ours.
    let mut timestamp = now.to_le_bytes();
    let mut rest = info;
    while rest.len() >= 4 {
        let id = u16::from_le_bytes([rest[0], rest[1]]);
        let len = u16::from_le_bytes([rest[2], rest[3]]) as usize;
        let Some(value) = rest.get(4..4 + len) else {
            break;
        };
        if id == 7 && len == 8 {
            timestamp.copy_from_slice(value);
        }
        if id == 0 {
            break;
        }
        rest = &rest[4 + len..];
    }
    let key = ntowf_v2(password, user, domain);
    let mut temp = vec![1u8, 1, 0, 0, 0, 0, 0, 0];
    temp.extend_from_slice(&timestamp);
    temp.extend_from_slice(&client_challenge);
    temp.extend_from_slice(&[0; 4]);
    temp.extend_from_slice(info);
    temp.extend_from_slice(&[0; 4]);
    let mut msg = server_challenge.to_vec();
    msg.extend_from_slice(&temp);
    let mut nt = hmac_md5(&key, &msg).to_vec();
    nt.extend_from_slice(&temp);
    let mut lm_msg = server_challenge.to_vec();
    lm_msg.extend_from_slice(&client_challenge);
    let mut lm = hmac_md5(&key, &lm_msg).to_vec();
    lm.extend_from_slice(&client_challenge);

    let unicode = server_flags & NEGOTIATE_UNICODE != 0;
    let flags = (CLIENT_FLAGS & server_flags & !NEGOTIATE_OEM)
        | if unicode {
            NEGOTIATE_UNICODE
        } else {
            NEGOTIATE_OEM
        };
    let (domain, user) = (encode_text(domain, unicode), encode_text(user, unicode));
    let workstation = encode_text(workstation, unicode);
    // A security buffer's length is 16 bits (2.2.1.3): the NTLMv2 response carries the
    // server's target information, up to 64 KiB of it, and the names are the caller's.
    if [&domain, &user, &workstation, &nt]
        .iter()
        .any(|f| f.len() > usize::from(u16::MAX))
    {
        return Err(NtlmError::Malformed("field longer than a security buffer"));
    }
    let mut b = Builder::new(3, 64);
    b.put_u32(60, flags);
    b.payload(28, &domain);
    b.payload(36, &user);
    b.payload(44, &workstation);
    b.payload(12, &lm);
    b.payload(20, &nt);
    b.payload(52, &[]);
    Ok(b.buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// \[MS-NLMP\] 4.2.2 / 4.2.4 test vectors: user "User", domain "Domain", password
    /// "Password", server challenge 0123456789abcdef.
    #[test]
    fn ms_nlmp_vectors() {
        assert_eq!(
            nt_hash("Password").to_vec(),
            hex("a4f49c406510bdcab6824ee7c30fd852")
        );
        let challenge: [u8; 8] = hex("0123456789abcdef").try_into().unwrap();
        // 4.2.2.2.1 NTLMv1 response.
        assert_eq!(
            desl(&nt_hash("Password"), &challenge).to_vec(),
            hex("67c43011f30298a2ad35ece64f16331c44bdbed927841f94")
        );
        // 4.2.3.2.2 NTLMv1 with extended session security (NTLM2 session response),
        // client challenge aaaaaaaaaaaaaaaa.
        let mut m = challenge.to_vec();
        m.extend_from_slice(&[0xaa; 8]);
        let mut c = [0u8; 8];
        c.copy_from_slice(&md5(&m)[..8]);
        assert_eq!(
            desl(&nt_hash("Password"), &c).to_vec(),
            hex("7537f803ae367128ca458204bde7caf81e97ed2683267232")
        );
        // 4.2.4.1.1 NTOWFv2.
        assert_eq!(
            ntowf_v2("Password", "User", "Domain").to_vec(),
            hex("0c868a403bfd7a93a3001ef22ef02e3f")
        );
    }

    /// The \[MS-NLMP\] 4.2.1 server challenge, 0123456789abcdef.
    fn spec_server() -> ServerChallenge {
        ServerChallenge {
            challenge: hex("0123456789abcdef").try_into().unwrap(),
        }
    }

    /// The \[MS-NLMP\] 4.2.4 target information: MsvAvNbDomainName "Domain",
    /// MsvAvNbComputerName "Server", MsvAvEOL.
    fn spec_target_info() -> Vec<u8> {
        let mut info = Vec::new();
        av_pair(&mut info, 2, &utf16le("Domain"));
        av_pair(&mut info, 1, &utf16le("Server"));
        av_pair(&mut info, 0, &[]);
        info
    }

    /// An AUTHENTICATE message (\[MS-NLMP\] 2.2.1.3) made of the given parts, Unicode
    /// strings if `flags` says so.
    fn authenticate(flags: u32, lm: &[u8], nt: &[u8], domain: &str, user: &str) -> Vec<u8> {
        let unicode = flags & NEGOTIATE_UNICODE != 0;
        let (domain, user) = (encode_text(domain, unicode), encode_text(user, unicode));
        authenticate_raw(flags, lm, nt, &domain, &user)
    }

    /// [`authenticate`] with the domain and user name fields given as octets.
    fn authenticate_raw(flags: u32, lm: &[u8], nt: &[u8], domain: &[u8], user: &[u8]) -> Vec<u8> {
        let unicode = flags & NEGOTIATE_UNICODE != 0;
        let mut b = Builder::new(3, 64);
        b.put_u32(60, flags);
        b.payload(28, domain);
        b.payload(36, user);
        b.payload(44, &encode_text("COMPUTER", unicode));
        b.payload(12, lm);
        b.payload(20, nt);
        b.payload(52, &[]);
        b.buf
    }

    fn spec_lookup(name: &str) -> Option<(&'static str, &'static str)> {
        name.eq_ignore_ascii_case("User")
            .then_some(("User", "Password"))
    }

    /// \[MS-NLMP\] 4.2.4.1.3: temp, with the 4.2.4 time stamp (zero) and target info.
    fn spec_temp() -> Vec<u8> {
        let mut temp = hex("0101000000000000");
        temp.extend_from_slice(&[0; 8]);
        temp.extend_from_slice(&[0xaa; 8]);
        temp.extend_from_slice(&[0; 4]);
        temp.extend_from_slice(&spec_target_info());
        temp.extend_from_slice(&[0; 4]);
        temp
    }

    /// The \[MS-NLMP\] 4.2.4 NTLMv2 vectors from the client side: the LMv2 response
    /// (4.2.4.2.1) and NTProofStr with temp (4.2.4.2.2, 4.2.4.1.3).
    #[test]
    fn ms_nlmp_4_2_4_ntlmv2_client() {
        let mut b = Builder::new(2, 48);
        b.put_u32(
            20,
            NEGOTIATE_UNICODE | NEGOTIATE_NTLM | NEGOTIATE_TARGET_INFO,
        );
        b.buf[24..32].copy_from_slice(&hex("0123456789abcdef"));
        b.payload(12, &utf16le("Server"));
        b.payload(40, &spec_target_info());
        let auth = authenticate_message_with(
            &b.buf, "User", "Password", "Domain", "COMPUTER", [0xaa; 8], 0,
        )
        .unwrap();
        assert_eq!(
            field(&auth, 12, AUTHENTICATE_HEADER).unwrap(),
            hex("86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa")
        );
        let nt = field(&auth, 20, AUTHENTICATE_HEADER).unwrap();
        assert_eq!(nt[..16], hex("68cd0ab851e51c96aabc927bebef6a1c"));
        assert_eq!(nt[16..], spec_temp());
        assert_eq!(
            text(field(&auth, 36, AUTHENTICATE_HEADER).unwrap(), true).unwrap(),
            "User"
        );
        assert_eq!(
            text(field(&auth, 28, AUTHENTICATE_HEADER).unwrap(), true).unwrap(),
            "Domain"
        );
        assert_eq!(
            spec_server().verify(&auth, spec_lookup).unwrap().1,
            "NTLMv2"
        );
    }

    /// The same vectors from the server side, and the same message against another
    /// challenge (a replay into a later session) refused.
    #[test]
    fn ms_nlmp_4_2_4_ntlmv2_server() {
        let mut nt = hex("68cd0ab851e51c96aabc927bebef6a1c");
        nt.extend_from_slice(&spec_temp());
        let lm = hex("86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa");
        let auth = authenticate(NEGOTIATE_UNICODE, &lm, &nt, "Domain", "User");
        assert_eq!(
            spec_server().verify(&auth, spec_lookup),
            Ok(("User".to_string(), "NTLMv2"))
        );
        // The user name is case-insensitive (NTOWFv2 upper-cases it).
        let auth_lc = authenticate(NEGOTIATE_UNICODE, &lm, &nt, "Domain", "user");
        assert!(spec_server().verify(&auth_lc, spec_lookup).is_ok());
        // A wrong password, a flipped proof bit, a flipped temp bit, another domain.
        let wrong = |name: &str, pw: &'static str| {
            name.eq_ignore_ascii_case("User").then_some(("User", pw))
        };
        assert_eq!(
            spec_server().verify(&auth, |n| wrong(n, "password")),
            Err(NtlmError::BadResponse)
        );
        for at in [0, 15, 16, 30, nt.len() - 1] {
            let mut bad = nt.clone();
            bad[at] ^= 1;
            let m = authenticate(NEGOTIATE_UNICODE, &lm, &bad, "Domain", "User");
            assert_eq!(
                spec_server().verify(&m, spec_lookup),
                Err(NtlmError::BadResponse)
            );
        }
        let m = authenticate(NEGOTIATE_UNICODE, &lm, &nt, "Domian", "User");
        assert_eq!(
            spec_server().verify(&m, spec_lookup),
            Err(NtlmError::BadResponse)
        );
        let mut other = spec_server();
        other.challenge[7] ^= 1;
        assert_eq!(
            other.verify(&auth, spec_lookup),
            Err(NtlmError::BadResponse)
        );
    }

    /// \[MS-NLMP\] 4.2.2.2.1: the NTLMv1 response, checked by the server.
    #[test]
    fn ms_nlmp_4_2_2_ntlmv1_server() {
        let nt = hex("67c43011f30298a2ad35ece64f16331c44bdbed927841f94");
        let lm = hex("98def7b87f88aa5dafe2df779688a172def11c7d5ccdef13");
        let auth = authenticate(NEGOTIATE_UNICODE, &lm, &nt, "Domain", "User");
        assert_eq!(
            spec_server().verify(&auth, spec_lookup),
            Ok(("User".to_string(), "NTLMv1"))
        );
        let mut other = spec_server();
        other.challenge[0] ^= 1;
        assert_eq!(
            other.verify(&auth, spec_lookup),
            Err(NtlmError::BadResponse)
        );
    }

    /// \[MS-NLMP\] 4.2.3.2.2: NTLMv1 with extended session security (the LM response is
    /// the client challenge and 16 zero octets, 4.2.3.2.1), checked by the server.
    #[test]
    fn ms_nlmp_4_2_3_ntlm2_session_server() {
        let nt = hex("7537f803ae367128ca458204bde7caf81e97ed2683267232");
        let mut lm = vec![0xaa; 8];
        lm.extend_from_slice(&[0; 16]);
        let flags = NEGOTIATE_UNICODE | NEGOTIATE_EXTENDED_SESSIONSECURITY;
        let auth = authenticate(flags, &lm, &nt, "Domain", "User");
        assert_eq!(
            spec_server().verify(&auth, spec_lookup),
            Ok(("User".to_string(), "NTLM2 session"))
        );
        lm[0] ^= 1;
        let auth = authenticate(flags, &lm, &nt, "Domain", "User");
        assert_eq!(
            spec_server().verify(&auth, spec_lookup),
            Err(NtlmError::BadResponse)
        );
    }

    /// The NTLMv1 response is computed one way or the other by the negotiated
    /// NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY flag (\[MS-NLMP\] 3.3.1), and the
    /// server computes the one the flag names: an NTLM2 session response without the
    /// flag, or a plain NTLMv1 response with it, is refused.
    #[test]
    fn ntlmv1_form_follows_the_ess_flag() {
        let ess = hex("7537f803ae367128ca458204bde7caf81e97ed2683267232");
        let v1 = hex("67c43011f30298a2ad35ece64f16331c44bdbed927841f94");
        let mut lm = vec![0xaa; 8];
        lm.extend_from_slice(&[0; 16]);
        let flags = NEGOTIATE_UNICODE | NEGOTIATE_EXTENDED_SESSIONSECURITY;
        let auth = authenticate(NEGOTIATE_UNICODE, &lm, &ess, "Domain", "User");
        assert_eq!(
            spec_server().verify(&auth, spec_lookup),
            Err(NtlmError::BadResponse)
        );
        let auth = authenticate(flags, &lm, &v1, "Domain", "User");
        assert_eq!(
            spec_server().verify(&auth, spec_lookup),
            Err(NtlmError::BadResponse)
        );
        // With the flag, an LM response too short to hold the client challenge.
        let auth = authenticate(flags, &[0xaa; 7], &ess, "Domain", "User");
        assert_eq!(
            spec_server().verify(&auth, spec_lookup),
            Err(NtlmError::BadResponse)
        );
    }

    /// The domain and user name are UTF-16LE with NTLMSSP_NEGOTIATE_UNICODE (\[MS-NLMP\]
    /// 2.2.1.3, 2.2.2.5 flag A): an odd length or an unpaired surrogate is malformed, not
    /// read as the name it would be with the odd octet dropped or the surrogate replaced
    /// (which let a message whose domain is garbage pass with a proof made for the empty
    /// domain, and one whose user name has a stray octet pass as that user). OEM strings
    /// that are not UTF-8 are refused likewise, never patched with U+FFFD.
    #[test]
    fn names_must_decode_exactly() {
        let lm = [0u8; 24];
        let ntlmv2_for = |domain: &str| {
            let key = ntowf_v2("Password", "User", domain);
            let mut m = hex("0123456789abcdef");
            m.extend_from_slice(&spec_temp());
            let mut nt = hmac_md5(&key, &m).to_vec();
            nt.extend_from_slice(&spec_temp());
            nt
        };
        let (nt, nt_empty) = (ntlmv2_for("Domain"), ntlmv2_for(""));
        let u = NEGOTIATE_UNICODE;
        // The genuine messages pass.
        let ok = authenticate(u, &lm, &nt, "Domain", "User");
        assert!(spec_server().verify(&ok, spec_lookup).is_ok());
        let ok = authenticate(u, &lm, &nt_empty, "", "User");
        assert!(spec_server().verify(&ok, spec_lookup).is_ok());
        let ok = authenticate(0, &lm, &nt, "Domain", "User");
        assert!(spec_server().verify(&ok, spec_lookup).is_ok());
        let malformed = |m: &[u8]| {
            let r = spec_server().verify(m, spec_lookup);
            assert!(matches!(r, Err(NtlmError::Malformed(_))), "{r:?}");
        };
        // A stray octet after the user name.
        let mut user = utf16le("User");
        user.push(b'!');
        malformed(&authenticate_raw(u, &lm, &nt, &utf16le("Domain"), &user));
        // An unpaired surrogate in the domain, with the proof for the empty domain; one
        // in the user name.
        malformed(&authenticate_raw(
            u,
            &lm,
            &nt_empty,
            &[0x00, 0xd8],
            &utf16le("User"),
        ));
        let mut user = utf16le("User");
        user.extend_from_slice(&[0x00, 0xdc]);
        malformed(&authenticate_raw(u, &lm, &nt, &utf16le("Domain"), &user));
        // An odd-length domain.
        malformed(&authenticate_raw(u, &lm, &nt, b"D\0o", &utf16le("User")));
        // OEM strings that are not UTF-8.
        malformed(&authenticate_raw(0, &lm, &nt, b"Domain", b"User\xff"));
        malformed(&authenticate_raw(0, &lm, &nt_empty, b"\xc3", b"User"));
    }

    /// An AUTHENTICATE message of one session, replayed into another, is refused: each
    /// CHALLENGE carries a fresh server challenge.
    #[test]
    fn replayed_authenticate_fails_in_a_new_session() {
        let (first, challenge) =
            ServerChallenge::new(&negotiate_message(), "MX", "mx.test").unwrap();
        let auth = authenticate_message(&challenge, "User", "Password", "", "WS").unwrap();
        assert!(first.verify(&auth, spec_lookup).is_ok());
        let (second, challenge2) =
            ServerChallenge::new(&negotiate_message(), "MX", "mx.test").unwrap();
        assert_ne!(first.challenge, second.challenge);
        assert_ne!(challenge, challenge2);
        assert_eq!(
            second.verify(&auth, spec_lookup),
            Err(NtlmError::BadResponse)
        );
    }

    #[test]
    fn client_and_server_agree() {
        let accounts = [("alice", "s3cret")];
        let lookup = |n: &str| {
            accounts
                .iter()
                .find(|(u, _)| u.eq_ignore_ascii_case(n))
                .map(|(u, p)| (*u, *p))
        };
        let (server, challenge) =
            ServerChallenge::new(&negotiate_message(), "MX", "mx.test").unwrap();
        let auth = authenticate_message(&challenge, "Alice", "s3cret", "", "WS").unwrap();
        assert_eq!(
            server.verify(&auth, lookup).unwrap(),
            ("alice".to_string(), "NTLMv2")
        );
        let auth = authenticate_message(&challenge, "alice", "wrong", "", "WS").unwrap();
        assert_eq!(server.verify(&auth, lookup), Err(NtlmError::BadResponse));
        let auth = authenticate_message(&challenge, "bob", "s3cret", "", "WS").unwrap();
        assert_eq!(server.verify(&auth, lookup), Err(NtlmError::UnknownUser));
        assert!(server.verify(b"NTLMSSP\0\x03\0\0\0", lookup).is_err());
    }

    /// The 4.2.4 AUTHENTICATE message (NTLMv2, Unicode): the genuine message the hostile
    /// ones are made from.
    fn spec_authenticate() -> Vec<u8> {
        let mut nt = hex("68cd0ab851e51c96aabc927bebef6a1c");
        nt.extend_from_slice(&spec_temp());
        let lm = hex("86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa");
        authenticate(NEGOTIATE_UNICODE, &lm, &nt, "Domain", "User")
    }

    fn put16(m: &mut [u8], at: usize, v: u16) {
        m[at..at + 2].copy_from_slice(&v.to_le_bytes());
    }

    fn put32(m: &mut [u8], at: usize, v: u32) {
        m[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }

    /// Hostile AUTHENTICATE messages (\[MS-NLMP\] 2.2.1.3): every security buffer with
    /// its length or offset out of range, overflowing, pointing into the header or at
    /// another field, zero; NT responses of every length up to 24 octets; truncations;
    /// a message that is only the signature; the wrong type; a huge message. None panics
    /// and none authenticates.
    #[test]
    fn hostile_authenticate_messages_are_refused() {
        let good = spec_authenticate();
        assert!(spec_server().verify(&good, spec_lookup).is_ok());
        let mut hostile: Vec<Vec<u8>> = Vec::new();
        for buffer in [12, 20, 28, 36, 44, 52] {
            for len in [0u16, 1, 2, 15, 16, 23, 24, 25, 0x7fff, 0xfffe, 0xffff] {
                for off in [
                    0u32,
                    8,
                    12,
                    36,
                    63,
                    64,
                    100,
                    0x7fff_ffff,
                    0xffff_fffe,
                    u32::MAX,
                ] {
                    let mut m = good.clone();
                    put16(&mut m, buffer, len);
                    put32(&mut m, buffer + 4, off);
                    hostile.push(m);
                }
            }
        }
        // The NT response pointing at each other field of the message, the header
        // included (overlapping fields).
        for off in 0..good.len() as u32 {
            let mut m = good.clone();
            put32(&mut m, 24, off);
            hostile.push(m);
        }
        // Every truncation, the signature alone, the wrong message type.
        for n in 0..good.len() {
            hostile.push(good[..n].to_vec());
        }
        for t in [0u32, 1, 2, 4, u32::MAX] {
            let mut m = good.clone();
            put32(&mut m, 8, t);
            hostile.push(m);
        }
        // Without NTLMSSP_NEGOTIATE_UNICODE: the UTF-16 names read as OEM text.
        let mut m = good.clone();
        put32(&mut m, 60, 0);
        hostile.push(m);
        // Huge: a megabyte of padding after the fields, the fields moved past it.
        let mut m = good.clone();
        m.resize(1 << 20, 0x41);
        for buffer in [12, 20, 28, 36, 44, 52] {
            put32(&mut m, buffer + 4, (1 << 20) - 0x1_0000);
        }
        hostile.push(m);
        let genuine_nt = field(&good, 20, AUTHENTICATE_HEADER).unwrap();
        for m in &hostile {
            let r = spec_server().verify(m, spec_lookup);
            let _ = authenticate_user(m);
            let in_range = [12, 20, 28, 36, 44, 52]
                .iter()
                .all(|&b| field(m, b, AUTHENTICATE_HEADER).is_ok());
            if !in_range || m.len() < 64 {
                assert!(
                    matches!(r, Err(NtlmError::Malformed(_))),
                    "{r:?} for {m:02x?}"
                );
            }
            // What passes carries the genuine NT response for the genuine user (the LM
            // response, the workstation and the session key are not part of NTLMv2's
            // proof, so other valid values of theirs pass with it).
            if r.is_ok() {
                assert_eq!(
                    field(m, 20, AUTHENTICATE_HEADER).unwrap(),
                    genuine_nt,
                    "{m:02x?}"
                );
                assert_eq!(authenticate_user(m).unwrap(), "User", "{m:02x?}");
            }
        }
    }

    /// Every security buffer of the fixed header (\[MS-NLMP\] 2.2.1.3: LM and NT
    /// responses, domain, user, workstation, encrypted random session key) must lie in
    /// the message, and the header must be whole (64 octets, NegotiateFlags included),
    /// even the buffers NTLMv2 does not read: otherwise the genuine proof passes inside
    /// a message that is not well formed.
    #[test]
    fn every_security_buffer_is_checked() {
        let good = spec_authenticate();
        for buffer in [12, 44, 52] {
            let mut m = good.clone();
            put16(&mut m, buffer, 0x10);
            put32(&mut m, buffer + 4, u32::MAX);
            let r = spec_server().verify(&m, spec_lookup);
            assert!(matches!(r, Err(NtlmError::Malformed(_))), "{buffer}: {r:?}");
        }
        // A header cut before NegotiateFlags (as very old clients sent it), the payload
        // moved up to offset 60: what is read as flags is payload, and the fields point
        // into the header.
        let mut m = good[..60].to_vec();
        m.extend_from_slice(&good[64..]);
        for buffer in [12, 20, 28, 36, 44, 52] {
            let off = u32::from_le_bytes(m[buffer + 4..buffer + 8].try_into().unwrap());
            put32(&mut m, buffer + 4, off.saturating_sub(4));
        }
        let r = spec_server().verify(&m, spec_lookup);
        assert!(matches!(r, Err(NtlmError::Malformed(_))), "{r:?}");
    }

    /// NT responses shorter than the 16-octet NTProofStr, of the NTLMv1 length but not
    /// the response, and just longer (an NTLMv2 response with a truncated blob): all
    /// refused for every length up to 64 octets of zeros or of a genuine prefix.
    #[test]
    fn short_nt_responses_are_refused() {
        let mut genuine = hex("68cd0ab851e51c96aabc927bebef6a1c");
        genuine.extend_from_slice(&spec_temp());
        let lm = [0u8; 24];
        for flags in [
            NEGOTIATE_UNICODE,
            NEGOTIATE_UNICODE | NEGOTIATE_EXTENDED_SESSIONSECURITY,
        ] {
            for n in 0..64 {
                for nt in [vec![0u8; n], genuine[..n].to_vec()] {
                    let m = authenticate(flags, &lm, &nt, "Domain", "User");
                    let r = spec_server().verify(&m, spec_lookup);
                    assert_eq!(r, Err(NtlmError::BadResponse), "length {n}");
                }
            }
        }
    }

    /// The AUTHENTICATE message of the \[MS-SMTPNTLM\] 4.2 example (an Exchange client:
    /// VERSION in the header, an NTLM2 session response) is well formed for the checks
    /// above; the password is not known, so it verifies to a wrong response.
    #[test]
    fn ms_smtpntlm_example_authenticate_parses() {
        let m = ehlo::sasl::b64::decode(
            b"TlRMTVNTUAADAAAAGAAYAHwAAAAYABgAlAAAABYAFgBIAAAACAAIAF4AAAAWABYAZgAAABAAEACsAAAA\
              NYKI4gUCzg4AAAAPZQB4AGMAaAAtAGMAbABpAC0ANgA2AHQAZQBzAHQARQBYAEMASAAtAEMATABJAC0A\
              NgA2AIqeV65hhASwAAAAAAAAAAAAAAAAAAAAAHZHDVfwTU5ci0RY04eRmWy0/VWZfIfjsqdUu2WmxYUK\
              y83PyyxzbA8=",
        )
        .unwrap();
        assert_eq!(authenticate_user(&m).as_deref(), Some("test"));
        let lookup = |n: &str| (n == "test").then_some(("test", "not the password"));
        assert_eq!(
            spec_server().verify(&m, lookup),
            Err(NtlmError::BadResponse)
        );
    }

    /// A security buffer's length is 16 bits (\[MS-NLMP\] 2.2.1.3): a
    /// hostile server's target information of nearly 64 KiB makes the NTLMv2 response
    /// (which carries it) too long for one, and so does a user name of more than 32767
    /// UTF-16 units; the client refuses rather than write a length cut to 16 bits.
    #[test]
    fn client_refuses_fields_longer_than_a_security_buffer() {
        let challenge = |info_len: usize| {
            let mut b = Builder::new(2, 48);
            b.put_u32(
                20,
                NEGOTIATE_UNICODE | NEGOTIATE_NTLM | NEGOTIATE_TARGET_INFO,
            );
            b.payload(40, &vec![0x41; info_len]);
            b.buf
        };
        let ok = authenticate_message(&challenge(1000), "User", "Password", "", "WS").unwrap();
        assert_eq!(
            field(&ok, 20, AUTHENTICATE_HEADER).unwrap().len(),
            1000 + 48
        );
        for info_len in [0xffff - 48 + 1, 0xffff] {
            let r = authenticate_message(&challenge(info_len), "User", "Password", "", "WS");
            assert!(
                matches!(r, Err(NtlmError::Malformed(_))),
                "{info_len}: {r:?}"
            );
        }
        let long = "u".repeat(0x8000);
        let r = authenticate_message(&challenge(10), &long, "Password", "", "WS");
        assert!(matches!(r, Err(NtlmError::Malformed(_))), "{r:?}");
        // Every buffer of what the client does send is read back whole.
        let user = "u".repeat(0x7fff);
        let m = authenticate_message(&challenge(10), &user, "Password", "", "WS").unwrap();
        let got = field(&m, 36, AUTHENTICATE_HEADER).unwrap();
        assert_eq!(text(got, true).unwrap(), user);
    }

    /// Hostile NEGOTIATE messages (\[MS-NLMP\] 2.2.1.1): no panic; one without its flags
    /// is refused.
    #[test]
    fn hostile_negotiate_messages() {
        let good = negotiate_message();
        for n in 0..good.len() {
            let r = ServerChallenge::new(&good[..n], "MX", "mx.test");
            assert_eq!(r.is_ok(), n >= 16, "length {n}");
        }
        let mut m = good.clone();
        m[8] = 3;
        assert!(ServerChallenge::new(&m, "MX", "mx.test").is_err());
        for flags in [0u32, u32::MAX, NEGOTIATE_OEM] {
            let mut m = good.clone();
            put32(&mut m, 12, flags);
            let (_, challenge) = ServerChallenge::new(&m, "MX", "mx.test").unwrap();
            assert_eq!(
                ehlo::sasl::ntlm::message_type(&challenge),
                Some(ehlo::sasl::ntlm::NtlmMessageType::Challenge)
            );
        }
    }

    /// Random AUTHENTICATE messages and random mutations of the genuine 4.2.4 one: no
    /// panic, and nothing passes that does not carry the genuine NT response for the
    /// genuine user (the LM response, workstation, session key and the case of the user
    /// name are outside NTLMv2's proof). Random NEGOTIATE and CHALLENGE messages: no panic.
    mod props {
        use super::*;
        use proptest::prelude::*;

        /// The offsets of the fixed header's fields: the six security buffers (length,
        /// maximum length, offset), the message type and the flags.
        const LENGTHS: &[usize] = &[12, 14, 20, 22, 28, 30, 36, 38, 44, 46, 52, 54];
        const OFFSETS: &[usize] = &[8, 16, 24, 32, 40, 48, 56, 60];

        #[derive(Debug, Clone)]
        enum Mutation {
            Byte(usize, u8),
            Flip(usize, u8),
            Length(usize, u16),
            Offset(usize, u32),
            Truncate(usize),
            Insert(usize, Vec<u8>),
            Remove(usize, usize),
        }

        fn mutation() -> impl Strategy<Value = Mutation> {
            let len16 = prop_oneof![
                Just(0u16),
                Just(1),
                Just(15),
                Just(16),
                Just(23),
                Just(24),
                Just(25),
                Just(u16::MAX),
                any::<u16>(),
            ];
            let off32 = prop_oneof![
                Just(0u32),
                Just(63),
                Just(64),
                0u32..300,
                Just(u32::MAX),
                Just(u32::MAX - 1),
                any::<u32>(),
            ];
            prop_oneof![
                (any::<usize>(), any::<u8>()).prop_map(|(a, v)| Mutation::Byte(a, v)),
                (any::<usize>(), 0u8..8).prop_map(|(a, b)| Mutation::Flip(a, b)),
                (proptest::sample::select(LENGTHS), len16)
                    .prop_map(|(a, v)| Mutation::Length(a, v)),
                (proptest::sample::select(OFFSETS), off32)
                    .prop_map(|(a, v)| Mutation::Offset(a, v)),
                any::<usize>().prop_map(Mutation::Truncate),
                (
                    any::<usize>(),
                    proptest::collection::vec(any::<u8>(), 1..64)
                )
                    .prop_map(|(a, v)| Mutation::Insert(a, v)),
                (any::<usize>(), 1usize..32).prop_map(|(a, n)| Mutation::Remove(a, n)),
            ]
        }

        fn apply(m: &mut Vec<u8>, mutation: &Mutation) {
            let at = |a: usize, m: &Vec<u8>| if m.is_empty() { 0 } else { a % m.len() };
            match mutation {
                Mutation::Byte(a, v) if !m.is_empty() => {
                    let i = at(*a, m);
                    m[i] = *v;
                }
                Mutation::Flip(a, b) if !m.is_empty() => {
                    let i = at(*a, m);
                    m[i] ^= 1 << b;
                }
                Mutation::Length(a, v) if m.len() >= a + 2 => put16(m, *a, *v),
                Mutation::Offset(a, v) if m.len() >= a + 4 => put32(m, *a, *v),
                Mutation::Truncate(n) => m.truncate(n % (m.len() + 1)),
                Mutation::Insert(a, v) => {
                    let i = a % (m.len() + 1);
                    m.splice(i..i, v.iter().copied());
                }
                Mutation::Remove(a, n) if !m.is_empty() => {
                    let i = at(*a, m);
                    let end = (i + n).min(m.len());
                    m.drain(i..end);
                }
                _ => {}
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2048))]

            #[test]
            fn mutated_authenticate(mutations in proptest::collection::vec(mutation(), 1..6)) {
                let good = spec_authenticate();
                let mut m = good.clone();
                for x in &mutations {
                    apply(&mut m, x);
                }
                let r = spec_server().verify(&m, spec_lookup);
                let _ = authenticate_user(&m);
                if r.is_ok() {
                    prop_assert_eq!(
                        field(&m, 20, AUTHENTICATE_HEADER).unwrap(),
                        field(&good, 20, AUTHENTICATE_HEADER).unwrap()
                    );
                    prop_assert_eq!(authenticate_user(&m).unwrap().to_uppercase(), "USER");
                }
            }

            #[test]
            fn random_authenticate(body in proptest::collection::vec(any::<u8>(), 0..512)) {
                let mut m = b"NTLMSSP\0\x03\0\0\0".to_vec();
                m.extend_from_slice(&body);
                prop_assert!(spec_server().verify(&m, spec_lookup).is_err());
                prop_assert!(spec_server().verify(&body, spec_lookup).is_err());
                let _ = authenticate_user(&m);
                let _ = authenticate_user(&body);
            }

            #[test]
            fn random_negotiate_and_challenge(body in proptest::collection::vec(any::<u8>(), 0..512)) {
                for kind in [1u8, 2] {
                    let mut m = b"NTLMSSP\0".to_vec();
                    m.extend_from_slice(&[kind, 0, 0, 0]);
                    m.extend_from_slice(&body);
                    let _ = ServerChallenge::new(&m, "MX", "mx.test");
                    let _ = authenticate_message(&m, "User", "Password", "Domain", "WS");
                }
                let _ = ServerChallenge::new(&body, "MX", "mx.test");
                let _ = authenticate_message(&body, "User", "Password", "Domain", "WS");
            }
        }
    }
}
