//! Temporary dot-stuffing encoder until `crate::data::DataEncoder` lands.

use bytes::{BufMut, BytesMut};

#[derive(Debug, Clone)]
pub(crate) struct DataEncoder {
    at_line_start: bool,
    last_cr: bool,
    empty: bool,
}

impl DataEncoder {
    pub(crate) fn new() -> Self {
        DataEncoder {
            at_line_start: true,
            last_cr: false,
            empty: true,
        }
    }

    pub(crate) fn encode(&mut self, chunk: &[u8], out: &mut BytesMut) {
        for &b in chunk {
            if self.at_line_start && b == b'.' {
                out.put_u8(b'.');
            }
            out.put_u8(b);
            self.at_line_start = self.last_cr && b == b'\n';
            self.last_cr = b == b'\r';
            self.empty = false;
        }
    }

    pub(crate) fn finish(&mut self, out: &mut BytesMut) {
        if !self.empty && !self.at_line_start {
            out.put_slice(b"\r\n");
        }
        out.put_slice(b".\r\n");
    }
}
