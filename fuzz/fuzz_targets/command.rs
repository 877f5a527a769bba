#![no_main]
//! Command parser: never panics; a parsed command serializes to a canonical line that
//! parses back to the same value, serializing again gives the same bytes, and
//! `Command::encode_checked` accepts it and writes those bytes.
use ehlo::syntax::command::{parse_command, parse_sasl_response};
use ehlo::syntax::{Leniency, ParseOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, line)) = data.split_first() else {
        return;
    };
    let opts = ParseOptions {
        leniency: if flags & 1 == 0 {
            Leniency::Lenient
        } else {
            Leniency::Strict
        },
        utf8: flags & 2 != 0,
        ..ParseOptions::default()
    };
    if let Ok(cmd) = parse_command(line, &opts) {
        let wire = cmd.to_bytes();
        // Adding the angle brackets a lenient path lacked can lengthen the line by 2.
        let reparse_opts = ParseOptions {
            max_line: opts.max_line + 2,
            ..opts
        };
        let again = parse_command(&wire, &reparse_opts).expect("canonical form must parse");
        assert_eq!(again, cmd);
        assert_eq!(again.to_bytes(), wire);
        // What was parsed is one line, so the checked encoder writes the same bytes.
        let mut checked = Vec::new();
        cmd.encode_checked(&mut checked)
            .expect("a parsed command is one line");
        assert_eq!(checked, wire);
        assert_eq!(cmd.clone().into_owned(), cmd);
    }
    if let Ok(r) = parse_sasl_response(line) {
        let mut wire = Vec::new();
        r.encode(&mut wire);
        assert_eq!(parse_sasl_response(&wire).expect("reparse"), r);
    }
});
